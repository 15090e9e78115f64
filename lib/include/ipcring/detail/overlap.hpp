// ipcring/detail/overlap.hpp: how the producer overlaps its copies with the consumer's:
// asking for a slot's cache lines before they are written, and publishing a large batch in parts.
//
// A producer about to overwrite a slot the consumer read one lap ago must first take every
// line of it back from the consumer's cache (a read-for-ownership per line, one cross-core
// transfer each). Asking for the lines of a slot a few positions ahead, while the current one
// is copied, overlaps those transfers with the copy. A hint only: it changes no memory and
// never faults, so an index that is stale costs at most a wasted transfer.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace ipcring::detail {

inline constexpr std::size_t k_line = 64;  // cache line the prefetch steps by (x86, Arm)

/// Hints that the `bytes` bytes at `p` will be written soon: every cache line they touch.
/// GCC and Clang emit PREFETCHW when the target has it (-march=native, or -mprfchw) and a
/// plain prefetch (PREFETCHT0) in a generic x86-64 build, which is what bench/README.md
/// measured; either is only a hint.
inline void prefetch_for_write(const void* p, std::size_t bytes) noexcept {
  const auto first = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{k_line - 1};
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  for (std::uintptr_t a = first; a < end; a += k_line) {
    const auto* c = reinterpret_cast<const char*>(a);
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(c, 1, 3);
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _m_prefetchw(c);
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

/// Slots a batch is published (or freed) in at a time: a quarter of the ring, but never less
/// than 16 KiB of slots, so small batches and small rings still publish once per call.
constexpr std::uint64_t publish_chunk(std::uint64_t capacity, std::size_t slot_bytes) noexcept {
  const std::uint64_t min_slots = (std::uint64_t{16384} + slot_bytes - 1) / slot_bytes;
  const std::uint64_t quarter = capacity / 4;
  return quarter > min_slots ? quarter : min_slots;
}

}  // namespace ipcring::detail
