// Deterministic spsc_ring tests on heap memory: full, empty, wrap-around (reached by writing
// the indices into the control block), batches, zero-copy, roles and corrupt indices.
#include "ipcring/spsc_ring.hpp"

#include <gtest/gtest.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

#include "ipcring/ipcring.h"
#include "ipcring/layout.hpp"
#include "ipcring/map_view.hpp"
#include "support/spsc_traffic.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using u64 = std::uint64_t;

// A ring of `cap` u64 slots on the heap, with direct access to its control block.
struct fixture {
  explicit fixture(u64 cap)
      : mem(spsc_ring<u64>::required_bytes(cap)),
        ring(spsc_ring<u64>::create_in(mem.span(), cap)) {}
  ring_control& ctl() { return *reinterpret_cast<ring_control*>(mem.span().data() + 128); }
  // Puts both indices at `pos` (an empty ring), as if `pos` messages had passed through.
  void set_position(u64 pos) {
    ctl().head.store(pos);
    ctl().tail.store(pos);
  }
  heap_bytes mem;
  spsc_ring<u64> ring;
};

// Pushes first, first + 1, ..., first + count - 1; false at the first that does not fit.
bool push_sequence(spsc_producer<u64>& tx, u64 first, u64 count) {
  for (u64 i = 0; i < count; ++i) {
    if (!tx.try_push(first + i)) return false;
  }
  return true;
}

TEST(spsc_ring, push_then_pop_returns_the_same_values_in_order) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));
  for (u64 i = 1; i <= 5; ++i)
    ASSERT_TRUE(tx.try_push(i * 10));
  EXPECT_EQ(f.ring.size_approx(), 5u);
  for (u64 i = 1; i <= 5; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i * 10);
  }
  EXPECT_FALSE(rx.try_pop(v));
  EXPECT_EQ(f.ring.size_approx(), 0u);
}

// A holder killed while it slept leaves its announcement (`sleepers`) raised: its successor
// takes it back, or every publish would pay a wake, a syscall, for the life of the segment.
TEST(spsc_ring, a_holder_that_died_asleep_costs_its_successor_no_wakes) {
  fixture f(8);
  f.ctl().data_wait.sleepers.store(1);
  f.ctl().space_wait.sleepers.store(1);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const u64 data_seq = f.ctl().data_wait.seq.load(), space_seq = f.ctl().space_wait.seq.load();
  u64 v = 0;
  for (u64 i = 0; i < 100; ++i) {
    ASSERT_TRUE(tx.try_push(i));
    ASSERT_TRUE(rx.try_pop(v));
  }
  EXPECT_EQ(f.ctl().data_wait.seq.load(), data_seq);  // no wake: nobody sleeps
  EXPECT_EQ(f.ctl().space_wait.seq.load(), space_seq);
  EXPECT_EQ(f.ctl().data_wait.sleepers.load(), 0u);
  EXPECT_EQ(f.ctl().space_wait.sleepers.load(), 0u);
}

TEST(spsc_ring, try_push_fails_when_full_and_succeeds_after_a_pop) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  for (u64 i = 0; i < 4; ++i)
    ASSERT_TRUE(tx.try_push(i));
  EXPECT_FALSE(tx.try_push(99));
  EXPECT_EQ(tx.size_approx(), 4u);
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(tx.try_push(4));
  EXPECT_FALSE(tx.try_push(5));
  for (u64 i = 1; i <= 4; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
  }
}

TEST(spsc_ring, wraps_around_at_every_slot_offset) {
  for (u64 start = 0; start < 8; ++start) {
    fixture f(8);
    f.set_position(start);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    for (u64 i = 0; i < 8; ++i)
      ASSERT_TRUE(tx.try_push(100 + i)) << start;
    EXPECT_FALSE(tx.try_push(0));
    for (u64 i = 0; i < 8; ++i) {
      u64 v = 0;
      ASSERT_TRUE(rx.try_pop(v));
      EXPECT_EQ(v, 100 + i) << "start " << start;
    }
    EXPECT_EQ(f.ctl().tail.load(), start + 8);
    EXPECT_EQ(f.ctl().head.load(), start + 8);
  }
}

TEST(spsc_ring, survives_64_bit_index_overflow) {
  fixture f(4);
  f.set_position(~u64{0} - 1);  // tail and head wrap past 2^64 during the test
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  for (u64 round = 0; round < 3; ++round) {
    for (u64 i = 0; i < 4; ++i)
      ASSERT_TRUE(tx.try_push(round * 10 + i));
    EXPECT_FALSE(tx.try_push(0));
    for (u64 i = 0; i < 4; ++i) {
      u64 v = 0;
      ASSERT_TRUE(rx.try_pop(v));
      EXPECT_EQ(v, round * 10 + i);
    }
  }
  EXPECT_EQ(f.ctl().tail.load(), ~u64{0} - 1 + 12);  // wrapped to 10
}

TEST(spsc_ring, push_all_is_all_or_nothing_across_the_wrap) {
  fixture f(8);
  f.set_position(5);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  std::array<u64, 6> in{1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(tx.try_push_all(in));                            // slots 5,6,7,0,1,2
  EXPECT_FALSE(tx.try_push_all(std::array<u64, 3>{7, 8, 9}));  // only 2 free: nothing pushed
  EXPECT_EQ(tx.size_approx(), 6u);
  std::array<u64, 7> out{};
  EXPECT_FALSE(rx.try_pop_all(out));  // only 6 there: nothing popped
  ASSERT_TRUE(rx.try_pop_all(std::span(out).first(6)));
  EXPECT_TRUE(std::equal(in.begin(), in.end(), out.begin()));
}

// A batch that crosses the end of the ring, but is no larger than a part, is published with
// one store of tail (one wake, were a consumer asleep) and freed with one store of head: a
// producer killed during the call leaves all of it or none. Before, each side of the end was
// its own publication.
TEST(spsc_ring, a_small_batch_across_the_wrap_is_published_and_freed_at_once) {
  fixture f(8);
  f.set_position(6);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  f.ctl().data_wait.sleepers.store(1);  // as if the consumer slept: each publish wakes it
  f.ctl().space_wait.sleepers.store(1);
  const u64 data_seq = f.ctl().data_wait.seq.load(), space_seq = f.ctl().space_wait.seq.load();
  ASSERT_TRUE(tx.try_push_all(std::array<u64, 4>{1, 2, 3, 4}));  // slots 6, 7, 0, 1
  EXPECT_EQ(f.ctl().data_wait.seq.load(), data_seq + 1);
  EXPECT_EQ(tx.try_push_some(std::array<u64, 5>{5, 6, 7, 8, 9}), 4u);  // slots 2-5: no wrap
  EXPECT_EQ(f.ctl().data_wait.seq.load(), data_seq + 2);
  std::array<u64, 8> out{};
  ASSERT_TRUE(rx.try_pop_all(std::span(out).first(4)));  // slots 6, 7, 0, 1 again
  EXPECT_EQ(f.ctl().space_wait.seq.load(), space_seq + 1);
  EXPECT_EQ(f.ctl().head.load(), 10u);
  EXPECT_EQ(out, (std::array<u64, 8>{1, 2, 3, 4, 0, 0, 0, 0}));
  f.ctl().data_wait.sleepers.store(0);
  f.ctl().space_wait.sleepers.store(0);
}

TEST(spsc_ring, push_some_and_pop_some_move_as_many_as_fit) {
  fixture f(8);
  f.set_position(6);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  std::vector<u64> in(12);
  std::iota(in.begin(), in.end(), 0);
  EXPECT_EQ(tx.try_push_some(in), 8u);
  EXPECT_EQ(tx.try_push_some(in), 0u);
  std::vector<u64> out(5);
  EXPECT_EQ(rx.try_pop_some(out), 5u);
  EXPECT_EQ(out, (std::vector<u64>{0, 1, 2, 3, 4}));
  EXPECT_EQ(tx.try_push_some(std::span(in).subspan(8)), 4u);  // 8, 9, 10, 11
  std::vector<u64> rest(20);
  EXPECT_EQ(rx.try_pop_some(rest), 7u);
  EXPECT_EQ(std::vector<u64>(rest.begin(), rest.begin() + 7),
            (std::vector<u64>{5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(rx.try_pop_some(rest), 0u);
}

// 8 B slots in a ring of 8 lines or more, with more than half a ring known to follow: pops
// free their slots a cache line (8 slots) at a time, when the consumer is no longer that far
// behind, when it looks for more, and when the handle closes or lets go (spsc_ring.hpp).
TEST(spsc_ring, pops_free_their_slots_a_cache_line_at_a_time) {
  fixture f(64);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 64));
  u64 v = 0;
  for (u64 i = 0; i < 7; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
    EXPECT_EQ(f.ctl().head.load(), 0u) << "pop " << i << " stored head inside a line";
    EXPECT_FALSE(tx.try_push(100)) << "slot freed before its line was read";
  }
  ASSERT_TRUE(rx.try_pop(v));  // the 8th: the line is done
  EXPECT_EQ(v, 7u);
  EXPECT_EQ(f.ctl().head.load(), 8u);
  EXPECT_TRUE(push_sequence(tx, 64, 8));
  EXPECT_FALSE(tx.try_push(100));
  // The same through a batch that ends inside a line, and a zero-copy release.
  std::array<u64, 3> out{};
  ASSERT_TRUE(rx.try_pop_all(out));
  EXPECT_EQ(out, (std::array<u64, 3>{8, 9, 10}));
  EXPECT_EQ(f.ctl().head.load(), 8u);
  const auto s = rx.peek(5);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], 11u);
  rx.release(5);  // head 16: a line end
  EXPECT_EQ(f.ctl().head.load(), 16u);
  // Once head is inside a line, every pop that leaves that line stores it, wherever it ends:
  // batches of a line's worth would otherwise never end on a boundary, and never store it.
  ASSERT_TRUE(rx.try_pop_all(out));  // 16..18
  EXPECT_EQ(f.ctl().head.load(), 16u);
  std::array<u64, 8> eight{};
  ASSERT_TRUE(rx.try_pop_all(eight));  // 19..26
  EXPECT_EQ(eight.front(), 19u);
  EXPECT_EQ(f.ctl().head.load(), 27u);
  ASSERT_TRUE(rx.try_pop_all(eight));  // 27..34: leaves the line of 27 too
  EXPECT_EQ(f.ctl().head.load(), 35u);
}

TEST(spsc_ring, a_consumer_that_looks_for_more_first_frees_what_it_popped) {
  fixture f(64);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 64));
  u64 v = 0;
  for (u64 i = 0; i < 3; ++i)
    ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(f.ctl().head.load(), 0u);
  // Wants 64 and knows of 61: it reads tail, and frees the 3 before (a producer waiting for
  // space and a consumer waiting for a full ring's worth would otherwise wait for each other).
  std::vector<u64> all(64);
  EXPECT_FALSE(rx.try_pop_all(all));
  EXPECT_EQ(f.ctl().head.load(), 3u);
  EXPECT_TRUE(push_sequence(tx, 64, 3));
  ASSERT_TRUE(rx.try_pop_all(all));
  EXPECT_EQ(all.front(), 3u);
  EXPECT_EQ(all.back(), 66u);
  EXPECT_EQ(f.ctl().head.load(), 67u);  // took the last it knew of
  EXPECT_EQ(f.ring.size_approx(), 0u);
}

TEST(spsc_ring, pops_free_each_slot_at_once_within_half_a_ring_of_the_producer) {
  fixture f(64);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 35));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));  // 34 follow: more than half a ring
  ASSERT_TRUE(rx.try_pop(v));  // 33
  EXPECT_EQ(f.ctl().head.load(), 0u);
  ASSERT_TRUE(rx.try_pop(v));  // 32: half a ring; this store frees the three
  EXPECT_EQ(f.ctl().head.load(), 3u);
  for (u64 i = 3; i < 35; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
    EXPECT_EQ(f.ctl().head.load(), i + 1);
  }
  EXPECT_EQ(tx.size_approx(), 0u);
}

TEST(spsc_ring, a_consumer_frees_what_it_popped_when_it_closes_or_lets_go) {
  fixture f(64);
  auto tx = f.ring.producer();
  ASSERT_TRUE(push_sequence(tx, 0, 60));
  u64 v = 0;
  {
    auto rx = f.ring.consumer();
    for (u64 i = 0; i < 3; ++i)
      ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(f.ctl().head.load(), 0u);
    auto moved = std::move(rx);  // the role moves, the popped slots with it
    EXPECT_EQ(f.ctl().head.load(), 0u);
    ASSERT_TRUE(moved.try_pop(v));
    EXPECT_EQ(v, 3u);
  }  // destroyed
  EXPECT_EQ(f.ctl().head.load(), 4u);
  auto rx = f.ring.consumer();  // continues at 4
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 4u);
  EXPECT_EQ(f.ctl().head.load(), 4u);
  rx.close();
  EXPECT_EQ(f.ctl().head.load(), 5u);
}

TEST(spsc_ring, small_rings_and_line_sized_slots_free_each_slot_at_once) {
  fixture f(32);  // fewer than 8 lines of 8 B slots
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 32));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(f.ctl().head.load(), 1u);
  EXPECT_TRUE(tx.try_push(32));

  struct line {
    u64 w[8];
  };
  heap_bytes mem(spsc_ring<line>::required_bytes(64));
  auto ring = spsc_ring<line>::create_in(mem.span(), 64);
  auto ltx = ring.producer();
  auto lrx = ring.consumer();
  for (u64 i = 0; i < 64; ++i)
    ASSERT_TRUE(ltx.try_push(line{{i}}));
  line l{};
  ASSERT_TRUE(lrx.try_pop(l));
  EXPECT_EQ(l.w[0], 0u);
  EXPECT_TRUE(ltx.try_push(line{{64}}));
}

TEST(spsc_ring, claim_stops_at_the_wrap_and_publish_makes_slots_visible) {
  fixture f(8);
  f.set_position(6);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto s = tx.claim(5);
  ASSERT_EQ(s.size(), 2u);  // slots 6 and 7 are contiguous; 0.. comes next claim
  s[0] = 60;
  s[1] = 70;
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));  // not yet published
  tx.publish(2);
  auto s2 = tx.claim(5);
  ASSERT_EQ(s2.size(), 5u);
  for (u64 i = 0; i < 5; ++i)
    s2[i] = i;
  tx.publish(3);                        // publish part of the claim
  EXPECT_EQ(tx.claim(100).size(), 3u);  // 8 - 5 in use
  tx.publish(0);

  auto p = rx.peek(10);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], 60u);
  EXPECT_EQ(p[1], 70u);
  rx.release(1);
  p = rx.peek(10);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], 70u);
  rx.release(5);  // clamped to the peek's size
  p = rx.peek(10);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[2], 2u);
  rx.release(3);
  EXPECT_TRUE(rx.peek(1).empty());
}

// A claim or peek of large slots spans at most a quarter of the ring (but 16 KiB or more), as a
// batch is published in parts: a producer filling the whole ring before publishing, and a
// consumer reading all of it before freeing any, would take turns.
TEST(spsc_ring, claims_and_peeks_of_large_slots_span_at_most_a_quarter_of_the_ring) {
  struct page {
    std::array<u64, 512> words;  // 4 KiB
  };
  constexpr u64 cap = 16;
  heap_bytes mem(spsc_ring<page>::required_bytes(cap));
  auto ring = spsc_ring<page>::create_in(mem.span(), cap);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  for (u64 round = 0; round < cap / 4; ++round) {
    auto c = tx.claim(cap);
    ASSERT_EQ(c.size(), 4u) << "round " << round;  // max(16 / 4, 16 KiB / 4 KiB)
    for (u64 i = 0; i < c.size(); ++i)
      c[i].words.back() = round * 4 + i;
    tx.publish(c.size());
  }
  EXPECT_TRUE(tx.claim(1).empty());  // all 16 published
  for (u64 round = 0; round < cap / 4; ++round) {
    auto p = rx.peek(cap);
    ASSERT_EQ(p.size(), 4u) << "round " << round;
    for (u64 i = 0; i < p.size(); ++i)
      EXPECT_EQ(p[i].words.back(), round * 4 + i);
    rx.release(p.size());
    EXPECT_EQ(tx.claim(cap).size(), 4u);  // what was released is free again
    tx.publish(0);
  }
}

// Asking for more than the ring holds reads the peer's index no more often than asking for the
// whole ring: an index made garbage after the handle last read it goes unnoticed.
TEST(spsc_ring, claims_and_peeks_beyond_the_ring_read_the_peers_index_only_when_needed) {
  fixture f(8);
  auto tx = f.ring.producer();
  f.ctl().head.store(1000);  // head_cache_ (0) already says all 8 are free
  EXPECT_EQ(tx.claim(100).size(), 8u);
  EXPECT_FALSE(tx.corrupted());
  tx.publish(8);
  f.ctl().head.store(0);
  auto rx = f.ring.consumer();  // reads tail: 8
  f.ctl().tail.store(1000);
  EXPECT_EQ(rx.peek(100).size(), 8u);
  EXPECT_FALSE(rx.corrupted());
}

TEST(spsc_ring, the_span_limit_is_a_quarter_of_the_ring_but_at_least_16_kib) {
  {  // 8 B slots, 65536 of them: a quarter (16384 slots) is more than 16 KiB (2048 slots)
    constexpr u64 cap = 65536;
    fixture f(cap);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    auto c = tx.claim(cap);
    EXPECT_EQ(c.size(), cap / 4);
    tx.publish(c.size());
    ASSERT_TRUE(push_sequence(tx, 0, cap - cap / 4));
    EXPECT_EQ(rx.peek(cap).size(), cap / 4);
  }
  {  // 1 KiB slots, 16 of them: 16 KiB is the whole ring, more than a quarter (4 slots)
    struct kib {
      std::array<u64, 128> words;
    };
    constexpr u64 cap = 16;
    heap_bytes mem(spsc_ring<kib>::required_bytes(cap));
    auto ring = spsc_ring<kib>::create_in(mem.span(), cap);
    auto tx = ring.producer();
    auto rx = ring.consumer();
    auto c = tx.claim(cap);
    EXPECT_EQ(c.size(), cap);
    tx.publish(c.size());
    EXPECT_EQ(rx.peek(cap).size(), cap);
  }
}

TEST(spsc_ring, claim_on_full_ring_is_empty_and_publish_is_clamped) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto c = tx.claim(4);
  ASSERT_EQ(c.size(), 4u);
  tx.publish(100);  // clamped to 4
  EXPECT_TRUE(tx.claim(1).empty());
  tx.publish(1);  // nothing claimed: no effect
  EXPECT_EQ(f.ctl().tail.load(), 4u);
}

TEST(spsc_ring, an_interrupted_claim_cannot_publish_more_than_was_free) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(tx.claim(4).size(), 4u);
  ASSERT_TRUE(tx.try_push(1));  // ends the claim; takes the first slot
  tx.publish(4);                // stale: must publish nothing (else tail - head = 5 > 4)
  EXPECT_EQ(f.ctl().tail.load(), 1u);
  ASSERT_EQ(tx.claim(8).size(), 3u);
  ASSERT_TRUE(tx.try_push(7));  // ends the claim
  tx.publish(3);
  EXPECT_EQ(f.ctl().tail.load(), 2u);
  ASSERT_EQ(rx.peek(4).size(), 2u);
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));  // ends the peek
  EXPECT_EQ(v, 1u);
  rx.release(2);  // stale: must release nothing
  EXPECT_EQ(f.ctl().head.load(), 1u);
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 7u);
  EXPECT_FALSE(rx.try_pop(v));
}

TEST(spsc_ring, move_assigning_a_handle_releases_its_old_role_first) {
  segment_guard a(unique_name("-a"));
  segment_guard b(unique_name("-b"));
  // The handles are the last holders of ring a's mapping: assigning must release the role
  // while the mapping is alive (else the release writes to unmapped memory and crashes).
  auto tx = spsc_ring<u64>::create(a.name(), 4).producer();
  auto rx = spsc_ring<u64>::open(a.name()).consumer();
#ifdef _WIN32
  // A Windows mapping vanishes with its last handle: keep ring a to reopen it below.
  const auto keep_a = map_view::open(a.name());
#endif
  auto ring_b = spsc_ring<u64>::create(b.name(), 4);
  tx = ring_b.producer();
  rx = ring_b.consumer();
  auto ring_a = spsc_ring<u64>::open(a.name());
  EXPECT_NO_THROW((void)ring_a.producer());  // released
  EXPECT_NO_THROW((void)ring_a.consumer());
  expect_error(errc::busy, [&] { (void)ring_b.producer(); });
  ASSERT_TRUE(tx.try_push(3));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 3u);
}

TEST(spsc_ring, second_producer_or_consumer_is_busy_until_released) {
  fixture f(4);
  {
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    const auto msg = expect_error(errc::busy, [&] { (void)f.ring.producer(); });
    EXPECT_NE(msg.find("producer role"), std::string::npos) << msg;
    expect_error(errc::busy, [&] { (void)f.ring.consumer(); });
    auto moved = std::move(tx);  // moving keeps the role
    expect_error(errc::busy, [&] { (void)f.ring.producer(); });
    EXPECT_NE(f.ctl().producer_owner.load(), 0u);
  }
  EXPECT_EQ(f.ctl().producer_owner.load(), 0u);
  EXPECT_EQ(f.ctl().consumer_owner.load(), 0u);
  EXPECT_NO_THROW((void)f.ring.producer());
  EXPECT_NO_THROW((void)f.ring.consumer());
}

TEST(spsc_ring, new_holder_continues_from_the_shared_indices) {
  fixture f(8);
  {
    auto tx = f.ring.producer();
    ASSERT_TRUE(tx.try_push(1));
    ASSERT_TRUE(tx.try_push(2));
  }
  auto rx = f.ring.consumer();
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 1u);
  auto tx = f.ring.producer();
  ASSERT_TRUE(tx.try_push(3));
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 2u);
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 3u);
}

TEST(spsc_ring, role_held_by_a_dead_process_is_taken_over) {
  fixture f(8);
  f.ctl().producer_owner.store(k_dead_owner);
  EXPECT_NO_THROW((void)f.ring.producer());
}

// A role word naming a pid no system hands out (forged, or garbage) is not a live holder: on
// Linux, pid 0xffffffff passed to kill() as -1 once probed every process and held the role for
// ever.
TEST(spsc_ring, a_role_word_naming_an_impossible_pid_is_taken_over) {
  fixture f(8);
  for (const u64 pid : {u64{0xffffffff}, u64{0x80000000}, u64{(1u << 22) + 1}}) {
    f.ctl().producer_owner.store(pid | (u64{1} << 32));
    EXPECT_NO_THROW((void)f.ring.producer()) << pid;
  }
}

// A holder's identity is its pid and its start time: a pid handed to a new process after the
// holder died does not keep the role held. This process stands for the new one: its pid, with
// a start time other than its own.
TEST(spsc_ring, a_role_word_whose_pid_now_names_another_process_is_taken_over) {
  fixture f(8);
  const u64 me = detail::self_identity();
  const u64 other_start = ((me >> 32) + 1) & 0xffffffffu;
  f.ctl().producer_owner.store(detail::identity_pid(me) | (other_start << 32));
  EXPECT_FALSE(detail::process_alive(f.ctl().producer_owner.load()));
  auto tx = f.ring.producer();  // taken over: the word now names this process
  EXPECT_EQ(f.ctl().producer_owner.load(), me);
  EXPECT_TRUE(tx.try_push(7));
  EXPECT_TRUE(detail::process_alive(me));  // the control: its true start time is alive
}

#ifndef _WIN32
// The same with another live process: its pid with a start time not its own is a holder that
// died; its true identity is a live holder, and the role stays with it.
TEST(spsc_ring, a_live_process_holds_a_role_only_under_its_own_start_time) {
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(from_child), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // tells its identity, then lives until the pipe closes
    ::close(to_child[1]);
    ::close(from_child[0]);
    const u64 id = detail::self_identity();
    (void)!::write(from_child[1], &id, sizeof id);
    char c;
    (void)!::read(to_child[0], &c, 1);
    ::_exit(0);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  u64 id = 0;
  const bool told = ::read(from_child[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id);
  fixture f(8);
  if (told) {
    ASSERT_EQ(detail::identity_pid(id), static_cast<u64>(child));
    f.ctl().producer_owner.store(id);
    const auto msg = expect_error(errc::busy, [&] { (void)f.ring.producer(); });
    EXPECT_NE(msg.find("a live process"), std::string::npos) << msg;
    EXPECT_EQ(f.ctl().producer_owner.load(), id);  // still the child's
    const u64 other_start = ((id >> 32) + 1) & 0xffffffffu;
    f.ctl().producer_owner.store(detail::identity_pid(id) | (other_start << 32));
    EXPECT_NO_THROW((void)f.ring.producer());
  }
  ::close(to_child[1]);  // the child exits
  ::close(from_child[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(told) << "the child did not tell its identity";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif

// create_in over memory that holds a ring already (one in use, of another element type) is
// refused: it would rewrite the header under the ring's handles.
// A handle whose role another process took over (this one judged dead, or a child that
// inherited it across fork() and was later given the holder's pid) holds it no more: letting go
// of it stores nothing in the successor's ring. Before, the pid alone decided, and the handle
// stored the head it had deferred, freeing slots the successor had not read.
TEST(spsc_ring, a_handle_whose_role_was_taken_over_leaves_the_ring_alone) {
  fixture f(64);
  auto tx = f.ring.producer();
  ASSERT_TRUE(push_sequence(tx, 0, 64));
  {
    auto rx = f.ring.consumer();
    u64 v = 0;
    for (int i = 0; i < 3; ++i)  // freed a line at a time: head stays 0 for now
      ASSERT_TRUE(rx.try_pop(v));
    ASSERT_EQ(f.ctl().head.load(), 0u);
    f.ctl().consumer_owner.store(k_dead_owner);  // another identity: the successor's
  }
  EXPECT_EQ(f.ctl().head.load(), 0u);
  EXPECT_EQ(f.ctl().consumer_owner.load(), k_dead_owner);  // and its role word stays
}

TEST(spsc_ring, create_in_over_a_ring_is_refused) {
  fixture f(8);
  auto tx = f.ring.producer();
  ASSERT_TRUE(tx.try_push(0x1111111122222222));
  const auto msg = expect_error(
      errc::already_exists, [&] { (void)spsc_ring<std::uint32_t>::create_in(f.mem.span(), 8); });
  EXPECT_NE(msg.find("holds a ring header already"), std::string::npos) << msg;
  auto rx = f.ring.consumer();  // the ring is as it was
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 0x1111111122222222u);
}

// A moved-from ring object is the same ring (a move copies its hold on the mapping); a
// moved-from handle keeps no pointer to the ring: it closes nothing, and a push or pop on it
// faults at address 0 instead of writing into or reading from the ring of the handle it
// moved to (both succeeded: a message lost, another delivered twice).
TEST(spsc_ring, moved_from_rings_and_handles_touch_nothing_of_the_ring) {
  fixture f(8);
  const auto ring = std::move(f.ring);
  EXPECT_EQ(f.ring.capacity(), 8u);  // NOLINT(bugprone-use-after-move): what is tested
  EXPECT_EQ(ring.capacity(), 8u);
  auto tx = f.ring.producer();
  auto rx = ring.consumer();
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  tx.close();  // NOLINT(bugprone-use-after-move): does nothing
  rx.close();  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(f.ctl().producer_closed.load(), 0u);
  EXPECT_EQ(f.ctl().consumer_closed.load(), 0u);
  ASSERT_TRUE(tx2.try_push(1));
  u64 v = 0;
  ASSERT_TRUE(rx2.try_pop(v));
  EXPECT_EQ(v, 1u);
#if !defined(_WIN32) && !defined(__SANITIZE_THREAD__)
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)tx.try_push(2), "");  // NOLINT(bugprone-use-after-move)
  EXPECT_DEATH((void)rx.try_pop(v), "");   // NOLINT(bugprone-use-after-move)
#endif
  EXPECT_EQ(f.ctl().tail.load(), 1u);  // nothing more was pushed
}

TEST(spsc_ring, corrupt_indices_never_address_outside_the_slots) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  for (u64 i = 0; i < 4; ++i)
    ASSERT_TRUE(tx.try_push(i));  // full: the next push reads head
  // head ahead of tail: the producer must not see free space, the consumer no messages.
  f.ctl().head.store(1000);
  EXPECT_FALSE(tx.try_push(5));
  EXPECT_EQ(tx.try_push_some(std::array<u64, 8>{}), 0u);
  EXPECT_TRUE(tx.claim(8).empty());
  EXPECT_EQ(f.ctl().tail.load(), 4u);
  u64 v = 0;
  f.ctl().tail.store(~u64{0});  // tail far ahead of the consumer's head
  EXPECT_FALSE(rx.try_pop(v));
  std::array<u64, 4> out{};
  EXPECT_EQ(rx.try_pop_some(out), 0u);
  EXPECT_TRUE(rx.peek(4).empty());
  EXPECT_EQ(f.ring.size_approx(), 0u);
  EXPECT_TRUE(tx.corrupted());  // each side noticed, and said so
  EXPECT_TRUE(rx.corrupted());
  // Nor do they wait for a garbage index to change: a blocking call returns at once. Before,
  // it waited its whole timeout (for ever by default) while the other side was alive.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(tx.push(5, std::chrono::seconds(30)), wait_result::timeout);
  EXPECT_EQ(rx.pop(v, std::chrono::seconds(30)), wait_result::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(f.ctl().tail.load(), ~u64{0});  // nothing was pushed or popped
  // Indices sane again (full: 4 pushed, none popped): the handles still say corrupted(), but
  // wait as any other. The consumer frees a slot while the producer waits for one.
  f.ctl().tail.store(4);
  f.ctl().head.store(0);
  std::thread consumer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(rx.pop(v, std::chrono::seconds(30)), wait_result::ok);
  });
  EXPECT_EQ(tx.push(5, std::chrono::seconds(30)), wait_result::ok);  // waited, then pushed
  consumer.join();
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(tx.corrupted());
}

// The C API says IPCRING_CORRUPTED where an spsc handle read an impossible index, in place of
// full, empty or timeout, and its blocking calls return at once. Before, they said FULL and
// EMPTY, and push and pop waited for ever.
TEST(spsc_ring, the_c_api_reports_corrupt_indices_and_does_not_wait_for_them) {
  const segment_guard g(unique_name());
  ipcring_ring* cr = nullptr;
  ASSERT_EQ(ipcring_create(g.c_str(), IPCRING_KIND_SPSC, 4, 8, nullptr, &cr), IPCRING_OK)
      << ipcring_last_error();
  const c_endpoints c(cr);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  const map_view view = map_view::open(g.name());
  auto& ctl = *reinterpret_cast<ring_control*>(view.data() + k_control_offset);
  const auto start = std::chrono::steady_clock::now();
  u64 v = 7;
  std::size_t done = 9;
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(ipcring_try_push(c.tx, &v), IPCRING_OK);
  EXPECT_EQ(ipcring_try_push(c.tx, &v), IPCRING_FULL);  // a full ring is only full
  ctl.head.store(1000);                                 // ahead of tail
  EXPECT_EQ(ipcring_try_push(c.tx, &v), IPCRING_CORRUPTED);
  EXPECT_EQ(ipcring_try_push_some(c.tx, &v, 1, &done), IPCRING_CORRUPTED);
  EXPECT_EQ(done, 0u);
  EXPECT_EQ(ipcring_push(c.tx, &v, -1), IPCRING_CORRUPTED);
  EXPECT_EQ(ipcring_push_all(c.tx, &v, 1, &done, -1), IPCRING_CORRUPTED);
  EXPECT_EQ(done, 0u);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(ipcring_try_pop(c.rx, &v), IPCRING_OK);   // the consumer's own head is sane
  EXPECT_EQ(ipcring_try_pop(c.rx, &v), IPCRING_EMPTY);  // an empty ring is only empty
  ctl.tail.store(~u64{0});                              // far ahead of the consumer's head
  EXPECT_EQ(ipcring_try_pop(c.rx, &v), IPCRING_CORRUPTED);
  EXPECT_EQ(ipcring_try_pop_some(c.rx, &v, 1, &done), IPCRING_CORRUPTED);
  EXPECT_EQ(ipcring_pop(c.rx, &v, -1), IPCRING_CORRUPTED);
  EXPECT_EQ(ipcring_pop_some(c.rx, &v, 1, &done, -1), IPCRING_CORRUPTED);
  EXPECT_EQ(done, 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(spsc_ring, claiming_a_role_on_corrupt_indices_fails) {
  fixture f(4);
  f.ctl().tail.store(100);  // tail - head = 100 > capacity
  f.ctl().producer_closed.store(1);
  f.ctl().consumer_closed.store(1);
  const auto msg = expect_error(errc::corrupted, [&] { (void)f.ring.producer(); });
  EXPECT_NE(msg.find("tail=100"), std::string::npos) << msg;
  expect_error(errc::corrupted, [&] { (void)f.ring.consumer(); });
  EXPECT_EQ(f.ctl().producer_owner.load(), 0u);  // the failed claim released the role
  // ... and left the sides as they were: before, a refused claim reopened its side first.
  EXPECT_EQ(f.ctl().producer_closed.load(), 1u);
  EXPECT_EQ(f.ctl().consumer_closed.load(), 1u);
}

// Each side is the only writer of its index, so a value there that it did not store came from
// another process, even one that looks possible. head moved back to 0 on an empty ring (8
// pushed, 8 popped) shows the producer a full ring, and tail moved back to head hides what a
// full ring holds: before, both sides waited for each other for ever, alive and not corrupted().
TEST(spsc_ring, an_index_overwritten_with_a_possible_value_is_reported) {
  const auto start = std::chrono::steady_clock::now();
  u64 v = 0;
  // 8 pushed, and all of them popped if `popped`: head = tail = 8.
  const auto passed_8 = [&](spsc_producer<u64>& tx, spsc_consumer<u64>& rx, bool popped) {
    ASSERT_TRUE(push_sequence(tx, 0, 8));
    for (u64 i = 0; popped && i < 8; ++i)
      ASSERT_TRUE(rx.try_pop(v));
  };
  {
    fixture f(8);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    ASSERT_NO_FATAL_FAILURE(passed_8(tx, rx, true));
    ASSERT_EQ(f.ctl().head.load(), 8u);
    f.ctl().head.store(0);  // tail - head = 8: full, as far as anyone can tell
    EXPECT_FALSE(tx.try_push(8));
    EXPECT_FALSE(tx.corrupted());  // the producer cannot tell; the consumer can
    EXPECT_FALSE(rx.try_pop(v));
    EXPECT_TRUE(rx.corrupted());
    EXPECT_EQ(rx.pop(v, std::chrono::seconds(30)), wait_result::timeout);  // at once
  }
  {
    fixture f(8);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    ASSERT_NO_FATAL_FAILURE(passed_8(tx, rx, false));
    f.ctl().tail.store(0);  // tail = head: empty
    EXPECT_FALSE(rx.try_pop(v));
    EXPECT_FALSE(rx.corrupted());
    EXPECT_FALSE(tx.try_push(8));
    EXPECT_TRUE(tx.corrupted());
    EXPECT_EQ(tx.push(8, std::chrono::seconds(30)), wait_result::timeout);  // at once
  }
  {
    fixture f(8);  // and a blocking call already waiting ends (at its next look)
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    ASSERT_NO_FATAL_FAILURE(passed_8(tx, rx, true));
    std::thread hostile([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      f.ctl().head.store(0);
    });
    EXPECT_EQ(rx.pop(v, std::chrono::seconds(30)), wait_result::timeout);
    hostile.join();
    EXPECT_TRUE(rx.corrupted());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(spsc_ring, open_in_sees_the_created_ring) {
  fixture f(16);
  auto again = spsc_ring<u64>::open_in(f.mem.span());
  EXPECT_EQ(again.capacity(), 16u);
  auto tx = f.ring.producer();
  auto rx = again.consumer();
  ASSERT_TRUE(tx.try_push(7));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 7u);
}

TEST(spsc_ring, create_in_rejects_small_or_misaligned_memory) {
  heap_bytes mem(4096);
  expect_error(errc::too_small, [&] { (void)spsc_ring<u64>::create_in(mem.span(), 1024); });
  expect_error(errc::invalid_argument,
               [&] { (void)spsc_ring<u64>::create_in(mem.span().subspan(8), 4); });
}

struct alignas(64) padded {
  std::uint32_t v;
};

TEST(spsc_ring, over_aligned_elements_are_aligned_in_their_slots) {
  heap_bytes mem(spsc_ring<padded>::required_bytes(4));
  auto ring = spsc_ring<padded>::create_in(mem.span(), 4);
  auto tx = ring.producer();
  auto c = tx.claim(4);
  ASSERT_EQ(c.size(), 4u);
  for (auto& p : c)
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&p) % 64, 0u);
}

TEST(spsc_ring, streaming_pushes_deliver_every_byte_across_the_wrap) {
  heap_bytes mem(spsc_ring<page_msg>::required_bytes(8));
  auto ring = spsc_ring<page_msg>::create_in(mem.span(), 8);
  auto first = ring.producer();
  EXPECT_FALSE(first.stream_copies());  // off by default
  first.stream_copies(true);
  EXPECT_EQ(first.stream_copies(), detail::streams<sizeof(page_msg)>);
  auto moved = std::move(first);  // the setting moves with the handle
  ASSERT_EQ(moved.stream_copies(), detail::streams<sizeof(page_msg)>);
  first = std::move(moved);  // and with move-assignment
  ASSERT_EQ(first.stream_copies(), detail::streams<sizeof(page_msg)>);
  auto tx = std::move(first);
  auto rx = ring.consumer();
  u64 pushed = 0;
  u64 popped = 0;
  std::vector<page_msg> batch(5);
  page_msg out{};
  for (int round = 0; round < 20; ++round) {  // batches of 5 in 8 slots cross the wrap
    ASSERT_TRUE(tx.try_push(make_page(pushed++)));
    for (auto& b : batch)
      b = make_page(pushed++);
    ASSERT_TRUE(tx.try_push_all(batch));
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(rx.try_pop(out));
      ASSERT_TRUE(out == make_page(popped++)) << "message " << popped - 1;
    }
  }
  EXPECT_FALSE(rx.try_pop(out));
}

TEST(spsc_ring, slots_under_4_kib_never_stream) {
  fixture f(8);
  auto tx = f.ring.producer();
  tx.stream_copies(true);
  EXPECT_FALSE(tx.stream_copies());
  struct kib {
    std::byte b[1024];
  };
  heap_bytes mem(spsc_ring<kib>::required_bytes(8));
  auto tx_kib = spsc_ring<kib>::create_in(mem.span(), 8).producer();
  tx_kib.stream_copies(true);
  EXPECT_FALSE(tx_kib.stream_copies());
}

#ifdef _WIN32
// The units of the data block's semaphore, as a new sleeper would find them (Windows keeps a
// wait block's wakes there: windows/wait.cpp). Its name as docs/layout.md gives it.
long semaphore_units(const std::string& segment, std::size_t offset) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64 of "shm:<name>"
  for (const char c : "shm:" + segment) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  char name[80];
  std::snprintf(name, sizeof name, "ipcring.wait.%016llx.%zu", static_cast<unsigned long long>(h),
                offset);
  HANDLE sem = OpenSemaphoreA(SEMAPHORE_ALL_ACCESS, FALSE, name);
  if (sem == nullptr) return -1;
  LONG before = -1;
  if (ReleaseSemaphore(sem, 1, &before) != 0) WaitForSingleObject(sem, 0);  // and take it back
  CloseHandle(sem);
  return before;
}

// A consumer killed asleep leaves its count raised, and every publish until a new consumer
// attaches releases a unit for it. The new consumer drops those units with the count, or its
// first sleep would take them one syscall at a time.
TEST(spsc_ring, a_new_consumer_drops_the_wakes_left_for_one_that_died_asleep) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 256);
  const auto view = map_view::open(g.name());
  auto& ctl = *reinterpret_cast<ring_control*>(view.data() + 128);
  const std::size_t data_wait = 128 + offsetof(ring_control, data_wait);
  ctl.data_wait.sleepers.store(1);  // the dead consumer's announcement
  auto tx = ring.producer();
  ASSERT_TRUE(push_sequence(tx, 0, 100));
  ASSERT_EQ(semaphore_units(g.name(), data_wait), 100);
  auto rx = ring.consumer();
  EXPECT_EQ(ctl.data_wait.sleepers.load(), 0u);
  EXPECT_EQ(semaphore_units(g.name(), data_wait), 0);
  u64 v = 0;
  for (u64 i = 0; i < 100; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
  }
}
#endif

// spsc handles have nothing to repair (a new holder of the role takes over): 0.
TEST(spsc_ring, the_c_api_has_nothing_to_recover) {
  const segment_guard g(unique_name());
  ipcring_ring* cr = nullptr;
  ASSERT_EQ(ipcring_create(g.c_str(), IPCRING_KIND_SPSC, 8, 8, nullptr, &cr), IPCRING_OK);
  const c_endpoints c(cr);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  std::size_t repaired = 9;
  EXPECT_EQ(ipcring_producer_recover(c.tx, &repaired), IPCRING_OK);
  EXPECT_EQ(repaired, 0u);
  repaired = 9;
  EXPECT_EQ(ipcring_consumer_recover(c.rx, &repaired), IPCRING_OK);
  EXPECT_EQ(repaired, 0u);
}

}  // namespace
}  // namespace ipcring::test
