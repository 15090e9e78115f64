// pingpong: round-trip latency between two processes over two spsc_rings ("<name>.ping" and
// "<name>.pong"), 8-byte messages. Prints percentiles next to the floor: a raw cache-line
// ping-pong (two atomics on separate 128-byte blocks of a shared segment) between the same two
// cores, timed the same way, measured before and after the rings.
//
//   ./build/release/examples/ipcring-pingpong --count 1000000             # both sides spin
//   ./build/release/examples/ipcring-pingpong --wait block --pipe         # both sides sleep
//       between messages (futex; semaphores on Windows), next to a blocking pipe's round trip
//   wine build/windows/examples/ipcring-pingpong.exe --count 100000       # the same, on Windows
// Each phase starts this program again as its echo side (--role floor|ring|pipe, which attaches
// by name; not for use by hand) and waits for it. With two or more CPUs the sides are pinned to
// cpus 0 and 1 (--cpus A,B to choose, --cpus none to skip). --spin-count N: spins before a
// blocking wait sleeps (default 0 with --wait block: every hop sleeps and is woken).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "demo_message.hpp"
#include "demo_process.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using u64 = std::uint64_t;

struct setup {
  std::string name;
  u64 count = 0;
  u64 warmup = 0;
  int cpu_a = -1, cpu_b = -1;
  std::string wait_name;  // "spin" or "block"
  ipcring::wait_policy wait;
};

std::string floor_name(const setup& s) {
  return s.name + ".floor";
}
std::string ping_name(const setup& s) {
  return s.name + ".ping";
}
std::string pong_name(const setup& s) {
  return s.name + ".pong";
}

// Starts this program again as the echo side of phase `role`, with the same settings.
demo::child_process start_echo(const setup& s, const char* role,
                               std::vector<std::string> extra = {}) {
  std::string cpus = std::to_string(s.cpu_a);
  cpus.append(",").append(std::to_string(s.cpu_b));
  std::vector<std::string> args{"--role",       role,
                                "--name",       s.name,
                                "--count",      std::to_string(s.count),
                                "--cpus",       s.cpu_a < 0 && s.cpu_b < 0 ? "none" : cpus,
                                "--wait",       s.wait_name,
                                "--spin-count", std::to_string(s.wait.spin_count)};
  args.insert(args.end(), extra.begin(), extra.end());
  return demo::child_process(args);
}

// Runs `ping(i)` for every round in this process while `echo` (started by the caller) answers,
// then waits for it to exit; returns the timed round trips after the warm-up. A ping that fails
// must leave the echo able to end (its waits time out, or its input is closed).
std::vector<std::int64_t> measure(const setup& s, demo::child_process echo,
                                  const std::function<bool(u64)>& ping) {
  std::vector<std::int64_t> rtt;
  rtt.reserve(s.count);
  u64 failed_at = 0;
  for (u64 i = 1; i <= s.warmup + s.count; ++i) {
    const auto t0 = clock_type::now();
    if (!ping(i)) {
      failed_at = i;
      break;
    }
    const auto t1 = clock_type::now();
    if (i > s.warmup) {
      rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
  }
  const int echo_status = echo.wait();
  if (failed_at != 0 || echo_status != 0) {
    // The echo's status: 3 its input failed or held the wrong number, 4 its answer failed.
    const std::string ours = failed_at != 0 ? "round trip " + std::to_string(failed_at) +
                                                  " failed (no answer in time, or a wrong one)"
                                            : "every round trip answered";
    // Thrown, not exit(): the callers' segments are removed on the way out (remove_on_exit).
    throw std::runtime_error(ours + "; the echo side exited with status " +
                             std::to_string(echo_status));
  }
  std::sort(rtt.begin(), rtt.end());
  return rtt;
}

std::atomic<u64>* word(const ipcring::map_view& m, std::size_t off) {
  return reinterpret_cast<std::atomic<u64>*>(m.data() + off);
}

// Spins until `w` holds `value` (acquire: pairs with the other side's release store of it).
// False after 10 s, when the other side is surely gone; the clock is read only every 64 Ki
// spins, so a prompt answer costs no clock read.
bool spin_until(const std::atomic<u64>& w, u64 value) {
  clock_type::time_point give_up{};
  for (std::uint32_t n = 1; w.load(std::memory_order_acquire) != value; ++n) {
    ipcring::cpu_relax();
    if (n % 65536 == 0) {
      const auto now = clock_type::now();
      if (give_up == clock_type::time_point{}) {
        give_up = now + std::chrono::seconds(10);
      } else if (now > give_up) {
        return false;
      }
    }
  }
  return true;
}

// The floor: two words on separate 128-byte blocks of one segment, both sides spinning.
int echo_floor(const setup& s) {
  auto m = ipcring::map_view::open(floor_name(s));
  for (u64 i = 1; i <= s.warmup + s.count; ++i) {
    if (!spin_until(*word(m, 0), i)) return 3;          // the pinger's release of `ping`
    word(m, 128)->store(i, std::memory_order_release);  // pairs with the pinger's acquire
  }
  return 0;
}

std::vector<std::int64_t> floor_rtt(const setup& s) {
  ipcring::remove(floor_name(s));
  const demo::remove_on_exit gone({floor_name(s)});  // and on Ctrl-C, or a failure
  // Held until the echo side is done: on Windows the segment lives only while it is open.
  auto v = ipcring::map_view::create(floor_name(s), 4096);
  auto rtt = measure(s, start_echo(s, "floor"), [&](u64 i) {
    word(v, 0)->store(i, std::memory_order_release);  // pairs with the echo's acquire
    return spin_until(*word(v, 128), i);              // the echo's release of `pong`
  });
  return rtt;  // the segment goes with `gone`
}

// spsc_ring round trips: ping ring one way, pong ring back, with the chosen wait policy.
int echo_ring(const setup& s) {
  auto in = ipcring::spsc_ring<u64>::open(ping_name(s)).consumer(s.wait);
  auto out = ipcring::spsc_ring<u64>::open(pong_name(s)).producer(s.wait);
  for (u64 i = 1; i <= s.warmup + s.count; ++i) {
    u64 v = 0;
    if (in.pop(v, std::chrono::seconds(10)) != ipcring::wait_result::ok || v != i) return 3;
    if (out.push(v, std::chrono::seconds(10)) != ipcring::wait_result::ok) return 4;
  }
  return 0;
}

std::vector<std::int64_t> ring_rtt(const setup& s) {
  ipcring::remove(ping_name(s));
  ipcring::remove(pong_name(s));
  const demo::remove_on_exit gone({ping_name(s), pong_name(s)});  // and on Ctrl-C, or a failure
  auto ping_ring = ipcring::spsc_ring<u64>::create(ping_name(s), 64);
  auto pong_ring = ipcring::spsc_ring<u64>::create(pong_name(s), 64);
  std::vector<std::int64_t> rtt;
  {
    auto tx = ping_ring.producer(s.wait);
    auto rx = pong_ring.consumer(s.wait);
    rtt = measure(s, start_echo(s, "ring"), [&](u64 i) {
      u64 v = 0;
      return tx.push(i, std::chrono::seconds(10)) == ipcring::wait_result::ok &&
             rx.pop(v, std::chrono::seconds(10)) == ipcring::wait_result::ok && v == i;
    });
  }
  return rtt;  // the rings go with `gone`
}

// Blocking pipes, the classic alternative: write 8 bytes, block in read for the echo. The echo
// side inherits one end of each pipe and is told their numbers (--pipe-in, --pipe-out).
int echo_pipe(const setup& s, int argc, char** argv) {
  auto in = demo::pipe_end::from_arg(demo::arg(argc, argv, "--pipe-in", "-1"));
  auto out = demo::pipe_end::from_arg(demo::arg(argc, argv, "--pipe-out", "-1"));
  for (u64 i = 1; i <= s.warmup + s.count; ++i) {
    u64 v = 0;
    if (in.read_some(&v, sizeof v) != sizeof v) return 3;
    if (out.write_some(&v, sizeof v) != sizeof v) return 4;
  }
  return 0;
}

std::vector<std::int64_t> pipe_rtt(const setup& s) {
  auto [there_in, there_out] = demo::pipe_end::create();
  auto [back_in, back_out] = demo::pipe_end::create();
  there_out.keep_here();  // ours: with the echo holding none of them, our end ends its read
  back_in.keep_here();
  auto echo = start_echo(s, "pipe", {"--pipe-in", there_in.arg(), "--pipe-out", back_out.arg()});
  there_in.close();  // the echo's ends: with them closed here, its exit ends our read
  back_out.close();
  return measure(s, std::move(echo), [&](u64 i) {
    u64 v = 0;
    const bool ok = there_out.write_some(&i, sizeof i) == sizeof i &&
                    back_in.read_some(&v, sizeof v) == sizeof v && v == i;
    if (!ok) there_out.close();  // the echo then reads end of file and exits
    return ok;
  });
}

#ifdef _WIN32
constexpr const char* k_blocking = "spsc_ring, blocking (semaphore)";
#else
constexpr const char* k_blocking = "spsc_ring, blocking (futex)";
#endif

std::int64_t pct(const std::vector<std::int64_t>& sorted, double p) {
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()));
  return sorted[std::min(sorted.size() - 1, i)];
}

void report(const char* what, const std::vector<std::int64_t>& r) {
  std::printf("%-34s p50 %7lld  p99 %7lld  p99.9 %7lld  max %8lld ns\n", what,
              static_cast<long long>(pct(r, 50)), static_cast<long long>(pct(r, 99)),
              static_cast<long long>(pct(r, 99.9)), static_cast<long long>(r.back()));
}

}  // namespace

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts(
        "usage: ipcring-pingpong [--name NAME] [--count N] [--cpus A,B|none] "
        "[--wait spin|block] [--spin-count N] [--pipe]");
    return 0;
  }
  setup s;
  std::string default_name = "ipcring-pingpong-";
  default_name.append(std::to_string(demo::current_pid()));
  s.name = demo::arg(argc, argv, "--name", default_name.c_str());
  s.count =
      static_cast<u64>(demo::number("ping", argc, argv, "--count", 1000000, 1, 1'000'000'000'000));
  s.warmup = std::min<u64>(s.count / 10 + 1000, 100000);
  const std::string_view role = demo::arg(argc, argv, "--role", "");
  const std::string cpus = demo::arg(argc, argv, "--cpus", "0,1");
  // An echo side takes the cpus it is given: it starts pinned to cpu_a (inherited), where it
  // may see only one CPU (Wine counts the CPUs of the affinity mask).
  if (cpus != "none" && (!role.empty() || std::thread::hardware_concurrency() >= 2)) {
    std::sscanf(cpus.c_str(), "%d,%d", &s.cpu_a, &s.cpu_b);
  }
  s.wait_name = demo::arg(argc, argv, "--wait", "spin");
  const std::string& wait = s.wait_name;
  if (wait == "block") {
    s.wait = ipcring::wait_policy::blocking();
    s.wait.spin_count = static_cast<std::uint32_t>(
        demo::number("pingpong", argc, argv, "--spin-count", 0, 0, UINT32_MAX));
  } else if (wait == "spin") {
    s.wait = ipcring::wait_policy::spinning();
  } else {
    std::fprintf(stderr, "pingpong: --wait must be spin or block\n");
    return 1;
  }
  if (!role.empty()) {
    demo::pin("pong", s.cpu_b);  // the echo side of one phase, started by measure()
    try {
      if (role == "floor") return echo_floor(s);
      if (role == "ring") return echo_ring(s);
      if (role == "pipe") return echo_pipe(s, argc, argv);
    } catch (const ipcring::error& e) {
      std::fprintf(stderr, "pong: %s\n", e.what());
    }
    return 1;
  }
  demo::pin("ping", s.cpu_a);

  const auto floor_before = floor_rtt(s);
  const auto ring = ring_rtt(s);
  std::vector<std::int64_t> pipe;
  if (demo::has_flag(argc, argv, "--pipe")) pipe = pipe_rtt(s);
  const auto floor_after = floor_rtt(s);

  std::printf("pingpong: %llu round trips of 8-byte messages between two processes (cpus %d,%d)\n",
              static_cast<unsigned long long>(s.count), s.cpu_a, s.cpu_b);
  report("floor (cache-line ping-pong) before", floor_before);
  report(wait == "block" ? k_blocking : "spsc_ring, spinning", ring);
  if (!pipe.empty()) report("pipe, blocking", pipe);
  report("floor (cache-line ping-pong) after", floor_after);
  const auto fb = pct(floor_before, 50), fa = pct(floor_after, 50);
  const double floor = static_cast<double>(fb + fa) / 2.0;
  std::printf("ring p50 / floor p50 = %.2f%s\n", static_cast<double>(pct(ring, 50)) / floor,
              (fa > fb * 3 / 2 || fb > fa * 3 / 2) ? "  (the floor moved: distrust this run)" : "");
  if (!pipe.empty()) {
    std::printf("ring p50 / pipe p50 = %.3f\n",
                static_cast<double>(pct(ring, 50)) / static_cast<double>(pct(pipe, 50)));
  }
  return 0;
} catch (const std::exception& e) {  // ipcring::error, or a child that could not start
  std::fprintf(stderr, "pingpong: %s\n", e.what());
  return 1;
}
