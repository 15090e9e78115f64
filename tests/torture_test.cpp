// Torture: producer and consumer processes SIGKILLed at random moments and restarted, round
// after round, for every ring kind. Checked against the documented guarantees:
//   * nothing corrupt is ever delivered;
//   * spsc, spsc_msg, mpsc_msg: nothing is lost (at-least-once); duplicates only from kills;
//   * mpmc: a killed consumer loses at most the message it was taking; a killed producer's
//     unpublished claim is skipped (its restart sends the message again);
//   * no hang: after the last kill everything is delivered within a bound.
// torture_peers_test.cpp does the same for one endpoint among live peers on its side.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "ipcring/ipcring.hpp"
#include "support/test_support.hpp"
#include "support/torture_records.hpp"

namespace ipcring::test {
namespace {

using namespace torture;

constexpr u64 k_messages = 1'000'000;
constexpr int k_rounds = 150;

// Shared between the test and its children (a map_view of its own).
struct shared_state {
  std::atomic<u64> producer_next;  // next sequence number the producer will send
  std::atomic<u64> consumer_next;  // next sequence number the consumer expects
  std::atomic<u64> duplicates;
  std::atomic<u64> lost;
  std::atomic<u64> corrupt;
  std::atomic<u64> producer_starts;  // message rings: how many producer processes started
};

shared_state& state_of(map_view& v) {
  return *reinterpret_cast<shared_state*>(v.data());
}

// The consumer's bookkeeping for one delivered message.
void account(shared_state& st, const message& m) {
  if (m.check != (m.seq ^ k_golden)) {
    st.corrupt.fetch_add(1);
    return;
  }
  const u64 next = st.consumer_next.load();
  if (m.seq < next) {
    st.duplicates.fetch_add(1);
  } else {
    st.lost.fetch_add(m.seq - next);
    st.consumer_next.store(m.seq + 1);
  }
}

struct torture_result {
  int producer_kills = 0, consumer_kills = 0;
  u64 duplicates = 0, lost = 0, corrupt = 0, delivered_up_to = 0;
};

torture_result torture(const std::string& state_name, const std::function<int()>& producer,
                       const std::function<int()>& consumer) {
  std::mt19937 rng(12345);
  torture_result r;
  auto state_view = map_view::open(state_name);
  auto& st = state_of(state_view);
  auto p = std::make_unique<child_process>(producer);
  auto c = std::make_unique<child_process>(consumer);
  for (int round = 0; round < k_rounds; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 15));
    if (rng() % 2 == 0) {
      p->kill(SIGKILL);
      p->wait();
      ++r.producer_kills;
      p = std::make_unique<child_process>(producer);
    } else {
      c->kill(SIGKILL);
      c->wait();
      ++r.consumer_kills;
      c = std::make_unique<child_process>(consumer);
    }
  }
  EXPECT_EQ(p->exit_code(std::chrono::seconds(60)), 0) << "producer did not finish: a hang?";
  EXPECT_EQ(c->exit_code(std::chrono::seconds(60)), 0) << "consumer did not finish: a hang?";
  r.duplicates = st.duplicates.load();
  r.lost = st.lost.load();
  r.corrupt = st.corrupt.load();
  r.delivered_up_to = st.consumer_next.load();
  std::printf("[ torture ] %d producer kills, %d consumer kills, %llu duplicates, %llu lost\n",
              r.producer_kills, r.consumer_kills, static_cast<unsigned long long>(r.duplicates),
              static_cast<unsigned long long>(r.lost));
  return r;
}

class torture_fixture : public ::testing::Test {
 protected:
  segment_guard ring_name{unique_name("-ring")};
  segment_guard state_name{unique_name("-state")};
  map_view state_view = map_view::create(state_name.name(), 4096);
};

TEST_F(torture_fixture, spsc_ring_loses_nothing_across_kills) {
  auto ring = spsc_ring<message>::create(ring_name.name(), 256);
  auto producer = [&] {
    auto st_view = map_view::open(state_name.name());
    auto& st = state_of(st_view);
    auto r = spsc_ring<message>::open(ring_name.name());
    auto tx = claim([&] { return r.producer(quick_recovery()); });
    for (u64 s; (s = st.producer_next.load()) < k_messages;) {
      const wait_result w = tx.push(message{s, s ^ k_golden}, 30s);
      if (w == wait_result::peer_dead) continue;  // the consumer is being restarted
      if (w != wait_result::ok) return 2;
      st.producer_next.store(s + 1);  // a kill just before this: the restart sends s again
    }
    return 0;
  };
  auto consumer = [&] {
    auto st_view = map_view::open(state_name.name());
    auto& st = state_of(st_view);
    auto r = spsc_ring<message>::open(ring_name.name());
    auto rx = claim([&] { return r.consumer(quick_recovery()); });
    while (st.consumer_next.load() < k_messages) {
      const wait_result w = rx.wait_readable(1, 30s);
      if (w == wait_result::peer_dead) continue;  // the producer is being restarted
      if (w != wait_result::ok) return 2;
      auto in = rx.peek(8);
      for (const auto& m : in)
        account(st, m);
      rx.release(in.size());  // a kill before this: the batch is delivered again
    }
    return 0;
  };
  const auto r = torture(state_name.name(), producer, consumer);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.delivered_up_to, k_messages);
  // A consumer kill delivers again its unreleased batch (8) and the 16 B slots it released
  // without storing head yet (at most 3: head is stored once per 64-byte line of slots).
  EXPECT_LE(r.duplicates, static_cast<u64>(r.producer_kills + (8 + 3) * r.consumer_kills));
}

TEST_F(torture_fixture, mpmc_ring_skips_dead_claims_and_loses_only_what_a_killed_consumer_took) {
  auto ring = mpmc_ring<message>::create(ring_name.name(), 256);
  auto producer = [&] {
    auto st_view = map_view::open(state_name.name());
    auto& st = state_of(st_view);
    auto tx = mpmc_ring<message>::open(ring_name.name()).producer(quick_recovery());
    for (u64 s; (s = st.producer_next.load()) < k_messages;) {
      if (tx.push(message{s, s ^ k_golden}, 30s) != wait_result::ok) return 2;
      st.producer_next.store(s + 1);
    }
    return 0;
  };
  auto consumer = [&] {
    auto st_view = map_view::open(state_name.name());
    auto& st = state_of(st_view);
    auto rx = mpmc_ring<message>::open(ring_name.name()).consumer(quick_recovery());
    while (st.consumer_next.load() < k_messages) {
      message m{};
      const wait_result w = rx.pop(m, 100ms);
      if (w == wait_result::timeout) continue;
      if (w != wait_result::ok) return 2;
      account(st, m);  // a kill between pop and this: the message is lost (documented)
    }
    return 0;
  };
  const auto r = torture(state_name.name(), producer, consumer);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_LE(r.lost, static_cast<u64>(r.consumer_kills));
  EXPECT_EQ(r.delivered_up_to, k_messages);
  EXPECT_LE(r.duplicates, static_cast<u64>(r.producer_kills));
}

template <class Ring>
void msg_torture(const std::string& ring_name, const std::string& state_name) {
  auto ring = Ring::create(ring_name, k_msg_ring_bytes);
  auto producer = [&] {
    auto st_view = map_view::open(state_name);
    auto& st = state_of(st_view);
    auto r = Ring::open(ring_name);
    auto tx = claim([&] { return r.producer(quick_recovery()); });
    // Lengths differ from one producer process to the next, so that a successor writes other
    // records where its killed predecessor left an unfinished one. Every other process writes
    // batches of up to k_batch.
    const u64 nonce = st.producer_starts.fetch_add(1);
    std::vector<std::vector<std::byte>> bufs(k_batch, std::vector<std::byte>(tx.max_message()));
    std::vector<std::span<const std::byte>> batch;
    for (u64 s; (s = st.producer_next.load()) < k_messages;) {
      const std::size_t k = nonce % 2 == 0 ? 1 : std::min<u64>(k_batch, k_messages - s);
      batch.clear();
      for (std::size_t i = 0; i < k; ++i)
        batch.push_back(encode_record(bufs[i], message{s + i, (s + i) ^ k_golden}, nonce));
      wait_result w = wait_result::ok;
      const std::size_t n = tx.write_some(1, batch, 30s, &w);
      if (w == wait_result::peer_dead) continue;  // the consumer is being restarted
      if (w != wait_result::ok || n == 0) return 2;
      st.producer_next.store(s + n);
    }
    return 0;
  };
  auto consumer = [&] {
    auto st_view = map_view::open(state_name);
    auto& st = state_of(st_view);
    auto r = Ring::open(ring_name);
    auto rx = claim([&] { return r.consumer(quick_recovery()); });
    while (st.consumer_next.load() < k_messages) {
      wait_result w = wait_result::ok;
      rx.read_wait(
          [&](std::uint32_t, std::span<const std::byte> in) { account(st, decode_record(in)); }, 8,
          30s, &w);
      if (w == wait_result::peer_dead) continue;
      if (w != wait_result::ok || rx.corrupted()) return 2;
    }
    return 0;
  };
  const auto r = torture(state_name, producer, consumer);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.delivered_up_to, k_messages);
  // A producer kill sends again the batch it was writing (k_batch); a consumer kill delivers
  // again its batch in progress (8) and the records it read since its last head store.
  EXPECT_LE(r.duplicates,
            static_cast<u64>(k_batch * r.producer_kills + (8 + k_msg_held) * r.consumer_kills));
}

TEST_F(torture_fixture, spsc_msg_ring_loses_nothing_across_kills) {
  msg_torture<spsc_msg_ring>(ring_name.name(), state_name.name());
}

TEST_F(torture_fixture, mpsc_msg_ring_pads_dead_claims_and_loses_nothing) {
  msg_torture<mpsc_msg_ring>(ring_name.name(), state_name.name());
}
}  // namespace
}  // namespace ipcring::test
