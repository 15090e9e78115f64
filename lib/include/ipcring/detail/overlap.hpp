// ipcring/detail/overlap.hpp: how the producer overlaps its copies with the consumer's:
// asking for a slot's cache lines before they are written, and publishing a large batch in parts.
//
// A producer about to overwrite a slot the consumer read one lap ago must first take every
// line of it back from the consumer's cache (a read-for-ownership per line, one cross-core
// transfer each). Asking for the lines of a slot a few positions ahead, while the current one
// is copied, overlaps those transfers with the copy. A hint only: it changes no memory and
// never faults, so an index that is stale costs at most a wasted transfer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace ipcring::detail {

inline constexpr std::size_t k_line = 64;  // cache line the prefetch steps by (x86, Arm)

/// Hints that the `bytes` bytes at `p` will be written soon: every cache line they touch.
/// PREFETCHW on x86-64 (it asks for the line in the modified state, so the store that follows
/// finds it owned; CPUs without it execute it as a NOP), PRFM PSTL1KEEP on AArch64. GCC's
/// __builtin_prefetch(p, 1) only emits PREFETCHW when the target has it (-mprfchw), and the
/// PREFETCHT0 of a generic x86-64 build fetches the line shared, which bought nothing
/// (docs/tuning.md, "Prefetching the slot ahead").
inline void prefetch_for_write(const void* p, std::size_t bytes) noexcept {
  const auto first = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{k_line - 1};
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  for (std::uintptr_t a = first; a < end; a += k_line) {
    const auto* c = reinterpret_cast<const char*>(a);
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    asm volatile("prefetchw %0" : : "m"(*c));
#elif defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(c, 1, 3);
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _m_prefetchw(c);
#else
    (void)c;
#endif
  }
}

/// How many slots ahead of the one being written the producer asks for the lines: 4 KiB of
/// slots, at most 128 slots; 0 (no prefetch) for slots of 4 KiB and more. Measured with
/// PREFETCHW, far cores, alternating binaries (docs/tuning.md): 8 B single pushes 2.8x at
/// 128 slots (1 KiB) ahead, 2.3x at 2 KiB ahead; 64 B 1.36x at 64 slots, 0.8x at 4-8 slots;
/// 1 KiB 1.02x at 4 slots, 0.8x at 8.
template <std::size_t SlotBytes>
inline constexpr std::size_t prefetch_distance = SlotBytes >= 4096
                                                     ? 0
                                                     : std::min<std::size_t>(4096 / SlotBytes, 128);

/// True if the slot starting `offset` bytes into the slot array is the first to start in its
/// cache line: one prefetch per line is enough when several slots share it.
template <std::size_t SlotBytes>
constexpr bool first_in_line(std::uint64_t offset) noexcept {
  return SlotBytes >= k_line || offset % k_line < SlotBytes;
}

/// Slots per cache line when slots tile lines exactly (a power of two below 64 bytes), else 1.
/// With a line-aligned slot array, position p starts a line exactly when p % slots_per_line
/// is 0, and so does p + prefetch_distance (a multiple of it).
template <std::size_t SlotBytes>
inline constexpr std::uint64_t slots_per_line =
    SlotBytes < k_line&& k_line % SlotBytes == 0 ? k_line / SlotBytes : 1;

/// How many tickets on an mpmc_ring try_push that found no free slot at its ticket waits for
/// that slot to be free too (the contract at the top of mpmc_ring.hpp): 4 lines of slots where
/// slots share lines, in rings of 32 lines of slots or more; else 0 (no wait). Retrying at the
/// slot the consumer is freeing takes its line back from the consumer after every free;
/// waiting for 4 lines lets it free them undisturbed (docs/tuning.md, "A full producer waits
/// for 4 lines").
template <std::size_t SlotBytes>
constexpr std::uint64_t room_after_full(std::uint64_t capacity) noexcept {
  constexpr std::uint64_t per_line = slots_per_line<SlotBytes>;
  constexpr std::uint64_t room = per_line > 1 ? 4 * per_line : 0;
  return capacity >= 8 * room ? room : 0;
}

static_assert(prefetch_distance<8> == 128 && prefetch_distance<64> == 64 &&
                  prefetch_distance<1024> == 4 && prefetch_distance<4096> == 0,
              "the distances docs/tuning.md measured");
static_assert(first_in_line<8>(64) && !first_in_line<8>(72) && first_in_line<24>(72) &&
                  !first_in_line<24>(96) && first_in_line<64>(64),
              "one slot per line starts it: the first whose offset in the line is below its size");
static_assert(slots_per_line<8> == 8 && slots_per_line<24> == 1 && slots_per_line<64> == 1 &&
                  prefetch_distance<8> % slots_per_line<8> == 0 &&
                  prefetch_distance<16> % slots_per_line<16> == 0 &&
                  prefetch_distance<32> % slots_per_line<32> == 0,
              "the distance keeps a line start a line start");
static_assert(room_after_full<16>(128) == 16 && room_after_full<16>(64) == 0 &&
                  room_after_full<32>(64) == 8 && room_after_full<32>(32) == 0 &&
                  room_after_full<24>(1 << 20) == 0 && room_after_full<72>(1 << 20) == 0,
              "4 lines of slots in rings of 32 lines or more, only where slots share lines");

/// Slots a batch is published (or freed) in at a time, and the most one claim or peek spans: a
/// quarter of the ring, but never less than 16 KiB of slots (nor more than the ring), so small
/// batches and small rings still publish once per call.
constexpr std::uint64_t publish_chunk(std::uint64_t capacity, std::size_t slot_bytes) noexcept {
  const std::uint64_t min_slots = (std::uint64_t{16384} + slot_bytes - 1) / slot_bytes;
  const std::uint64_t quarter = capacity / 4;
  return std::min(quarter > min_slots ? quarter : min_slots, capacity);
}
static_assert(publish_chunk(65536, 8) == 16384 && publish_chunk(16, 4096) == 4 &&
                  publish_chunk(16, 1024) == 16 && publish_chunk(8, 8) == 8,
              "a quarter of the ring, at least 16 KiB of slots, at most the ring");

}  // namespace ipcring::detail
