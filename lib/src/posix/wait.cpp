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
#include <ctime>
#include <limits>

#include "ipcring/detail/wait_block.hpp"

namespace ipcring {
namespace detail {
namespace {

long futex_wake(std::atomic<std::uint32_t>* word) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
#ifdef SYS_futex
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr,
                   nullptr, 0);
#else
  return ::syscall(SYS_futex_time64, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT_MAX,
                   nullptr, nullptr, 0);
#endif
}

// Each seconds field clamped to what it holds (a 32-bit one: about 68 years): the caller
// re-checks its deadline after every return, so a shorter sleep is only an extra look.
template <class Sec>
Sec clamped(std::int64_t secs) {
  return secs >= std::numeric_limits<Sec>::max() ? std::numeric_limits<Sec>::max()
                                                 : static_cast<Sec>(secs);
}

// FUTEX_WAIT, its relative timeout in the struct the kernel reads. A 32-bit target built with
// a 64-bit time_t hands SYS_futex a struct it misreads, so where the headers know the 64-bit
// time call (Linux 5.1), 32-bit targets use it, and the old call with 32-bit fields on a
// kernel without it (ENOSYS); 32-bit targets whose headers lack it pass two longs. Elsewhere
// (64-bit, x32) the C library's timespec is the kernel's.
long futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t secs,
                long nsecs) {
  auto* w = reinterpret_cast<std::uint32_t*>(word);
#if defined(SYS_futex_time64) && ULONG_MAX == 0xffffffffUL
  struct {
    std::int64_t tv_sec, tv_nsec;
  } t64{secs, nsecs};
  const long r = ::syscall(SYS_futex_time64, w, FUTEX_WAIT, expected, &t64, nullptr, 0);
#ifdef SYS_futex
  if (r == -1 && errno == ENOSYS) {
    struct {
      std::int32_t tv_sec, tv_nsec;
    } t32{clamped<std::int32_t>(secs), static_cast<std::int32_t>(nsecs)};
    return ::syscall(SYS_futex, w, FUTEX_WAIT, expected, &t32, nullptr, 0);
  }
#endif
  return r;
#elif ULONG_MAX == 0xffffffffUL && !defined(__x86_64__)
  // 32-bit, headers without the 64-bit time call: the old one's two 32-bit fields (the C
  // library's timespec may have a 64-bit tv_sec)
  struct {
    long tv_sec, tv_nsec;
  } t{clamped<long>(secs), nsecs};
  return ::syscall(SYS_futex, w, FUTEX_WAIT, expected, &t, nullptr, 0);
#else
  timespec t{};
  t.tv_sec = clamped<decltype(t.tv_sec)>(secs);
  t.tv_nsec = static_cast<decltype(t.tv_nsec)>(nsecs);
  return ::syscall(SYS_futex, w, FUTEX_WAIT, expected, &t, nullptr, 0);
#endif
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
  (void)futex_wake(&b.seq);
}

void drop_stale_wakes(wait_block&) noexcept {}  // a futex keeps no wakes

void sleep_on(wait_block& b, std::uint32_t expected, std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= std::chrono::nanoseconds::zero()) return;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  // FUTEX_WAIT's timeout is relative and measured on CLOCK_MONOTONIC.
  (void)futex_wait(&b.seq, expected, secs.count(), static_cast<long>((timeout - secs).count()));
  // EAGAIN, ETIMEDOUT, EINTR: the caller re-checks
}

}  // namespace detail
}  // namespace ipcring
