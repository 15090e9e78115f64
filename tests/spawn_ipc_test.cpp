// Rings between processes that the test binary spawns (support/spawn.hpp): the two-process
// tests that run on every platform, Linux and Windows (under Wine) alike. Each child attaches
// by name; the parent checks every message and every exit code.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ipcring/ipcring.hpp"
#include "support/spawn.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;
using clock_type = std::chrono::steady_clock;

constexpr u64 k_messages = 1'000'000 / k_sanitizer_scale;

u64 arg_u64(const std::vector<std::string>& args, std::size_t i) {
  return std::stoull(args.at(i));
}

// Blocks until killed: a child that holds a role.
[[noreturn]] void hold_forever() {
  for (;;)
    std::this_thread::sleep_for(1h);
}

// ---- spsc: order, blocking waits, round trips -------------------------------------------

IPCRING_CHILD_ROLE(spsc_consume) {  // args: name, count. Checks 0, 1, 2, ... in order.
  auto rx = spsc_ring<u64>::open(args.at(0)).consumer();
  const u64 n = arg_u64(args, 1);
  for (u64 i = 0; i < n; ++i) {
    u64 v = 0;
    if (rx.pop(v, 30s) != wait_result::ok) return 2;
    if (v != i) return 3;
  }
  u64 extra = 0;
  return rx.try_pop(extra) ? 4 : 0;
}

TEST(spawn_ipc, spsc_messages_arrive_once_in_order) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 1024);
  spawned_process consumer("spsc_consume", {g.name(), std::to_string(k_messages)});
  auto tx = ring.producer();
  for (u64 i = 0; i < k_messages; ++i)
    ASSERT_EQ(tx.push(i, 30s), wait_result::ok) << i;
  EXPECT_EQ(consumer.exit_code(), 0);
}

IPCRING_CHILD_ROLE(consume_before_creation) {  // args: name, count. Started before the ring.
  // Says it is about to wait (a ring of its own, held: on Windows a ring lives while open).
  const auto started = spsc_ring<u64>::create(args.at(0) + "-started", 2);
  ring_options o;
  o.wait_for_creation = 30s;
  auto rx = spsc_ring<u64>::open(args.at(0), o).consumer();
  const u64 n = arg_u64(args, 1);
  for (u64 i = 0; i < n; ++i) {
    u64 v = 0;
    if (rx.pop(v, 30s) != wait_result::ok) return 2;
    if (v != i) return 3;
  }
  return 0;
}

// A consumer started first waits for the producer to create the ring (wait_for_creation).
TEST(spawn_ipc, a_consumer_started_first_waits_for_the_ring_to_be_created) {
  segment_guard g(unique_name());
  segment_guard started(g.name() + "-started");
  const u64 n = 10'000;
  spawned_process consumer("consume_before_creation", {g.name(), std::to_string(n)});
  ring_options o;
  o.wait_for_creation = 30s;  // the child is about to look for the name once this is there
  (void)spsc_ring<u64>::open(started.name(), o);
  std::this_thread::sleep_for(50ms);
  auto ring = spsc_ring<u64>::create(g.name(), 1024);
  auto tx = ring.producer();
  for (u64 i = 0; i < n; ++i)
    ASSERT_EQ(tx.push(i, 30s), wait_result::ok) << i;
  EXPECT_EQ(consumer.exit_code(), 0);
}

IPCRING_CHILD_ROLE(echo) {  // args: ping ring, pong ring, count. Sends back what it gets.
  auto rx = spsc_ring<u64>::open(args.at(0)).consumer(wait_policy::spinning());
  auto tx = spsc_ring<u64>::open(args.at(1)).producer(wait_policy::spinning());
  const u64 n = arg_u64(args, 2);
  for (u64 i = 0; i < n; ++i) {
    u64 v = 0;
    if (rx.pop(v, 30s) != wait_result::ok) return 2;
    if (tx.push(v, 30s) != wait_result::ok) return 3;
  }
  return 0;
}

TEST(spawn_ipc, round_trips_between_two_processes) {
  // Prints the round-trip time between two processes (reported, never asserted).
  segment_guard ping(unique_name("-ping")), pong(unique_name("-pong"));
  auto ping_ring = spsc_ring<u64>::create(ping.name(), 64);
  auto pong_ring = spsc_ring<u64>::create(pong.name(), 64);
  const u64 n = 100'000 / k_sanitizer_scale, warmup = 1000;
  spawned_process peer("echo", {ping.name(), pong.name(), std::to_string(warmup + 2 * n)});
  auto tx = ping_ring.producer(wait_policy::spinning());
  auto rx = pong_ring.consumer(wait_policy::spinning());
  auto trip = [&](u64 i) {
    u64 v = ~u64{0};
    if (tx.push(i, 30s) != wait_result::ok || rx.pop(v, 30s) != wait_result::ok) return false;
    return v == i;
  };
  // Mean over an untimed loop (one clock read per n trips: the clock is slow under Wine),
  // then each trip timed for the percentiles.
  for (u64 i = 0; i < warmup; ++i)  // the peer has started
    ASSERT_TRUE(trip(i)) << i;
  const auto start = clock_type::now();
  for (u64 i = warmup; i < warmup + n; ++i)
    ASSERT_TRUE(trip(i)) << i;
  const double mean_ns =
      std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / n;
  std::vector<std::int64_t> rtt;
  rtt.reserve(n);
  for (u64 i = warmup + n; i < warmup + 2 * n; ++i) {
    const auto t0 = clock_type::now();
    ASSERT_TRUE(trip(i)) << i;
    rtt.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0).count());
  }
  EXPECT_EQ(peer.exit_code(), 0);
  std::sort(rtt.begin(), rtt.end());
  std::printf(
      "round trip between two processes, %llu trips: mean %.0f ns (untimed loop), "
      "p50 %lld ns, p99 %lld ns\n",
      static_cast<unsigned long long>(n), mean_ns, static_cast<long long>(rtt[n / 2]),
      static_cast<long long>(rtt[n * 99 / 100]));
}

IPCRING_CHILD_ROLE(sleepy_consume) {  // args: name. One blocking pop; liveness checks rare.
  wait_policy p = wait_policy::blocking();
  p.liveness_interval = std::chrono::milliseconds(20'000);
  auto rx = spsc_ring<u64>::open(args.at(0)).consumer(p);
  u64 v = 0;
  if (rx.pop(v, 60s) != wait_result::ok) return 2;
  // The parent sent its clock (steady_clock is system-wide on Linux and Windows).
  const auto woke = clock_type::now().time_since_epoch().count();
  return woke - static_cast<std::int64_t>(v) < std::chrono::nanoseconds(5s).count() ? 0 : 3;
}

TEST(spawn_ipc, sleeping_consumer_is_woken_by_the_producer_in_another_process) {
  // The consumer sleeps on the wait block (futex; a named semaphore on Windows). On Linux a lost
  // wake would leave it asleep until its next liveness check, 20 s later; on Windows sleeps are
  // 5 ms slices. Either way it must wake within 5 s of the push.
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 16);
  spawned_process consumer("sleepy_consume", {g.name()});
  // The consumer counts the wait as it starts it (under Wine a process takes a while to start).
  const auto until = clock_type::now() + 30s;
  while (inspect(g.name()).consumer.waits == 0 && clock_type::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(inspect(g.name()).consumer.waits, 1u);
  ASSERT_TRUE(consumer_asleep(g.name())) << "the consumer never slept: no wake to test";
  auto tx = ring.producer();
  ASSERT_TRUE(tx.try_push(static_cast<u64>(clock_type::now().time_since_epoch().count())));
  EXPECT_EQ(consumer.exit_code(), 0);
}

IPCRING_CHILD_ROLE(produce_then_close) {  // args: name, count
  auto tx = spsc_ring<u64>::open(args.at(0)).producer();
  for (u64 i = 0, n = arg_u64(args, 1); i < n; ++i) {
    if (tx.push(i, 30s) != wait_result::ok) return 2;
  }
  tx.close();
  return 0;
}

TEST(spawn_ipc, consumer_drains_a_closed_ring_then_sees_closed) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 256);
  spawned_process producer("produce_then_close", {g.name(), "1000"});
  auto rx = ring.consumer();
  u64 v = 0, received = 0;
  wait_result r;
  while ((r = rx.pop(v, 30s)) == wait_result::ok)
    ASSERT_EQ(v, received++);
  EXPECT_EQ(r, wait_result::closed);
  EXPECT_EQ(received, 1000u);
  EXPECT_EQ(producer.exit_code(), 0);
}

// ---- roles: liveness of another process ---------------------------------------------------

IPCRING_CHILD_ROLE(hold_producer) {  // args: name. Pushes 0..9, then holds the role.
  auto tx = spsc_ring<u64>::open(args.at(0)).producer();
  for (u64 i = 0; i < 10; ++i) {
    if (!tx.try_push(i)) return 2;
  }
  hold_forever();
}

TEST(spawn_ipc, live_holder_keeps_the_role_and_a_killed_one_is_replaced) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);
  spawned_process holder("hold_producer", {g.name()});
  auto rx = ring.consumer();
  for (u64 i = 0; i < 10; ++i) {  // the child's messages say it holds the role
    u64 v = 0;
    ASSERT_EQ(rx.pop(v, 30s), wait_result::ok);
    ASSERT_EQ(v, i);
  }
  const auto msg = expect_error(errc::busy, [&] { (void)ring.producer(); });
  EXPECT_NE(msg.find("(pid " + std::to_string(holder.pid()) + ")"), std::string::npos) << msg;

  holder.kill();
  EXPECT_EQ(holder.exit_code(), k_killed_exit_code);
  std::optional<spsc_producer<u64>> tx;
  ASSERT_NO_THROW(tx.emplace(ring.producer()));
  ASSERT_TRUE(tx->try_push(10));  // continues from the shared tail
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 10u);
}

IPCRING_CHILD_ROLE(push_one_and_hold) {  // args: name
  auto tx = spsc_ring<u64>::open(args.at(0)).producer();
  if (!tx.try_push(7)) return 2;
  hold_forever();
}

TEST(spawn_ipc, waiting_consumer_learns_that_the_producer_died) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 16);
  spawned_process producer("push_one_and_hold", {g.name()});
  auto rx = ring.consumer();
  u64 v = 0;
  ASSERT_EQ(rx.pop(v, 30s), wait_result::ok);
  EXPECT_EQ(v, 7u);
  std::thread killer([&] {
    std::this_thread::sleep_for(100ms);
    producer.kill();
  });
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.pop(v, 30s), wait_result::peer_dead);
  EXPECT_LT(clock_type::now() - t0, 10s);
  killer.join();
}

// ---- wrong attaches fail loudly in another process ----------------------------------------

IPCRING_CHILD_ROLE(attach_wrongly) {  // args: name. Every wrong attach must fail by its code.
  auto fails_with = [](errc want, auto&& f) {
    try {
      f();
    } catch (const error& e) {
      return e.value() == want;
    }
    return false;
  };
  const std::string n = args.at(0);
  if (!fails_with(errc::type_mismatch, [&] { (void)spsc_ring<std::uint32_t>::open(n); })) return 2;
  if (!fails_with(errc::kind_mismatch, [&] { (void)mpmc_ring<u64>::open(n); })) return 3;
  if (!fails_with(errc::kind_mismatch, [&] { (void)spsc_msg_ring::open(n); })) return 4;
  if (!fails_with(errc::not_found, [&] { (void)spsc_ring<u64>::open(n + "-absent"); })) return 5;
  return 0;
}

TEST(spawn_ipc, wrong_attaches_from_another_process_fail_by_their_code) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);
  spawned_process child("attach_wrongly", {g.name()});
  EXPECT_EQ(child.exit_code(), 0);
}

// ---- mpmc and variable-length messages, several producer processes -------------------------

IPCRING_CHILD_ROLE(mpmc_produce) {  // args: name, id, count. Sends id << 32 | seq.
  auto tx = mpmc_ring<u64>::open(args.at(0)).producer();
  const u64 id = arg_u64(args, 1);
  for (u64 i = 0, n = arg_u64(args, 2); i < n; ++i) {
    if (tx.push(id << 32 | i, 30s) != wait_result::ok) return 2;
  }
  return 0;
}

TEST(spawn_ipc, mpmc_two_producer_processes_each_arrive_in_order) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 1024);
  const u64 n = 200'000 / k_sanitizer_scale;
  spawned_process p0("mpmc_produce", {g.name(), "0", std::to_string(n)});
  spawned_process p1("mpmc_produce", {g.name(), "1", std::to_string(n)});
  auto rx = ring.consumer();
  u64 next[2] = {0, 0};
  for (u64 i = 0; i < 2 * n; ++i) {
    u64 v = 0;
    ASSERT_EQ(rx.pop(v, 30s), wait_result::ok) << i;
    const u64 id = v >> 32;
    ASSERT_LT(id, 2u);
    ASSERT_EQ(v & 0xffffffffu, next[id]++) << "producer " << id;
  }
  EXPECT_EQ(p0.exit_code(), 0);
  EXPECT_EQ(p1.exit_code(), 0);
}

// Message i of producer `id`: 1 + i % 300 bytes, each (id * 31 + i + k) & 0xff.
std::vector<std::byte> message(u64 id, u64 i) {
  std::vector<std::byte> m(1 + i % 300);
  for (std::size_t k = 0; k < m.size(); ++k)
    m[k] = static_cast<std::byte>((id * 31 + i + k) & 0xff);
  return m;
}

IPCRING_CHILD_ROLE(msg_produce) {  // args: name, id, count. Type = id.
  auto tx = mpsc_msg_ring::open(args.at(0)).producer();
  const u64 id = arg_u64(args, 1);
  for (u64 i = 0, n = arg_u64(args, 2); i < n; ++i) {
    if (tx.write(static_cast<std::uint32_t>(id + 1), message(id, i), 30s) != wait_result::ok) {
      return 2;
    }
  }
  return 0;
}

TEST(spawn_ipc, variable_length_messages_from_two_processes_arrive_intact) {
  segment_guard g(unique_name());
  auto ring = mpsc_msg_ring::create(g.name(), 1 << 16);
  const u64 n = 50'000 / k_sanitizer_scale;
  spawned_process p0("msg_produce", {g.name(), "0", std::to_string(n)});
  spawned_process p1("msg_produce", {g.name(), "1", std::to_string(n)});
  auto rx = ring.consumer();
  u64 next[2] = {0, 0}, bad = 0, received = 0;
  while (received < 2 * n) {
    wait_result r = wait_result::ok;
    received += rx.read_wait(
        [&](std::uint32_t type, std::span<const std::byte> bytes) {
          const u64 id = type - 1;
          if (id > 1) {
            ++bad;
            return;
          }
          const auto want = message(id, next[id]++);
          if (!std::equal(bytes.begin(), bytes.end(), want.begin(), want.end())) ++bad;
        },
        SIZE_MAX, 30s, &r);
    ASSERT_EQ(r, wait_result::ok) << "after " << received;
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(next[0], n);
  EXPECT_EQ(next[1], n);
  EXPECT_EQ(p0.exit_code(), 0);
  EXPECT_EQ(p1.exit_code(), 0);
}

// ---- the segment's lifetime: where the platforms differ ------------------------------------

IPCRING_CHILD_ROLE(create_and_exit) {  // args: name
  auto ring = spsc_ring<u64>::create(args.at(0), 64);
  auto tx = ring.producer();
  return tx.try_push(5) ? 0 : 2;
}

TEST(spawn_ipc, a_segment_outlives_its_creator_only_on_posix) {
  segment_guard g(unique_name());
  spawned_process creator("create_and_exit", {g.name()});
  ASSERT_EQ(creator.exit_code(), 0);
#ifdef _WIN32
  // A named mapping goes with its last handle: nothing is left to open, or to remove.
  expect_error(errc::not_found, [&] { (void)spsc_ring<u64>::open(g.name()); });
  EXPECT_FALSE(ipcring::remove(g.name()));
#else
  // A POSIX segment stays, with its message, until removed.
  auto rx = spsc_ring<u64>::open(g.name()).consumer();
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 5u);
  EXPECT_TRUE(ipcring::remove(g.name()));
#endif
}

}  // namespace
}  // namespace ipcring::test
