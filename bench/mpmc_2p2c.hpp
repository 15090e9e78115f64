// bench/mpmc_2p2c.hpp: mpmc_ring between two producer and two consumer processes (2P2C).
//
// BM_throughput/mpmc_2p2c/<bytes>/<mode>: producers P0 (the benchmark process) and P1,
// consumers C0 (run_pair's peer) and C1. P0 forks P1 and C0 forks C1 after run_pair has
// pinned them, so P1 shares P0's cpu and C1 shares C0's, unless the machine has two more
// cpus: then P1 and C1 get the lowest two that are free (processes_per_cpu says which). A
// process that shares its cpu gives it up (sched_yield) after 64 attempts in a row that found
// the ring full or empty, or its neighbour, which may hold a claimed ticket, would wait for
// the scheduler's time slice.
//
// msgs_per_s counts both producers' messages over the time from the start until the
// consumers hold all of them. Each message carries its producer (the top bit of the stamp)
// and its number in that producer's sequence. A consumer takes tickets in order, so each
// producer's numbers must grow at each consumer; at the end, the count and the sum of the
// numbers each producer sent must equal what the two consumers received from it. A lost,
// repeated or reordered message fails the benchmark.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "harness.hpp"
#include "scenarios.hpp"
#include "transports.hpp"

namespace bench {

/// What the four processes share, beside the ring (an anonymous shared mapping made before
/// any fork).
struct group_state {
  alignas(128) std::atomic<u64> ready;  // P1, C0 and C1 have attached (counts to 3)
  alignas(128) std::atomic<u64> go;     // P0 started the clock
  alignas(128) std::atomic<u64> stop;   // P0: time is up
  alignas(128) std::atomic<u64> abort;  // someone failed: everyone leaves its loop
  std::atomic<u64> failing;             // the first to fail writes `failure`
  struct alignas(128) producer_side {
    std::atomic<u64> sent;  // messages, final once done != 0
    std::atomic<u64> done;
  };
  struct alignas(128) consumer_side {
    std::atomic<u64> received;  // all producers, stored whenever the ring looks empty
    std::array<std::atomic<u64>, 2> count, sum;  // per producer, final once done != 0
    std::atomic<u64> done;
  };
  std::array<producer_side, 2> producers;
  std::array<consumer_side, 2> consumers;
  char failure[256];
};

namespace detail_2p2c {

inline constexpr u64 k_producer_bit = u64{1} << 63;

/// The cpu for P1 (which = 0) or C1 (1): a free one if the machine has two beyond cpu_a and
/// cpu_b, else -1 (stay on the parent's).
inline int extra_cpu(int which) {
  const int a = settings().cpu_a, b = settings().cpu_b;
  if (a < 0 || b < 0) return -1;
  const int n = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<int> free;
  for (int c = 0; c < n && free.size() < 2; ++c) {
    if (c != a && c != b) free.push_back(c);
  }
  return free.size() == 2 ? free[static_cast<std::size_t>(which)] : -1;
}

inline void fail(group_state& g, const std::string& why) {
  if (g.failing.exchange(1, std::memory_order_relaxed) == 0) {
    std::snprintf(g.failure, sizeof g.failure, "%s", why.c_str());
  }
  // release: the text before the flag; pairs with failure_text()'s acquire
  g.abort.store(1, std::memory_order_release);
}

/// The first failure's text, or empty if nobody failed.
inline std::string failure_text(const group_state& g) {
  return g.abort.load(std::memory_order_acquire) != 0 ? std::string(g.failure) : std::string();
}

/// Between attempts that found the ring full or empty.
inline void idle(bool shared_cpu, u64& misses) noexcept {
  if (shared_cpu && ++misses % 64 == 0) {
    ::sched_yield();
  } else {
    ipcring::cpu_relax();
  }
}

/// Producer `id` of a 2P2C run: sends batches of 64 calls until stop() or an abort, then
/// publishes its count.
template <std::size_t N, class Stop>
void produce(group_state& g, ipcring::mpmc_producer<payload<N>>& tx, int id, mode how,
             bool shared_cpu, Stop&& stop) {
  const std::size_t k = batch_of(how);
  std::vector<payload<N>> batch(k);
  const u64 tag = id == 0 ? 0 : k_producer_bit;
  u64 seq = 0, misses = 0;
  // relaxed: a flag polled between batches; the ring's own ordering carries the messages
  while (!stop() && g.abort.load(std::memory_order_relaxed) == 0) {
    for (int rep = 0; rep < 64; ++rep) {
      for (std::size_t i = 0; i < k; ++i) {
        put_seq(batch[i].bytes, N, tag | (seq + i));
      }
      std::span<const payload<N>> rest(batch);
      while (!rest.empty()) {
        const std::size_t n = tx.try_push_some(rest);
        if (n == 0) {
          if (g.abort.load(std::memory_order_relaxed) != 0) return;
          idle(shared_cpu, misses);
        } else {
          misses = 0;
        }
        rest = rest.subspan(n);
      }
      seq += k;
    }
  }
  g.producers[static_cast<std::size_t>(id)].sent.store(seq, std::memory_order_relaxed);
  // release: the count above before the flag; pairs with the consumers' and P0's acquire
  g.producers[static_cast<std::size_t>(id)].done.store(1, std::memory_order_release);
}

inline bool all_received(const group_state& g) noexcept {
  for (const auto& p : g.producers) {
    if (p.done.load(std::memory_order_acquire) == 0) return false;  // pairs with produce()
  }
  const u64 sent = g.producers[0].sent.load(std::memory_order_relaxed) +
                   g.producers[1].sent.load(std::memory_order_relaxed);
  // relaxed: a consumer's count only grows and never passes what it really holds
  const u64 received = g.consumers[0].received.load(std::memory_order_relaxed) +
                       g.consumers[1].received.load(std::memory_order_relaxed);
  return received == sent;
}

/// Consumer `id`: takes messages until both producers are done and the two consumers hold
/// all they sent; checks each producer's order; publishes per-producer counts and sums.
/// Returns an empty string or what went wrong.
template <std::size_t N>
std::string consume(group_state& g, ipcring::mpmc_consumer<payload<N>>& rx, int id, mode how,
                    bool shared_cpu) {
  const std::size_t k = batch_of(how);
  std::vector<payload<N>> in(k);
  std::array<u64, 2> next{}, count{}, sum{};
  u64 total = 0, misses = 0;
  auto& me = g.consumers[static_cast<std::size_t>(id)];
  for (;;) {
    const std::size_t n = rx.try_pop_some(std::span(in));
    for (std::size_t i = 0; i < n; ++i) {
      const u64 stamp = get_seq(in[i].bytes, N);
      const std::size_t p = (stamp & k_producer_bit) != 0 ? 1 : 0;
      const u64 s = stamp & ~k_producer_bit;
      if (s < next[p]) {
        return "consumer " + std::to_string(id) + ": producer " + std::to_string(p) +
               "'s message " + std::to_string(s) + " after " + std::to_string(next[p] - 1);
      }
      next[p] = s + 1;
      ++count[p];
      sum[p] += s;
    }
    total += n;
    if (n != 0) {
      misses = 0;
      continue;
    }
    me.received.store(total, std::memory_order_relaxed);  // see all_received()
    if (all_received(g)) break;
    if (g.abort.load(std::memory_order_relaxed) != 0) return {};
    idle(shared_cpu, misses);
  }
  for (std::size_t p = 0; p < 2; ++p) {
    me.count[p].store(count[p], std::memory_order_relaxed);
    me.sum[p].store(sum[p], std::memory_order_relaxed);
  }
  me.done.store(1, std::memory_order_release);  // pairs with check_totals()' acquire
  return {};
}

/// After both consumers are done: every producer's messages arrived exactly once.
inline std::string check_totals(const group_state& g) {
  for (std::size_t p = 0; p < 2; ++p) {
    u64 count = 0, sum = 0;
    for (const auto& c : g.consumers) {
      if (c.done.load(std::memory_order_acquire) == 0) return "a consumer did not finish";
      count += c.count[p].load(std::memory_order_relaxed);
      sum += c.sum[p].load(std::memory_order_relaxed);
    }
    const u64 sent = g.producers[p].sent.load(std::memory_order_relaxed);
    // 0 + 1 + ... + (sent - 1), modulo 2^64 like the sums
    const u64 want = sent % 2 == 0 ? sent / 2 * (sent - 1) : (sent - 1) / 2 * sent;
    if (count != sent || sum != want) {
      return "producer " + std::to_string(p) + " sent " + std::to_string(sent) +
             " messages, the consumers received " + std::to_string(count) + " (sum of numbers " +
             std::to_string(sum) + ", expected " + std::to_string(want) + ")";
    }
  }
  return {};
}

inline constexpr std::chrono::seconds k_setup_limit{10};

/// Spins until cond() or an abort, at most `limit`; true if cond() held.
template <class Cond>
bool wait_for(const group_state& g, std::chrono::nanoseconds limit, Cond&& cond) {
  const auto end = clock_type::now() + limit;
  for (;;) {
    if (cond()) return true;
    if (g.abort.load(std::memory_order_relaxed) != 0 || clock_type::now() > end) return false;
    ipcring::cpu_relax();
  }
}

/// Forks a process that pins itself to `cpu` (-1: stays on the parent's) and exits with
/// body()'s status; returns its pid, or -1.
template <class Body>
pid_t spawn(int cpu, Body&& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    pin_to(cpu);
    int rc = 1;
    try {
      rc = body();
    } catch (...) {
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  return pid;
}

inline bool reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace detail_2p2c

template <std::size_t N>
void throughput_2p2c(benchmark::State& state, mode how) {
  using namespace detail_2p2c;
  using ring_t = ipcring::mpmc_ring<payload<N>>;
  for (auto _ : state) {
    const std::string name = unique_name("g");
    void* mem = ::mmap(nullptr, sizeof(group_state), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      state.SkipWithError("mmap of the group's shared state failed");
      return;
    }
    auto* g = new (mem) group_state{};
    struct remover {
      std::string n;
      ~remover() { ipcring::remove(n); }
    } remove_ring{name};
    (void)ring_t::create(name, slots_for(N));
    const int cpu_p1 = extra_cpu(0), cpu_c1 = extra_cpu(1);
    const bool shared = cpu_p1 < 0;
    double seconds = 0;
    u64 sent = 0;
    std::string error;
    const auto r = run_pair(
        [&](pair_control&) {
          const pid_t p1 = spawn(cpu_p1, [&] {
            try {
              auto tx = ring_t::open(name).producer();
              g->ready.fetch_add(1, std::memory_order_acq_rel);  // pairs with P0's acquire
              // acquire: pairs with P0's release of go
              spin_until([&] {
                return g->go.load(std::memory_order_acquire) != 0 ||
                       g->abort.load(std::memory_order_relaxed) != 0;
              });
              // relaxed: P0's flag that the time is up
              produce<N>(*g, tx, 1, how, shared,
                         [&] { return g->stop.load(std::memory_order_relaxed) != 0; });
            } catch (const std::exception& e) {
              fail(*g, std::string("producer 1: ") + e.what());
              return 1;
            }
            return 0;
          });
          if (p1 < 0) fail(*g, "fork of producer 1 failed");
          try {
            auto tx = ring_t::open(name).producer();
            // Not forever: a process that died before it attached never counts.
            if (!wait_for(*g, k_setup_limit, [&] {
                  // acquire: pairs with the others' fetch_add after they attached
                  return g->ready.load(std::memory_order_acquire) == 3;
                })) {
              fail(*g, "the other three processes did not attach within 10 s");
            }
            const auto t0 = clock_type::now();
            g->go.store(1, std::memory_order_release);  // pairs with P1's acquire
            const auto limit = run_time();
            produce<N>(*g, tx, 0, how, shared, [&] { return clock_type::now() - t0 >= limit; });
            g->stop.store(1, std::memory_order_relaxed);  // see P1's relaxed load
            if (!wait_for(*g, k_setup_limit, [&] { return all_received(*g); })) {
              fail(*g, "the consumers did not receive every message within 10 s");
            }
            seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
            sent = g->producers[0].sent.load(std::memory_order_relaxed) +
                   g->producers[1].sent.load(std::memory_order_relaxed);
          } catch (const std::exception& e) {
            fail(*g, std::string("producer 0: ") + e.what());
          }
          if (p1 >= 0 && !reap(p1)) fail(*g, "producer 1 failed");
        },
        [&](pair_control& c) {
          const pid_t c1 = spawn(cpu_c1, [&] {
            try {
              auto rx = ring_t::open(name).consumer();
              g->ready.fetch_add(1, std::memory_order_acq_rel);
              const std::string why = consume<N>(*g, rx, 1, how, shared);
              if (!why.empty()) fail(*g, why);
              return why.empty() ? 0 : 1;
            } catch (const std::exception& e) {
              fail(*g, std::string("consumer 1: ") + e.what());
              return 1;
            }
          });
          if (c1 < 0) fail(*g, "fork of consumer 1 failed");
          std::string why;
          try {
            auto rx = ring_t::open(name).consumer();
            g->ready.fetch_add(1, std::memory_order_acq_rel);
            why = consume<N>(*g, rx, 0, how, shared);
          } catch (const std::exception& e) {
            why = std::string("consumer 0: ") + e.what();
          }
          if (!why.empty()) fail(*g, why);
          if (c1 >= 0 && !reap(c1) && why.empty()) why = "consumer 1 failed";
          if (why.empty()) why = failure_text(*g);
          if (why.empty()) why = check_totals(*g);
          return why.empty() ? 0 : child_fail(c, why);
        });
    if (r.ok) error = failure_text(*g);
    state.SetIterationTime(seconds);
    const double msgs = static_cast<double>(sent);
    state.counters["msgs_per_s"] = seconds > 0 ? msgs / seconds : 0;
    state.counters["bytes_per_s"] = seconds > 0 ? msgs * static_cast<double>(N) / seconds : 0;
    state.counters["processes_per_cpu"] = shared ? 2 : 1;
    if (msgs > 0) {  // all endpoints' full / empty events (their records, folded at exit)
      const ipcring::ring_info info = ipcring::inspect(name);
      state.counters["producer_full_per_msg"] = static_cast<double>(info.producer.stalls) / msgs;
      state.counters["consumer_empty_per_msg"] = static_cast<double>(info.consumer.stalls) / msgs;
    }
    report_pair(state, r);
    if (!error.empty()) state.SkipWithError(error.c_str());
    g->~group_state();
    ::munmap(mem, sizeof(group_state));
  }
}

}  // namespace bench
