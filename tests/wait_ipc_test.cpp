// Blocking waits between real processes: the sleep/wake race hammered a million times in both
// directions, peers that die while the other side sleeps, and close from a signal handler.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

#include "ipcring/inspect.hpp"
#include "ipcring/spsc_ring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;
using clock_type = std::chrono::steady_clock;

wait_policy sleep_at_once() {
  wait_policy p = wait_policy::blocking();
  p.spin_count = 0;  // every wait that is not satisfied at once goes to sleep
  return p;
}

// As sleep_at_once(), and a sleep after a wait's first slice (5 ms, before the waiter's
// barrier: a wake-up lost there costs those 5 ms by design) lasts until the wait's timeout. No
// liveness check wakes it on the way: one every 100 ms by default would hide a wake-up lost in
// the long sleep, at a cost of 100 ms. Checked by hand with a build whose notifier dropped one
// wake in 1,000 and whose first slice was 0: both hand-off tests failed with a timeout.
wait_policy sleep_until_woken() {
  wait_policy p = sleep_at_once();
  p.liveness_interval = std::chrono::hours(1);
  return p;
}

// One slot: the producer waits on full and the consumer on empty, alternately, so nearly every
// message is two sleep/wake hand-offs. A wait that times out (10 s) is a lost wake-up.
TEST(wait_ipc, a_million_hand_offs_lose_no_wake_up) {
  constexpr u64 n = 1'000'000;
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 1);
  child_process producer([&] {
    auto tx = spsc_ring<u64>::open(g.name()).producer(sleep_until_woken());
    for (u64 i = 0; i < n; ++i) {
      if (tx.push(i, 10s) != wait_result::ok) return 10;
    }
    return 0;
  });
  auto rx = ring.consumer(sleep_until_woken());
  u64 late = 0, wrong = 0;
  for (u64 i = 0; i < n; ++i) {
    u64 v = ~u64{0};
    const auto r = rx.pop(v, 10s);
    if (r != wait_result::ok) {
      ++late;
      ADD_FAILURE() << "pop " << i << ": " << to_string(r);
      break;
    }
    wrong += v != i;
  }
  EXPECT_EQ(late, 0u);
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(producer.exit_code(std::chrono::minutes(5)), 0) << "a push waited 10 s: a lost wake-up";
}

TEST(wait_ipc, sleeping_consumer_learns_that_the_producer_died) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 8);
  pipe_signal ready;
  child_process producer([&] {
    auto tx = spsc_ring<u64>::open(g.name()).producer();
    if (!tx.try_push(7)) return 2;
    ready.notify();
    ::pause();
    return 0;
  });
  ASSERT_TRUE(ready.wait());
  auto rx = ring.consumer();
  u64 v = 0;
  ASSERT_EQ(rx.pop(v, 1s), wait_result::ok);  // what it sent before dying is delivered
  EXPECT_EQ(v, 7u);
  std::thread killer([&] {
    std::this_thread::sleep_for(50ms);
    producer.kill(SIGKILL);
  });
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.pop(v, 30s), wait_result::peer_dead);
  EXPECT_LT(clock_type::now() - t0, 5s);
  killer.join();
}

TEST(wait_ipc, sleeping_producer_learns_that_the_consumer_died) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 1);
  pipe_signal ready;
  child_process consumer([&] {
    auto rx = spsc_ring<u64>::open(g.name()).consumer();
    ready.notify();
    ::pause();
    return 0;
  });
  ASSERT_TRUE(ready.wait());
  auto tx = ring.producer();
  ASSERT_TRUE(tx.try_push(1));  // full now
  consumer.kill(SIGKILL);
  const auto t0 = clock_type::now();
  EXPECT_EQ(tx.push(2, 30s), wait_result::peer_dead);
  EXPECT_LT(clock_type::now() - t0, 5s);
}

close_token g_token;  // for the signal handler: a close_token is async-signal-safe

extern "C" void close_on_signal(int) {
  g_token.close();
}

TEST(wait_ipc, signal_handler_closes_the_ring_for_both_sides) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 1);
  pipe_signal ready;
  child_process consumer([&] {
    auto rx = spsc_ring<u64>::open(g.name()).consumer();
    g_token = rx.closer();
    struct sigaction sa {};
    sa.sa_handler = close_on_signal;
    ::sigaction(SIGUSR1, &sa, nullptr);
    ready.notify();
    // Sleeps on an empty ring with no timeout; SIGUSR1 must end the wait with `closed`.
    u64 v = 0;
    return rx.pop(v) == wait_result::closed ? 0 : 3;
  });
  ASSERT_TRUE(ready.wait());
  // The consumer counts the wait as it starts it; then past its spin and its first sleep.
  const auto until = clock_type::now() + 30s;
  while (inspect(g.name()).consumer.waits == 0 && clock_type::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(inspect(g.name()).consumer.waits, 1u) << "the consumer never waited";
  ASSERT_TRUE(consumer_asleep(g.name())) << "the consumer never slept: no wake to test";
  const auto t0 = clock_type::now();
  consumer.kill(SIGUSR1);
  EXPECT_EQ(consumer.exit_code(std::chrono::seconds(10)), 0);
  EXPECT_LT(clock_type::now() - t0, 5s);
  // The producer sees the consumer's side closed: a push that would wait returns at once.
  auto tx = ring.producer();
  ASSERT_TRUE(tx.try_push(1));
  EXPECT_EQ(tx.push(2, 30s), wait_result::closed);
}

}  // namespace
}  // namespace ipcring::test
