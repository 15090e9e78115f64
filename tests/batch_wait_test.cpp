// Blocking batches in one process: push_all and pop_some of spsc_ring and mpmc_ring (and the
// C API's push_all), and write_all of the message rings. Batches larger than the ring, one deadline
// and one counted wait for all the waits of a call, what a closed side and a refused message leave,
// odd timeouts, corrupt indices, empty batches, and many producers and consumers of an mpmc ring.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "ipcring/inspect.hpp"
#include "ipcring/ipcring.h"
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

// 10,000 values through a ring of 8: push_all waits for room many times (one wait counted),
// pop_some takes what is there each time (never more than asked); every value arrives once, in
// order.
TYPED_TEST(slot_batches, a_batch_larger_than_the_ring_goes_through_in_order) {
  slot_fixture<TypeParam> f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> sent = counting(10'000, 1);
  wait_result pushed = wait_result::timeout;
  std::size_t n_pushed = 0;
  std::thread producer([&] { n_pushed = tx.push_all(std::span<const u64>(sent), 60s, &pushed); });
  std::vector<u64> got;
  while (got.size() < sent.size()) {
    u64 buf[5] = {};
    wait_result r = wait_result::timeout;
    const std::size_t k = rx.pop_some(std::span<u64>(buf), 60s, &r);
    if (r != wait_result::ok || k == 0 || k > 5) {
      ADD_FAILURE() << "pop_some: " << to_string(r) << ", " << k << " after " << got.size();
      break;
    }
    got.insert(got.end(), buf, buf + k);
  }
  rx.close();  // a producer still waiting (a failure above) ends
  producer.join();
  EXPECT_EQ(pushed, wait_result::ok);
  EXPECT_EQ(n_pushed, sent.size());
  EXPECT_EQ(got, sent);
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));
  EXPECT_EQ(inspect(f.mem.span(), "mem").producer.waits, 1u);
}

// The same through the C API: ipcring_push_all counts one wait for the call, as the C++
// push_all does (before, each slot it waited for counted one).
TYPED_TEST(slot_batches, the_c_push_all_counts_one_wait_for_the_call) {
  const segment_guard g(unique_name());
  const auto ring = TypeParam::create(g.name(), 8);
  ipcring_ring* cr = nullptr;
  ASSERT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_ANY, sizeof(u64), &cr), IPCRING_OK)
      << ipcring_last_error();
  const c_endpoints c(cr);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  const std::vector<u64> sent = counting(10'000, 1);
  constexpr std::int64_t minute = 60'000'000'000;
  int pushed = IPCRING_E_INTERNAL;
  std::size_t n_pushed = 0;
  std::thread producer([&] {
    pushed = ipcring_push_all(c.tx, sent.data(), sent.size(), &n_pushed, minute);
    ipcring_producer_shutdown(c.tx);  // a consumer still waiting (a failure here) ends
  });
  std::vector<u64> got;
  while (got.size() < sent.size()) {
    u64 buf[5] = {};
    std::size_t k = 0;
    const int s = ipcring_pop_some(c.rx, buf, 5, &k, minute);
    if (s != IPCRING_OK || k == 0 || k > 5) {
      ADD_FAILURE() << "ipcring_pop_some: " << s << ", " << k << " after " << got.size();
      break;
    }
    got.insert(got.end(), buf, buf + k);
  }
  ipcring_consumer_shutdown(c.rx);  // a producer still waiting (a failure above) ends
  producer.join();
  EXPECT_EQ(pushed, IPCRING_OK) << ipcring_strerror(pushed);
  EXPECT_EQ(n_pushed, sent.size());
  EXPECT_EQ(got, sent);
  EXPECT_EQ(inspect(g.name()).producer.waits, 1u);
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
  EXPECT_LT(n, items.size());
  EXPECT_GE(took, 60ms);
  EXPECT_LT(took, 10s);
  EXPECT_EQ(inspect(f.mem.span(), "mem").producer.waits, 1u);
}

// A producer that waits in parts: room made a few slots at a time while it waits within one
// timeout; all of the batch arrives.
TYPED_TEST(slot_batches, push_all_continues_as_room_is_made) {
  slot_fixture<TypeParam> f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> items = counting(10);
  std::vector<u64> got;
  std::thread consumer([&] {
    const auto give_up = clock_type::now() + 30s;  // ends although push_all stopped early
    while (got.size() < items.size() && clock_type::now() < give_up) {
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

// A side closed here still uses what the ring has (as the try_ calls and the C API's batches);
// closed comes where the call would wait. push() and pop() say closed at once.
TYPED_TEST(slot_batches, a_closed_side_says_closed_where_it_would_wait) {
  slot_fixture<TypeParam> f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(tx.try_push(7));
  rx.close();
  u64 out[4] = {};
  wait_result r = wait_result::timeout;
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), 1s, &r), 1u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(out[0], 7u);
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), 1s, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
  tx.close();
  EXPECT_EQ(tx.push(1, 1s), wait_result::closed);
  const std::vector<u64> items = counting(6);
  r = wait_result::ok;
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), 1s, &r), 4u);
  EXPECT_EQ(r, wait_result::closed);
}

// Odd timeouts: negative and NaN are no time (what fits, one look), the largest duration of any
// unit is for ever, without overflow.
TYPED_TEST(slot_batches, odd_timeouts) {
  slot_fixture<TypeParam> f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<u64> items = counting(6);
  wait_result r = wait_result::ok;
  const auto t0 = clock_type::now();
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), -5ms, &r), 4u);
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_EQ(
      tx.push_all(std::span<const u64>(items), std::chrono::duration<double>(std::nan("")), &r),
      0u);
  EXPECT_EQ(r, wait_result::timeout);
  u64 out[8] = {};
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), std::chrono::hours::max(), &r), 4u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), -1s, &r), 0u);
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_EQ(tx.push_all(std::span<const u64>(items).first(3), std::chrono::seconds::max(), &r), 3u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_LT(clock_type::now() - t0, 10s);
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
    if (r != wait_result::ok) break;
    got += k;
  }
  late.join();
  EXPECT_EQ(got, 2u);
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

// Indices no process of the ring would write: the batches neither wait for them to change nor
// move anything (as push() and pop()).
TEST(spsc_batches, corrupt_indices_end_the_waits_at_once) {
  slot_fixture<spsc_ring<u64>> f(4);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto& ctl = *reinterpret_cast<ring_control*>(f.mem.span().data() + k_control_offset);
  const std::vector<u64> items = counting(4);
  ASSERT_EQ(tx.push_all(std::span<const u64>(items)), 4u);  // full
  ctl.head.store(1000);                                     // ahead of tail
  wait_result r = wait_result::ok;
  const auto t0 = clock_type::now();
  EXPECT_EQ(tx.push_all(std::span<const u64>(items), 30s, &r), 0u);
  EXPECT_EQ(r, wait_result::timeout);
  ctl.tail.store(~u64{0});  // far ahead of the consumer
  u64 out[4] = {};
  EXPECT_EQ(rx.pop_some(std::span<u64>(out), 30s, &r), 0u);
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_LT(clock_type::now() - t0, 10s);
  EXPECT_TRUE(tx.corrupted());
  EXPECT_TRUE(rx.corrupted());
}

// Two producers push_all 20,000 tagged values each, in batches of 50, through a ring of 16;
// two consumers pop_some up to 7 at a time. Every value arrives once, and each consumer sees
// each producer's values in the order they were pushed.
TEST(mpmc_batches, two_producers_and_two_consumers_lose_and_repeat_nothing) {
  constexpr u64 k_per_producer = 20'000 / k_sanitizer_scale;
  slot_fixture<mpmc_ring<u64>> f(16);
  std::vector<std::vector<u64>> seen(2);
  std::atomic<int> bad{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&, c] {
      auto rx = f.ring.consumer();
      u64 last[2] = {0, 0};  // per producer: the last sequence number seen, from 1
      for (;;) {
        u64 buf[7] = {};
        wait_result r = wait_result::ok;
        const std::size_t k = rx.pop_some(std::span<u64>(buf), 60s, &r);
        if (r != wait_result::ok) {
          if (r != wait_result::closed) bad += 1;
          return;  // the other consumer drains; the producers give up on `bad`
        }
        for (std::size_t i = 0; i < k; ++i) {
          const u64 who = buf[i] >> 32;
          const u64 seq = buf[i] & 0xffffffffu;
          if (who > 1 || seq <= last[who]) bad += 1;
          if (who <= 1) last[who] = seq;
          seen[c].push_back(buf[i]);
        }
      }
    });
  }
  std::vector<std::thread> producers;
  for (u64 p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      auto tx = f.ring.producer();
      std::vector<u64> mine(k_per_producer);
      for (u64 i = 0; i < k_per_producer; ++i)
        mine[i] = p << 32 | (i + 1);
      for (u64 i = 0; i < k_per_producer && bad == 0; i += 50) {
        const auto part = std::span<const u64>(mine).subspan(i, 50);
        if (tx.push_all(part, 20s) != part.size()) bad += 1;
      }
    });
  }
  for (auto& t : producers)
    t.join();
  f.ring.producer().close();  // drained, the consumers see closed
  for (auto& t : consumers)
    t.join();
  EXPECT_EQ(bad.load(), 0);
  std::vector<u64> all = seen[0];
  all.insert(all.end(), seen[1].begin(), seen[1].end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 2 * k_per_producer);
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());  // no value twice
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
    const wait_result w = rx.wait_readable(60s);
    if (w != wait_result::ok || rx.corrupted()) {
      ADD_FAILURE() << to_string(w) << " after " << got.size();
      break;
    }
    for (auto& m : read_all(rx))
      got.push_back(std::move(m));
  }
  rx.close();  // a producer still waiting (a failure above) ends
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

// A message refused after the call waited for room: the ones before it written, the status
// names it, the wait ended ok.
TYPED_TEST(msg_rings, write_all_refuses_a_message_after_waiting) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::vector<std::string> fill(16, std::string(56, 'f'));  // 1 KiB of 64-byte records
  ASSERT_EQ(tx.write_all(4, spans_of(fill), 0s), 16u);
  std::thread reader([&] {
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(read_all(rx).size(), 16u);
  });
  const std::vector<std::string> msgs = {"a", "b", std::string(tx.max_message() + 1, 'x'), "d"};
  wait_result r = wait_result::timeout;
  msg_status s = msg_status::ok;
  EXPECT_EQ(tx.write_all(4, spans_of(msgs), 30s, &r, &s), 2u);
  reader.join();
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(s, msg_status::too_long);
  EXPECT_EQ(read_all(rx), (std::vector<std::string>{"a", "b"}));
  // The producer closed: what fits still goes (as try_write_some), then closed, not a wait.
  tx.close();
  EXPECT_EQ(tx.write(4, bytes_of("w"), 1s), wait_result::closed);
  const std::vector<std::string> many(40, std::string(56, 'c'));
  EXPECT_LT(tx.write_all(4, spans_of(many), 10s, &r, &s), many.size());
  EXPECT_EQ(r, wait_result::closed);
  EXPECT_EQ(s, msg_status::full);
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
