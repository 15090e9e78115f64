// pingpong: round-trip latency between two processes over two spsc_rings ("<name>.ping" and
// "<name>.pong"), 8-byte messages. Prints percentiles next to the floor: a raw cache-line
// ping-pong (two atomics on separate 128-byte blocks of a shared segment) between the same two
// cores, timed the same way, measured before and after the rings.
//
//   ./build/release/examples/ipcring-pingpong --count 1000000             # both sides spin
//   ./build/release/examples/ipcring-pingpong --wait block --pipe         # both sides sleep
//       between messages (futex), next to a blocking pipe's round trip in the same run
// Each phase forks a child that attaches by name. With two or more CPUs the sides are pinned to
// cpus 0 and 1 (--cpus A,B to choose, --cpus none to skip). --spin-count N: spins before a
// blocking wait sleeps (default 0 with --wait block: every hop sleeps and is woken).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "demo_message.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using u64 = std::uint64_t;

struct setup {
  std::string name;
  u64 count = 0;
  u64 warmup = 0;
  int cpu_a = -1, cpu_b = -1;
  ipcring::wait_policy wait;
};

// Runs `echo` in a forked child pinned to cpu_b, and `ping(i)` for every round in this process;
// returns the timed round trips after the warm-up.
std::vector<std::int64_t> measure(const setup& s, const std::function<int()>& echo,
                                  const std::function<bool(u64)>& ping) {
  const pid_t child = ::fork();
  if (child == 0) {
    demo::pin("pong", s.cpu_b);
    int rc = 1;
    try {
      rc = echo();
    } catch (const ipcring::error& e) {
      std::fprintf(stderr, "pong: %s\n", e.what());
    }
    std::_Exit(rc);
  }
  std::vector<std::int64_t> rtt;
  rtt.reserve(s.count);
  for (u64 i = 1; i <= s.warmup + s.count; ++i) {
    const auto t0 = clock_type::now();
    if (!ping(i)) {
      rtt.clear();
      break;
    }
    const auto t1 = clock_type::now();
    if (i > s.warmup) {
      rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || rtt.empty()) {
    std::fprintf(stderr, "ping: the echo side failed\n");
    std::exit(2);
  }
  std::sort(rtt.begin(), rtt.end());
  return rtt;
}

// The floor: two words on separate 128-byte blocks of one segment, both sides spinning.
std::vector<std::int64_t> floor_rtt(const setup& s) {
  const std::string name = s.name + ".floor";
  ipcring::remove(name);
  auto v = ipcring::map_view::create(name, 4096);
  auto word = [](const ipcring::map_view& m, std::size_t off) {
    return reinterpret_cast<std::atomic<u64>*>(m.data() + off);
  };
  const u64 rounds = s.warmup + s.count;
  auto rtt = measure(
      s,
      [&] {
        auto m = ipcring::map_view::open(name);
        auto* ping = word(m, 0);
        auto* pong = word(m, 128);
        for (u64 i = 1; i <= rounds; ++i) {
          // acquire pairs with the pinger's release of `ping`
          while (ping->load(std::memory_order_acquire) != i)
            ipcring::cpu_relax();
          pong->store(i, std::memory_order_release);  // pairs with the pinger's acquire
        }
        return 0;
      },
      [&](u64 i) {
        word(v, 0)->store(i, std::memory_order_release);
        while (word(v, 128)->load(std::memory_order_acquire) != i)
          ipcring::cpu_relax();
        return true;
      });
  ipcring::remove(name);
  return rtt;
}

// spsc_ring round trips: ping ring one way, pong ring back, with the chosen wait policy.
std::vector<std::int64_t> ring_rtt(const setup& s) {
  const std::string ping = s.name + ".ping", pong = s.name + ".pong";
  ipcring::remove(ping);
  ipcring::remove(pong);
  auto ping_ring = ipcring::spsc_ring<u64>::create(ping, 64);
  auto pong_ring = ipcring::spsc_ring<u64>::create(pong, 64);
  const u64 rounds = s.warmup + s.count;
  std::vector<std::int64_t> rtt;
  {
    auto tx = ping_ring.producer(s.wait);
    auto rx = pong_ring.consumer(s.wait);
    rtt = measure(
        s,
        [&] {
          auto in = ipcring::spsc_ring<u64>::open(ping).consumer(s.wait);
          auto out = ipcring::spsc_ring<u64>::open(pong).producer(s.wait);
          for (u64 i = 1; i <= rounds; ++i) {
            u64 v = 0;
            if (in.pop(v, std::chrono::seconds(10)) != ipcring::wait_result::ok || v != i) return 3;
            if (out.push(v, std::chrono::seconds(10)) != ipcring::wait_result::ok) return 4;
          }
          return 0;
        },
        [&](u64 i) {
          u64 v = 0;
          return tx.push(i, std::chrono::seconds(10)) == ipcring::wait_result::ok &&
                 rx.pop(v, std::chrono::seconds(10)) == ipcring::wait_result::ok && v == i;
        });
  }
  ipcring::remove(ping);
  ipcring::remove(pong);
  return rtt;
}

// Blocking pipes, the classic alternative: write 8 bytes, block in read for the echo.
std::vector<std::int64_t> pipe_rtt(const setup& s) {
  int there[2], back[2];
  if (::pipe(there) != 0 || ::pipe(back) != 0) {
    std::perror("pipe");
    std::exit(2);
  }
  const u64 rounds = s.warmup + s.count;
  auto rtt = measure(
      s,
      [&] {
        for (u64 i = 1; i <= rounds; ++i) {
          u64 v = 0;
          if (::read(there[0], &v, sizeof v) != sizeof v) return 3;
          if (::write(back[1], &v, sizeof v) != sizeof v) return 4;
        }
        return 0;
      },
      [&](u64 i) {
        u64 v = 0;
        return ::write(there[1], &i, sizeof i) == sizeof i &&
               ::read(back[0], &v, sizeof v) == sizeof v && v == i;
      });
  for (int fd : {there[0], there[1], back[0], back[1]})
    ::close(fd);
  return rtt;
}

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
  s.name =
      demo::arg(argc, argv, "--name", ("ipcring-pingpong-" + std::to_string(::getpid())).c_str());
  s.count = std::strtoull(demo::arg(argc, argv, "--count", "1000000"), nullptr, 10);
  s.warmup = std::min<u64>(s.count / 10 + 1000, 100000);
  const std::string cpus = demo::arg(argc, argv, "--cpus", "0,1");
  if (cpus != "none" && std::thread::hardware_concurrency() >= 2) {
    std::sscanf(cpus.c_str(), "%d,%d", &s.cpu_a, &s.cpu_b);
  }
  const std::string wait = demo::arg(argc, argv, "--wait", "spin");
  if (wait == "block") {
    s.wait = ipcring::wait_policy::blocking();
    s.wait.spin_count = static_cast<std::uint32_t>(
        std::strtoul(demo::arg(argc, argv, "--spin-count", "0"), nullptr, 10));
  } else if (wait == "spin") {
    s.wait = ipcring::wait_policy::spinning();
  } else {
    std::fprintf(stderr, "pingpong: --wait must be spin or block\n");
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
  report(wait == "block" ? "spsc_ring, blocking (futex)" : "spsc_ring, spinning", ring);
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
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "pingpong: %s\n", e.what());
  return 1;
}
