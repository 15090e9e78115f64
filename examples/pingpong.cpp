// pingpong: round-trip latency between two processes over two spsc_rings ("<name>.ping" and
// "<name>.pong"), 8-byte messages, both sides spinning. Prints percentiles.
//
//   ./build/release/examples/ipcring-pingpong --count 1000000
// The program creates both rings, forks, and the child attaches to them by name. With two or
// more CPUs the sides are pinned to cpus 0 and 1 (--cpus A,B to choose, --cpus none to skip).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "demo_message.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::uint64_t k_stop = ~std::uint64_t{0};

int echo(const std::string& ping, const std::string& pong, int cpu) {
  demo::pin("pong", cpu);
  auto rx = ipcring::spsc_ring<std::uint64_t>::open(ping).consumer();
  auto tx = ipcring::spsc_ring<std::uint64_t>::open(pong).producer();
  for (;;) {
    std::uint64_t v;
    while (!rx.try_pop(v)) ipcring::cpu_relax();
    while (!tx.try_push(v)) ipcring::cpu_relax();
    if (v == k_stop) return 0;
  }
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
  const std::string ping = name + ".ping", pong = name + ".pong";
  ipcring::remove(ping);
  ipcring::remove(pong);
  auto ping_ring = ipcring::spsc_ring<std::uint64_t>::create(ping, 64);
  auto pong_ring = ipcring::spsc_ring<std::uint64_t>::create(pong, 64);

  const pid_t child = ::fork();
  if (child == 0) {
    int rc = 1;
    try {
      rc = echo(ping, pong, cpu_b);
    } catch (const ipcring::error& e) {
      std::fprintf(stderr, "pong: %s\n", e.what());
    }
    std::_Exit(rc);
  }
  demo::pin("ping", cpu_a);
  auto tx = ping_ring.producer();
  auto rx = pong_ring.consumer();

  const std::uint64_t warmup = std::min<std::uint64_t>(count / 10 + 1000, 100000);
  std::vector<std::int64_t> rtt;
  rtt.reserve(count);
  for (std::uint64_t i = 0; i < warmup + count; ++i) {
    const auto t0 = clock_type::now();
    while (!tx.try_push(i)) ipcring::cpu_relax();
    std::uint64_t v;
    while (!rx.try_pop(v)) ipcring::cpu_relax();
    const auto t1 = clock_type::now();
    if (v != i) {
      std::fprintf(stderr, "ping: sent %llu, got back %llu\n", static_cast<unsigned long long>(i),
                   static_cast<unsigned long long>(v));
      return 2;
    }
    if (i >= warmup) rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  }
  while (!tx.try_push(k_stop)) ipcring::cpu_relax();
  int status = 0;
  ::waitpid(child, &status, 0);
  ipcring::remove(ping);
  ipcring::remove(pong);

  std::sort(rtt.begin(), rtt.end());
  auto pct = [&](double p) {
    return rtt[std::min(rtt.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(rtt.size())))];
  };
  std::printf("pingpong: %zu round trips of 8-byte messages between two processes (cpus %d,%d)\n",
              rtt.size(), cpu_a, cpu_b);
  std::printf("rtt_ns min %lld  p50 %lld  p99 %lld  p99.9 %lld  max %lld\n",
              static_cast<long long>(rtt.front()), static_cast<long long>(pct(50)),
              static_cast<long long>(pct(99)), static_cast<long long>(pct(99.9)),
              static_cast<long long>(rtt.back()));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "pingpong: %s\n", e.what());
  return 1;
}
