// Torture: producer and consumer processes SIGKILLed at random moments and restarted, round
// after round, for every ring kind. Checked against the documented guarantees:
//   * nothing corrupt is ever delivered;
//   * spsc, spsc_msg, mpsc_msg: nothing is lost (at-least-once); duplicates only from kills;
//   * mpmc: a killed consumer loses at most the message it was taking; a killed producer's
//     unpublished claim is skipped (its restart sends the message again);
//   * no hang: after the last kill everything is delivered within a bound.
// The producer sends without pause until told to stop, and each kill waits until the restarted
// process has its role again, so that every kill lands in a working loop; a victim that ended
// by itself (a failed push, a corrupt ring) fails the test instead of being restarted.
// torture_peers_test.cpp does the same for one endpoint among live peers on its side.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <random>

#include "ipcring/ipcring.hpp"
#include "support/test_support.hpp"
#include "support/torture_records.hpp"

namespace ipcring::test {
namespace {

using namespace torture;

constexpr int k_rounds = 150;

// Shared between the test and its children (a map_view of its own).
struct shared_state {
  std::atomic<u64> stop;           // set by the test once the kills are over
  std::atomic<u64> producer_done;  // set by the producer, after its last send, on the stop
  std::atomic<u64> producer_next;  // next sequence number the producer will send
  std::atomic<u64> consumer_next;  // next sequence number the consumer expects
  std::atomic<u64> registered;     // processes that took their role, restarts included
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

// A consumer's loop: `receive(timeout)` waits up to `timeout` for messages, accounts for them
// and returns the wait's result (or nullopt on a failure). Ends once the producer is done and
// everything it sent was seen; or, past the producer's end, when three waits in a row found
// nothing (what is still missing then was lost: the test counts it).
template <class Receive>
int consume(shared_state& st, Receive&& receive) {
  st.registered.fetch_add(1);
  for (int quiet = 0; quiet < 3;) {
    const bool done = st.producer_done.load() != 0;  // all it sent is published before this
    if (done && st.consumer_next.load() >= st.producer_next.load()) break;
    const std::optional<wait_result> w = receive(100ms);
    if (!w) return 2;
    if (*w == wait_result::ok) {
      quiet = 0;
    } else if (done) {
      ++quiet;  // timeout, closed or gone: nothing more comes
    } else if (*w != wait_result::timeout && *w != wait_result::peer_dead &&
               *w != wait_result::closed) {  // closed: the last producer is leaving, done set
      return 2;
    }
  }
  return 0;
}

struct torture_result {
  int producer_kills = 0, consumer_kills = 0;
  u64 sent = 0, duplicates = 0, lost = 0, corrupt = 0, delivered_up_to = 0;
};

torture_result torture(const std::string& state_name, const std::function<int()>& producer,
                       const std::function<int()>& consumer) {
  std::mt19937 rng(kill_seed());
  torture_result r;
  auto state_view = map_view::open(state_name);
  auto& st = state_of(state_view);
  using clock = std::chrono::steady_clock;
  auto p = std::make_unique<child_process>(producer);
  auto c = std::make_unique<child_process>(consumer);
  u64 expected = 2;
  bool ok = registered(st.registered, expected);
  EXPECT_TRUE(ok) << "producer and consumer did not both take their role within 30 s";
  for (int round = 0; ok && round < k_rounds; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 15));
    const bool producer_victim = rng() % 2 == 0;
    auto& victim = producer_victim ? p : c;
    victim->kill(SIGKILL);
    const int status = victim->wait();
    // Both run until the stop: one that ended by itself failed, which its restart would hide.
    EXPECT_TRUE(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << (producer_victim ? "the producer" : "the consumer")
        << " ended by itself before its kill (wait status " << status << ")";
    ++(producer_victim ? r.producer_kills : r.consumer_kills);
    victim = std::make_unique<child_process>(producer_victim ? producer : consumer);
    ok = registered(st.registered, ++expected);
    EXPECT_TRUE(ok) << "a restarted process did not take its role within 30 s";
  }
  st.stop.store(1);
  // 120 s for both together (ctest gives the test 600 s).
  const auto end = clock::now() + 120s;
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(end - clock::now(), clock::duration::zero()));
  };
  EXPECT_EQ(p->exit_code(left()), 0) << "producer failed or did not finish: a hang?";
  EXPECT_EQ(c->exit_code(left()), 0) << "consumer failed or did not finish: a hang?";
  r.sent = st.producer_next.load();
  r.delivered_up_to = st.consumer_next.load();
  r.duplicates = st.duplicates.load();
  // Lost: the gaps the consumer saw, and what it never saw past its last message.
  r.lost = st.lost.load() + (r.sent > r.delivered_up_to ? r.sent - r.delivered_up_to : 0);
  r.corrupt = st.corrupt.load();
  std::printf(
      "[ torture ] %llu messages; %d producer kills, %d consumer kills; %llu duplicates, "
      "%llu lost\n",
      static_cast<unsigned long long>(r.sent), r.producer_kills, r.consumer_kills,
      static_cast<unsigned long long>(r.duplicates), static_cast<unsigned long long>(r.lost));
  // The kills came while data moved (each victim was checked to be running), not on an idle
  // ring: far more messages than kills went through.
  EXPECT_GT(r.sent, static_cast<u64>(10 * k_rounds)) << "too little went through to test kills";
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
    st.registered.fetch_add(1);
    while (st.stop.load() == 0) {
      const u64 s = st.producer_next.load();
      const wait_result w = tx.push(message{s, s ^ k_golden}, 30s);
      if (w == wait_result::peer_dead) continue;  // the consumer is being restarted
      if (w != wait_result::ok) return 2;
      st.producer_next.store(s + 1);  // a kill just before this: the restart sends s again
    }
    st.producer_done.store(1);
    return 0;
  };
  auto consumer = [&] {
    auto st_view = map_view::open(state_name.name());
    auto& st = state_of(st_view);
    auto r = spsc_ring<message>::open(ring_name.name());
    auto rx = claim([&] { return r.consumer(quick_recovery()); });
    return consume(st, [&](std::chrono::milliseconds timeout) -> std::optional<wait_result> {
      const wait_result w = rx.wait_readable(1, timeout);
      if (w != wait_result::ok) return w;
      auto in = rx.peek(8);
      for (const auto& m : in)
        account(st, m);
      rx.release(in.size());  // a kill before this: the batch is delivered again
      return w;
    });
  };
  const auto r = torture(state_name.name(), producer, consumer);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.lost, 0u);
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
    st.registered.fetch_add(1);
    while (st.stop.load() == 0) {
      const u64 s = st.producer_next.load();
      if (tx.push(message{s, s ^ k_golden}, 30s) != wait_result::ok) return 2;
      st.producer_next.store(s + 1);
    }
    st.producer_done.store(1);
    return 0;
  };
  auto consumer = [&] {
    auto st_view = map_view::open(state_name.name());
    auto& st = state_of(st_view);
    auto rx = mpmc_ring<message>::open(ring_name.name()).consumer(quick_recovery());
    return consume(st, [&](std::chrono::milliseconds timeout) -> std::optional<wait_result> {
      message m{};
      const wait_result w = rx.pop(m, timeout);
      if (w == wait_result::ok) account(st, m);  // a kill before this: m is lost (documented)
      return w;
    });
  };
  const auto r = torture(state_name.name(), producer, consumer);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_LE(r.lost, static_cast<u64>(r.consumer_kills));
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
    // batches of k_batch.
    const u64 nonce = st.producer_starts.fetch_add(1);
    std::vector<std::vector<std::byte>> bufs(k_batch, std::vector<std::byte>(tx.max_message()));
    std::vector<std::span<const std::byte>> batch;
    st.registered.fetch_add(1);
    while (st.stop.load() == 0) {
      const u64 s = st.producer_next.load();
      const std::size_t k = nonce % 2 == 0 ? 1 : k_batch;
      batch.clear();
      for (std::size_t i = 0; i < k; ++i)
        batch.push_back(encode_record(bufs[i], message{s + i, (s + i) ^ k_golden}, nonce));
      wait_result w = wait_result::ok;
      const std::size_t n = tx.write_some(1, batch, 30s, &w);
      if (w == wait_result::peer_dead) continue;  // the consumer is being restarted
      if (w != wait_result::ok || n == 0) return 2;
      st.producer_next.store(s + n);
    }
    st.producer_done.store(1);
    return 0;
  };
  auto consumer = [&] {
    auto st_view = map_view::open(state_name);
    auto& st = state_of(st_view);
    auto r = Ring::open(ring_name);
    auto rx = claim([&] { return r.consumer(quick_recovery()); });
    return consume(st, [&](std::chrono::milliseconds timeout) -> std::optional<wait_result> {
      wait_result w = wait_result::ok;
      rx.read_wait(
          [&](std::uint32_t, std::span<const std::byte> in) { account(st, decode_record(in)); }, 8,
          timeout, &w);
      if (rx.corrupted()) return std::nullopt;
      return w;
    });
  };
  const auto r = torture(state_name, producer, consumer);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.lost, 0u);
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
