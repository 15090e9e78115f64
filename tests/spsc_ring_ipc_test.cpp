// spsc_ring between real processes: fork() before any thread starts, attach by name, move
// >= 10 million messages per path; role takeover after SIGKILL.
#include <gtest/gtest.h>

#include <cstdlib>
#include <span>
#include <vector>

#include "ipcring/inspect.hpp"
#include "ipcring/spsc_ring.hpp"
#include "support/spsc_traffic.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

constexpr u64 k_messages = 10'000'000;

class spsc_ring_ipc : public ::testing::TestWithParam<path> {};

TEST_P(spsc_ring_ipc, ten_million_messages_arrive_once_in_order) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<msg>::create(g.name(), 4096);
  child_process producer([&] {
    auto tx = spsc_ring<msg>::open(g.name()).producer();  // attaches by name
    produce(tx, GetParam(), k_messages);
    return 0;
  });
  auto rx = spsc_ring<msg>::open(g.name()).consumer();
  const u64 received = consume(rx, GetParam(), k_messages);
  EXPECT_EQ(received, k_messages);
  EXPECT_EQ(producer.exit_code(), 0);
  msg extra{};
  EXPECT_FALSE(rx.try_pop(extra));
}

INSTANTIATE_TEST_SUITE_P(paths, spsc_ring_ipc,
                         ::testing::Values(path::single, path::batch, path::zero_copy),
                         [](const auto& p) { return path_name(p.param); });

// Streamed pushes (non-temporal stores, then a fence before the release of tail) between two
// processes: every word of every 4 KiB message arrives, through single pushes and batches.
TEST(spsc_ring_ipc_stream, streamed_4_kib_messages_arrive_whole_and_in_order) {
  constexpr u64 k_pages = 100'000;
  segment_guard g(unique_name());
  auto ring = spsc_ring<page_msg>::create(g.name(), 64);
  child_process producer([&] {
    auto tx = spsc_ring<page_msg>::open(g.name()).producer();
    tx.stream_copies(true);
    if (tx.stream_copies() != (IPCRING_HAVE_STREAM_COPY != 0)) return 2;  // 4 KiB streams
    std::vector<page_msg> batch(7);
    u64 seq = 0;
    while (seq < k_pages) {
      if (seq % 2 == 0) {  // a single push, then a batch of up to 7
        if (tx.push(make_page(seq)) != wait_result::ok) return 3;
        ++seq;
        continue;
      }
      const u64 n = std::min<u64>(7, k_pages - seq);
      for (u64 i = 0; i < n; ++i)
        batch[i] = make_page(seq + i);
      for (u64 done = 0; done < n;) {
        done += tx.try_push_some(std::span<const page_msg>(batch).subspan(done, n - done));
        if (done < n && tx.wait_writable(1) != wait_result::ok) return 4;
      }
      seq += n;
    }
    return 0;
  });
  auto rx = spsc_ring<page_msg>::open(g.name()).consumer();
  page_msg m{};
  for (u64 seq = 0; seq < k_pages; ++seq) {
    ASSERT_EQ(rx.pop(m, std::chrono::seconds(30)), wait_result::ok) << "message " << seq;
    ASSERT_TRUE(m == make_page(seq)) << "message " << seq << " differs";
  }
  EXPECT_EQ(producer.exit_code(), 0);
  EXPECT_FALSE(rx.try_pop(m));
}

// A handle's look at its peer: a consumer process that exits without closing reads as dead,
// not closed; one that closes reads as closed; a new consumer is neither.
TEST(spsc_ring_ipc_roles, the_producer_sees_its_consumer_die_or_close) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<msg>::create(g.name(), 64);
  auto tx = ring.producer();
  EXPECT_FALSE(tx.peer_dead());  // no consumer yet: a free role
  EXPECT_FALSE(tx.peer_closed());
  child_process quitter([&] {
    auto rx = spsc_ring<msg>::open(g.name()).consumer();
    std::_Exit(0);  // gone without closing or letting go of the role
    return 1;
  });
  EXPECT_EQ(quitter.exit_code(), 0);
  EXPECT_TRUE(tx.peer_dead());
  EXPECT_FALSE(tx.peer_closed());
  child_process closer([&] {
    auto rx = spsc_ring<msg>::open(g.name()).consumer();  // takes the dead one's role over
    rx.close();
    return 0;
  });
  EXPECT_EQ(closer.exit_code(), 0);
  EXPECT_FALSE(tx.peer_dead());  // it let go of the role when it ended
  EXPECT_TRUE(tx.peer_closed());
  auto rx = ring.consumer();  // a new consumer reopens the side
  EXPECT_FALSE(tx.peer_closed());
  EXPECT_FALSE(tx.peer_dead());
  EXPECT_FALSE(rx.peer_dead());
  tx.close();
  EXPECT_TRUE(rx.peer_closed());
}

TEST(spsc_ring_ipc_roles, live_holder_keeps_the_role_and_killed_holder_is_replaced) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);
  pipe_signal ready;
  child_process holder([&] {
    auto tx = spsc_ring<u64>::open(g.name()).producer();
    for (u64 i = 0; i < 10; ++i) {
      if (!tx.try_push(i)) return 2;
    }
    ready.notify();
    ::pause();  // holds the role until killed
    return 0;
  });
  ASSERT_TRUE(ready.wait());
  const auto msg = expect_error(errc::busy, [&] { (void)ring.producer(); });
  EXPECT_NE(msg.find("live process (pid " + std::to_string(holder.pid()) + ")"), std::string::npos)
      << msg;

  holder.kill(SIGKILL);
  // Not reaped yet: the holder is a zombie, which must count as dead.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::optional<spsc_producer<u64>> tx;
  while (!tx && std::chrono::steady_clock::now() < deadline) {
    try {
      tx.emplace(ring.producer());
    } catch (const error& e) {
      ASSERT_EQ(e.code(), errc::busy) << e.what();  // until the kill has landed
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ASSERT_TRUE(tx.has_value()) << "killed holder was not replaced";
  EXPECT_EQ(holder.exit_code(), 1000 + SIGKILL);

  // The new producer continues from the shared tail: 0..9 from the dead one, then 10..19.
  for (u64 i = 10; i < 20; ++i)
    ASSERT_TRUE(tx->try_push(i));
  auto rx = ring.consumer();
  for (u64 i = 0; i < 20; ++i) {
    u64 v = 0;
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
  }
}

// The successor starts at the last head the killed consumer stored: 8 B pops more than half a
// ring behind store it once per cache line of slots (8), so the 2 popped after the line end
// come again (at-least-once).
TEST(spsc_ring_ipc_roles, killed_consumer_is_replaced_and_continues_from_head) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);
  {
    auto tx = ring.producer();
    for (u64 i = 0; i < 60; ++i)
      ASSERT_TRUE(tx.try_push(i));
  }
  pipe_signal ready;
  child_process holder([&] {
    auto rx = spsc_ring<u64>::open(g.name()).consumer();
    for (u64 i = 0; i < 10; ++i) {
      u64 v = 0;
      if (!rx.try_pop(v) || v != i) return 2;
    }
    ready.notify();
    ::pause();
    return 0;
  });
  ASSERT_TRUE(ready.wait());
  expect_error(errc::busy, [&] { (void)ring.consumer(); });
  holder.kill(SIGKILL);
  ASSERT_EQ(holder.exit_code(), 1000 + SIGKILL);  // reaped: the pid is gone entirely
  auto rx = ring.consumer();
  for (u64 i = 8; i < 60; ++i) {
    u64 v = 0;
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, i);
  }
}

TEST(spsc_ring_ipc_roles, role_released_by_exiting_holder_is_free) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);
  child_process holder([&] {
    auto tx = spsc_ring<u64>::open(g.name()).producer();
    return tx.try_push(1) ? 0 : 2;
  });
  ASSERT_EQ(holder.exit_code(), 0);
  EXPECT_NO_THROW((void)ring.producer());
}

TEST(spsc_ring_ipc_roles, handle_inherited_across_fork_does_not_release_the_role) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);
  auto tx = ring.producer();
  child_process child([&] {
    { auto copy = std::move(tx); }  // the child destroys its copy of the parent's handle
    return 0;
  });
  ASSERT_EQ(child.exit_code(), 0);
  expect_error(errc::busy, [&] { (void)ring.producer(); });  // still ours
}

// A consumer handle frees what it popped when it is destroyed, but not a copy a child inherited
// across fork(): its head is stale, and storing it would move the parent's head.
TEST(spsc_ring_ipc_roles, consumer_inherited_across_fork_frees_nothing_when_destroyed) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);  // 8 lines of 8-byte slots
  auto tx = ring.producer();
  auto rx = ring.consumer();
  for (u64 i = 0; i < 40; ++i)
    ASSERT_TRUE(tx.try_push(i));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));  // more than half a ring follows: head is not stored yet
  ASSERT_EQ(ring.size_approx(), 40u);
  child_process child([&] {
    { auto copy = std::move(rx); }
    return ring.size_approx() == 40 ? 0 : 1;
  });
  ASSERT_EQ(child.exit_code(), 0);
  EXPECT_EQ(ring.size_approx(), 40u);
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 1u);
}

TEST(spsc_ring_ipc_roles, handles_inherited_across_fork_close_nothing_and_free_nothing) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  for (u64 i = 0; i < 40; ++i)
    ASSERT_TRUE(tx.try_push(i));
  u64 v = 0;
  ASSERT_TRUE(rx.try_pop(v));  // head is not stored yet
  ASSERT_TRUE(rx.try_pop(v));
  const close_token stop = rx.closer();  // as a signal handler would hold it
  child_process child([&] {
    // Against the contract: must neither move the parent's head nor close its sides.
    stop.close();
    rx.close();
    tx.close();
    return ring.size_approx() == 40 ? 0 : 1;
  });
  ASSERT_EQ(child.exit_code(), 0);
  EXPECT_EQ(ring.size_approx(), 40u);
  const ring_info info = inspect(g.name());
  EXPECT_FALSE(info.producer_closed);
  EXPECT_FALSE(info.consumer_closed);
  ASSERT_TRUE(rx.try_pop(v));
  EXPECT_EQ(v, 2u);
  tx.close();  // the holder's close still closes, and so does its token
  EXPECT_TRUE(inspect(g.name()).producer_closed);
  stop.close();
  EXPECT_TRUE(inspect(g.name()).consumer_closed);
}

}  // namespace
}  // namespace ipcring::test
