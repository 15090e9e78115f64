// ipcring/wait.hpp: how an endpoint waits for a ring: strategies, results, and the spin step.
//
// Every ring endpoint (producer, consumer) has a wait_policy. Its blocking calls (push, pop,
// wait_writable, wait_readable) spin first, then, by strategy:
//   * spin        keep spinning with the CPU's pause instruction (lowest latency, one core);
//   * spin_yield  yield the CPU between checks;
//   * block       sleep on a futex in the shared segment until the peer wakes it (default).
// A blocking call ends with a wait_result, never an exception. The non-blocking try_ calls
// never wait, and make no syscall and take no lock while nobody sleeps: blocking support then
// costs each publish one load of a cache line that only changes when somebody goes to sleep
// (Linux, where the process could register for membarrier), else one atomic read-modify-write
// of it (Windows, ThreadSanitizer builds, Linux without membarrier), which several producers
// of one ring then pass between them. A publish that finds a sleeper wakes it (a syscall;
// mpmc and mpsc_msg rings also look for dead sleepers every 4096th time, through /proc; on
// Windows the first wake opens the block's semaphore).
//
// How blocking works across processes: see detail/wait_block.hpp and docs/layout.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace ipcring {

struct wait_words;  // layout.hpp
namespace detail {
using wait_block = wait_words;
}

/// One spin-wait step: tells the CPU we are polling (x86 `pause`, Arm `yield`).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#else
  std::this_thread::yield();
#endif
}

enum class wait_strategy : std::uint8_t {
  spin,        ///< busy-spin with cpu_relax(): lowest latency, burns its core
  spin_yield,  ///< spin, then std::this_thread::yield() between checks
  block,       ///< spin, then sleep (futex; Windows: named semaphore) until woken (the default)
};

struct wait_policy {
  wait_strategy strategy = wait_strategy::block;
  /// cpu_relax() iterations before yielding or sleeping (about 10-40 ns each).
  std::uint32_t spin_count = 2000;
  /// How often a waiting call checks whether its peer process is still alive (and, on rings
  /// with endpoint records, repairs what dead ones left). At least 1 ms: smaller values count
  /// as 1 ms. A handle keeps the schedule on the clock, across its waits: waits shorter than
  /// the interval, made in a loop, check once per interval too, and a wait that starts an
  /// interval or more after the last check checks as soon as its spin phase ends (a wait
  /// that ends within its spin phase checks nothing).
  std::chrono::milliseconds liveness_interval{100};

  static wait_policy spinning() noexcept {
    return {wait_strategy::spin, 2000, std::chrono::milliseconds{100}};
  }
  static wait_policy yielding() noexcept {
    return {wait_strategy::spin_yield, 2000, std::chrono::milliseconds{100}};
  }
  static wait_policy blocking() noexcept { return {}; }
};

/// How a blocking call ended. [[nodiscard]]: a result dropped unseen may be a message lost.
// (clang-format 14 misreads an attribute on an enum: not formatted.)
// clang-format off
enum class [[nodiscard]] wait_result : std::uint8_t {
  ok,         ///< done (the message moved, or the space / data is there)
  timeout,    ///< the timeout passed first (a zero timeout looks once, without spinning)
  closed,     ///< this side, or the peer, closed the ring (the peer's data is drained first;
              ///< with several producers, what they claimed before closing too: a live
              ///< producer's claim is waited for, a dead one's repaired)
  peer_dead,  ///< the peer's process died while holding its role
};
// clang-format on

/// "ok", "timeout", "closed", "peer_dead".
const char* to_string(wait_result r) noexcept;

/// Closes one side of a ring from anywhere, including a signal handler: close() is
/// async-signal-safe on Linux (atomic stores and futex wakes; on Windows, which has no
/// asynchronous signals, it may take a short lock: safe from a console control handler). It
/// leaves errno (and on Windows GetLastError()) as it found them. Copyable;
/// valid while the handle it came from is alive (it writes into the ring and into this
/// process's record of the ring, which the handle keeps).
class close_token {
 public:
  close_token() = default;
  /// Made by the ring handles' closer(): the side's closed flag in the segment and this
  /// process's own copy of it, the ring's wait blocks, and the handle's role word with the
  /// identity its holder put there (null: none).
  close_token(std::atomic<std::uint32_t>* flag, std::atomic<std::uint32_t>* flag_here,
              detail::wait_block* a, detail::wait_block* b,
              const std::atomic<std::uint64_t>* role_word, std::uint64_t holder) noexcept
      : flag_(flag), here_(flag_here), a_(a), b_(b), role_(role_word), holder_(holder) {}
  /// Closes the side, in the process that holds the handle's role only, while it holds it:
  /// a child that inherited the handle or the token across fork() (a signal handler it kept),
  /// even one later given the parent's pid, a holder whose role another process took over,
  /// and a moved-from handle close nothing (the side is someone else's). Every handle's
  /// close() comes here.
  void close() const noexcept;

 private:
  std::atomic<std::uint32_t>* flag_ = nullptr;
  std::atomic<std::uint32_t>* here_ = nullptr;  // this process's waits end on it for sure
  detail::wait_block* a_ = nullptr;             // both of the ring's wait blocks are woken
  detail::wait_block* b_ = nullptr;
  const std::atomic<std::uint64_t>* role_ = nullptr;  // the role word, naming holder_
  std::uint64_t holder_ = 0;                          // while the handle's process holds it
};

/// Spin, then yield: for callers that poll a ring themselves. `reset()` after progress.
///   ipcring::backoff b;
///   while (!rx.try_pop(v)) b.pause();
class backoff {
 public:
  explicit backoff(std::uint32_t spins_before_yield = 4096) noexcept : limit_(spins_before_yield) {}
  void pause() noexcept {
    if (count_ < limit_) {
      ++count_;
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  void reset() noexcept { count_ = 0; }

 private:
  std::uint32_t limit_;
  std::uint32_t count_ = 0;
};

}  // namespace ipcring
