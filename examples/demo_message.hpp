// The message the producer/consumer demo sends, and the helpers both sides share.
#pragma once

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX  // keep std::min and std::max usable
#endif
#include <windows.h>
#else
#include <sched.h>
#endif

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ipcring/ipcring.hpp"

namespace demo {

struct message {
  std::uint64_t seq;      // 0, 1, 2, ...
  std::uint64_t payload;  // mix(seq): the consumer recomputes it to catch torn or stale slots
};

/// splitmix64: a cheap, well-mixed function of the sequence number.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Pins the calling process to `cpu` (if >= 0 and present); says what it did on stderr.
inline void pin(const char* who, int cpu) {
  if (cpu < 0) return;
#ifdef _WIN32
  const bool pinned = cpu < 64 && SetProcessAffinityMask(GetCurrentProcess(),
                                                         static_cast<DWORD_PTR>(1) << cpu) != 0;
#else
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const bool pinned = sched_setaffinity(0, sizeof set, &set) == 0;
#endif
  if (pinned) {
    std::fprintf(stderr, "%s: pinned to cpu %d\n", who, cpu);
  } else {
    std::fprintf(stderr, "%s: could not pin to cpu %d, running unpinned\n", who, cpu);
  }
}

/// "--flag value" lookup: returns the value or `def`.
inline const char* arg(int argc, char** argv, std::string_view flag, const char* def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (flag == argv[i]) return argv[i + 1];
  }
  return def;
}
inline bool has_flag(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    if (flag == argv[i]) return true;
  }
  return false;
}

}  // namespace demo

// Both sides name the element type, so builds by different compilers agree on it.
template <>
struct ipcring::type_tag<demo::message> {
  static constexpr std::string_view name = "ipcring.demo.message/v1";
};
