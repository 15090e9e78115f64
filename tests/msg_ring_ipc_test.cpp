// Message rings between real processes: random lengths 0..max with per-message checksums,
// one producer process, and two producer processes interleaving into one consumer, writing
// one message a call or in batches.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ipcring/inspect.hpp"
#include "ipcring/msg_ring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using u64 = std::uint64_t;

// Message i of a producer: [i:8][checksum:8][bytes derived from i], or shorter messages of
// derived bytes only. Length pseudo-random in 0..max.
std::size_t fill(std::vector<std::byte>& buf, u64 seed, u64 i, std::size_t max) {
  u64 x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ i * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 31;
  const std::size_t len = static_cast<std::size_t>(x % (max + 1));
  for (std::size_t b = 0; b < len; ++b)
    buf[b] = static_cast<std::byte>((i * 131 + b * 7) & 0xff);
  return len;
}
bool check(std::span<const std::byte> m, u64 i) {
  for (std::size_t b = 0; b < m.size(); ++b) {
    if (m[b] != static_cast<std::byte>((i * 131 + b * 7) & 0xff)) return false;
  }
  return true;
}

// Batches: producers write with write_some, batches of 1 to 33 messages of up to `max` bytes.
// in_file: the ring lives in a regular file (create_file, open_file), not a named segment.
template <class Ring>
void run(int producers, u64 per_producer, bool batches = false, bool in_file = false) {
  segment_guard g(unique_name());
  const temp_file file("-msg");
  auto ring = in_file ? Ring::create_file(file.path(), 1 << 16) : Ring::create(g.name(), 1 << 16);
  ASSERT_EQ(ring.max_message(), (1u << 16) / 8 - 8);
  // Batches of small messages, so that one call takes many (capacity / 8 bytes at most).
  const std::size_t max = batches ? 120 : ring.max_message();
  std::vector<std::unique_ptr<child_process>> children;
  for (int p = 0; p < producers; ++p) {
    children.push_back(std::make_unique<child_process>([&, p] {
      auto opened = in_file ? Ring::open_file(file.path()) : Ring::open(g.name());
      auto tx = opened.producer();  // blocking by default
      if (tx.max_message() != opened.max_message()) return 3;
      const auto type = static_cast<std::uint32_t>(p);
      if (batches) {
        std::vector<std::vector<std::byte>> bufs(33, std::vector<std::byte>(max));
        std::vector<std::span<const std::byte>> batch;
        for (u64 i = 0; i < per_producer;) {
          batch.clear();
          for (u64 j = 0; j < std::min<u64>(1 + i % 33, per_producer - i); ++j)
            batch.push_back(std::span(bufs[j]).first(fill(bufs[j], type, i + j, max)));
          wait_result r = wait_result::ok;
          const std::size_t n = tx.write_some(type, batch, std::chrono::seconds(30), &r);
          if (n == 0) return 2;
          i += n;
        }
        return 0;
      }
      std::vector<std::byte> buf(tx.max_message());
      for (u64 i = 0; i < per_producer; ++i) {
        const std::size_t len = fill(buf, type, i, max);
        if (tx.write(type, std::span(buf).first(len), std::chrono::seconds(30)) !=
            wait_result::ok) {
          return 2;
        }
      }
      return 0;
    }));
  }
  auto rx = ring.consumer();
  std::vector<u64> next(static_cast<std::size_t>(producers), 0);
  std::vector<std::byte> expect(rx.capacity());
  u64 bad = 0, total = 0;
  const u64 want = per_producer * static_cast<u64>(producers);
  while (total < want) {
    wait_result r = wait_result::ok;
    total += rx.read_wait(
        [&](std::uint32_t p, std::span<const std::byte> m) {
          if (p >= next.size()) {
            ++bad;
            return;
          }
          const u64 i = next[p]++;
          const std::size_t len = fill(expect, p, i, max);
          if (m.size() != len || !check(m, i)) ++bad;  // order, length and content
        },
        SIZE_MAX, std::chrono::seconds(30), &r);
    ASSERT_EQ(r, wait_result::ok) << "after " << total << " messages";
    ASSERT_FALSE(rx.corrupted()) << "after " << total << " messages";
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_FALSE(rx.corrupted());
  for (auto& c : children)
    EXPECT_EQ(c->exit_code(), 0);
}

TEST(msg_ring_ipc, one_producer_process_random_lengths_arrive_intact) {
  run<spsc_msg_ring>(1, 300'000);
}

TEST(msg_ring_ipc, two_producer_processes_interleave_intact_and_in_order) {
  run<mpsc_msg_ring>(2, 200'000);
}

TEST(msg_ring_ipc, one_producer_process_writing_batches_arrives_intact) {
  run<spsc_msg_ring>(1, 1'000'000, true);
}

TEST(msg_ring_ipc, two_producer_processes_writing_batches_interleave_intact_and_in_order) {
  run<mpsc_msg_ring>(2, 500'000, true);
}

TEST(msg_ring_ipc, message_rings_in_a_file_carry_messages_between_processes) {
  run<spsc_msg_ring>(1, 100'000, false, true);
  run<mpsc_msg_ring>(2, 100'000, true, true);
}

// A producer process that dies (SIGKILL, no close) after writing: the consumer reads all it
// committed, then its blocking read says peer_dead (docs/layout.md: drained first), through
// C++ and through the C API.

// Writes records 0..n-1 (one byte each, type 7) into the spsc_msg ring `name` from a child
// process that then dies holding the producer role.
void write_then_die(const std::string& name, std::uint8_t n) {
  child_process producer([&] {
    auto tx = spsc_msg_ring::open(name).producer();
    for (std::uint8_t i = 0; i < n; ++i) {
      const std::byte m[1] = {std::byte{i}};
      if (tx.try_write(7, m) != msg_status::ok) return 2;
    }
    ::kill(::getpid(), SIGKILL);
    return 3;
  });
  const int st = producer.wait();
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "status " << st;
}

TEST(msg_ring_ipc, a_dead_producers_records_are_read_then_the_read_says_peer_dead) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 4096);
  ASSERT_NO_FATAL_FAILURE(write_then_die(g.name(), 5));
  wait_policy p;
  p.liveness_interval = std::chrono::milliseconds(20);
  auto rx = ring.consumer(p);
  std::vector<int> got;
  wait_result r = wait_result::timeout;
  const auto keep = [&](std::uint32_t, std::span<const std::byte> m) {
    got.push_back(m.size() == 1 ? static_cast<int>(m[0]) : -1);
  };
  EXPECT_EQ(rx.read_wait(keep, 2, std::chrono::seconds(5), &r), 2u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(rx.read_wait(keep, 10, std::chrono::seconds(5), &r), 3u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(rx.read_wait(keep, 10, std::chrono::seconds(5), &r), 0u);
  EXPECT_EQ(r, wait_result::peer_dead);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(msg_ring_ipc, the_c_api_reads_a_dead_producers_records_then_says_peer_dead) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 4096);
  ASSERT_NO_FATAL_FAILURE(write_then_die(g.name(), 3));
  ipcring_ring* cr = nullptr;
  ASSERT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_SPSC_MSG, 0, &cr), IPCRING_OK)
      << ipcring_last_error();
  ipcring_consumer* rx = nullptr;
  ASSERT_EQ(ipcring_consumer_attach(cr, &rx), IPCRING_OK) << ipcring_last_error();
  char buf[8];
  std::uint32_t type = 0;
  std::size_t len = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(ipcring_read(rx, buf, sizeof buf, &type, &len, 5'000'000'000LL), IPCRING_OK) << i;
    EXPECT_EQ(type, 7u);
    ASSERT_EQ(len, 1u);
    EXPECT_EQ(buf[0], static_cast<char>(i));
  }
  EXPECT_EQ(ipcring_read(rx, buf, sizeof buf, &type, &len, 5'000'000'000LL), IPCRING_PEER_DEAD);
  ipcring_consumer_free(rx);
  ipcring_close(cr);
}

// As for spsc_ring: a consumer a child inherited across fork() neither zeroes nor frees what
// the parent's consumer read when the child destroys it.
TEST(msg_ring_ipc, consumer_inherited_across_fork_frees_nothing_when_destroyed) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  const std::byte one[8] = {std::byte{1}};
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(tx.try_write(1, one), msg_status::ok);
  std::byte buf[8];
  ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);  // held: head is not stored yet
  child_process child([&] {
    { auto copy = std::move(rx); }
    return 0;
  });
  ASSERT_EQ(child.exit_code(), 0);
  EXPECT_EQ(inspect(g.name()).head, 0u);
  ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);
  ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);
  EXPECT_EQ(rx.try_read(buf).status, msg_status::empty);
}

TEST(msg_ring_ipc, handles_inherited_across_fork_close_nothing_and_free_nothing) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  for (std::uint8_t i = 1; i <= 3; ++i) {
    const std::byte m[8] = {std::byte{i}};
    ASSERT_EQ(tx.try_write(1, m), msg_status::ok);
  }
  std::byte buf[8];
  ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);  // held: head is not stored yet
  child_process child([&] {
    // Against the contract: must neither store head, zero unread records nor close a side.
    rx.close();
    tx.close();
    return 0;
  });
  ASSERT_EQ(child.exit_code(), 0);
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.head, 0u);
  EXPECT_FALSE(info.producer_closed);
  EXPECT_FALSE(info.consumer_closed);
  for (std::uint8_t i = 2; i <= 3; ++i) {
    ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);
    EXPECT_EQ(buf[0], std::byte{i});
  }
  EXPECT_EQ(rx.try_read(buf).status, msg_status::empty);
  rx.close();  // the holder's close still closes
  EXPECT_TRUE(inspect(g.name()).consumer_closed);
}

// A claim the parent has open is the parent's: a child that moves or destroys the producer
// it inherited must not turn it into padding under the parent's feet.
TEST(msg_ring_ipc, producer_inherited_across_fork_leaves_the_parents_claim_open) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  auto c = tx.try_claim(7, 8);
  ASSERT_EQ(c.status(), msg_status::ok);
  std::memset(c.bytes().data(), 0x5a, c.bytes().size());
  child_process child([&] {
    { auto moved = std::move(tx); }  // against the contract
    return 0;
  });
  ASSERT_EQ(child.exit_code(), 0);
  c.commit();
  std::byte buf[8];
  const read_result r = rx.try_read(buf);
  ASSERT_EQ(r.status, msg_status::ok);
  EXPECT_EQ(r.type, 7u);
  EXPECT_EQ(r.size, 8u);
  EXPECT_EQ(buf[7], std::byte{0x5a});
}

}  // namespace
}  // namespace ipcring::test
