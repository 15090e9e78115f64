// Deterministic mpmc_ring tests on heap memory: order, full/empty, wrap-around (tickets set
// directly), batches, endpoint records, corrupt words, blocking results.
#include "ipcring/mpmc_ring.hpp"

#include <gtest/gtest.h>

#include "ipcring/inspect.hpp"
#include "ipcring/ipcring.h"
#include "ipcring/map_view.hpp"

#include <array>
#include <vector>

#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;

struct fixture {
  explicit fixture(u64 capacity)
      : cap(capacity),
        mem(mpmc_ring<u64>::required_bytes(capacity)),
        ring(mpmc_ring<u64>::create_in(mem.span(), capacity)) {}
  registry_control& reg() { return *reinterpret_cast<registry_control*>(mem.span().data() + 128); }
  std::atomic<u64>& seq_word(u64 slot) {
    const std::size_t offset = detail::data_offset(
        detail::ring_spec{ring_kind::mpmc, cap, 16, 8, 8, 8, sizeof(registry_control), ""});
    return *reinterpret_cast<std::atomic<u64>*>(mem.span().data() + offset + slot * 16);
  }
  // An empty ring whose next ticket is `pos` (as if `pos` messages had passed through).
  void set_position(u64 pos) {
    reg().base.tail.store(pos);
    reg().base.head.store(pos);
    for (u64 i = 0; i < cap; ++i) {
      const u64 ticket = pos + ((i - pos) & (cap - 1));  // the next ticket of slot i
      seq_word(i).store(ticket - i);                     // seq == ticket: free
    }
  }
  u64 cap;
  heap_bytes mem;
  mpmc_ring<u64> ring;
};

// Pushes first, first + 1, ..., first + count - 1; false at the first that does not fit.
bool push_sequence(mpmc_producer<u64>& tx, u64 first, u64 count) {
  for (u64 i = 0; i < count; ++i) {
    if (!tx.try_push(first + i)) return false;
  }
  return true;
}

TEST(mpmc_ring, slot_layout_is_seq_then_value) {
  EXPECT_EQ(detail::mpmc_slot_layout<u64>::size, 16u);
  EXPECT_EQ(detail::mpmc_slot_layout<u64>::value_offset, 8u);
  struct alignas(32) wide {
    char b[40];
  };
  EXPECT_EQ(detail::mpmc_slot_layout<wide>::value_offset, 32u);
  EXPECT_EQ(detail::mpmc_slot_layout<wide>::size, 96u);
}

TEST(mpmc_ring, push_pop_in_order_until_full_and_empty) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));
  for (u64 i = 0; i < 4; ++i)
    ASSERT_TRUE(tx.try_push(i + 10));
  EXPECT_FALSE(tx.try_push(99));
  EXPECT_EQ(f.ring.size_approx(), 4u);
  for (u64 i = 0; i < 4; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i + 10);
  }
  EXPECT_FALSE(rx.try_pop(v));
}

TEST(mpmc_ring, a_full_producer_waits_for_four_lines_of_room) {
  // 16-byte slots: 4 to a line, so a single push that found the ring full waits for the slot
  // 16 tickets on; the ring has 32 lines of slots, the least that waits.
  fixture f(128);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 128));
  EXPECT_FALSE(tx.try_push(999));  // full: the event that starts the wait
  u64 v = 0;
  for (u64 i = 0; i < 16; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
    EXPECT_FALSE(tx.try_push(1000 + i)) << "pushed with " << i + 1 << " of 17 slots free";
    EXPECT_FALSE(tx.try_push(1000 + i)) << "a retry pushed with " << i + 1 << " free";
  }
  {
    // The wait moves with the handle.
    mpmc_producer<u64> moved = std::move(tx);
    EXPECT_FALSE(moved.try_push(999));
    tx = std::move(moved);
  }
  EXPECT_FALSE(tx.try_push(999));
  // A batch does not wait: it takes free slots at once. The wait was for one ticket, and the
  // batch moved past it, so single pushes go on until the ring is full again.
  EXPECT_EQ(tx.try_push_some(std::array<u64, 2>{3000, 3001}), 2u);
  ASSERT_TRUE(push_sequence(tx, 3002, 14));
  EXPECT_FALSE(tx.try_push(999));  // full again: a new event
  for (u64 i = 0; i < 16; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_FALSE(tx.try_push(999));
  }
  ASSERT_TRUE(rx.try_pop(v));
  ASSERT_TRUE(tx.try_push(4000));            // the 17th free slot opens it
  ASSERT_TRUE(push_sequence(tx, 4001, 16));  // and it stays open until the ring is full
  EXPECT_FALSE(tx.try_push(999));
  // Every message comes out once, in order.
  u64 expect = 33;
  while (rx.try_pop(v)) {
    if (expect == 128) expect = 3000;
    if (expect == 3016) expect = 4000;
    ASSERT_EQ(v, expect);
    ++expect;
  }
  EXPECT_EQ(expect, 4017u);
}

TEST(mpmc_ring, a_batch_that_does_not_fit_starts_no_wait_for_room) {
  // 16 free: the slot 16 tickets on (ticket 128, slot 0) is taken, so a wait would refuse.
  fixture f(128);
  auto tx = f.ring.producer();
  ASSERT_TRUE(push_sequence(tx, 0, 112));
  std::array<u64, 100> batch{};
  EXPECT_FALSE(tx.try_push_all(batch));
  EXPECT_TRUE(tx.try_push(112));
}

TEST(mpmc_ring, the_blocking_push_takes_a_free_slot_without_waiting_for_room) {
  fixture f(128);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 128));
  EXPECT_FALSE(tx.try_push(999));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_FALSE(tx.try_push(999));                 // try_push waits for room
  EXPECT_EQ(tx.push(128, 0ms), wait_result::ok);  // push takes the one free slot
  EXPECT_EQ(tx.push(999, 0ms), wait_result::timeout);
}

TEST(mpmc_ring, a_ring_under_32_lines_of_slots_takes_a_freed_slot_at_once) {
  fixture f(64);  // 16 lines of 16-byte slots
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 64));
  EXPECT_FALSE(tx.try_push(999));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_TRUE(tx.try_push(64));
}

TEST(mpmc_ring, wraps_at_every_offset_and_across_2_pow_64) {
  for (const u64 start : {u64{0}, u64{3}, u64{7}, ~u64{0} - 2}) {
    fixture f(8);
    f.set_position(start);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    for (u64 round = 0; round < 3; ++round) {
      for (u64 i = 0; i < 8; ++i)
        ASSERT_TRUE(tx.try_push(round * 100 + i)) << start;
      EXPECT_FALSE(tx.try_push(0));
      for (u64 i = 0; i < 8; ++i) {
        u64 v = 0;
        ASSERT_TRUE(rx.try_pop(v)) << start;
        EXPECT_EQ(v, round * 100 + i);
      }
      u64 v = 0;
      EXPECT_FALSE(rx.try_pop(v));
    }
    EXPECT_EQ(f.reg().base.tail.load(), start + 24);
  }
}

TEST(mpmc_ring, batches_are_all_or_nothing_or_as_many_as_fit) {
  fixture f(8);
  f.set_position(5);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  EXPECT_TRUE(tx.try_push_all(std::array<u64, 6>{1, 2, 3, 4, 5, 6}));
  EXPECT_FALSE(tx.try_push_all(std::array<u64, 3>{7, 8, 9}));
  EXPECT_EQ(tx.try_push_some(std::array<u64, 3>{7, 8, 9}), 2u);
  std::array<u64, 10> out{};
  EXPECT_FALSE(rx.try_pop_all(out));
  EXPECT_EQ(rx.try_pop_some(out), 8u);
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[7], 8u);
  EXPECT_EQ(rx.try_pop_some(out), 0u);
}

TEST(mpmc_ring, every_handle_holds_an_endpoint_record_until_destroyed) {
  fixture f(8);
  {
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    int producers = 0, consumers = 0;
    for (auto& r : f.reg().endpoints) {
      if (r.owner.load() == 0) continue;
      producers += r.role.load() == static_cast<std::uint32_t>(endpoint_role::producer);
      consumers += r.role.load() == static_cast<std::uint32_t>(endpoint_role::consumer);
      EXPECT_EQ(static_cast<std::uint32_t>(r.owner.load()), detail::current_pid());
    }
    EXPECT_EQ(producers, 1);
    EXPECT_EQ(consumers, 1);
    ASSERT_TRUE(tx.try_push(1));
    for (auto& r : f.reg().endpoints)
      EXPECT_EQ(r.claim_first.load(), 0u);  // nothing open
  }
  for (auto& r : f.reg().endpoints)
    EXPECT_EQ(r.owner.load(), 0u);
}

TEST(mpmc_ring, the_65th_endpoint_is_a_clear_error) {
  fixture f(8);
  std::vector<mpmc_producer<u64>> held;
  for (std::uint32_t i = 0; i < k_max_endpoints; ++i)
    held.push_back(f.ring.producer());
  const auto msg = expect_error(errc::too_many_endpoints, [&] { (void)f.ring.consumer(); });
  EXPECT_NE(msg.find("64 endpoint records"), std::string::npos) << msg;
  held.pop_back();
  EXPECT_NO_THROW((void)f.ring.consumer());
}

TEST(mpmc_ring, dead_endpoint_records_are_reused_unless_they_name_a_claim) {
  fixture f(8);
  auto& r0 = f.reg().endpoints[0];
  auto& r1 = f.reg().endpoints[1];
  for (auto& r : f.reg().endpoints)
    r.owner.store(k_dead_owner);  // all dead
  r0.claim_first.store(5);        // died mid-claim: kept for recovery
  auto tx = f.ring.producer();
  EXPECT_EQ(r0.owner.load(), k_dead_owner);
  EXPECT_EQ(static_cast<std::uint32_t>(r1.owner.load()), detail::current_pid());
}

TEST(mpmc_ring, corrupt_sequence_words_never_hang_or_overrun) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  f.seq_word(0).store(0x123456789);  // garbage in slot 0
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));
  EXPECT_FALSE(tx.try_push(1));  // slot 0 does not look free: reported full, no hang
  f.reg().base.tail.store(~u64{0} - 1);
  f.reg().base.head.store(12345);
  EXPECT_FALSE(tx.try_push(1));
  EXPECT_FALSE(rx.try_pop(v));
}

TEST(mpmc_ring, blocking_calls_time_out_and_see_close) {
  fixture f(2);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 20ms), wait_result::timeout);
  ASSERT_EQ(tx.push(1, 1s), wait_result::ok);
  ASSERT_EQ(tx.push(2, 1s), wait_result::ok);
  EXPECT_EQ(tx.push(3, 20ms), wait_result::timeout);
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    tx.close();
  });
  EXPECT_EQ(rx.pop(v, 10s), wait_result::ok);
  EXPECT_EQ(rx.pop(v, 10s), wait_result::ok);
  EXPECT_EQ(rx.pop(v, 10s), wait_result::closed);  // drained, then closed
  closer.join();
}

// Makes endpoint record `i` say that a dead process of `role` claimed `count` tickets at `first`.
void dead_claim(fixture& f, int i, endpoint_role role, u64 first, u64 count) {
  name_dead_claim(f.reg().endpoints[i], first, count, role);
}

// The C API copies an mpmc ring's elements as raw slots aligned to 8 bytes or less; a ring
// made by C++ for a wider alignment has wider slots. Opening it for any slot size says so,
// instead of "slot_size expected 24, found 32" for a call that expected nothing.
TEST(mpmc_ring, the_c_api_refuses_elements_aligned_wider_than_8_and_says_why) {
  struct alignas(16) wide {
    std::byte b[16];
  };
  const segment_guard g(unique_name());
  const auto ring = mpmc_ring<wide>::create(g.name(), 8);
  ipcring_ring* cr = nullptr;
  EXPECT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_ANY, 0, &cr), IPCRING_E_UNSUPPORTED);
  EXPECT_EQ(cr, nullptr);
  EXPECT_NE(std::string(ipcring_last_error()).find("aligned to more than 8 bytes"),
            std::string::npos)
      << ipcring_last_error();
  // 16-byte elements aligned to 8 open, and carry what C++ pushed.
  const segment_guard g8(unique_name());
  const auto ring8 = mpmc_ring<std::array<u64, 2>>::create(g8.name(), 8);
  auto tx = ring8.producer();
  ASSERT_TRUE(tx.try_push({7, 9}));
  ASSERT_EQ(ipcring_open(g8.c_str(), IPCRING_KIND_ANY, 0, &cr), IPCRING_OK) << ipcring_last_error();
  const c_endpoints c(cr);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  u64 out[2] = {};
  ASSERT_EQ(ipcring_try_pop(c.rx, out), IPCRING_OK);
  EXPECT_EQ(out[0], 7u);
  EXPECT_EQ(out[1], 9u);
}

// Starts `publish` on a thread once the consumer has counted an empty event (its wait has
// begun), takes up to 4 slots with ipcring_pop_some meanwhile, and checks that the one message
// `publish` sends, 42, came with that one empty event.
template <class Publish>
void expect_one_empty_event_for_one_wait(const segment_guard& g, ipcring_consumer* rx,
                                         Publish publish) {
  std::thread producer([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (inspect(g.name()).consumer.stalls == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "the consumer counted no empty event in 30 s; publishing anyway";
        break;
      }
      std::this_thread::yield();
    }
    publish();
  });
  u64 out[4] = {};
  std::size_t done = 0;
  EXPECT_EQ(ipcring_pop_some(rx, out, 4, &done, -1), IPCRING_OK);
  producer.join();
  EXPECT_EQ(done, 1u);
  EXPECT_EQ(out[0], 42u);
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.consumer.stalls, 1u);
  EXPECT_EQ(info.consumer.messages, 1u);
}

// ipcring_pop_some waits for its first slot as ipcring_pop does, then takes what is known to
// follow: finding nothing there is not a second empty event. Before, every pop_some that waited
// counted two (one at the slot it waited for, one after it), for spsc and mpmc rings alike.
TEST(mpmc_ring, the_c_api_pop_some_counts_one_empty_event_for_one_wait) {
  for (const ipcring_kind kind : {IPCRING_KIND_SPSC, IPCRING_KIND_MPMC}) {
    SCOPED_TRACE(kind == IPCRING_KIND_SPSC ? "spsc" : "mpmc");
    const segment_guard g(unique_name());
    ipcring_ring* cr = nullptr;
    ASSERT_EQ(ipcring_create(g.c_str(), kind, 16, 8, nullptr, &cr), IPCRING_OK)
        << ipcring_last_error();
    const c_endpoints c(cr);
    ASSERT_TRUE(c.attached()) << ipcring_last_error();
    expect_one_empty_event_for_one_wait(g, c.rx, [&] {
      const u64 v = 42;
      EXPECT_EQ(ipcring_push(c.tx, &v, -1), IPCRING_OK);
    });
  }
}

// The same when the ticket after the one waited for is claimed and not yet written: a producer
// is inside its push. Two claims are made by hand (tail 0 -> 2), then ticket 0 is written and
// published as its producer would, and ticket 1 is left claimed; the consumer spins, so the
// publication alone wakes it. Before, the follow-up looked because tail said a message followed,
// found ticket 1 unwritten and counted a second empty event.
TEST(mpmc_ring, the_c_api_pop_some_counts_no_event_for_a_claimed_unwritten_ticket) {
  const segment_guard g(unique_name());
  ipcring_ring* cr = nullptr;
  ASSERT_EQ(ipcring_create(g.c_str(), IPCRING_KIND_MPMC, 16, 8, nullptr, &cr), IPCRING_OK)
      << ipcring_last_error();
  const c_endpoints c(cr);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  ipcring_consumer_set_wait(c.rx, IPCRING_WAIT_SPIN);
  const map_view view = map_view::open(g.name());
  auto& reg = *reinterpret_cast<registry_control*>(view.data() + k_control_offset);
  std::byte* const slot0 =
      view.data() + reinterpret_cast<const segment_header*>(view.data())->data_offset;
  expect_one_empty_event_for_one_wait(g, c.rx, [&] {
    reg.base.tail.store(2);  // tickets 0 and 1 claimed
    const u64 v = 42;
    std::memcpy(slot0 + 8, &v, sizeof v);  // ticket 0's value, after its 8-byte sequence word
    // release: as the producer's publishing store; pairs with the consumer's acquire of seq
    reinterpret_cast<std::atomic<u64>*>(slot0)->store(1, std::memory_order_release);
  });
}

// A C or Python program that only polls never reaches the repairs the blocking calls make while
// they wait: it calls ipcring_*_recover, as C++ calls recover(); either side may. The handles
// attach before the producer dies, so their attach does not repair it first.
TEST(mpmc_ring, the_c_api_repairs_what_a_dead_producer_claimed) {
  const segment_guard g(unique_name());
  const auto ring = mpmc_ring<u64>::create(g.name(), 8);
  ipcring_ring* cr = nullptr;
  ASSERT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_MPMC, 8, &cr), IPCRING_OK);
  const c_endpoints c(cr);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  ipcring_producer* const tx = c.tx;
  ipcring_consumer* const rx = c.rx;

  const map_view view = map_view::open(g.name());
  auto& reg = *reinterpret_cast<registry_control*>(view.data() + k_control_offset);
  name_dead_claim(reg.endpoints[20], 0, 1);  // ticket 0, claimed (tail moved), never published
  reg.base.tail.store(1);

  const u64 v = 42;
  ASSERT_EQ(ipcring_try_push(tx, &v), IPCRING_OK);  // ticket 1
  u64 out = 0;
  EXPECT_EQ(ipcring_try_pop(rx, &out), IPCRING_EMPTY);  // stuck at ticket 0
  std::size_t repaired = 9;
  EXPECT_EQ(ipcring_producer_recover(tx, &repaired), IPCRING_OK);
  EXPECT_EQ(repaired, 1u);
  EXPECT_EQ(ipcring_consumer_recover(rx, &repaired), IPCRING_OK);
  EXPECT_EQ(repaired, 0u);  // done already
  ASSERT_EQ(ipcring_try_pop(rx, &out), IPCRING_OK);
  EXPECT_EQ(out, 42u);
}

// With every record held by a dead endpoint that died mid-claim, no endpoint is left to run the
// recovery that frees them: the next one to attach runs it.
TEST(mpmc_ring, an_endpoint_attaching_to_a_table_of_dead_claims_recovers_them) {
  fixture f(8);
  {
    auto tx = f.ring.producer();
    ASSERT_TRUE(push_sequence(tx, 0, 3));
  }
  for (int i = 0; i < 64; ++i)  // one dead producer claimed ticket 3, then tail moved on
    dead_claim(f, i, i == 0 ? endpoint_role::producer : endpoint_role::consumer, 100 + i, 1);
  dead_claim(f, 0, endpoint_role::producer, 3, 1);
  f.reg().base.tail.store(4);
  auto rx = f.ring.consumer();
  for (const auto& r : f.reg().endpoints) {  // all done with: one taken, the rest handed back
    EXPECT_TRUE(r.owner.load() == 0 ||
                (r.owner.load() == detail::self_identity() && r.claim_first.load() == 0))
        << r.owner.load();
  }
  u64 v = 0;
  for (u64 i = 0; i < 3; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(rx.try_pop(v));  // ticket 3 was skipped: never sent
  auto tx = f.ring.producer();
  ASSERT_TRUE(tx.try_push(7));
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 7u);
}

// A table of live endpoints is still refused, after the recovery finds nothing to do.
TEST(mpmc_ring, recovery_at_attach_leaves_live_claims_alone) {
  fixture f(8);
  std::vector<mpmc_producer<u64>> held;
  for (std::uint32_t i = 0; i < k_max_endpoints; ++i)
    held.push_back(f.ring.producer());
  f.reg().endpoints[5].claim_count.store(1);
  f.reg().endpoints[5].claim_first.store(1);  // a live producer mid-claim of ticket 0
  f.reg().base.tail.store(1);
  expect_error(errc::too_many_endpoints, [&] { (void)f.ring.consumer(); });
  EXPECT_EQ(f.reg().endpoints[5].claim_first.load(), 1u);
  EXPECT_EQ(f.seq_word(0).load(), 0u);  // not skipped
}

// A waiter killed asleep never lowers `sleepers`, and while it stays raised every publish pays
// a wake (a syscall). Registration takes the count back, whether it takes the dead waiter's
// record (every other one dead too) or another; a forged `asleep` cannot wrap the count.
TEST(mpmc_ring, the_count_of_a_waiter_killed_asleep_is_taken_back) {
  for (const bool all_dead : {false, true}) {
    fixture f(8);
    if (all_dead) {
      for (auto& r : f.reg().endpoints)
        r.owner.store(k_dead_owner);
    }
    auto& dead = f.reg().endpoints[all_dead ? 0 : 5];
    dead.owner.store(k_dead_owner);
    dead.role.store(static_cast<std::uint32_t>(endpoint_role::consumer));
    dead.asleep.store(k_dead_owner);
    f.reg().base.data_wait.sleepers.store(1);
    f.reg().endpoints[9].asleep.store(k_dead_owner);  // forged: the count is already spoken for
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    EXPECT_EQ(f.reg().base.data_wait.sleepers.load(), 0u) << all_dead;
    EXPECT_EQ(dead.asleep.load(), 0u);
    const u64 seq = f.reg().base.data_wait.seq.load();
    u64 v = 0;
    for (u64 i = 0; i < 100; ++i) {
      ASSERT_TRUE(tx.try_push(i));
      ASSERT_TRUE(rx.try_pop(v));
    }
    EXPECT_EQ(f.reg().base.data_wait.seq.load(), seq);  // no wake: nobody sleeps
  }
}

// Endpoints that only spin never register again nor recover: a waiter that died asleep after
// they attached used to make each of their publishes pay a wake for as long as they ran. The
// publishes that wake take the count back themselves, once every 4,096.
TEST(mpmc_ring, spinning_endpoints_take_back_the_count_of_a_waiter_that_died_asleep) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto& dead = f.reg().endpoints[20];  // died asleep after both attached
  dead.owner.store(k_dead_owner);
  dead.role.store(static_cast<std::uint32_t>(endpoint_role::consumer));
  dead.asleep.store(k_dead_owner);
  f.reg().base.data_wait.sleepers.store(1);
  u64 v = 0;
  for (u64 i = 0; i < 4096; ++i) {
    ASSERT_TRUE(tx.try_push(i));
    ASSERT_TRUE(rx.try_pop(v));
  }
  EXPECT_EQ(f.reg().base.data_wait.sleepers.load(), 0u);
  EXPECT_EQ(dead.asleep.load(), 0u);
  const u64 seq = f.reg().base.data_wait.seq.load();
  for (u64 i = 0; i < 100; ++i) {
    ASSERT_TRUE(tx.try_push(i));
    ASSERT_TRUE(rx.try_pop(v));
  }
  EXPECT_EQ(f.reg().base.data_wait.seq.load(), seq);  // no wake any more: nobody sleeps
}

// A live waiter's count stays: neither registration nor recovery takes it back.
TEST(mpmc_ring, a_live_sleeper_keeps_its_count) {
  fixture f(8);
  auto& rec = f.reg().endpoints[3];  // as a waiter of this (live) process names itself
  rec.owner.store(detail::self_identity());
  rec.role.store(static_cast<std::uint32_t>(endpoint_role::consumer));
  rec.asleep.store(detail::self_identity());
  f.reg().base.data_wait.sleepers.store(1);
  auto tx = f.ring.producer();
  EXPECT_EQ(tx.recover(), 0u);
  EXPECT_EQ(f.reg().base.data_wait.sleepers.load(), 1u);
  EXPECT_EQ(rec.asleep.load(), detail::self_identity());
  rec.owner.store(0);  // leave the record as a waiter that woke and left would
  rec.asleep.store(0);
  f.reg().base.data_wait.sleepers.store(0);
}

TEST(mpmc_ring, recover_skips_a_ticket_a_dead_producer_claimed_but_never_published) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  f.reg().base.tail.store(1);  // its CAS happened; then it was killed
  ASSERT_TRUE(tx.try_push(42));
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));  // stuck behind ticket 0
  EXPECT_EQ(rx.recover(), 1u);
  EXPECT_EQ(f.reg().endpoints[10].owner.load(), 0u);  // record handed back
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 42u);
  EXPECT_EQ(rx.recover(), 0u);
}

// try_pop_all counts messages, not tickets: a skipped ticket neither counts as a message nor
// stops a consumer that only ever takes whole batches.
TEST(mpmc_ring, try_pop_all_passes_over_skipped_tickets) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  f.reg().base.tail.store(1);  // ticket 0 claimed by a producer that was then killed
  for (u64 i = 1; i <= 3; ++i)
    ASSERT_TRUE(tx.try_push(i));  // tickets 1..3
  ASSERT_EQ(rx.recover(), 1u);    // ticket 0: skip
  std::array<u64, 2> two{};
  ASSERT_TRUE(rx.try_pop_all(two));  // the skip at the head does not block it
  EXPECT_EQ(two[0], 1u);
  EXPECT_EQ(two[1], 2u);
  ASSERT_TRUE(tx.try_push(4));
  dead_claim(f, 11, endpoint_role::producer, 5, 1);
  f.reg().base.tail.store(6);  // ticket 5 claimed and never published: skipped below
  ASSERT_TRUE(tx.try_push(6));
  ASSERT_EQ(rx.recover(), 1u);
  std::array<u64, 3> three{};
  ASSERT_TRUE(rx.try_pop_all(three));  // 3, 4, (skip), 6: three messages over four tickets
  EXPECT_EQ(three[0], 3u);
  EXPECT_EQ(three[1], 4u);
  EXPECT_EQ(three[2], 6u);
  EXPECT_FALSE(rx.try_pop_all(two));  // empty
  dead_claim(f, 12, endpoint_role::producer, 7, 1);
  f.reg().base.tail.store(8);  // a skip and nothing behind it
  ASSERT_EQ(rx.recover(), 1u);
  ASSERT_TRUE(tx.try_push(8));
  std::array<u64, 1> one{};
  ASSERT_TRUE(rx.try_pop_all(one));
  EXPECT_EQ(one[0], 8u);
  EXPECT_FALSE(rx.try_pop_all(one));
}

// A skip at the head must not stall a batch that needs the whole ring: the leading skips are
// taken on their own, and the batch then fits.
TEST(mpmc_ring, try_pop_all_of_the_whole_ring_passes_a_skip_at_the_head) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  f.reg().base.tail.store(1);
  for (u64 i = 1; i <= 7; ++i)
    ASSERT_TRUE(tx.try_push(i));  // tickets 1..7: the ring is full
  ASSERT_EQ(rx.recover(), 1u);
  std::array<u64, 8> all{};
  EXPECT_FALSE(rx.try_pop_all(all));  // 7 messages: not 8, but the skip is gone now
  ASSERT_TRUE(tx.try_push(8));
  ASSERT_TRUE(rx.try_pop_all(all));
  for (u64 i = 0; i < 8; ++i)
    EXPECT_EQ(all[i], i + 1);
}

// A consumer that died holding a skipped ticket: recovery frees the slot like any other.
TEST(mpmc_ring, recover_frees_a_skipped_ticket_a_dead_consumer_took) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  f.reg().base.tail.store(1);
  for (u64 i = 1; i <= 3; ++i)
    ASSERT_TRUE(tx.try_push(i));
  ASSERT_EQ(rx.recover(), 1u);  // ticket 0: skip
  dead_claim(f, 11, endpoint_role::consumer, 0, 1);
  f.reg().base.head.store(1);  // a consumer took the skip and was killed before freeing it
  u64 v = 0;
  for (u64 i = 1; i <= 3; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(tx.try_push(9));  // ticket 4 needs slot 0
  EXPECT_EQ(tx.recover(), 1u);
  ASSERT_TRUE(tx.try_push(9));
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 9u);
}

TEST(mpmc_ring, recover_never_touches_a_ticket_a_live_endpoint_still_claims) {
  fixture f(8);
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  dead_claim(f, 11, endpoint_role::producer, 0, 1);
  f.reg().endpoints[11].owner.store(detail::self_identity());  // a live, slow producer
  f.reg().base.tail.store(1);
  EXPECT_EQ(rx.recover(), 0u);
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));
  f.reg().endpoints[11].owner.store(0);
}

// A live producer whose CAS is failing names the ticket a dead one claimed. recover() leaves
// the ticket to it, and must keep the dead one's record: once the live producer moves on,
// that record is all that says the ticket needs repair.
TEST(mpmc_ring, recover_keeps_a_dead_claim_it_left_to_a_live_endpoint) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  dead_claim(f, 11, endpoint_role::producer, 0, 1);
  f.reg().endpoints[11].owner.store(detail::self_identity());  // live, its CAS about to fail
  f.reg().base.tail.store(1);                                  // the dead one's CAS won
  EXPECT_EQ(rx.recover(), 0u);
  EXPECT_EQ(f.reg().endpoints[10].claim_first.load(), 1u);  // still names ticket 0
  f.reg().endpoints[11].claim_first.store(0);               // the live one moved on
  f.reg().endpoints[11].owner.store(0);
  ASSERT_TRUE(tx.try_push(42));
  EXPECT_EQ(rx.recover(), 1u);
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 42u);
}

// A live claim is judged by the same modular rule wherever it starts: one that wraps past 2^64
// to ticket 0, one that covers only the middle of a dead claim.
TEST(mpmc_ring, recover_leaves_exactly_the_tickets_live_claims_name) {
  fixture f(8);
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 4);
  dead_claim(f, 11, endpoint_role::producer, ~u64{0} - 1, 3);  // 2^64 - 2 .. 0: wraps
  dead_claim(f, 12, endpoint_role::producer, 2, 1);
  f.reg().endpoints[11].owner.store(detail::self_identity());
  f.reg().endpoints[12].owner.store(detail::self_identity());
  f.reg().base.tail.store(4);
  EXPECT_EQ(rx.recover(), 2u);  // tickets 1 and 3; 0 and 2 are named by live claims
  EXPECT_EQ(f.reg().endpoints[10].claim_first.load(), 1u);  // kept for those two
  EXPECT_EQ(f.seq_word(1).load() >> 63, 1u);                // skipped
  EXPECT_EQ(f.seq_word(0).load() >> 63, 0u);
  EXPECT_EQ(f.seq_word(2).load() >> 63, 0u);
  f.reg().endpoints[11].owner.store(0);
  f.reg().endpoints[12].owner.store(0);
}

// Recovery judges each owner once: 63 dead records that each claim the whole ring (as a corrupt
// or hostile segment may say) cost a pass over the ring each, not a /proc read per record for
// every record and ticket (which took 11 s here at this capacity).
TEST(mpmc_ring, recover_judges_each_owner_once_however_many_claims_cover_a_ticket) {
  fixture f(1024);
  auto rx = f.ring.consumer();  // record 0
  for (int i = 1; i < 64; ++i)
    dead_claim(f, i, endpoint_role::producer, 0, u64{1} << 62);
  f.reg().base.tail.store(u64{1} << 40);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(rx.recover(), 1024u);  // the first record's pass skips every ticket of the lap
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  for (int i = 1; i < 64; ++i)
    EXPECT_EQ(f.reg().endpoints[i].owner.load(), 0u) << i;  // all done with, handed back
}

// Counters no ring can reach are refused when an endpoint attaches, instead of leaving its
// every call waiting.
TEST(mpmc_ring, an_endpoint_refuses_counters_more_than_a_lap_apart) {
  for (const auto& [tail, head] : {std::pair<u64, u64>{8 * 3 + 5, 0}, {3, 4}}) {
    fixture f(8);
    f.reg().base.tail.store(tail);
    f.reg().base.head.store(head);
    const auto msg = expect_error(errc::corrupted, [&] { (void)f.ring.producer(); });
    EXPECT_NE(msg.find("tail=" + std::to_string(tail)), std::string::npos) << msg;
    expect_error(errc::corrupted, [&] { (void)f.ring.consumer(); });
    for (const auto& r : f.reg().endpoints)
      EXPECT_EQ(r.owner.load(), 0u);    // the refused endpoints let go of their records
    f.reg().base.head.store(tail - 8);  // a full ring: fine
    EXPECT_NO_THROW((void)f.ring.consumer());
  }
}

TEST(mpmc_ring, capacity_of_one_slot_is_refused) {
  heap_bytes mem(1 << 16);
  const auto msg =
      expect_error(errc::invalid_argument, [&] { (void)mpmc_ring<u64>::create_in(mem.span(), 1); });
  EXPECT_NE(msg.find("at least 2"), std::string::npos) << msg;
  (void)mpmc_ring<u64>::create_in(mem.span(), 2);
  auto& h = *reinterpret_cast<segment_header*>(mem.span().data());
  h.capacity = 1;  // self-consistent, but "full" and "free for the next ticket" coincide
  h.total_size = h.data_offset + h.slot_size;
  expect_error(errc::corrupted, [&] { (void)mpmc_ring<u64>::open_in(mem.span()); });
}

TEST(mpmc_ring, recover_ignores_claims_that_were_never_made) {
  fixture f(8);
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 2);  // died before its CAS: tail still 0
  EXPECT_EQ(rx.recover(), 0u);
  auto tx = f.ring.producer();
  ASSERT_TRUE(tx.try_push(5));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 5u);
}

TEST(mpmc_ring, recover_frees_a_slot_a_dead_consumer_took_but_never_freed) {
  fixture f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(push_sequence(tx, 0, 4));
  dead_claim(f, 10, endpoint_role::consumer, 0, 1);
  f.reg().base.head.store(1);  // it took ticket 0 and was killed before freeing the slot
  u64 v = 0;
  for (u64 i = 1; i < 4; ++i) {
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(tx.try_push(9));  // ticket 4 needs slot 0, still held
  EXPECT_EQ(tx.recover(), 1u);   // message 0 is lost: the dead consumer was taking it
  ASSERT_TRUE(tx.try_push(9));
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 9u);
}

TEST(mpmc_ring, a_blocking_pop_recovers_by_itself_within_the_liveness_interval) {
  fixture f(8);
  wait_policy p = wait_policy::blocking();
  p.liveness_interval = 20ms;
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer(p);
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  f.reg().base.tail.store(1);
  ASSERT_TRUE(tx.try_push(77));
  u64 v = 0;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(rx.pop(v, 5s), wait_result::ok);
  EXPECT_EQ(v, 77u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

// Also when every wait is shorter than the liveness interval (a loop of short pops that looks
// at a stop flag in between): the handle checks once per interval, across its waits. Each
// wait began an interval of its own, and such a loop returned timeout for ever. So does a
// push loop behind a dead consumer's slot.
TEST(mpmc_ring, short_waits_in_a_loop_still_recover_once_per_liveness_interval) {
  wait_policy p = wait_policy::blocking();
  p.liveness_interval = 50ms;
  u64 v = 0;
  {
    fixture f(8);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer(p);
    dead_claim(f, 10, endpoint_role::producer, 0, 1);
    f.reg().base.tail.store(1);
    ASSERT_TRUE(tx.try_push(77));
    int waits = 0;  // at most 2 s of 20 ms waits
    EXPECT_EQ(until_not_timeout([&] { return rx.pop(v, 20ms); }, 100, &waits), wait_result::ok)
        << "after " << waits << " waits of 20 ms";
    EXPECT_EQ(v, 77u);
  }
  {
    fixture f(8);
    auto tx = f.ring.producer(p);
    ASSERT_TRUE(push_sequence(tx, 0, 8));
    dead_claim(f, 10, endpoint_role::consumer, 0, 1);  // took ticket 0, never freed it
    f.reg().base.head.store(1);
    int waits = 0;
    EXPECT_EQ(until_not_timeout([&] { return tx.push(8, 20ms); }, 100, &waits), wait_result::ok)
        << "after " << waits << " waits of 20 ms";
  }
}

// A message behind a run of skipped tickets (a dead producer's batch of 32, which recover()
// skipped) is taken by the first try_pop, as by try_pop_some: each attempt took one skip, and
// after 4 try_pop said "empty" with a message ready (8 calls in a row here).
TEST(mpmc_ring, a_poll_passes_a_run_of_skipped_tickets_in_one_call) {
  for (const bool some : {false, true}) {
    SCOPED_TRACE(some ? "try_pop_some of 2" : "try_pop");
    fixture f(64);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    dead_claim(f, 10, endpoint_role::producer, 0, 32);
    f.reg().base.tail.store(32);
    ASSERT_EQ(rx.recover(), 32u);
    ASSERT_TRUE(tx.try_push(77));
    ASSERT_TRUE(tx.try_push(78));
    u64 v[2] = {0, 0};
    if (some) {
      EXPECT_GE(rx.try_pop_some(std::span<u64>(v, 2)), 1u);
    } else {
      EXPECT_TRUE(rx.try_pop(v[0]));
    }
    EXPECT_EQ(v[0], 77u);
  }
}

// Counters another process wrote after the attach, more than a lap apart: a waiting call ends
// with timeout at its next liveness check and says corrupted(), instead of waiting for them
// to change (they never do). It waited out its whole timeout (for ever without one).
TEST(mpmc_ring, a_wait_ends_on_counters_written_impossible_after_the_attach) {
  wait_policy p = wait_policy::blocking();
  p.liveness_interval = 20ms;
  u64 v = 0;
  {
    fixture f(8);
    auto rx = f.ring.consumer(p);
    f.reg().base.tail.store(3 * 8);  // head 0: three laps of messages no one wrote
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(rx.pop(v, 30s), wait_result::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_TRUE(rx.corrupted());
  }
  {
    fixture f(8);
    auto tx = f.ring.producer(p);
    ASSERT_TRUE(push_sequence(tx, 0, 8));  // full
    EXPECT_FALSE(tx.corrupted());
    f.reg().base.head.store(8 - 3 * 8);  // three laps behind tail
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(tx.push(9, 30s), wait_result::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_TRUE(tx.corrupted());
  }
  {  // a sane ring's waits are untouched
    fixture f(8);
    auto tx = f.ring.producer(p);
    auto rx = f.ring.consumer(p);
    EXPECT_EQ(rx.pop(v, 60ms), wait_result::timeout);
    ASSERT_TRUE(tx.try_push(5));
    EXPECT_EQ(rx.pop(v, 1s), wait_result::ok);
    EXPECT_FALSE(rx.corrupted());
    EXPECT_FALSE(tx.corrupted());
  }
}

// Ticket 0 claimed by a producer that was then killed (its CAS happened), `after` published
// behind it by `tx` (none if 0), and the producer side closed.
void close_behind_a_dead_claim(fixture& f, mpmc_producer<u64>& tx, u64 after) {
  dead_claim(f, 10, endpoint_role::producer, 0, 1);
  f.reg().base.tail.store(1);
  if (after != 0) {
    ASSERT_TRUE(tx.try_push(after));
  }
  tx.close();
}

// Producers that closed have not said their last while a ticket before their messages is
// claimed and unpublished: a dead producer's (recovery skips it) or a slow live one's. The
// consumer delivers what follows it, then sees closed (it used to see closed at once). So does
// a consumer that only polls: its look repairs (a poll never reaches the liveness check of a
// longer wait; before, it said timeout for ever here).
TEST(mpmc_ring, pops_after_the_producers_closed_deliver_what_follows_a_dead_claim) {
  for (const std::chrono::milliseconds timeout : {5000ms, 0ms}) {
    SCOPED_TRACE(std::to_string(timeout.count()) + " ms");
    fixture f(8);
    wait_policy p = wait_policy::blocking();
    p.liveness_interval = 20ms;
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer(p);
    ASSERT_NO_FATAL_FAILURE(close_behind_a_dead_claim(f, tx, 77));
    u64 v = 0;
    EXPECT_EQ(rx.pop(v, timeout), wait_result::ok);
    EXPECT_EQ(v, 77u);
    EXPECT_EQ(rx.pop(v, timeout), wait_result::closed);
  }
}

// A dead claim with nothing after it: the poll that repairs it says closed.
TEST(mpmc_ring, a_poll_that_repairs_the_last_dead_claim_says_closed) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_NO_FATAL_FAILURE(close_behind_a_dead_claim(f, tx, 0));
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 0ms), wait_result::closed);
}

// A dead producer's batch of tickets, more than one attempt frees, before a message: one poll
// still reaches the message, and the next says closed.
TEST(mpmc_ring, a_poll_reaches_a_message_behind_a_dead_batch_claim) {
  fixture f(16);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  dead_claim(f, 10, endpoint_role::producer, 0, 9);
  f.reg().base.tail.store(9);  // tickets 0..8: a batch whose CAS happened; then it was killed
  ASSERT_TRUE(tx.try_push(77));
  tx.close();
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 0ms), wait_result::ok);
  EXPECT_EQ(v, 77u);
  EXPECT_EQ(rx.pop(v, 0ms), wait_result::closed);
}

TEST(mpmc_ring, a_pop_after_the_producers_closed_waits_while_a_live_claim_is_pending) {
  fixture f(8);
  wait_policy p = wait_policy::blocking();
  p.liveness_interval = 20ms;
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer(p);
  dead_claim(f, 11, endpoint_role::producer, 0, 1);
  f.reg().endpoints[11].owner.store(detail::self_identity());  // a live, slow producer
  f.reg().base.tail.store(1);                                  // ticket 0 is its
  ASSERT_TRUE(tx.try_push(2));                                 // ticket 1
  tx.close();
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 100ms), wait_result::timeout);  // not closed: ticket 0 is on its way
  f.reg().endpoints[11].owner.store(k_dead_owner);    // the slow producer died
  EXPECT_EQ(rx.pop(v, 5s), wait_result::ok);
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(rx.pop(v, 5s), wait_result::closed);
}

TEST(mpmc_ring, opening_as_another_kind_fails) {
  fixture f(8);
  expect_error(errc::kind_mismatch, [&] { (void)spsc_ring<u64>::open_in(f.mem.span()); });
}

// Each side's look at the other: closed when any endpoint of it closed; reopened by a new one.
TEST(mpmc_ring, each_side_sees_whether_the_other_closed) {
  fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  EXPECT_FALSE(tx.peer_closed());
  EXPECT_FALSE(rx.peer_closed());
  rx.close();
  EXPECT_TRUE(tx.peer_closed());
  tx.close();
  EXPECT_TRUE(rx.peer_closed());
  auto rx2 = f.ring.consumer();  // a new endpoint reopens its side
  EXPECT_FALSE(tx.peer_closed());
}

}  // namespace
}  // namespace ipcring::test
