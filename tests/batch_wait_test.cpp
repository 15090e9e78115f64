// Blocking batches in one process: push_all and pop_some of spsc_ring and mpmc_ring, and
// write_all of the message rings. Batches larger than the ring, one deadline for every wait, what
// a closed side and a refused message leave, and empty batches.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "ipcring/mpmc_ring.hpp"
#include "ipcring/msg_ring.hpp"
#include "ipcring/spsc_ring.hpp"
#include "support/msg_ring_fixture.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;
using clock_type = std::chrono::steady_clock;

template <class Ring>
struct slot_fixture {
  explicit slot_fixture(u64 cap)
      : mem(Ring::required_bytes(cap)), ring(Ring::create_in(mem.span(), cap)) {}
  heap_bytes mem;
  Ring ring;
};

std::vector<u64> counting(std::size_t n, u64 from = 0) {
  std::vector<u64> v(n);
  std::iota(v.begin(), v.end(), from);
  return v;
}

template <class Ring>
class slot_batches : public ::testing::Test {};
using slot_ring_types = ::testing::Types<spsc_ring<u64>, mpmc_ring<u64>>;
TYPED_TEST_SUITE(slot_batches, slot_ring_types);

// 10,000 values through a ring of 8: push_all waits for room many times, pop_some takes what
// is there each time (never more than asked); every value arrives once, in order.
TYPED_TEST(slot_batches, a_batch_larger_than_the_ring_goes_through_in_order) {
  slot_fixture<TypeParam> f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> sent = counting(10'000, 1);
  wait_result pushed = wait_result::timeout;
  std::size_t n_pushed = 0;
  std::thread producer([&] { n_pushed = tx.push_all(std::span<const u64>(sent), 60s, &pushed); });
  std::vector<u64> got;
  std::size_t calls = 0;
  while (got.size() < sent.size()) {
    u64 buf[5] = {};
    wait_result r = wait_result::timeout;
    const std::size_t k = rx.pop_some(std::span<u64>(buf), 60s, &r);
    ASSERT_EQ(r, wait_result::ok);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, 5u);
    got.insert(got.end(), buf, buf + k);
    ++calls;
  }
  producer.join();
  EXPECT_EQ(pushed, wait_result::ok);
  EXPECT_EQ(n_pushed, sent.size());
  EXPECT_EQ(got, sent);
  EXPECT_GE(calls, sent.size() / 5);
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));
}

// One deadline for all the waits of a call: what fitted goes, then timeout after about the
// timeout, not after a fresh timeout per wait.
TYPED_TEST(slot_batches, push_all_pushes_what_fits_and_times_out_once) {
  slot_fixture<TypeParam> f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> items = counting(20);
  wait_result r = wait_result::ok;
  const auto t0 = clock_type::now();
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), 30ms, &r), 8u);
  const auto took = clock_type::now() - t0;
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 5s);
  u64 out[20] = {};
  ASSERT_EQ(rx.try_pop_some(std::span<u64>(out)), 8u);
  for (u64 i = 0; i < 8; ++i)
    EXPECT_EQ(out[i], i);
  // A zero timeout: what fits now, one look, no wait.
  ASSERT_TRUE(tx.try_push(100));
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), 0ms, &r), 7u);
  EXPECT_EQ(r, wait_result::timeout);
}

// Room made a slot every 2 ms: each wait of the call ends soon, but the call ends at its one
// deadline, with part of the batch pushed (were the timeout per wait, all 400 would go, in about
// 800 ms).
TYPED_TEST(slot_batches, the_waits_of_one_call_share_one_deadline) {
  slot_fixture<TypeParam> f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> items = counting(400);
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    while (!stop.load()) {
      std::this_thread::sleep_for(2ms);
      u64 v = 0;
      (void)rx.try_pop(v);
    }
  });
  wait_result r = wait_result::ok;
  const auto t0 = clock_type::now();
  const std::size_t n = tx.push_all(std::span<const u64>(items), 60ms, &r);
  const auto took = clock_type::now() - t0;
  stop = true;
  consumer.join();
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_GE(n, 4u);
  EXPECT_LT(n, items.size() / 2);  // at most a slot per 2 ms after the first 4
  EXPECT_GE(took, 60ms);
  EXPECT_LT(took, 10s);
}

// A producer that waits in parts: room made three times, each time a few slots, while it
// waits within one timeout; all of the batch arrives.
TYPED_TEST(slot_batches, push_all_continues_as_room_is_made) {
  slot_fixture<TypeParam> f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> items = counting(10);
  std::vector<u64> got;
  std::thread consumer([&] {
    while (got.size() < items.size()) {
      std::this_thread::sleep_for(5ms);
      u64 buf[4] = {};
      const std::size_t k = rx.try_pop_some(std::span<u64>(buf));
      got.insert(got.end(), buf, buf + k);
    }
  });
  wait_result r = wait_result::timeout;
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), 30s, &r), items.size());
  EXPECT_EQ(r, wait_result::ok);
  consumer.join();
  EXPECT_EQ(got, items);
}

TYPED_TEST(slot_batches, push_all_stops_when_the_consumer_closes) {
  slot_fixture<TypeParam> f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> items = counting(10);
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    rx.close();
  });
  wait_result r = wait_result::ok;
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), 30s, &r), 4u);
  EXPECT_EQ(r, wait_result::closed);
  closer.join();
}

// A side closed here ends its blocking batches at once, as push() and pop(): nothing moves,
// although the ring has room (or messages).
TYPED_TEST(slot_batches, a_closed_side_moves_nothing) {
  slot_fixture<TypeParam> f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(tx.try_push(7));
  rx.close();
  u64 out[4] = {};
  wait_result r = wait_result::ok;
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), 1s, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
  tx.close();
  const std::vector<u64> items = counting(3);
  r = wait_result::ok;
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), 1s, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
}

TYPED_TEST(slot_batches, pop_some_waits_for_the_first_then_takes_what_is_there) {
  slot_fixture<TypeParam> f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  u64 out[8] = {};
  wait_result r = wait_result::ok;
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), 20ms, &r), 0u);
  EXPECT_GE(clock_type::now() - t0, 20ms);
  EXPECT_EQ(r, wait_result::timeout);

  for (u64 v : {11, 12, 13})
    ASSERT_TRUE(tx.try_push(v));
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), 0ms, &r), 3u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(out[0], 11u);
  EXPECT_EQ(out[2], 13u);

  std::thread late([&] {
    std::this_thread::sleep_for(20ms);
    const std::vector<u64> two = {21, 22};
    EXPECT_TRUE(tx.try_push_all(std::span<const u64>(two)));
    tx.close();
  });
  std::size_t got = 0;
  while (got < 2) {
    const std::size_t k = rx.pop_some(std::span<u64>(out + got, 8 - got), 10s, &r);
    ASSERT_EQ(r, wait_result::ok);
    got += k;
  }
  late.join();
  EXPECT_EQ(out[0], 21u);
  EXPECT_EQ(out[1], 22u);
  // Drained and closed: closed, not a timeout.
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), 10s, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
}

TYPED_TEST(slot_batches, empty_batches_move_nothing_and_do_not_wait) {
  slot_fixture<TypeParam> f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  wait_result r = wait_result::timeout;
  EXPECT_EQ(rx.pop_some(std::span<u64>(), 10s, &r), 0u);
  EXPECT_EQ(r, wait_result::ok);
  r = wait_result::timeout;
  EXPECT_EQ(tx.push_all(std::span<const u64>(), 10s, &r), 0u);
  EXPECT_EQ(r, wait_result::ok);
}

// ---- message rings ----

TYPED_TEST_SUITE(msg_rings, msg_ring_types);

std::vector<std::string> texts(std::size_t n) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back(std::string(i % 97, 'a' + static_cast<char>(i % 26)) + std::to_string(i));
  return v;
}
std::vector<std::span<const std::byte>> spans_of(const std::vector<std::string>& v) {
  std::vector<std::span<const std::byte>> s;
  for (const auto& m : v)
    s.push_back(bytes_of(m));
  return s;
}

// 3,000 messages of 1 to 100 bytes through a ring of 1 KiB: write_all waits for room many
// times (and makes many reservations); every message arrives once, whole, in order.
TYPED_TEST(msg_rings, write_all_of_more_than_the_ring_holds_goes_through_in_order) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const auto sent = texts(3000);
  const auto spans = spans_of(sent);
  wait_result r = wait_result::timeout;
  msg_status s = msg_status::full;
  std::size_t n = 0;
  std::thread producer([&] { n = tx.write_all(4, spans, 60s, &r, &s); });
  std::vector<std::string> got;
  while (got.size() < sent.size()) {
    ASSERT_EQ(rx.wait_readable(60s), wait_result::ok);
    for (auto& m : read_all(rx))
      got.push_back(std::move(m));
  }
  producer.join();
  EXPECT_EQ(n, sent.size());
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(s, msg_status::ok);
  EXPECT_EQ(got, sent);
}

// A message refused in the middle: the ones before it are written, it and the ones after are
// not; the status names it and the wait did not end.
TYPED_TEST(msg_rings, write_all_stops_at_a_refused_message) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  std::vector<std::string> msgs = {"one", "two", std::string(tx.max_message() + 1, 'x'), "four"};
  wait_result r = wait_result::timeout;
  msg_status s = msg_status::ok;
  EXPECT_EQ(tx.write_all(4, spans_of(msgs), 1s, &r, &s), 2u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(s, msg_status::too_long);
  EXPECT_EQ(read_all(rx), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(tx.write_all(k_padding_type, spans_of(msgs), 1s, &r, &s), 0u);
  EXPECT_EQ(s, msg_status::bad_type);
}

TYPED_TEST(msg_rings, write_all_writes_what_fits_then_times_out_once) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<std::string> msgs(100, std::string(56, 'm'));  // 64-byte records
  wait_result r = wait_result::ok;
  msg_status s = msg_status::ok;
  const auto t0 = clock_type::now();
  const std::size_t n = tx.write_all(4, spans_of(msgs), 30ms, &r, &s);
  const auto took = clock_type::now() - t0;
  EXPECT_EQ(n, 16u);  // 1 KiB of 64-byte records
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_EQ(s, msg_status::full);
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(read_all(rx).size(), 16u);
  // The consumer closed: a wait for room ends closed, after what fitted.
  rx.close();
  EXPECT_EQ(tx.write_all(4, spans_of(msgs), 10s, &r, &s), 16u);
  EXPECT_EQ(r, wait_result::closed);
  EXPECT_EQ(s, msg_status::full);
  // No messages: nothing, ok, at once.
  EXPECT_EQ(tx.write_all(4, {}, 10s, &r, &s), 0u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(s, msg_status::ok);
}

}  // namespace
}  // namespace ipcring::test
