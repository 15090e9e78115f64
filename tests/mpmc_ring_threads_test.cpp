// mpmc_ring with 2 producer and 2 consumer threads on heap memory: the TSan target.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ipcring/mpmc_ring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using u64 = std::uint64_t;

// Message: producer id in the top byte, sequence below.
constexpr u64 encode(u64 producer, u64 seq) {
  return producer << 56 | seq;
}

TEST(mpmc_ring_threads, two_by_two_deliver_exactly_once_in_producer_order) {
  const u64 per_producer = 1'000'000 / k_sanitizer_scale;
  constexpr int producers = 2, consumers = 2;
  heap_bytes mem(mpmc_ring<u64>::required_bytes(256));
  auto ring = mpmc_ring<u64>::create_in(mem.span(), 256);
  std::vector<std::atomic<std::uint8_t>> seen(producers * per_producer);
  std::atomic<u64> received{0}, out_of_order{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      auto tx = ring.producer(wait_policy::yielding());
      u64 batch[8];
      for (u64 s = 0; s < per_producer;) {
        const u64 k = std::min<u64>(1 + s % 8, per_producer - s);  // singles and batches
        for (u64 i = 0; i < k; ++i)
          batch[i] = encode(static_cast<u64>(p), s + i);
        s += tx.try_push_some(std::span<const u64>(batch, k));
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      auto rx = ring.consumer(wait_policy::yielding());
      std::vector<u64> last(producers, ~u64{0});
      u64 buf[8];
      while (received.load() < producers * per_producer) {
        const std::size_t n = rx.try_pop_some(buf);
        for (std::size_t i = 0; i < n; ++i) {
          const u64 p = buf[i] >> 56, s = buf[i] & ((u64{1} << 56) - 1);
          if (last[p] != ~u64{0} && s <= last[p]) out_of_order.fetch_add(1);
          last[p] = s;
          if (seen[p * per_producer + s].exchange(1) != 0) duplicates.fetch_add(1);
        }
        received.fetch_add(n);
        if (n == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(received.load(), producers * per_producer);
  EXPECT_EQ(duplicates.load(), 0u);
  EXPECT_EQ(out_of_order.load(), 0u);
  for (auto& s : seen)
    ASSERT_EQ(s.load(), 1);
}

}  // namespace
}  // namespace ipcring::test
