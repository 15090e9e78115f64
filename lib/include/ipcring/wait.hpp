// ipcring/wait.hpp: how a caller waits for a ring. Today: spinning with the CPU's pause
// instruction, then yielding. Blocking waits (futex) belong here too.
#pragma once

#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace ipcring {

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

/// Spin, then yield: for callers that poll a ring. `reset()` after progress.
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
