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
#include <cstdint>
#include <limits>

#include "ipcring/detail/wait_block.hpp"

namespace ipcring {
namespace detail {
namespace {

// The timeout as the kernel reads it, whatever the C library's time_t: two longs for SYS_futex
// (32-bit fields on a 32-bit target, where a libc built with 64-bit time_t would hand it a
// struct it misreads), two 64-bit fields for SYS_futex_time64, which 32-bit targets use where
// their headers know it (Linux 5.1 and later).
#if defined(SYS_futex_time64) && ULONG_MAX == 0xffffffffUL
constexpr long k_sys_futex = SYS_futex_time64;
struct kernel_timespec {
  std::int64_t tv_sec;
  std::int64_t tv_nsec;
};
#else
constexpr long k_sys_futex = SYS_futex;
struct kernel_timespec {
  long tv_sec;
  long tv_nsec;
};
#endif

long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t val, const kernel_timespec* t) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return ::syscall(k_sys_futex, reinterpret_cast<std::uint32_t*>(word), op, val, t, nullptr, 0);
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
  kernel_timespec t{};
  // Clamped to what the field holds (a 32-bit one: about 68 years): the caller re-checks its
  // deadline after every return, so a shorter sleep is only an extra look.
  using sec_t = decltype(t.tv_sec);
  t.tv_sec = secs.count() >= std::numeric_limits<sec_t>::max() ? std::numeric_limits<sec_t>::max()
                                                               : static_cast<sec_t>(secs.count());
  t.tv_nsec = static_cast<decltype(t.tv_nsec)>((timeout - secs).count());
  // FUTEX_WAIT's timeout is relative and measured on CLOCK_MONOTONIC.
  futex(&b.seq, FUTEX_WAIT, expected, &t);  // EAGAIN, ETIMEDOUT, EINTR: caller re-checks
}

}  // namespace detail
}  // namespace ipcring
