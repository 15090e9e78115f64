// bench/scenarios.hpp: the cross-process scenarios, as templates over a transport.
//
// A transport carries messages of a fixed size `bytes` from one process to another:
//   T t(name, bytes);              in the benchmark process, before the fork: creates the state
//   auto tx = t.sender();          in the sending process, after the fork (attaches by name)
//   auto rx = t.receiver();        in the receiving process
//   tx.send(msg);                  waits until sent (spinning, or blocking for transports that
//                                  block by nature: pipes, sockets, message_queue)
//   rx.recv(out);                  waits until a message arrives
//   T::has_batch: tx.send_batch(msgs, k) sends k contiguous messages; rx.recv_some(out, k)
//                 returns how many (>= 1) it received
//   T::has_claim: tx.send_claim(k, fill) writes k messages in place through fill(ptr, i);
//                 rx.recv_claim(k, check) reads up to k in place, calling check(ptr) on each,
//                 returns how many
//   (a blocking transport's batch and claim calls give up when its wait does not end ok: the
//   peer closed or died; the sender then stops short and the receiver gets 0 and fails)
// Every scenario puts a sequence number in each message and the receiver checks the order, so
// a transport that loses or reorders messages fails the benchmark instead of looking fast.
// The last message of a run carries k_stop: a time-bounded sender tells the receiver it is done.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "harness.hpp"

namespace bench {

inline constexpr u64 k_stop = ~u64{0};

/// How long a scenario runs (per repetition).
inline std::chrono::nanoseconds run_time() {
  return std::chrono::milliseconds(settings().quick ? 40 : 150);
}
inline std::size_t max_timed_samples() {
  return settings().quick ? 5000 : 30000;
}

inline std::string unique_name(const char* what) {
  static int n = 0;
  std::string name =
      "ipcring-bench-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(++n);
  track_segment(name);
  return name;
}

inline void report_pair(benchmark::State& state, const pair_result& r) {
  state.counters["floor_before_ns"] = r.floor_before_ns;
  state.counters["floor_after_ns"] = r.floor_after_ns;
  state.counters["cpu_a"] = r.cpu_a;  // the cores pinned (-1: unpinned, or the kernel refused)
  state.counters["cpu_b"] = r.cpu_b;
  if (!r.ok) state.SkipWithError(r.error.c_str());
}

/// Round-trip counters: the untimed mean and percentiles of the sorted timed samples.
inline void report_rtt(benchmark::State& state, double mean, const std::vector<std::int64_t>& rtt,
                       const pair_result& r) {
  state.SetIterationTime(mean * 1e-9);
  state.counters["rtt_mean_ns"] = mean;
  state.counters["rtt_p50_ns"] = percentile(rtt, 0.50);
  state.counters["rtt_p99_ns"] = percentile(rtt, 0.99);
  state.counters["rtt_p999_ns"] = percentile(rtt, 0.999);
  state.counters["rtt_max_ns"] = rtt.empty() ? 0 : static_cast<double>(rtt.back());
  report_pair(state, r);
}

/// For ipcring's rings: how often a side found the ring full (producer) or empty (consumer),
/// per message. They tell which side waited on the other, and whether the two ran in lockstep
/// (about one empty event per message) or in batches.
template <class T>
void report_stalls(benchmark::State& state, const T& chan, double msgs) {
  if constexpr (requires { chan.info(); }) {
    if (msgs <= 0) return;
    const ipcring::ring_info i = chan.info();
    state.counters["producer_full_per_msg"] = static_cast<double>(i.producer.stalls) / msgs;
    state.counters["consumer_empty_per_msg"] = static_cast<double>(i.consumer.stalls) / msgs;
  }
}

/// For rings mapped with huge pages asked for: how much of them got huge pages (KiB; 0 where the
/// system offers none, see the huge_pages context key).
template <class... T>
void report_huge_pages(benchmark::State& state, const T&... chans) {
  if constexpr ((requires { chans.huge_page_kib(); } && ...)) {
    state.counters["huge_page_kib"] = (chans.huge_page_kib() + ...);
  }
}

inline int child_fail(pair_control& c, const std::string& why) {
  std::snprintf(c.failure, sizeof c.failure, "%s", why.c_str());
  return 1;
}

/// One-way scenarios, the benchmark side: its count, stored before the stop message that tells
/// the receiver to compare its own (release: pairs with the acquire in count_at_stop()).
inline void count_before_stop(pair_control& c, u64 sent) noexcept {
  c.sent.store(sent, std::memory_order_release);
}
/// The receiver, at the stop: 0 if it got every message sent, else child_fail naming both
/// counts. Messages lost just before the stop (or overtaken by it) break no order: only the
/// count shows them.
inline int count_at_stop(pair_control& c, const char* who, u64 received) {
  const u64 sent = c.sent.load(std::memory_order_acquire);  // see count_before_stop()
  if (received == sent) return 0;
  return child_fail(c, std::string(who) + ": " + std::to_string(received) +
                           " messages before the stop, " + std::to_string(sent) + " sent");
}

/// Round trips of `bytes`-byte messages: A sends, B echoes. rtt_mean_ns from an untimed loop
/// (clock read every 256 round trips), percentiles from individually timed round trips.
template <class T>
void pingpong(benchmark::State& state, std::size_t bytes) {
  for (auto _ : state) {
    T fwd(unique_name("f"), bytes), back(unique_name("b"), bytes);
    double mean = 0;
    std::vector<std::int64_t> rtt;
    const auto r = run_pair(
        [&](pair_control&) {
          auto tx = fwd.sender();
          auto rx = back.receiver();
          std::vector<std::byte> m(bytes), in(bytes);
          u64 seq = 0;
          auto round = [&] {
            put_seq(m.data(), bytes, seq);
            tx.send(m.data());
            rx.recv(in.data());
            ++seq;
          };
          for (int i = 0; i < 1000; ++i)
            round();  // warm up
          const auto limit = run_time();
          const auto t0 = clock_type::now();
          u64 n = 0;
          auto t = t0;
          do {
            for (int i = 0; i < 256; ++i)
              round();
            n += 256;
            t = clock_type::now();
          } while (t - t0 < limit);
          mean = static_cast<double>((t - t0).count()) / static_cast<double>(n);
          // Written before timing: a first touch of a page in the timed loop would be a
          // page fault (and in a VM, maybe the host zeroing a huge page: ~100 us).
          rtt.assign(max_timed_samples(), 0);
          std::size_t got = 0;
          const auto t1 = clock_type::now();
          while (got < rtt.size() && clock_type::now() - t1 < limit) {
            const std::int64_t a = now_ns();
            round();
            rtt[got++] = now_ns() - a;
          }
          rtt.resize(got);
          put_seq(m.data(), bytes, k_stop);
          tx.send(m.data());
        },
        [&](pair_control& c) {
          auto rx = fwd.receiver();
          auto tx = back.sender();
          std::vector<std::byte> in(bytes);
          for (u64 expect = 0;; ++expect) {
            rx.recv(in.data());
            const u64 s = get_seq(in.data(), bytes);
            if (s == (k_stop & seq_mask(bytes))) return 0;
            if (s != (expect & seq_mask(bytes))) {
              return child_fail(
                  c, "echo: message " + std::to_string(expect) + " carries " + std::to_string(s));
            }
            tx.send(in.data());
          }
        });
    std::sort(rtt.begin(), rtt.end());
    report_huge_pages(state, fwd, back);
    report_rtt(state, mean, rtt, r);
  }
}

/// The floor itself under the same scheme: BM_pingpong/floor/8.
inline void floor_pingpong(benchmark::State& state) {
  for (auto _ : state) {
    double mean = 0;
    std::vector<std::int64_t> rtt;
    u64 rounds = 0;
    const auto r = run_pair(
        [&](pair_control& c) {
          // Calibrate a round count for run_time(), then tell the peer how many to echo.
          const double probe = floor_ping(c, 1000);
          rounds = static_cast<u64>(static_cast<double>(run_time().count()) / probe) + 1;
          c.results[0] = static_cast<double>(rounds);
          c.done.store(1, std::memory_order_release);  // pairs with the peer's acquire
          spin_until([&] { return c.done.load(std::memory_order_acquire) == 2; });
          mean = floor_ping(c, rounds);
          rtt = floor_ping_timed(c, max_timed_samples());
        },
        [&](pair_control& c) {
          floor_echo(c, 1000);
          spin_until([&] { return c.done.load(std::memory_order_acquire) == 1; });
          const auto n = static_cast<u64>(c.results[0]);
          c.done.store(2, std::memory_order_release);
          floor_echo(c, n);
          floor_echo(c, max_timed_samples());
          return 0;
        });
    report_rtt(state, mean, rtt, r);
  }
}

enum class mode { single, batch8, batch32, claim };
inline const char* to_string(mode m) {
  switch (m) {
    case mode::single:
      return "single";
    case mode::batch8:
      return "batch8";
    case mode::batch32:
      return "batch32";
    case mode::claim:
      return "claim";
  }
  return "?";
}
inline std::size_t batch_of(mode m) {
  return m == mode::batch8 ? 8 : m == mode::single ? 1 : 32;
}

/// One-way throughput: A sends for run_time(), B receives and checks the order; the time runs
/// until B has the last message.
template <class T>
void throughput(benchmark::State& state, std::size_t bytes, mode how) {
  for (auto _ : state) {
    T chan(unique_name("t"), bytes);
    double seconds = 0;
    u64 sent = 0;
    const std::size_t k = batch_of(how);
    const auto r = run_pair(
        [&](pair_control& c) {
          auto tx = chan.sender();
          std::vector<std::byte> m(bytes * 32);
          spin_until([&] { return c.done.load(std::memory_order_acquire) == 1; });  // B attached
          const auto limit = run_time();
          const auto t0 = clock_type::now();
          u64 seq = 0;
          do {
            for (int rep = 0; rep < 64; ++rep) {
              if (how == mode::single) {
                put_seq(m.data(), bytes, seq++);
                tx.send(m.data());
              } else if constexpr (T::has_batch) {
                if (how != mode::claim) {
                  for (std::size_t i = 0; i < k; ++i)
                    put_seq(m.data() + i * bytes, bytes, seq++);
                  tx.send_batch(m.data(), k);
                }
              }
              if constexpr (T::has_claim) {
                if (how == mode::claim) {
                  // Built in place: the sequence number, then the same filler the other
                  // modes copy from their source buffer.
                  tx.send_claim(k, [&](std::byte* p, std::size_t) {
                    put_seq(p, bytes, seq++);
                    if (bytes > 8) std::memcpy(p + 8, m.data() + 8, bytes - 8);
                  });
                }
              }
            }
          } while (clock_type::now() - t0 < limit);
          count_before_stop(c, seq);
          put_seq(m.data(), bytes, k_stop);
          tx.send(m.data());
          sent = seq;
          // acquire: pairs with B's release of its final count
          spin_until([&] {
            return c.done.load(std::memory_order_acquire) == seq + 2 ||
                   c.child_failed.load(std::memory_order_acquire) != 0;
          });
          seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
        },
        [&](pair_control& c) {
          auto rx = chan.receiver();
          std::vector<std::byte> in(bytes * 32);
          c.done.store(1, std::memory_order_release);
          u64 expect = 0;
          u64 in_place = 0;  // what claims read in place (kept: see read_in_place)
          const u64 mask = seq_mask(bytes);
          bool stop = false;
          auto check = [&](const std::byte* p) {
            const u64 s = get_seq(p, bytes);
            if (s == (k_stop & mask)) {
              stop = true;
              return true;
            }
            if (s != (expect & mask)) return false;
            ++expect;
            return true;
          };
          while (!stop) {
            std::size_t n = 1;
            if (how == mode::single) {
              rx.recv(in.data());
            } else if constexpr (T::has_claim) {
              if (how == mode::claim) {
                bool ok = true;
                // Read in place, every line of it: a zero-copy consumer saves the copy, not
                // the transfer (checking the sequence number alone left 64 KiB claims at
                // memcpy speed, as nothing but the first line crossed).
                const std::size_t got = rx.recv_claim(k, [&](const std::byte* p) {
                  in_place ^= read_in_place(p, bytes);
                  ok = check(p) && ok;
                });
                if (got == 0) return child_fail(c, "receiver: the wait ended (sender gone)");
                if (!ok)
                  return child_fail(c, "receiver: order broken near " + std::to_string(expect));
                continue;
              }
            }
            if constexpr (T::has_batch) {
              if (how != mode::single) n = rx.recv_some(in.data(), k);
              if (n == 0) return child_fail(c, "receiver: the wait ended (sender gone)");
            }
            for (std::size_t i = 0; i < n; ++i) {
              if (!check(in.data() + i * bytes)) {
                return child_fail(c,
                                  "receiver: message " + std::to_string(expect) + " out of order");
              }
            }
          }
          benchmark::DoNotOptimize(in_place);
          if (const int rc = count_at_stop(c, "receiver", expect); rc != 0) return rc;
          c.done.store(expect + 2, std::memory_order_release);  // pairs with A's acquire
          return 0;
        });
    state.SetIterationTime(seconds);
    const double msgs = static_cast<double>(sent);
    state.counters["msgs_per_s"] = seconds > 0 ? msgs / seconds : 0;
    state.counters["bytes_per_s"] = seconds > 0 ? msgs * static_cast<double>(bytes) / seconds : 0;
    report_stalls(state, chan, msgs);
    report_huge_pages(state, chan);
    report_pair(state, r);
  }
}

/// One-way latency under load: A sends 16-byte messages {seq, due time} at `rate` msgs/s
/// (paced by the clock), B records receive time - due time (one system-wide monotonic clock).
/// The due time, not the moment the message left: a sender held up (by a transport that cannot
/// take the message yet, or by its own core pausing) must not hide that wait from the figures,
/// or a transport that makes the sender wait would look better than one that queues.
template <class T>
void latency_under_load(benchmark::State& state, double rate) {
  constexpr std::size_t bytes = 16;
  for (auto _ : state) {
    T chan(unique_name("l"), bytes);
    u64 sent = 0;
    double achieved = 0;
    double preempted_a = 0;
    double figures[5] = {};
    const auto r = run_pair(
        [&](pair_control& c) {
          auto tx = chan.sender();
          spin_until([&] { return c.done.load(std::memory_order_acquire) == 1; });
          const auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(run_time() * 2);
          const auto n = static_cast<u64>(rate * std::chrono::duration<double>(limit).count());
          const double gap = 1e9 / rate;
          std::byte m[bytes];
          const double switches = involuntary_switches();
          const std::int64_t t0 = now_ns();
          std::int64_t t = t0;
          for (u64 i = 0; i < n; ++i) {
            const auto due = t0 + static_cast<std::int64_t>(static_cast<double>(i) * gap);
            while ((t = now_ns()) < due) {
            }
            put_seq(m, bytes, i);
            std::memcpy(m + 8, &due, 8);
            tx.send(m);
          }
          achieved = static_cast<double>(n) / (static_cast<double>(now_ns() - t0) * 1e-9);
          preempted_a = involuntary_switches() - switches;
          count_before_stop(c, n);
          put_seq(m, bytes, k_stop);
          tx.send(m);
          sent = n;
          // acquire: pairs with B's release after it wrote its results
          spin_until([&] {
            return c.done.load(std::memory_order_acquire) == 2 ||
                   c.child_failed.load(std::memory_order_acquire) != 0;
          });
          std::copy_n(c.results, 5, figures);
        },
        [&](pair_control& c) {
          auto rx = chan.receiver();
          // Written before the run: no page is touched for the first time while timing.
          std::vector<std::int64_t> lat(static_cast<std::size_t>(rate) + 16, 0);
          std::size_t got = 0;
          const double switches = involuntary_switches();
          c.done.store(1, std::memory_order_release);
          std::byte in[bytes];
          for (u64 expect = 0;; ++expect) {
            rx.recv(in);
            const std::int64_t now = now_ns();
            const u64 s = get_seq(in, bytes);
            if (s == k_stop) {
              if (const int rc = count_at_stop(c, "latency", expect); rc != 0) return rc;
              break;
            }
            if (s != expect)
              return child_fail(c, "latency: order broken at " + std::to_string(expect));
            std::int64_t ts = 0;
            std::memcpy(&ts, in + 8, 8);
            if (got < lat.size()) lat[got++] = now - ts;
          }
          c.results[4] = involuntary_switches() - switches;
          lat.resize(got);
          std::sort(lat.begin(), lat.end());
          c.results[0] = percentile(lat, 0.50);
          c.results[1] = percentile(lat, 0.99);
          c.results[2] = percentile(lat, 0.999);
          c.results[3] = lat.empty() ? 0 : static_cast<double>(lat.back());
          c.done.store(2, std::memory_order_release);
          return 0;
        });
    state.SetIterationTime(static_cast<double>(sent) / rate);
    state.counters["rate_msgs_per_s"] = achieved;
    state.counters["lat_p50_ns"] = figures[0];
    state.counters["lat_p99_ns"] = figures[1];
    state.counters["lat_p999_ns"] = figures[2];
    state.counters["lat_max_ns"] = figures[3];
    state.counters["preempted_a"] = preempted_a;
    state.counters["preempted_b"] = figures[4];
    report_pair(state, r);
  }
}

}  // namespace bench
