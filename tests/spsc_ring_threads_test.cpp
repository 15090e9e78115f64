// Two-thread stress on heap memory: the ThreadSanitizer target for spsc_ring's orderings.
#include <gtest/gtest.h>

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

INSTANTIATE_TEST_SUITE_P(paths, spsc_ring_threads,
                         ::testing::Values(path::single, path::batch, path::zero_copy),
                         [](const auto& p) { return path_name(p.param); });

}  // namespace
}  // namespace ipcring::test
