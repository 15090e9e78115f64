// Deterministic tests of the message rings on heap memory after a producer died or the
// segment was written by someone else: recovery of dead claims and batches, a new single
// producer taking over from a killed one, and positions or lengths no ring can hold.
#include "ipcring/msg_ring.hpp"

#include <gtest/gtest.h>

#include "ipcring/ipcring.h"
#include "ipcring/map_view.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/msg_ring_fixture.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;

TYPED_TEST_SUITE(msg_rings, msg_ring_types);

// A consumer that stops at another producer's open claim frees what it holds at once: that
// producer may be the one waiting for the space (one thread, an open claim, a write through a
// second endpoint).
TEST(msg_ring, a_consumer_stopped_at_an_open_claim_frees_what_it_holds) {
  fixture<mpsc_msg_ring> f(1024);
  auto a = f.ring.producer();
  auto b = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::string eight = "12345678";
  hold_one_record(f, b, rx);
  std::byte buf[16];
  auto c = a.try_claim(1, 8);  // open, at position 16
  ASSERT_TRUE(c);
  EXPECT_EQ(rx.try_read(buf).status, msg_status::empty);
  EXPECT_EQ(f.ctl().head.load(), 16u);  // freed on finding the claim
  ASSERT_EQ(b.try_write(1, bytes_of(eight)), msg_status::ok);
  c.commit();
  EXPECT_EQ(rx.read([](auto, auto) {}), 2u);
}

// The same through read(): what the call itself read before the claim is freed too.
TEST(msg_ring, a_read_that_stops_at_an_open_claim_frees_what_it_read) {
  fixture<mpsc_msg_ring> f(1024);
  auto a = f.ring.producer();
  auto b = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(b.try_write(1, bytes_of("12345678")), msg_status::ok);
  auto c = a.try_claim(1, 8);  // open, at position 16
  ASSERT_TRUE(c);
  EXPECT_EQ(rx.read([](auto, auto) {}), 1u);
  EXPECT_EQ(f.ctl().head.load(), 16u);
  c.commit();
  EXPECT_EQ(rx.read([](auto, auto) {}), 1u);
}

TEST(msg_ring, recover_pads_over_what_a_dead_producer_claimed_but_never_committed) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  auto& dead = reg.endpoints[20];
  name_dead_claim(dead, 0, 24);
  f.ctl().tail.store(24);                     // its CAS happened,
  detail::length_at(f.data(), 0).store(-24);  // it marked the record, and was killed
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(tx.try_write(3, bytes_of("after")), msg_status::ok);
  EXPECT_EQ(rx.read([](auto, auto) {}), 0u);  // stuck behind the dead claim
  EXPECT_EQ(rx.recover(), 1u);
  EXPECT_EQ(dead.claim_first.load(), 0u);
  std::string got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got = text_of(m); }), 1u);
  EXPECT_EQ(got, "after");
}

// A producer killed inside commit(n): the padding after the kept bytes written, the record's
// length not yet. recover() pads the whole claim over it; only what follows is read.
TEST(msg_ring, recover_pads_over_a_claim_killed_while_committing_shorter) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  auto& dead = reg.endpoints[20];
  name_dead_claim(dead, 0, 112);  // a claim of 100 bytes
  f.ctl().tail.store(112);
  detail::length_at(f.data(), 0).store(-112);  // its mark
  detail::type_at(f.data(), 0).store(5);
  detail::type_at(f.data(), 24).store(k_padding_type);  // commit(10): padding after 24 bytes
  detail::length_at(f.data(), 24).store(88);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(tx.try_write(3, bytes_of("after")), msg_status::ok);
  EXPECT_EQ(rx.read([](auto, auto) {}), 0u);  // stuck behind the dead claim
  EXPECT_EQ(rx.recover(), 1u);
  std::vector<std::string> got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 1u);
  EXPECT_EQ(got, std::vector<std::string>{"after"});
  EXPECT_FALSE(rx.corrupted());
}

// spsc_msg: a producer killed after commit(n) published, before it stored tail: its successor
// goes on after the whole claim, padding included, and both messages are read.
TEST(msg_ring, a_successor_continues_after_a_claim_committed_shorter) {
  fixture<spsc_msg_ring> f(1024);
  {
    auto tx = f.ring.producer();
    auto c = tx.try_claim(5, 100);
    ASSERT_TRUE(c);
    std::memcpy(c.bytes().data(), "ten bytes!", 10);
    ASSERT_TRUE(c.commit(10));
    f.ctl().tail.store(0);  // as if killed before its tail store
    f.kill_producer();
  }
  auto tx = f.ring.producer();  // takes over
  ASSERT_EQ(tx.try_write(6, bytes_of("next")), msg_status::ok);
  auto rx = f.ring.consumer();
  std::vector<std::string> got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 2u);
  EXPECT_EQ(got, (std::vector<std::string>{"ten bytes!", "next"}));
  EXPECT_EQ(f.ctl().tail.load(), 112u + 16u);
}

// A C or Python consumer that only polls never reaches the repairs a blocking read makes while
// it waits: it calls ipcring_consumer_recover, as C++ calls recover(). A producer's handle has
// nothing to repair on this kind: the dead record is at the consumer's read position.
TEST(msg_ring, the_c_api_pads_over_what_a_dead_producer_claimed) {
  const segment_guard g(unique_name());
  const auto ring = mpsc_msg_ring::create(g.name(), 1024);
  const map_view view = map_view::open(g.name());
  std::byte* const base = view.data();
  auto& reg = *reinterpret_cast<registry_control*>(base + k_control_offset);
  name_dead_claim(reg.endpoints[20], 0, 24);
  reg.base.tail.store(24);  // its CAS happened, it marked the record, and was killed
  detail::length_at(base + k_control_offset + sizeof(registry_control), 0).store(-24);

  ipcring_ring* cr = nullptr;
  ASSERT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_MPSC_MSG, 0, &cr), IPCRING_OK);
  const c_endpoints c(cr);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  ipcring_producer* const tx = c.tx;
  ipcring_consumer* const rx = c.rx;
  ASSERT_EQ(ipcring_try_write(tx, 3, "after", 5), IPCRING_OK);
  std::array<char, 64> buf{};
  std::uint32_t type = 0;
  std::size_t len = 0;
  EXPECT_EQ(ipcring_try_read(rx, buf.data(), buf.size(), &type, &len), IPCRING_EMPTY);  // stuck
  std::size_t repaired = 9;
  EXPECT_EQ(ipcring_producer_recover(tx, &repaired), IPCRING_OK);
  EXPECT_EQ(repaired, 0u);
  EXPECT_EQ(ipcring_consumer_recover(rx, &repaired), IPCRING_OK);
  EXPECT_EQ(repaired, 1u);
  EXPECT_EQ(reg.endpoints[20].claim_first.load(), 0u);
  ASSERT_EQ(ipcring_try_read(rx, buf.data(), buf.size(), &type, &len), IPCRING_OK);
  EXPECT_EQ(std::string(buf.data(), len), "after");
  EXPECT_EQ(type, 3u);
  EXPECT_EQ(ipcring_consumer_recover(rx, nullptr), IPCRING_OK);  // nothing left; NULL count
  EXPECT_EQ(ipcring_consumer_recover(nullptr, &repaired), IPCRING_E_NULL_ARGUMENT);
  EXPECT_EQ(ipcring_producer_recover(nullptr, nullptr), IPCRING_E_NULL_ARGUMENT);
}

// A producer that lost its CAS and was killed before naming its next claim leaves a stale
// claim, which can cover a later dead producer's record too. The padding must end where that
// record ends (its marked size, else its own claim), not where the stale claim does: past it
// lie committed records. A consumer killed while it repaired the record leaves it locked with
// the size it chose, as a mark (-24; a successor reads it so, even with a shorter stale claim
// at the same start, which it would otherwise take); versions before 2026-12-06 locked it with
// INT32_MIN, which says nothing of the size: the record's own claim then does. This checks
// that a successor reads both forms; the lock itself lives only inside recover(), between its
// compare-and-swap and the padding's store, where no test sees it.
TEST(msg_ring, recover_pads_a_dead_record_by_its_own_size_not_a_stale_claim) {
  struct scenario {
    std::int32_t length;  // left at 16: 0 (not marked), -24 (marked), INT32_MIN (old lock)
    u64 stale_first;      // where the stale claim was named
    u64 stale_count;
  };
  for (const scenario sc :
       {scenario{-24, 0, 64}, scenario{0, 0, 64}, scenario{0, 16, 64}, scenario{-24, 16, 8},
        scenario{INT32_MIN, 0, 64}, scenario{INT32_MIN, 16, 64}}) {
    SCOPED_TRACE("length " + std::to_string(sc.length) + ", stale claim [" +
                 std::to_string(sc.stale_first) + ", +" + std::to_string(sc.stale_count) + ")");
    fixture<mpsc_msg_ring> f(1024);
    auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    ASSERT_EQ(tx.try_write(1, bytes_of("12345678")), msg_status::ok);   // [0, 16)
    name_dead_claim(reg.endpoints[5], sc.stale_first, sc.stale_count);  // lost the CAS, killed
    name_dead_claim(reg.endpoints[20], 16, 24);  // claimed [16, 40), killed before committing
    f.ctl().tail.store(40);
    detail::length_at(f.data(), 16).store(sc.length);
    // Half written: what lies at 24 reads as a committed 8-byte record.
    detail::length_at(f.data(), 24).store(8);
    ASSERT_EQ(tx.try_write(3, bytes_of("after")), msg_status::ok);  // [40, 56)
    std::vector<std::string> got;
    EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 1u);
    EXPECT_EQ(rx.recover(), 1u);
    EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 1u);
    EXPECT_EQ(got, (std::vector<std::string>{"12345678", "after"}));
    EXPECT_FALSE(rx.corrupted());
  }
}

// An mpsc producer killed in the middle of a batch leaves the records it published (in
// order) and a claim over the rest, marked or not: recover() pads the rest, and what follows
// is read.
TEST(msg_ring, recover_pads_the_rest_of_a_batch_a_dead_producer_left_unfinished) {
  for (const u64 published : {u64{0}, u64{1}, u64{2}}) {
    SCOPED_TRACE(published);
    fixture<mpsc_msg_ring> f(1024);
    auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
    auto& dead = reg.endpoints[20];
    name_dead_claim(dead, 0, 48);  // a batch of three 16-byte records
    f.ctl().tail.store(48);
    detail::length_at(f.data(), 0).store(-48);  // reserve()'s mark, until the first is published
    for (u64 i = 0; i < published; ++i) {
      detail::type_at(f.data(), i * 16).store(4);
      std::memcpy(f.data() + i * 16 + 8, "batch-0", 8);
      f.data()[i * 16 + 14] = static_cast<std::byte>('0' + i);
      detail::length_at(f.data(), i * 16).store(16);
    }
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    ASSERT_EQ(tx.try_write(4, bytes_of("after")), msg_status::ok);
    std::vector<std::string> got = read_all(rx);
    EXPECT_EQ(got.size(), published);  // then stuck behind the dead claim
    EXPECT_EQ(rx.recover(), 1u);       // the rest, one padding record
    EXPECT_EQ(dead.claim_first.load(), 0u);
    for (const auto& m : read_all(rx))
      got.push_back(m);
    std::vector<std::string> want;
    for (u64 i = 0; i < published; ++i)
      want.push_back(std::string("batch-") + static_cast<char>('0' + i) + '\0');
    want.push_back("after");
    EXPECT_EQ(got, want);
    EXPECT_FALSE(rx.corrupted());
  }
}

// A batch's later records carry their own mark (the size of the rest of the batch) while they
// are written: a producer killed inside one leaves that mark, and recover() pads by it. Without
// it the repair would go by a claim, and another dead producer's shorter stale claim at the same
// start (named, then its CAS lost) would end the padding inside the half-written record, whose
// bytes would then read as records.
TEST(msg_ring, recover_pads_the_rest_of_a_batch_by_its_mark_not_a_stale_claim) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  name_dead_claim(reg.endpoints[5], 0, 40);    // named [0, 40), lost the CAS, killed
  name_dead_claim(reg.endpoints[20], 0, 120);  // a batch: [0, 16), [16, 120); killed in the second
  f.ctl().tail.store(120);
  detail::type_at(f.data(), 0).store(4);
  std::memcpy(f.data() + 8, "batch-0", 8);
  detail::length_at(f.data(), 0).store(16);     // the first record, published
  detail::length_at(f.data(), 16).store(-104);  // the rest of the batch, marked
  detail::type_at(f.data(), 16).store(4);
  for (u64 b = 24; b < 100; b += 8) {  // half its payload, every word a plausible record
    const std::int32_t len = 16;
    std::memcpy(f.data() + b, &len, 4);
  }
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(tx.try_write(4, bytes_of("after")), msg_status::ok);  // [120, 136)
  std::vector<std::string> got = read_all(rx);
  EXPECT_EQ(rx.recover(), 1u);
  for (const auto& m : read_all(rx))
    got.push_back(m);
  EXPECT_EQ(got, (std::vector<std::string>{std::string("batch-0") + '\0', "after"}));
  EXPECT_FALSE(rx.corrupted());
}

// A committed length no producer writes (shorter than a header) is corruption to report, not
// a record to step over: recovery stopping there leaves what follows it alone.
TEST(msg_ring, recover_stops_at_an_impossible_committed_length) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  detail::length_at(f.data(), 0).store(4);  // "committed", 4 bytes: less than its header
  name_dead_claim(reg.endpoints[20], 8, 16);
  f.ctl().tail.store(24);  // a dead claim at 8, where a step of align8(4) from 0 lands
  auto rx = f.ring.consumer();
  EXPECT_EQ(rx.recover(), 0u);
  EXPECT_EQ(detail::length_at(f.data(), 8).load(), 0);  // not padded
  EXPECT_EQ(rx.read([](auto, auto) {}), 0u);
  EXPECT_TRUE(rx.corrupted());
}

TEST(msg_ring, recover_leaves_a_live_producers_claim_alone) {
  fixture<mpsc_msg_ring> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto c = tx.try_claim(1, 10);  // live, slow: claimed, not committed
  ASSERT_TRUE(c);
  ASSERT_EQ(tx.try_write(2, bytes_of("x")), msg_status::ok);  // aborts the open claim first
  auto c2 = tx.try_claim(1, 10);
  ASSERT_TRUE(c2);
  EXPECT_EQ(rx.recover(), 0u);
  c2.commit();
}

TEST(msg_ring, a_blocking_read_recovers_by_itself) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  auto& dead = reg.endpoints[20];
  name_dead_claim(dead, 0, 16);
  f.ctl().tail.store(16);  // claimed; died before even marking the record
  auto tx = f.ring.producer();
  wait_policy p;
  p.liveness_interval = 20ms;
  auto rx = f.ring.consumer(p);
  ASSERT_EQ(tx.try_write(4, bytes_of("later")), msg_status::ok);
  wait_result r = wait_result::timeout;
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 10, 5s, &r), 1u);
  EXPECT_EQ(r, wait_result::ok);
}

// A record at position 0 claimed (16 bytes) by a producer that then died, before even marking
// it, in the ring whose control block is at `control`.
void dead_claim_at_start(std::byte* control) {
  auto& reg = *reinterpret_cast<registry_control*>(control);
  name_dead_claim(reg.endpoints[20], 0, 16);
  reg.base.tail.store(16);
}

// The C API's producer and consumer of the mpsc_msg ring named `name`, attached after a
// dead_claim_at_start written through a view of it; null (a failure recorded) if they could
// not attach.
std::unique_ptr<c_endpoints> c_endpoints_after_dead_claim(const std::string& name) {
  const map_view view = map_view::open(name);
  dead_claim_at_start(view.data() + k_control_offset);
  ipcring_ring* cr = nullptr;
  EXPECT_EQ(ipcring_open(name.c_str(), IPCRING_KIND_MPSC_MSG, 0, &cr), IPCRING_OK);
  auto c = std::make_unique<c_endpoints>(cr);
  if (c->attached()) return c;
  ADD_FAILURE() << ipcring_last_error();
  return nullptr;
}

// Producers that closed have not said their last while a record before theirs is claimed and
// uncommitted: a dead producer's (recovery pads it) or a slow live one's. The consumer reads
// what follows it, then sees closed (it used to see closed at once: those records were lost).
// So does a consumer that only polls, in C++ and through the C API: its look repairs (a poll
// never reaches the liveness check of a longer wait; before, it said timeout for ever here).
TEST(msg_ring, reads_after_the_producers_closed_deliver_what_follows_a_dead_claim) {
  for (const std::chrono::milliseconds timeout : {5000ms, 0ms}) {
    SCOPED_TRACE(std::to_string(timeout.count()) + " ms");
    fixture<mpsc_msg_ring> f(1024);
    dead_claim_at_start(f.mem.span().data() + k_control_offset);
    auto tx = f.ring.producer();
    wait_policy p;
    p.liveness_interval = 20ms;
    auto rx = f.ring.consumer(p);
    ASSERT_EQ(tx.try_write(4, bytes_of("later")), msg_status::ok);
    tx.close();
    std::string got;
    wait_result r = wait_result::timeout;
    EXPECT_EQ(rx.read_wait([&](auto, auto m) { got = text_of(m); }, 10, timeout, &r), 1u);
    EXPECT_EQ(r, wait_result::ok);
    EXPECT_EQ(got, "later");
    EXPECT_EQ(rx.read_wait([](auto, auto) {}, 10, timeout, &r), 0u);
    EXPECT_EQ(r, wait_result::closed);
  }
}

TEST(msg_ring, the_c_api_read_after_the_producers_closed_repairs_a_dead_claim_then_says_closed) {
  const segment_guard g(unique_name());
  const auto ring = mpsc_msg_ring::create(g.name(), 1024);
  const auto c = c_endpoints_after_dead_claim(g.name());
  ASSERT_TRUE(c);
  ASSERT_EQ(ipcring_write(c->tx, 4, "later", 5, 0), IPCRING_OK);
  ipcring_producer_shutdown(c->tx);
  char buf[16];
  std::uint32_t type = 0;
  std::size_t len = 0;
  ASSERT_EQ(ipcring_read(c->rx, buf, sizeof buf, &type, &len, 0), IPCRING_OK);
  EXPECT_EQ(std::string(buf, len), "later");
  EXPECT_EQ(ipcring_read(c->rx, buf, sizeof buf, &type, &len, 0), IPCRING_CLOSED);
}

// A dead claim with nothing after it: a poll that repairs it says closed (it passes the
// padding it left, and looks again), in the C API and in C++'s read_wait alike.
TEST(msg_ring, a_poll_that_repairs_the_last_dead_claim_says_closed) {
  const segment_guard g(unique_name());
  const auto ring = mpsc_msg_ring::create(g.name(), 1024);
  const auto c = c_endpoints_after_dead_claim(g.name());
  ASSERT_TRUE(c);
  ipcring_producer_shutdown(c->tx);
  char buf[16];
  std::uint32_t type = 0;
  std::size_t len = 0;
  EXPECT_EQ(ipcring_read(c->rx, buf, sizeof buf, &type, &len, 0), IPCRING_CLOSED);

  fixture<mpsc_msg_ring> f(1024);
  dead_claim_at_start(f.mem.span().data() + k_control_offset);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  tx.close();
  wait_result r = wait_result::timeout;
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 10, 0ms, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
  EXPECT_EQ(f.ctl().head.load(), f.ctl().tail.load());  // the padding passed is freed
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 10, 0ms, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
}

TEST(msg_ring, a_read_after_the_producers_closed_waits_for_a_live_claim_to_be_committed) {
  fixture<mpsc_msg_ring> f(1024);
  auto slow = f.ring.producer();
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto c = slow.try_claim(1, 5);  // at position 0: claimed, being written
  ASSERT_TRUE(c);
  ASSERT_EQ(tx.try_write(2, bytes_of("after")), msg_status::ok);
  tx.close();
  std::vector<std::string> got;
  const auto keep = [&](auto, auto m) { got.push_back(text_of(m)); };
  wait_result r = wait_result::ok;
  EXPECT_EQ(rx.read_wait(keep, 10, 50ms, &r), 0u);
  EXPECT_EQ(r, wait_result::timeout);  // not closed: the record at 0 is on its way
  std::memcpy(c.bytes().data(), "first", 5);
  ASSERT_TRUE(c.commit());
  EXPECT_EQ(rx.read_wait(keep, 10, 5s, &r), 2u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(got, (std::vector<std::string>{"first", "after"}));
  EXPECT_EQ(rx.read_wait(keep, 10, 5s, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
}

TEST(msg_ring, a_new_single_producer_continues_after_records_its_predecessor_committed) {
  fixture<spsc_msg_ring> f(1024);
  {
    auto tx = f.ring.producer();
    ASSERT_EQ(tx.try_write(1, bytes_of("first")), msg_status::ok);
    ASSERT_EQ(tx.try_write(2, bytes_of("second")), msg_status::ok);
  }
  f.ctl().tail.store(0);  // killed after committing, before storing tail
  f.kill_producer();
  auto rx = f.ring.consumer();
  std::vector<std::string> got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }, 1), 1u);  // "first" read
  auto tx = f.ring.producer();  // must neither overwrite "second" nor write behind the reader
  ASSERT_EQ(tx.try_write(3, bytes_of("third")), msg_status::ok);
  EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 2u);
  EXPECT_EQ(got, (std::vector<std::string>{"first", "second", "third"}));
}

// A predecessor killed while it filled a record (a copy, a claim, a batch past what it
// published) left bytes that no length word covers, among them what reads as a plausible
// length. The new producer's first record there is shorter: the consumer must see it and what
// follows, not a phantom record made of those bytes, nor a corrupt ring. At several positions,
// the end of the buffer among them.
TEST(msg_ring, a_new_single_producer_clears_what_a_killed_predecessor_left_unpublished) {
  for (const u64 t : {u64{64}, u64{1024 - 128}, u64{1024 - 40}, u64{3 * 1024 + 8}}) {
    SCOPED_TRACE(t);
    fixture<spsc_msg_ring> f(1024);
    f.set_position(t);
    const u64 index = t & 1023;
    // The dead producer's unfinished record: length word 0, then its type and payload, in
    // which every 8-byte step holds the length of a 24-byte record of type 3.
    for (u64 b = index + 8; b < std::min<u64>(index + 120, 1024); b += 8) {
      const std::int32_t len = 24;
      std::memcpy(f.data() + b, &len, 4);
      const std::uint32_t type = 3;
      std::memcpy(f.data() + b + 4, &type, 4);
    }
    f.kill_producer();
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    ASSERT_EQ(tx.try_write(3, {}), msg_status::ok);  // an 8-byte record at t
    EXPECT_EQ(read_all(rx, 3), (std::vector<std::string>{""}));
    ASSERT_EQ(tx.try_write(3, bytes_of("after")), msg_status::ok);
    EXPECT_EQ(read_all(rx, 3), (std::vector<std::string>{"after"}));
    EXPECT_FALSE(rx.corrupted());
  }
}

// A taker refused on the ring it found (a head far away, which a peer then puts back)
// hands the role back to the dead holder, not to nobody: the next taker then takes over from
// that holder too and clears what it left. Before, it found the role free, cleared nothing, and
// the consumer read the dead holder's bytes as records.
TEST(msg_ring, a_taker_refused_on_a_corrupt_ring_leaves_the_clearing_to_the_next) {
  fixture<spsc_msg_ring> f(1024);
  f.set_position(64);
  for (u64 b = 64 + 8; b < 64 + 120; b += 8) {  // as above: plausible lengths, uncovered
    const std::int32_t len = 24;
    std::memcpy(f.data() + b, &len, 4);
    const std::uint32_t type = 3;
    std::memcpy(f.data() + b + 4, &type, 4);
  }
  f.kill_producer();
  f.ctl().head.store((u64{1} << 40) | 1);  // a lap and more away, and off 8 bytes
  const auto why = expect_error(errc::corrupted, [&] { (void)f.ring.producer(); });
  EXPECT_EQ(f.ctl().producer_owner.load(), k_dead_owner) << why;
  f.ctl().head.store(64);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(tx.try_write(3, {}), msg_status::ok);
  ASSERT_EQ(tx.try_write(3, bytes_of("after")), msg_status::ok);
  EXPECT_EQ(read_all(rx, 3), (std::vector<std::string>{"", "after"}));
  EXPECT_FALSE(rx.corrupted());
}

// The clearing stays within the space the consumer released: with the ring nearly full (64
// bytes free), the 128 bytes a claim may take would reach records not yet read.
TEST(msg_ring, a_new_single_producer_clears_nothing_the_consumer_has_not_read) {
  fixture<spsc_msg_ring> f(1024);
  f.set_position(512);
  std::vector<std::string> sent;
  {
    auto tx = f.ring.producer();
    for (int i = 0; i < 60; ++i) {  // 960 of 1024 bytes, from 512 on
      sent.push_back("rec-" + std::to_string(100 + i));
      ASSERT_EQ(tx.try_write(4, bytes_of(sent.back())), msg_status::ok);
    }
  }
  f.kill_producer();
  auto tx = f.ring.producer();  // takes over at 1472, 64 bytes before the first unread record
  auto rx = f.ring.consumer();
  EXPECT_EQ(read_all(rx), sent);
  EXPECT_FALSE(rx.corrupted());
}

// The head that the clearing is bounded by is the head checked: a peer that moves head between
// two loads (here a thread flipping it between the real value and one a lap and more away, not
// 8-aligned, where the search for the dead holder's last record stops) gets the taker
// refused, not a clearing sized by the unchecked value, which zeroed the unread record at head
// (the ring then waited for it for ever).
TEST(msg_ring, a_new_single_producer_clears_by_the_head_it_checked) {
  fixture<spsc_msg_ring> f(1024);
  f.set_position(512);
  {
    auto tx = f.ring.producer();
    for (int i = 0; i < 60; ++i)  // 960 of 1024 bytes, from 512 on: 64 bytes free
      ASSERT_EQ(tx.try_write(4, bytes_of("rec-" + std::to_string(100 + i))), msg_status::ok);
  }
  const u64 tail = f.ctl().tail.load();
  ASSERT_EQ(tail, 1472u);
  const std::vector<std::byte> records(f.data(), f.data() + 1024);
  std::atomic<bool> stop{false};
  std::thread peer([&] {
    // Each value held for 0 to 7 pauses: flips as far apart as the taker's loads.
    for (unsigned r = 1; !stop.load(std::memory_order_relaxed);) {
      for (const u64 h : {(u64{1} << 40) | 1, u64{512}}) {
        f.ctl().head.store(h, std::memory_order_relaxed);
        r = r * 1103515245u + 12345u;
        for (unsigned k = (r >> 16) % 8; k != 0; --k)
          cpu_relax();
      }
    }
  });
  int taken = 0, refused = 0;
  const auto end = std::chrono::steady_clock::now() + 2s;
  for (int i = 0; i < 200000 && std::chrono::steady_clock::now() < end; ++i) {
    std::memcpy(f.data(), records.data(), records.size());
    f.ctl().tail.store(tail);
    f.kill_producer();
    try {
      auto tx = f.ring.producer();
      ++taken;
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::corrupted) << e.what();
      ++refused;
    }
    // The unread records: from 512 to the end of the buffer, then from its start to 448.
    if (std::memcmp(f.data() + 512, records.data() + 512, 512) != 0 ||
        std::memcmp(f.data(), records.data(), 448) != 0) {
      ADD_FAILURE() << "take-over " << i << " wrote over the unread records";
      break;
    }
  }
  stop.store(true);
  peer.join();
  std::printf("[ race ] %d take-overs, %d refused\n", taken, refused);
  EXPECT_GT(taken, 0);
  EXPECT_GT(refused, 0) << "the peer never moved head during a take-over: nothing was tested";
}

// A producer that released the role left nothing unpublished (an open claim ended as padding),
// so its successor writes nothing ahead of its position: a clearing of capacity / 8 bytes at
// every open would cost 1 GiB of writes in the largest ring. Only a takeover from a dead holder
// clears.
TEST(msg_ring, a_new_single_producer_after_a_clean_release_writes_nothing_ahead) {
  fixture<spsc_msg_ring> f(1024);
  {
    auto tx = f.ring.producer();
    ASSERT_EQ(tx.try_write(1, bytes_of("first")), msg_status::ok);
    auto c = tx.try_claim(1, 40);  // left open: ends as padding when the producer goes
    ASSERT_TRUE(c);
  }
  ASSERT_EQ(f.ctl().producer_owner.load(), 0u);
  const u64 tail = f.ctl().tail.load();
  ASSERT_EQ(tail, 16u + 48u);               // "first", then the padding of the aborted claim
  std::memset(f.data() + tail, 0x5A, 128);  // stands for what the free space holds
  {
    auto tx = f.ring.producer();
    for (u64 i = 0; i < 128; ++i)
      ASSERT_EQ(std::to_integer<int>(f.data()[tail + i]), 0x5A) << i;
  }
  std::memset(f.data() + tail, 0x5A, 128);
  f.kill_producer();
  auto tx = f.ring.producer();
  for (u64 i = 0; i < 128; ++i)
    ASSERT_EQ(std::to_integer<int>(f.data()[tail + i]), 0) << i;
}

// The same takeover while the consumer is halfway through giving back what it read: it has
// stored head_pending and zeroed the records, not yet stored head. The new producer must not
// take the zeroed records for the end of the committed ones and write behind the reader.
TEST(msg_ring, a_new_single_producer_continues_after_a_release_in_progress) {
  fixture<spsc_msg_ring> f(1024);
  {
    auto tx = f.ring.producer();
    ASSERT_EQ(tx.try_write(1, bytes_of("first")), msg_status::ok);   // 8 + 5 bytes: 16
    ASSERT_EQ(tx.try_write(2, bytes_of("second")), msg_status::ok);  // 8 + 6 bytes: 16
  }
  f.ctl().tail.store(0);  // killed after committing, before storing tail
  f.kill_producer();
  auto rx = f.ring.consumer();
  std::vector<std::string> got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 2u);  // held: head is 0
  ASSERT_EQ(f.ctl().head.load(), 0u);
  f.ctl().head_pending.store(32);  // what flush() does first,
  std::memset(f.data(), 0, 32);    // then second; head comes third
  auto tx = f.ring.producer();
  ASSERT_EQ(tx.try_write(3, bytes_of("third")), msg_status::ok);
  EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 1u);
  EXPECT_EQ(got, (std::vector<std::string>{"first", "second", "third"}));
}

// Several producers read tail from the segment. One that is not 8-byte aligned, 4 bytes
// before the end, would have the padding record's header written past the data area.
TEST(msg_ring, an_mpsc_producer_refuses_a_misaligned_tail_and_writes_nothing) {
  const u64 need = mpsc_msg_ring::required_bytes(1024);
  heap_bytes mem(need + 64);
  auto ring = mpsc_msg_ring::create_in(mem.span().first(need), 1024);
  std::fill_n(mem.span().data() + need, 64, std::byte{0xAB});
  auto& ctl = *reinterpret_cast<ring_control*>(mem.span().data() + 128);
  auto tx = ring.producer();  // (checks tail when it attaches; this one is written later)
  ctl.head.store(1016);
  ctl.tail.store(1020);
  EXPECT_EQ(tx.try_write(1, bytes_of("8 bytes!")), msg_status::corrupted);
  EXPECT_EQ(ctl.tail.load(), 1020u);  // nothing claimed
  for (std::size_t i = 0; i < 64; ++i)
    ASSERT_EQ(mem.span()[need + i], std::byte{0xAB}) << "written past the ring at +" << i;
  EXPECT_EQ(tx.write(1, bytes_of("x"), 10ms), wait_result::ok);  // reports, does not wait
}

// Positions no ring has (tail behind head, or more than a lap ahead) used to read as a full
// ring: try_write said full for ever and a blocking write slept until its timeout.
TYPED_TEST(msg_rings, impossible_positions_are_corrupted_not_full) {
  for (const bool tail_ahead : {true, false}) {
    fixture<TypeParam> f(1024);
    auto tx = f.ring.producer();
    std::string chunk(100, 'x');
    while (tx.try_write(1, bytes_of(chunk)) == msg_status::ok) {
    }
    const u64 tail = f.ctl().tail.load();
    if (tail_ahead && std::is_same_v<TypeParam, mpsc_msg_ring>) {
      f.ctl().tail.store(f.ctl().head.load() + 2 * 1024);  // several producers read it
    } else {
      f.ctl().head.store(tail + 64);  // ahead of every record written
    }
    EXPECT_EQ(tx.try_write(1, bytes_of(chunk)), msg_status::corrupted) << tail_ahead;
    msg_status s = msg_status::ok;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(tx.write(1, bytes_of(chunk), 20s, &s), wait_result::ok);
    EXPECT_EQ(s, msg_status::corrupted);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // reported, not waited out
    const std::span<const std::byte> one[] = {bytes_of(chunk)};
    EXPECT_EQ(tx.try_write_some(1, one, &s), 0u);
    EXPECT_EQ(s, msg_status::corrupted);
  }
}

// Only mpsc producers mark a record they fill with a negative length. In an spsc_msg ring
// one at the read position used to read as "empty" for ever.
TEST(msg_ring, a_negative_length_in_an_spsc_msg_ring_is_corrupted) {
  fixture<spsc_msg_ring> f(1024);
  auto rx = f.ring.consumer();
  detail::length_at(f.data(), 0).store(-16);
  std::array<std::byte, 64> buf{};
  EXPECT_EQ(rx.try_read(buf).status, msg_status::corrupted);
  EXPECT_TRUE(rx.corrupted());
  EXPECT_EQ(rx.wait_readable(2s), wait_result::ok);  // ready: to report it, not to wait
}

// A producer killed after naming its claim and before making it (tail still at the claim's
// start), on a ring read to the end: the claim was never made, and recovery hands its record
// back. It used to keep it for good, so that such deaths could fill the table.
TEST(msg_ring, recover_frees_the_record_of_a_claim_that_was_never_made) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(tx.try_write(3, bytes_of("read")), msg_status::ok);
  EXPECT_EQ(rx.read([](auto, auto) {}), 1u);
  const u64 tail = f.ctl().tail.load();
  auto& dead = reg.endpoints[20];
  name_dead_claim(dead, tail, 24);
  EXPECT_EQ(rx.recover(), 0u);             // nothing to repair,
  EXPECT_EQ(dead.claim_first.load(), 0u);  // and the record is free to take
  ASSERT_EQ(tx.try_write(3, bytes_of("next")), msg_status::ok);
  std::string got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got = text_of(m); }), 1u);
  EXPECT_EQ(got, "next");
}

// A single producer taking over follows head and tail from the segment: one that is not
// 8-byte aligned is reported before any length word is read there (the last one would lie
// partly past the buffer).
TEST(msg_ring, a_new_single_producer_refuses_a_misaligned_position) {
  fixture<spsc_msg_ring> f(1024);
  f.ctl().tail.store(1012);
  f.ctl().head.store(1008);
  f.ctl().head_pending.store(1024);  // (followed from a misaligned tail, it hid the fault)
  expect_error(errc::corrupted, [&] { (void)f.ring.producer(); });
}

}  // namespace
}  // namespace ipcring::test
