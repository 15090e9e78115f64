// mpmc_ring between real processes: 2 producer and 2 consumer processes attach by name and
// move 10 million messages; every message is delivered exactly once, in each producer's order.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "ipcring/inspect.hpp"
#include "ipcring/mpmc_ring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using u64 = std::uint64_t;
constexpr u64 encode(u64 producer, u64 seq) {
  return producer << 56 | seq;
}

TEST(mpmc_ring_ipc, two_producers_two_consumers_ten_million_exactly_once) {
  constexpr u64 producers = 2, consumers = 2, per_producer = 5'000'000;
  constexpr u64 total = producers * per_producer;
  segment_guard ring_name(unique_name("-ring"));
  segment_guard seen_name(unique_name("-seen"));
  auto ring = mpmc_ring<u64>::create(ring_name.name(), 1024);
  // One byte per message, plus a shared count of received messages at the end.
  auto seen = map_view::create(seen_name.name(), total + 64);
  std::vector<std::unique_ptr<child_process>> children;
  for (u64 p = 0; p < producers; ++p) {
    children.push_back(std::make_unique<child_process>([&, p] {
      auto tx = mpmc_ring<u64>::open(ring_name.name()).producer(wait_policy::yielding());
      u64 batch[8];
      for (u64 s = 0; s < per_producer;) {
        const u64 k = std::min<u64>(1 + s % 8, per_producer - s);
        for (u64 i = 0; i < k; ++i)
          batch[i] = encode(p, s + i);
        const std::size_t n = tx.try_push_some(std::span<const u64>(batch, k));
        if (n != 0) {
          s += n;
        } else if (tx.push(batch[0], std::chrono::seconds(30)) == wait_result::ok) {
          s += 1;
        } else {
          return 2;  // no room for 30 s: the consumers are gone
        }
      }
      return 0;
    }));
  }
  for (u64 c = 0; c < consumers; ++c) {
    children.push_back(std::make_unique<child_process>([&] {
      auto rx = mpmc_ring<u64>::open(ring_name.name()).consumer(wait_policy::yielding());
      auto view = map_view::open(seen_name.name());
      auto* marks = reinterpret_cast<std::atomic<std::uint8_t>*>(view.data());
      auto& received = *reinterpret_cast<std::atomic<u64>*>(view.data() + total);
      std::vector<u64> last(producers, ~u64{0});
      int errors = 0;
      u64 buf[8];
      stall_watch watch;  // nothing delivered for 30 s, by anyone: a producer failed
      for (u64 before = 0, now; (now = received.load(std::memory_order_relaxed)) < total;) {
        if (now != before) {
          watch.moved();
          before = now;
        } else if (watch.stalled()) {
          return 4;
        }
        const std::size_t n = rx.try_pop_some(buf);
        for (std::size_t i = 0; i < n; ++i) {
          const u64 p = buf[i] >> 56, s = buf[i] & ((u64{1} << 56) - 1);
          if (p >= producers || s >= per_producer) return 2;  // garbage
          if (last[p] != ~u64{0} && s <= last[p]) ++errors;   // reordered
          last[p] = s;
          if (marks[p * per_producer + s].exchange(1) != 0) ++errors;  // duplicate
        }
        received.fetch_add(n, std::memory_order_relaxed);
        if (n == 0) std::this_thread::yield();
      }
      return errors == 0 ? 0 : 3;
    }));
  }
  // 400 s for all of them together (ctest gives the test 600 s).
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(400);
  for (auto& c : children) {
    EXPECT_EQ(c->exit_code(std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
                  end - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{}))),
              0);
  }
  u64 delivered = 0;
  for (u64 i = 0; i < total; ++i)
    delivered += static_cast<u64>(seen.data()[i]);
  EXPECT_EQ(delivered, total);  // nothing lost
}

TEST(mpmc_ring_ipc, endpoints_inherited_across_fork_close_nothing) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 64);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  ASSERT_TRUE(tx.try_push(7));
  child_process child([&] {
    // Against the contract: the ring is the parent's, not the child's to close.
    rx.close();
    tx.close();
    return 0;
  });
  ASSERT_EQ(child.exit_code(), 0);
  const ring_info info = inspect(g.name());
  EXPECT_FALSE(info.producer_closed);
  EXPECT_FALSE(info.consumer_closed);
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, std::chrono::milliseconds(100)), wait_result::ok);
  EXPECT_EQ(v, 7u);
  rx.close();  // the holder's close still closes
  EXPECT_TRUE(inspect(g.name()).consumer_closed);
}

}  // namespace
}  // namespace ipcring::test
