// bench/mpmc_2p2c.hpp: mpmc_ring between two producer and two consumer processes (2P2C).
//
// BM_throughput/mpmc_2p2c/<bytes>/<mode>: producers P0 (the benchmark process) and P1,
// consumers C0 (run_pair's peer) and C1. P0 forks P1 and C0 forks C1 after run_pair has
// pinned them, so P1 shares P0's cpu and C1 shares C0's, unless this process may run on two
// more cpus: then P1 and C1 get those (processes_per_cpu: 1, 2, or 0 when nothing is
// pinned). A process that shares its cpu gives it up (sched_yield) at every 64th attempt
// that found the ring full or empty, and while it waits for the others; else its neighbour,
// which may hold a claimed ticket, would wait for the scheduler's time slice.
//
// Every wait ends: a process that fails makes all the others leave their loops, and all of
// them give up (failing the benchmark) at a deadline well past the run's time, in case one
// died holding a claimed ticket; the forked two die with their parents (PR_SET_PDEATHSIG).
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
  std::atomic<u64> pin_failed;          // P1 or C1 could not pin itself to its own cpu
  std::int64_t deadline_ns = 0;         // now_ns() past which everyone gives up (set before fork)
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

/// The cpu for P1 (which = 0) or C1 (1): one this process may run on besides cpu_a and cpu_b,
/// if there are two such, else -1 (stay on the parent's).
inline int extra_cpu(int which) {
  const int a = settings().cpu_a, b = settings().cpu_b;
  cpu_set_t allowed;
  if (a < 0 || b < 0 || ::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
  std::vector<int> free;
  for (int c = 0; c < CPU_SETSIZE && free.size() < 2; ++c) {
    if (c != a && c != b && CPU_ISSET(c, &allowed)) free.push_back(c);
  }
  return free.size() == 2 ? free[static_cast<std::size_t>(which)] : -1;
}

/// Fails the run: the first caller's text is kept, and everyone leaves its loop.
inline void fail(group_state& g, const std::string& why) {
  if (g.failing.exchange(1, std::memory_order_relaxed) != 0) return;  // someone was first
  std::snprintf(g.failure, sizeof g.failure, "%s", why.c_str());
  // release: the text before the flag; pairs with failure_text()'s acquire
  g.abort.store(1, std::memory_order_release);
}

/// The first failure's text, or empty if nobody failed.
inline std::string failure_text(const group_state& g) {
  return g.abort.load(std::memory_order_acquire) != 0 ? std::string(g.failure) : std::string();
}

/// Between attempts that found the ring full or empty, and while waiting for the others: a
/// pause, or now and then the cpu given up to a neighbour. False once the run failed (here
/// too, when the deadline has passed).
inline bool idle(group_state& g, bool shared_cpu, u64& misses) {
  ++misses;
  if (shared_cpu && misses % 64 == 0) {
    ::sched_yield();
  } else {
    ipcring::cpu_relax();
  }
  if (misses % 1024 == 0 && now_ns() > g.deadline_ns) {
    fail(g, "the run did not end in time (a process died or stalled?)");
  }
  // relaxed: a flag; the failure text is read with acquire (failure_text)
  return g.abort.load(std::memory_order_relaxed) == 0;
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
        // single ops as the other rings' `single`: one try_push a message
        const std::size_t n = k == 1 ? (tx.try_push(rest[0]) ? 1 : 0) : tx.try_push_some(rest);
        if (n == 0 && !idle(g, shared_cpu, misses)) return;
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
    const std::size_t n = k == 1 ? (rx.try_pop(in[0]) ? 1 : 0) : rx.try_pop_some(std::span(in));
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
    if (n != 0) continue;
    me.received.store(total, std::memory_order_relaxed);  // see all_received()
    if (all_received(g)) break;
    if (!idle(g, shared_cpu, misses)) return {};
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
static_assert(std::chrono::nanoseconds(3 * k_setup_limit + std::chrono::seconds(60)).count() <
                  k_failed_peer_wait_ns,
              "a failed peer of run_pair outwaits the group's deadline (run_time() + 3 limits)");

/// Waits (idle()) until cond(); false if the run failed or `limit` passed first.
template <class Cond>
bool wait_for(group_state& g, bool shared_cpu, std::chrono::nanoseconds limit, Cond&& cond) {
  const auto end = clock_type::now() + limit;
  u64 misses = 0;
  while (!cond()) {
    if (!idle(g, shared_cpu, misses) || clock_type::now() > end) return false;
  }
  return true;
}

/// Forks a process that dies with its parent, pins itself to `cpu` (-1: stays on the
/// parent's; g.pin_failed if the kernel refuses) and exits with body()'s status; returns its
/// pid, or -1.
template <class Body>
pid_t spawn(group_state& g, int cpu, Body&& body) {
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!die_with_parent(parent)) ::_exit(1);
    if (!pin_to(cpu)) g.pin_failed.store(1, std::memory_order_relaxed);  // read after reap
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

/// Waits for a forked process to exit; true if it exited with 0. One still there at the
/// deadline (stopped, or stuck outside the loops) is killed: false.
inline bool reap(const group_state& g, pid_t pid) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (r < 0 && errno != EINTR) return false;
    if (r == 0 && now_ns() > g.deadline_ns) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return false;
    }
    ::usleep(100);
  }
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
    const bool pinned = settings().cpu_a >= 0 && settings().cpu_b >= 0;
    const bool shared = cpu_p1 < 0;  // P1 on P0's cpu, C1 on C0's (or nobody pinned)
    // Well past the run's time and its two setup limits: the end of a run that hangs.
    g->deadline_ns = now_ns() + std::chrono::nanoseconds(run_time() + 3 * k_setup_limit).count();
    double seconds = 0;
    u64 sent = 0;
    std::string error;
    const auto r = run_pair(
        [&](pair_control&) {
          const pid_t p1 = spawn(*g, cpu_p1, [&] {
            try {
              auto tx = ring_t::open(name).producer();
              g->ready.fetch_add(1, std::memory_order_acq_rel);  // pairs with P0's acquire
              // acquire: pairs with P0's release of go
              if (!wait_for(*g, shared, 2 * k_setup_limit,
                            [&] { return g->go.load(std::memory_order_acquire) != 0; })) {
                return 1;
              }
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
            if (!wait_for(*g, shared, k_setup_limit, [&] {
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
            if (!wait_for(*g, shared, k_setup_limit, [&] { return all_received(*g); })) {
              fail(*g, "the consumers did not receive every message within 10 s");
            }
            seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
            sent = g->producers[0].sent.load(std::memory_order_relaxed) +
                   g->producers[1].sent.load(std::memory_order_relaxed);
          } catch (const std::exception& e) {
            fail(*g, std::string("producer 0: ") + e.what());
          }
          if (p1 >= 0 && !reap(*g, p1)) fail(*g, "producer 1 failed");
        },
        [&](pair_control& c) {
          const pid_t c1 = spawn(*g, cpu_c1, [&] {
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
          const bool c1_ok = c1 < 0 || reap(*g, c1);
          if (why.empty()) why = failure_text(*g);  // C1's own text, if it wrote one
          if (why.empty() && !c1_ok) why = "consumer 1 failed";
          if (why.empty()) why = check_totals(*g);
          return why.empty() ? 0 : child_fail(c, why);
        });
    if (r.ok) error = failure_text(*g);
    state.SetIterationTime(seconds);
    const double msgs = static_cast<double>(sent);
    state.counters["msgs_per_s"] = seconds > 0 ? msgs / seconds : 0;
    state.counters["bytes_per_s"] = seconds > 0 ? msgs * static_cast<double>(N) / seconds : 0;
    // 0: unpinned; 2: P1 and C1 share P0's and C0's cpus (too few cpus, or pinning refused)
    state.counters["processes_per_cpu"] =
        !pinned                                                        ? 0
        : shared || g->pin_failed.load(std::memory_order_relaxed) != 0 ? 2
                                                                       : 1;
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
