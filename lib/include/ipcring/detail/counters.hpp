// ipcring/detail/counters.hpp: keeping a side's statistics (side_counters, see layout.hpp).
//
// A counter block has one writer at a time: the holder of a single role (spsc sides, the
// consumer of an mpsc message ring) or one registered endpoint (its record's block). That
// writer adds with a plain load and store, not a read-modify-write: the block sits on a cache
// line nobody else writes, so the cost is one store to a line already in the writer's cache.
// When an endpoint goes away its counts are added (atomic add: many endpoints may fold at
// once) to the ring's totals, which no single writer touches in kinds with endpoint tables.
#pragma once

#include <atomic>
#include <cstdint>

#include "ipcring/layout.hpp"

namespace ipcring::detail {

/// Adds `n` to a counter this handle alone writes.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
  // relaxed: one writer; readers (tools) display a racy snapshot and order nothing by it
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

/// Counts `n` messages of `bytes` payload bytes in all.
inline void count_messages(side_counters& s, std::uint64_t n, std::uint64_t bytes) noexcept {
  bump(s.messages, n);
  bump(s.bytes, bytes);
}

/// A failed attempt of a single-role handle at position `pos` (the tail a producer found the
/// ring full at, the head a consumer found it empty at). The first failure at a position is a
/// full / empty event, counted in `stalls`; a spinning retry at the same position is not
/// another. `stall_at` and `retries` are the handle's (two fields, not a struct: their place
/// among its hot fields was measured). Returns true at the event and at every 1024th retry
/// since: when the caller looks at the index only it writes, for another process's writes (a
/// look at every retry made BM_single's pop of an empty ring 1.7x slower: 2.09 ns, not 1.24).
inline bool stall_event(std::uint64_t pos, std::uint64_t& stall_at, std::uint32_t& retries,
                        std::atomic<std::uint64_t>& stalls) noexcept {
  if (stall_at != pos) {
    stall_at = pos;
    retries = 0;
    bump(stalls, 1);
    return true;
  }
  return (++retries & 1023) == 0;
}

/// Moves an endpoint's counts into the ring totals (atomic adds) and zeroes them.
inline void fold_counters(side_counters& from, side_counters& into) noexcept {
  // relaxed throughout: statistics; a reader may see a count twice or not at all for an
  // instant, never a torn value
  auto move = [](std::atomic<std::uint64_t>& src, std::atomic<std::uint64_t>& dst) {
    const std::uint64_t v = src.exchange(0, std::memory_order_relaxed);
    if (v != 0) dst.fetch_add(v, std::memory_order_relaxed);
  };
  move(from.messages, into.messages);
  move(from.bytes, into.bytes);
  move(from.stalls, into.stalls);
  move(from.waits, into.waits);
}

}  // namespace ipcring::detail
