// The wait layer's platform code (Linux, other POSIX systems with a futex): futex on a 32-bit word
// in the shared segment, without FUTEX_PRIVATE_FLAG (the sleeper and the waker are different
// processes), and membarrier for the fence-free notifier. std::atomic::wait is process-private in
// libstdc++ and is not used. windows/wait.cpp implements the same functions with a named semaphore
// per wait block.
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "ipcring/detail/wait_block.hpp"

namespace ipcring {
namespace detail {
namespace {

long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t val, const timespec* t) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, val, t, nullptr, 0);
}

long membarrier(int cmd) {
  return ::syscall(SYS_membarrier, cmd, 0, 0);
}

}  // namespace

bool register_fast_notifier() noexcept {
  // Once per process. 1 = registered, 0 = not available.
  static const bool registered = [] {
    const long cmds = membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0 ||
        (cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0) {
      return false;
    }
    return membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
  }();
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer cannot see a membarrier: use the RMW barrier it can model.
  (void)registered;
  return false;
#else
  return registered;
#endif
}

bool waiter_barrier() noexcept {
  return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0;
}

void wake_all(wait_block& b) noexcept {
  // [R-seq] pairs with [A-seq]: a waiter that read the old seq is woken or sees the new one
  b.seq.fetch_add(1, std::memory_order_release);
  futex(&b.seq, FUTEX_WAKE, INT_MAX, nullptr);
}

void drop_stale_wakes(wait_block&) noexcept {}  // a futex keeps no wakes

void sleep_on(wait_block& b, std::uint32_t expected, std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= std::chrono::nanoseconds::zero()) return;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec t{};
  t.tv_sec = static_cast<time_t>(secs.count());
  t.tv_nsec = static_cast<long>((timeout - secs).count());
  // FUTEX_WAIT's timeout is relative and measured on CLOCK_MONOTONIC.
  futex(&b.seq, FUTEX_WAIT, expected, &t);  // EAGAIN, ETIMEDOUT, EINTR: caller re-checks
}

}  // namespace detail
}  // namespace ipcring
