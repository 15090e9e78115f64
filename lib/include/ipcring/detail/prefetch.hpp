// ipcring/detail/prefetch.hpp: asking for a slot's cache lines before they are written.
//
// A producer about to overwrite a slot the consumer read one lap ago must first take every
// line of it back from the consumer's cache (a read-for-ownership per line, one cross-core
// transfer each). Asking for the lines of a slot a few positions ahead, while the current one
// is copied, overlaps those transfers with the copy. A hint only: it changes no memory and
// never faults, so an index that is stale costs at most a wasted transfer.
#pragma once

#include <cstddef>

#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace ipcring::detail {

inline constexpr std::size_t k_line = 64;  // cache line the prefetch steps by (x86, Arm)

/// Hints that the `bytes` bytes at `p` will be written soon (x86 PREFETCHW where available).
inline void prefetch_for_write(const void* p, std::size_t bytes) noexcept {
  const auto* c = static_cast<const char*>(p);
  for (std::size_t off = 0; off < bytes; off += k_line) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(c + off, 1, 3);
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _m_prefetchw(c + off);
#else
    (void)c;
#endif
  }
}

/// How many slots ahead of the one being written the producer prefetches: about 4 KiB ahead,
/// for slots of 256 B to 2 KiB, where it was measured to pay (1 KiB single pushes: 1.09-1.24x).
/// 0 (no prefetch) outside that range: at 64 B it measured 0.97-1.05x, and at 4 KiB, one slot
/// ahead, 0.96x (bench/README.md, "Single operations: who polls whom").
template <std::size_t SlotBytes>
inline constexpr std::size_t prefetch_distance =
    SlotBytes >= 256 && SlotBytes <= 2048 ? 4096 / SlotBytes : 0;

}  // namespace ipcring::detail
