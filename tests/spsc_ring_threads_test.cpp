// Two-thread stress on heap memory: the ThreadSanitizer target for spsc_ring's orderings.
#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <thread>
#include <vector>

#include "ipcring/spsc_ring.hpp"
#include "ipcring/wait.hpp"
#include "support/spsc_traffic.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

constexpr u64 k_messages = 10'000'000 / k_sanitizer_scale;

class spsc_ring_threads : public ::testing::TestWithParam<path> {};

TEST_P(spsc_ring_threads, every_message_arrives_once_in_order) {
  heap_bytes mem(spsc_ring<msg>::required_bytes(1024));
  auto ring = spsc_ring<msg>::create_in(mem.span(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  std::thread producer([&] { produce(tx, GetParam(), k_messages); });
  const u64 received = consume(rx, GetParam(), k_messages);
  producer.join();
  EXPECT_EQ(received, k_messages);
  msg extra{};
  EXPECT_FALSE(rx.try_pop(extra));
}

TEST(spsc_ring_threads_mixed, producer_batches_consumer_single_and_back) {
  heap_bytes mem(spsc_ring<msg>::required_bytes(64));
  auto ring = spsc_ring<msg>::create_in(mem.span(), 64);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  std::thread producer([&] { produce(tx, path::zero_copy, k_messages / 4); });
  EXPECT_EQ(consume(rx, path::single, k_messages / 4), k_messages / 4);
  producer.join();
}

// Batches, claims and peeks of more than a quarter of a ring of 4 KiB slots are published and
// freed in parts (detail/overlap.hpp): the consumer reads the first part while the producer
// still writes the next. Batches of 11 in a ring of 16 cross its end in every position, a part
// at a time; every word of every message is checked.
TEST(spsc_ring_threads_parts, batches_published_in_parts_arrive_whole_and_in_order) {
  constexpr u64 k_cap = 16;
  constexpr u64 k_batch = 11;
  const u64 n = 40'000 / k_sanitizer_scale;
  heap_bytes mem(spsc_ring<page_msg>::required_bytes(k_cap));
  auto ring = spsc_ring<page_msg>::create_in(mem.span(), k_cap);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  ASSERT_LT(detail::publish_chunk(k_cap, sizeof(page_msg)), k_batch);  // parts, not one
  std::thread producer([&] {
    std::vector<page_msg> batch(k_batch);
    stall_watch watch;
    u64 seq = 0;
    for (u64 round = 0; seq < n; ++round) {
      const u64 k = std::min(k_batch, n - seq);
      u64 done = 0;
      tx.stream_copies(round % 2 == 1);  // the copies of every other round stream, if they can
      if (round % 3 == 2) {              // zero-copy, in place
        auto s = tx.claim(k);
        for (u64 i = 0; i < s.size(); ++i)
          s[i] = make_page(seq + i);
        tx.publish(s.size());
        done = s.size();
      } else {
        for (u64 i = 0; i < k; ++i)
          batch[i] = make_page(seq + i);
        const auto part = std::span<const page_msg>(batch).first(k);
        done = round % 3 == 0 ? (tx.try_push_all(part) ? k : 0) : tx.try_push_some(part);
      }
      seq += done;
      if (done != 0) {
        watch.moved();
      } else if (watch.stalled()) {
        return;  // the consumer's check failed: it reports
      }
    }
  });
  std::vector<page_msg> out(13);
  stall_watch watch;
  u64 expect = 0;
  bool intact = true;
  for (u64 round = 0; expect < n && intact; ++round) {
    const u64 k = std::min<u64>(out.size(), n - expect);
    u64 got = 0;
    auto check = [&](const page_msg& m) {  // `expect + got` then names the first bad one
      if (intact && m == make_page(expect + got)) {
        ++got;
      } else {
        intact = false;
      }
    };
    if (round % 3 == 2) {
      const auto s = rx.peek(k);
      for (const auto& m : s)
        check(m);
      rx.release(s.size());
    } else {
      const auto part = std::span<page_msg>(out).first(k);
      const u64 popped = round % 3 == 0 ? (rx.try_pop_all(part) ? k : 0) : rx.try_pop_some(part);
      for (u64 i = 0; i < popped; ++i)
        check(out[i]);
    }
    expect += got;
    if (got != 0) {
      watch.moved();
    } else if (watch.stalled()) {
      break;
    }
  }
  producer.join();
  EXPECT_TRUE(intact) << "message " << expect << " arrived torn, stale or out of order";
  EXPECT_EQ(expect, n);
}

INSTANTIATE_TEST_SUITE_P(paths, spsc_ring_threads,
                         ::testing::Values(path::single, path::batch, path::zero_copy),
                         [](const auto& p) { return path_name(p.param); });

}  // namespace
}  // namespace ipcring::test
