// Torture with peers: for the rings with several endpoints on a side (mpmc, mpsc_msg), one
// endpoint SIGKILLed and restarted, again and again, while its peers on the same side run on
// (torture_test.cpp kills the only producer or consumer of each ring kind).
//
// Two producers, one of them killed and restarted at random moments, the other never; for mpmc
// also two consumers, one killed, one not. A killed endpoint's claims are repaired (recover())
// while live endpoints keep claiming around them, and its records are taken back (more kills
// than the ring has endpoint records). The producers send without pause until told to stop,
// and each kill waits until the restarted endpoint has registered, so that kills land in the
// working loops; the kills go on until enough of them landed inside a claim (the parent looks
// at the dead endpoint's record), so that every run repairs claims. A live producer also holds
// a claim open for longer than the recoveries' interval now and then: they must leave it be.
#include <gtest/gtest.h>

#include <bit>
#include <functional>
#include <random>

#include "ipcring/ipcring.hpp"
#include "support/test_support.hpp"
#include "support/torture_records.hpp"

namespace ipcring::test {
namespace {

using namespace torture;

constexpr int k_peer_producers = 2;
constexpr u64 k_peer_cap = u64{1} << 26;  // messages per producer at most (8 MiB of bits)
constexpr int k_peer_rounds = 150;        // kills at least
constexpr int k_peer_max_rounds = 1500;   // kills at most, while too few landed in a claim
constexpr int k_peer_mid_claim = 5;       // kills inside a claim, per victim that claims
constexpr u64 k_all_producers_done = (u64{1} << k_peer_producers) - 1;
constexpr u64 k_send_failed = ~u64{0};

struct peers_state {
  // The producers' line (each writes its producer_next once a batch; `stop` is read as often),
  // apart from the consumers' counters below.
  alignas(64) std::atomic<u64> stop;                 // set once the kills are over
  std::atomic<u64> producer_next[k_peer_producers];  // next number producer p sends
  std::atomic<u64> producers_done;                   // bit p: producer p stopped
  std::atomic<u64> registered;                       // endpoints attached, restarts included
  std::atomic<u64> producer_starts;
  // Written by the consumers on every message.
  alignas(64) std::atomic<u64> accounted;  // messages the consumers accounted for
  std::atomic<u64> duplicates[k_peer_producers];
  std::atomic<u64> corrupt;
  std::atomic<u64> seen[k_peer_producers][k_peer_cap / 64];  // bit per message delivered
};

// Message n of producer p: seq = p << 32 | n.
message peer_message(int p, u64 n) {
  const u64 seq = static_cast<u64>(p) << 32 | n;
  return {seq, seq ^ k_golden};
}

void account_peer(peers_state& st, const message& m) {
  const u64 p = m.seq >> 32, n = m.seq & 0xffff'ffffu;
  if (m.check != (m.seq ^ k_golden) || p >= k_peer_producers || n >= k_peer_cap) {
    st.corrupt.fetch_add(1);
    return;
  }
  const u64 bit = u64{1} << (n % 64);
  if ((st.seen[p][n / 64].fetch_or(bit) & bit) != 0) st.duplicates[p].fetch_add(1);
  st.accounted.fetch_add(1);
}

// A producer's loop: sends its messages from producer_next[p] on through `send(n, most)` (sends
// at most `most`; returns how many it sent, or k_send_failed) until told to stop.
template <class Send>
int produce_peer(peers_state& st, int p, Send&& send) {
  st.registered.fetch_add(1);
  for (u64 n; st.stop.load() == 0;) {
    if ((n = st.producer_next[p].load()) == k_peer_cap) {  // out of numbers: waits for the stop
      std::this_thread::sleep_for(1ms);
      continue;
    }
    const u64 k = send(n, k_peer_cap - n);
    if (k == k_send_failed) return 2;
    st.producer_next[p].store(n + k);  // a kill just before this: the restart sends again
  }
  st.producers_done.fetch_or(u64{1} << p);
  return 0;
}

// A consumer's loop: `receive(timeout)` delivers what it took and returns false on a failure.
// Ends once every producer has stopped, and then neither a read nor a recovery (`recover()`,
// made here rather than left to the waits' interval) finds anything, three times running.
template <class Receive, class Recover>
int consume_peer(peers_state& st, Receive&& receive, Recover&& recover) {
  st.registered.fetch_add(1);
  for (int quiet = 0; quiet < 3;) {
    const u64 before = st.accounted.load() + st.corrupt.load();
    if (!receive(100ms)) return 2;
    if (st.producers_done.load() != k_all_producers_done) {
      quiet = 0;
      continue;
    }
    const bool idle = st.accounted.load() + st.corrupt.load() == before;
    quiet = idle && recover() == 0 ? quiet + 1 : 0;
  }
  return 0;
}

struct peers_victim {
  std::function<int()> body;
  bool claims;  // its record names its claims (inspect's `claiming`): kills must land in some
};

struct peers_result {
  std::vector<int> kills_of, mid_claim_of;  // per victim
  u64 sent = 0, duplicates[k_peer_producers] = {}, corrupt = 0, lost = 0;
};

// Runs the steady endpoints once each and the victims, killing a random victim and starting it
// again at random moments, k_peer_rounds times and then on until every victim that claims was
// killed inside a claim k_peer_mid_claim times; then stops the producers and lets it drain.
peers_result torture_peers(peers_state& st, const std::string& ring_name,
                           const std::vector<std::function<int()>>& steady,
                           const std::vector<peers_victim>& victims) {
  std::mt19937 rng(kill_seed());
  peers_result r;
  r.kills_of.assign(victims.size(), 0);
  r.mid_claim_of.assign(victims.size(), 0);
  std::vector<std::unique_ptr<child_process>> s, v;
  for (const auto& f : steady)
    s.push_back(std::make_unique<child_process>(f));
  for (const auto& f : victims)
    v.push_back(std::make_unique<child_process>(f.body));
  const auto enough = [&] {
    for (std::size_t i = 0; i < victims.size(); ++i)
      if (victims[i].claims && r.mid_claim_of[i] < k_peer_mid_claim) return false;
    return true;
  };
  using clock = std::chrono::steady_clock;
  u64 expected = steady.size() + victims.size();
  bool ok = registered(st.registered, expected);
  EXPECT_TRUE(ok) << "the endpoints did not all register within 30 s";
  const auto loop_end = clock::now() + 300s;
  for (int round = 0; ok && round < k_peer_max_rounds && (round < k_peer_rounds || !enough());
       ++round) {
    if (clock::now() >= loop_end) {
      ADD_FAILURE() << "the kills took more than 300 s (" << round << " rounds)";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 15));
    const std::size_t i = rng() % victims.size();
    const pid_t pid = v[i]->pid();
    v[i]->kill(SIGKILL);
    const int status = v[i]->wait();
    // A victim runs until the stop: one that ended by itself failed (a refused commit, an
    // error), which its restart would otherwise hide.
    EXPECT_TRUE(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "victim " << i << " ended by itself before its kill (wait status " << status << ")";
    ++r.kills_of[i];
    for (const auto& e : inspect(ring_name).endpoints)
      if (e.pid == static_cast<std::uint32_t>(pid) && e.claiming) ++r.mid_claim_of[i];
    v[i] = std::make_unique<child_process>(victims[i].body);
    ok = registered(st.registered, ++expected);
    EXPECT_TRUE(ok) << "victim " << i << " did not register again within 30 s";
  }
  for (int p = 0; p < k_peer_producers; ++p)
    EXPECT_LT(st.producer_next[p].load(), k_peer_cap) << "producer " << p << " ran out of numbers";
  st.stop.store(1);
  // 120 s for all of them together (ctest gives the test 600 s).
  const auto end = clock::now() + 120s;
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(end - clock::now(), clock::duration::zero()));
  };
  for (auto& c : s)
    EXPECT_EQ(c->exit_code(left()), 0) << "a steady endpoint failed or hung";
  for (auto& c : v)
    EXPECT_EQ(c->exit_code(left()), 0) << "a restarted endpoint failed or hung";
  // Lost: a message counted as sent that no consumer accounted for (from the bits: a consumer
  // killed between its bit and its count must not make the message look lost).
  for (int p = 0; p < k_peer_producers; ++p) {
    const u64 sent = std::min(st.producer_next[p].load(), k_peer_cap);
    r.sent += sent;
    for (u64 w = 0; w < (sent + 63) / 64; ++w) {
      const u64 valid = sent - w * 64 >= 64 ? ~u64{0} : (u64{1} << (sent - w * 64)) - 1;
      r.lost += static_cast<u64>(std::popcount(~st.seen[p][w].load() & valid));
    }
    r.duplicates[p] = st.duplicates[p].load();
  }
  r.corrupt = st.corrupt.load();
  std::printf("[ torture ] %llu messages, %llu registrations; kills (inside a claim):",
              static_cast<unsigned long long>(r.sent),
              static_cast<unsigned long long>(st.registered.load()));
  for (std::size_t i = 0; i < victims.size(); ++i)
    std::printf(" %d (%d)", r.kills_of[i], r.mid_claim_of[i]);
  std::printf(
      "; duplicates %llu, %llu; %llu lost\n", static_cast<unsigned long long>(r.duplicates[0]),
      static_cast<unsigned long long>(r.duplicates[1]), static_cast<unsigned long long>(r.lost));
  for (std::size_t i = 0; i < victims.size(); ++i) {
    if (victims[i].claims) {
      EXPECT_GE(r.mid_claim_of[i], k_peer_mid_claim)
          << "victim " << i << ": too few kills landed inside a claim; no recovery was tested";
    }
  }
  // Every restart registered again: far more than the ring has endpoint records (64), so dead
  // ones were taken back.
  EXPECT_GE(st.registered.load(), u64{2} * 64);
  return r;
}

class torture_peers_fixture : public ::testing::Test {
 protected:
  segment_guard ring_name{unique_name("-ring")};
  segment_guard state_name{unique_name("-state")};
  map_view state_view = map_view::create(state_name.name(), sizeof(peers_state));
  peers_state& st = *reinterpret_cast<peers_state*>(state_view.data());
};

TEST_F(torture_peers_fixture, mpmc_ring_repairs_a_killed_producer_and_consumer_while_peers_run) {
  // Batches on both sides, spinning, so that a good share of each side's time is spent inside
  // claims; the blocking calls (which run the recoveries) only where a batch found nothing.
  // Slots of 1 KiB, so that a batch's copy, inside its claim, takes a while.
  struct slot {
    message m;
    std::byte payload[1008];
  };
  constexpr std::size_t push_batch = 32, pop_batch = 64;
  auto ring = mpmc_ring<slot>::create(ring_name.name(), 256);
  auto producer = [&](int p) {
    return [&, p] {
      auto tx = mpmc_ring<slot>::open(ring_name.name()).producer(quick_recovery());
      std::array<slot, push_batch> batch{};
      return produce_peer(st, p, [&](u64 n, u64 most) -> u64 {
        const std::size_t k = std::min<u64>(batch.size(), most);
        for (std::size_t i = 0; i < k; ++i)
          batch[i].m = peer_message(p, n + i);
        if (const std::size_t sent = tx.try_push_some(std::span(batch).first(k)); sent != 0)
          return sent;
        return tx.push(batch[0], 30s) == wait_result::ok ? 1 : k_send_failed;
      });
    };
  };
  auto consumer = [&] {
    auto rx = mpmc_ring<slot>::open(ring_name.name()).consumer(quick_recovery());
    std::array<slot, pop_batch> in;
    return consume_peer(
        st,
        [&](std::chrono::milliseconds timeout) {
          // A kill before the messages taken are accounted for: they are lost.
          if (const std::size_t n = rx.try_pop_some(in); n != 0) {
            for (std::size_t i = 0; i < n; ++i)
              account_peer(st, in[i].m);
            return true;
          }
          const wait_result w = rx.pop(in[0], timeout);
          if (w == wait_result::ok) account_peer(st, in[0].m);
          return w == wait_result::ok || w == wait_result::timeout;
        },
        [&] { return rx.recover(); });
  };
  // Steady: producer 1 and a consumer; killed: producer 0 and the other consumer.
  const auto r = torture_peers(st, ring_name.name(), {producer(1), consumer},
                               {peers_victim{producer(0), true}, peers_victim{consumer, true}});
  EXPECT_EQ(r.corrupt, 0u);
  // A killed consumer loses at most the batch it was taking. A killed producer's restart sends
  // again at most the batch whose push it had not yet counted; nothing is delivered twice
  // otherwise: the producer never killed has none (a repaired claim delivered as a message
  // would read as an old one of its).
  EXPECT_LE(r.lost, static_cast<u64>(pop_batch * r.kills_of[1]));
  EXPECT_LE(r.duplicates[0], static_cast<u64>(push_batch * r.kills_of[0]));
  EXPECT_EQ(r.duplicates[1], 0u);
}

TEST_F(torture_peers_fixture, mpsc_msg_ring_pads_a_killed_producers_claims_while_another_writes) {
  auto ring = mpsc_msg_ring::create(ring_name.name(), k_msg_ring_bytes);
  // Producer 0 (killed) writes batches in every other process and claims in the others, holding
  // every 64th claim open for 100 us, so that kills land inside claims. Producer 1 (never
  // killed) writes through claims and holds every 2048th open for 30 ms, three times the
  // recoveries' interval: a recovery that padded a live producer's claim would lose it.
  auto producer = [&](int p) {
    return [&, p] {
      auto tx = mpsc_msg_ring::open(ring_name.name()).producer(quick_recovery());
      const u64 nonce = st.producer_starts.fetch_add(1);  // lengths differ between processes
      const bool batches = p == 0 && nonce % 2 == 0;
      std::vector<std::vector<std::byte>> bufs(k_batch, std::vector<std::byte>(tx.max_message()));
      std::vector<std::span<const std::byte>> batch;
      return produce_peer(st, p, [&](u64 n, u64 most) -> u64 {
        if (!batches) {
          const auto rec = encode_record(bufs[0], peer_message(p, n), nonce);
          for (;;) {
            auto c = tx.try_claim(1, rec.size());
            if (!c) {
              if (c.status() != msg_status::full) {
                std::fprintf(stderr, "producer %d: claim: %s\n", p, to_string(c.status()));
                return k_send_failed;
              }
              if (st.stop.load() != 0) return 0;
              cpu_relax();
              continue;
            }
            std::memcpy(c.bytes().data(), rec.data(), rec.size());
            if (p == 0 && n % 64 == 0) std::this_thread::sleep_for(100us);
            if (p == 1 && n % 2048 == 0) std::this_thread::sleep_for(30ms);
            if (c.commit()) return 1;
            std::fprintf(stderr, "producer %d: the commit failed\n", p);
            return k_send_failed;
          }
        }
        batch.clear();
        for (u64 i = 0; i < std::min<u64>(k_batch, most); ++i)
          batch.push_back(encode_record(bufs[i], peer_message(p, n + i), nonce));
        for (;;) {
          wait_result w = wait_result::ok;
          msg_status status = msg_status::ok;
          const std::size_t sent = tx.write_some(1, batch, 30s, &w, &status);
          if (w == wait_result::peer_dead) continue;  // the consumer is being restarted
          if (w == wait_result::ok && sent != 0) return sent;
          std::fprintf(stderr, "producer %d: write_some: %s, %s\n", p, to_string(w),
                       to_string(status));
          return k_send_failed;
        }
      });
    };
  };
  auto consumer = [&] {
    auto r = mpsc_msg_ring::open(ring_name.name());
    auto rx = claim([&] { return r.consumer(quick_recovery()); });
    return consume_peer(
        st,
        [&](std::chrono::milliseconds timeout) {
          wait_result w = wait_result::ok;
          rx.read_wait([&](std::uint32_t,
                           std::span<const std::byte> in) { account_peer(st, decode_record(in)); },
                       8, timeout, &w);
          return !rx.corrupted() && (w == wait_result::ok || w == wait_result::timeout);
        },
        [&] { return rx.recover(); });
  };
  // Steady: producer 1; killed: producer 0 and the consumer (whose record names no claims).
  const auto r = torture_peers(st, ring_name.name(), {producer(1)},
                               {peers_victim{producer(0), true}, peers_victim{consumer, false}});
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.lost, 0u);
  // A producer kill sends again the batch it was writing; a consumer kill delivers again its
  // batch in progress (8) and the records it read since its last head store.
  EXPECT_LE(r.duplicates[0] + r.duplicates[1],
            static_cast<u64>(k_batch * r.kills_of[0] + (8 + k_msg_held) * r.kills_of[1]));
}
}  // namespace
}  // namespace ipcring::test
