// pingpong: round-trip latency between two processes over two spsc_rings ("<name>.ping" and
// "<name>.pong"), 8-byte messages, both sides spinning. Prints percentiles next to the floor:
// a raw cache-line ping-pong (two atomics on separate 128-byte blocks of a shared segment)
// between the same two processes, timed the same way, measured before and after the rings.
//
//   ./build/release/examples/ipcring-pingpong --count 1000000
// The program creates both rings, forks, and the child attaches to them by name. With two or
// more CPUs the sides are pinned to cpus 0 and 1 (--cpus A,B to choose, --cpus none to skip).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "demo_message.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::uint64_t k_stop = ~std::uint64_t{0};

// The floor: two words on separate 128-byte blocks of one segment.
struct floor_words {
  std::atomic<std::uint64_t>* ping;
  std::atomic<std::uint64_t>* pong;
  explicit floor_words(const ipcring::map_view& v)
      : ping(reinterpret_cast<std::atomic<std::uint64_t>*>(v.data())),
        pong(reinterpret_cast<std::atomic<std::uint64_t>*>(v.data() + 128)) {}
};

void floor_echo(floor_words w, std::uint64_t rounds) {
  for (std::uint64_t i = 1; i <= rounds; ++i) {
    // acquire pairs with the pinger's release of `ping`
    while (w.ping->load(std::memory_order_acquire) != i)
      ipcring::cpu_relax();
    // release pairs with the pinger's acquire of `pong`
    w.pong->store(i, std::memory_order_release);
  }
}

std::vector<std::int64_t> floor_ping(floor_words w, std::uint64_t rounds, std::uint64_t warmup) {
  std::vector<std::int64_t> rtt;
  rtt.reserve(rounds);
  for (std::uint64_t i = 1; i <= rounds; ++i) {
    const auto t0 = clock_type::now();
    w.ping->store(i, std::memory_order_release);  // pairs with floor_echo's acquire
    while (w.pong->load(std::memory_order_acquire) != i)
      ipcring::cpu_relax();
    const auto t1 = clock_type::now();
    if (i > warmup)
      rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  }
  w.ping->store(0, std::memory_order_relaxed);  // next phase starts from 1 again
  w.pong->store(0, std::memory_order_relaxed);
  return rtt;
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size())))];
}

int echo(const std::string& ping, const std::string& pong, const std::string& floor_name,
         std::uint64_t floor_rounds, int cpu) {
  demo::pin("pong", cpu);
  auto fv = ipcring::map_view::open(floor_name);
  floor_echo(floor_words(fv), floor_rounds);
  auto rx = ipcring::spsc_ring<std::uint64_t>::open(ping).consumer();
  auto tx = ipcring::spsc_ring<std::uint64_t>::open(pong).producer();
  for (;;) {
    std::uint64_t v;
    while (!rx.try_pop(v))
      ipcring::cpu_relax();
    while (!tx.try_push(v))
      ipcring::cpu_relax();
    if (v == k_stop) break;
  }
  // the floor again (the pinger reset both words to 0 after the first floor phase)
  floor_echo(floor_words(fv), floor_rounds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts("usage: ipcring-pingpong [--name NAME] [--count N] [--cpus A,B|none]");
    return 0;
  }
  const std::string name =
      demo::arg(argc, argv, "--name", ("ipcring-pingpong-" + std::to_string(::getpid())).c_str());
  const auto count = std::strtoull(demo::arg(argc, argv, "--count", "1000000"), nullptr, 10);
  const std::string cpus = demo::arg(argc, argv, "--cpus", "0,1");
  int cpu_a = -1, cpu_b = -1;
  if (cpus != "none" && std::thread::hardware_concurrency() >= 2) {
    std::sscanf(cpus.c_str(), "%d,%d", &cpu_a, &cpu_b);
  }
  const std::string ping = name + ".ping", pong = name + ".pong", floor_name = name + ".floor";
  const std::uint64_t floor_rounds = std::max<std::uint64_t>(count / 4, 1000);
  const std::uint64_t floor_warmup = floor_rounds / 10;
  ipcring::remove(ping);
  ipcring::remove(pong);
  ipcring::remove(floor_name);
  auto fv = ipcring::map_view::create(floor_name, 4096);
  const floor_words fw(fv);
  auto ping_ring = ipcring::spsc_ring<std::uint64_t>::create(ping, 64);
  auto pong_ring = ipcring::spsc_ring<std::uint64_t>::create(pong, 64);

  const pid_t child = ::fork();
  if (child == 0) {
    int rc = 1;
    try {
      rc = echo(ping, pong, floor_name, floor_rounds, cpu_b);
    } catch (const ipcring::error& e) {
      std::fprintf(stderr, "pong: %s\n", e.what());
    }
    std::_Exit(rc);
  }
  demo::pin("ping", cpu_a);
  auto floor_before = floor_ping(fw, floor_rounds, floor_warmup);
  auto tx = ping_ring.producer();
  auto rx = pong_ring.consumer();

  const std::uint64_t warmup = std::min<std::uint64_t>(count / 10 + 1000, 100000);
  std::vector<std::int64_t> rtt;
  rtt.reserve(count);
  for (std::uint64_t i = 0; i < warmup + count; ++i) {
    const auto t0 = clock_type::now();
    while (!tx.try_push(i))
      ipcring::cpu_relax();
    std::uint64_t v;
    while (!rx.try_pop(v))
      ipcring::cpu_relax();
    const auto t1 = clock_type::now();
    if (v != i) {
      std::fprintf(stderr, "ping: sent %llu, got back %llu\n", static_cast<unsigned long long>(i),
                   static_cast<unsigned long long>(v));
      return 2;
    }
    if (i >= warmup)
      rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  }
  while (!tx.try_push(k_stop))
    ipcring::cpu_relax();
  {  // drain the echoed stop before the floor phase
    std::uint64_t v;
    while (!rx.try_pop(v))
      ipcring::cpu_relax();
  }
  auto floor_after = floor_ping(fw, floor_rounds, floor_warmup);
  int status = 0;
  ::waitpid(child, &status, 0);
  ipcring::remove(ping);
  ipcring::remove(pong);
  ipcring::remove(floor_name);

  std::sort(rtt.begin(), rtt.end());  // before front()/back() below
  auto pct = [&](double p) { return percentile(rtt, p); };
  std::printf("pingpong: %zu round trips of 8-byte messages between two processes (cpus %d,%d)\n",
              rtt.size(), cpu_a, cpu_b);
  std::printf("rtt_ns min %lld  p50 %lld  p99 %lld  p99.9 %lld  max %lld\n",
              static_cast<long long>(rtt.front()), static_cast<long long>(pct(50)),
              static_cast<long long>(pct(99)), static_cast<long long>(pct(99.9)),
              static_cast<long long>(rtt.back()));
  const auto fb = percentile(floor_before, 50), fa = percentile(floor_after, 50);
  std::printf("floor (raw cache-line ping-pong) p50: before %lld ns, after %lld ns%s\n",
              static_cast<long long>(fb), static_cast<long long>(fa),
              (fa > fb * 3 / 2 || fb > fa * 3 / 2) ? "  (moved: distrust this run)" : "");
  std::printf("ring p50 / floor p50 = %.2f\n",
              static_cast<double>(pct(50)) / (static_cast<double>(fb + fa) / 2.0));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "pingpong: %s\n", e.what());
  return 1;
}
