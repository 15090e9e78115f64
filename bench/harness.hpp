// bench/harness.hpp: what every cross-process benchmark of ipcring-bench shares.
//
//   * A pair: the benchmark's process (side A, pinned to one core) forks a child (side B,
//     pinned to another) that runs the other half of the scenario and exits. Transports are
//     created by name before the fork and attached after it, as real users do.
//   * The floor: a raw cache-line ping-pong (two atomics on separate 128-byte blocks, both
//     sides spinning with pause) between the same two cores, probed before and after every
//     pair's scenario, so a run whose vCPUs moved (the VM sometimes puts them on distant
//     cores) is visible in its own counters (floor_before_ns, floor_after_ns).
//   * Results from the child come back through the same shared control block.
// Timing uses the monotonic clock; benchmarks report with manual time, one iteration each
// (a repetition is one fresh pair), so the figures are per-scenario, not per-call.
#pragma once

#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "ipcring/wait.hpp"

namespace bench {

using u64 = std::uint64_t;
using clock_type = std::chrono::steady_clock;

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

/// Settings of this run (set by main from the command line).
struct run_settings {
  bool quick = false;
  bool prototypes = false;  ///< also run the prototypes (seq_proto.hpp)
  int cpu_a = -1;           ///< the benchmark process during a pair; -1: unpinned
  int cpu_b = -1;           ///< the forked peer
  /// Seconds a pair may run before the benchmark stops with exit status 3: both of its sides
  /// waiting for a message that never comes (a transport that lost one) would wait for ever.
  /// By default longer than any wait that ends on its own (k_failed_peer_wait_ns); a shorter
  /// --pair-limit may end a run first, with the peer's reason if it gave one.
  unsigned pair_limit_s = 180;
};
run_settings& settings();

/// Pins the calling thread to `cpu` (-1: leaves it). False if the kernel refused.
bool pin_to(int cpu) noexcept;
/// In a process just forked from `parent`: asks the kernel to kill it when its parent exits
/// (a side left spinning on a ring whose peer crashed would hold the run forever). False if
/// the parent already died.
bool die_with_parent(pid_t parent) noexcept;

/// Shared control block of a pair: the floor words, then results the child reports.
struct pair_control {
  alignas(128) std::atomic<u64> ping;
  alignas(128) std::atomic<u64> pong;
  alignas(128) std::atomic<u64> child_ready;  // 1: pinned, 2: its scenario is over (torn down)
  std::atomic<u64> child_failed;
  std::atomic<u64> unwatched;           // the benchmark side no longer watches for the child's end
  std::atomic<std::int64_t> child_cpu;  // the cpu the child pinned itself to, -1: none
  std::atomic<u64> sent;  // one-way scenarios: the benchmark side's count, before its stop
  char failure[256];
  alignas(128) std::atomic<u64> done;  // the child's count of messages handled
  double results[16];                  // scenario-specific figures from the child
};

/// One raw cache-line round trip, `rounds` times, from side A. Returns the mean in ns.
/// The peer runs floor_echo(rounds) at the same time.
double floor_ping(pair_control& c, u64 rounds) noexcept;
void floor_echo(pair_control& c, u64 rounds) noexcept;
/// floor_echo, giving up (false) once now_ns() passes `deadline_ns`: for a peer that failed,
/// whose benchmark side may never come to probe.
bool floor_echo_until(pair_control& c, u64 rounds, std::int64_t deadline_ns) noexcept;
/// Individually timed floor round trips (sorted), for percentiles.
std::vector<std::int64_t> floor_ping_timed(pair_control& c, u64 rounds);

/// Percentile `p` (0..1) of sorted samples.
inline double percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]);
}

/// Runs `child(control)` in a forked, pinned peer and `parent(control)` here (pinned), with a
/// floor probe around both. The child's return value is its exit status (0 = ok); a child may
/// also report a failure text in control.failure. Returns false (and fills `error`) if the
/// child failed. floor_before / floor_after: mean raw round trips in ns.
struct pair_result {
  bool ok = true;
  std::string error;
  double floor_before_ns = 0, floor_after_ns = 0;
  int cpu_a = -1, cpu_b = -1;  // the cpus each side is pinned to, -1: unpinned (or refused)
};
pair_result run_pair(const std::function<void(pair_control&)>& parent,
                     const std::function<int(pair_control&)>& child);
/// Notes a segment the benchmark side is about to create, so that a run stopped by its peer's
/// end (exit status 3) or by a signal removes it; the last 8 are kept. Call it outside run_pair.
void track_segment(const std::string& name) noexcept;
/// From now on SIGINT, SIGTERM and SIGHUP remove the tracked segments before they end the
/// process, so that a run stopped by hand leaves nothing in /dev/shm.
void remove_segments_on_stop_signals() noexcept;

/// Floor probe rounds (short: about 0.3 ms near, 1 ms far).
inline constexpr u64 k_probe_rounds = 2000;
/// How long a failed peer waits for the benchmark side's closing probe before it exits (and so
/// stops a benchmark side stuck on the ring): longer than any bounded wait of the benchmark side
/// (mpmc_2p2c's, the longest, checks it).
inline constexpr std::int64_t k_failed_peer_wait_ns = 120'000'000'000;
static_assert(run_settings{}.pair_limit_s * 1'000'000'000ll > k_failed_peer_wait_ns,
              "a pair's limit outwaits every wait that ends on its own");

/// Spin-waits with pause until `cond()`.
template <class Cond>
inline void spin_until(Cond&& cond) noexcept {
  while (!cond())
    ipcring::cpu_relax();
}

/// Times the kernel took this thread's cpu away for another task so far (involuntary context
/// switches): a count that moved during a timed loop says the scheduler, not the transport or
/// the host, held the thread up.
inline double involuntary_switches() noexcept {
  struct rusage u {};
  return ::getrusage(RUSAGE_THREAD, &u) == 0 ? static_cast<double>(u.ru_nivcsw) : 0;
}

/// A message of N bytes: a sequence number first (when it fits), then filler.
template <std::size_t N>
struct payload {
  std::byte bytes[N];
};

// The stamp costs one 8-byte move for every size the suite runs (8 B and up). Written as one
// copy of min(n, 8) bytes, it compiled to a byte-wise copy through the stack on both sides,
// about as many instructions as an 8 B push: docs/tuning.md, "The harness's own cost".
inline void put_seq(std::byte* m, std::size_t n, u64 seq) noexcept {
  if (n >= 8) [[likely]] {
    std::memcpy(m, &seq, 8);
    return;
  }
  std::memcpy(m, &seq, n);
}
inline u64 get_seq(const std::byte* m, std::size_t n) noexcept {
  u64 s = 0;
  if (n >= 8) [[likely]] {
    std::memcpy(&s, m, 8);
    return s;
  }
  std::memcpy(&s, m, n);
  return s;
}
/// What a consumer that uses a message in place reads of it: one 8-byte word per cache line, so
/// every line of the message crosses from the producer's core as a copy would move it. Folded
/// into a value the caller keeps, so the reads stay.
inline u64 read_in_place(const std::byte* m, std::size_t n) noexcept {
  u64 acc = 0;
  for (std::size_t off = 0; off + 8 <= n; off += 64) {
    u64 w;
    std::memcpy(&w, m + off, 8);
    acc ^= w;
  }
  return acc;
}
/// The sequence number as it survives an n-byte message (n < 8 truncates it).
inline u64 seq_mask(std::size_t n) noexcept {
  return n >= 8 ? ~u64{0} : (u64{1} << (8 * n)) - 1;
}

}  // namespace bench

namespace bench {
/// The floor now: the mean of a short raw ping-pong between cpu_a and cpu_b, in ns.
double probe_floor();
}  // namespace bench
