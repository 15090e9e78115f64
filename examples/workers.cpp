// workers: N producer processes and M consumer processes share one mpmc_ring by name. Each
// producer sends --count jobs; each consumer prints how many it took and a checksum; the
// parent checks that every job was taken exactly once.
//
//   ./build/release/examples/ipcring-workers --producers 2 --consumers 2 --count 5000000
// Consumers sleep while the ring is empty (--spin to spin instead); the producers close the
// ring when all of them are done, which ends the consumers.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "demo_message.hpp"

namespace {

struct job {
  std::uint64_t producer;
  std::uint64_t seq;
};

}  // namespace

template <>
struct ipcring::type_tag<job> {
  static constexpr std::string_view name = "ipcring.demo.job/v1";
};

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts("usage: ipcring-workers [--producers N] [--consumers M] [--count K] [--spin]");
    return 0;
  }
  const int producers = std::atoi(demo::arg(argc, argv, "--producers", "2"));
  const int consumers = std::atoi(demo::arg(argc, argv, "--consumers", "2"));
  const auto count = std::strtoull(demo::arg(argc, argv, "--count", "1000000"), nullptr, 10);
  const auto policy = demo::has_flag(argc, argv, "--spin") ? ipcring::wait_policy::spinning()
                                                           : ipcring::wait_policy{};
  const std::string name = "ipcring-workers-" + std::to_string(::getpid());
  const std::string done_name = name + ".done";
  auto ring = ipcring::mpmc_ring<job>::create(name, 4096);
  // A counter of finished producers, so that the last one closes the ring.
  auto done_view = ipcring::map_view::create(done_name, 4096);

  // Consumers report (count, checksum) through a pipe.
  int report[2];
  if (::pipe(report) != 0) return 1;
  std::vector<pid_t> children;
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < consumers; ++c) {
    if (pid_t pid = ::fork(); pid == 0) {
      auto rx = ipcring::mpmc_ring<job>::open(name).consumer(policy);
      std::uint64_t taken = 0, sum = 0;
      job j{};
      while (rx.pop(j) == ipcring::wait_result::ok) {
        ++taken;
        sum += demo::mix(j.producer << 40 | j.seq);
      }
      std::printf("consumer %d (pid %d): %llu jobs, checksum %016llx\n", c, ::getpid(),
                  static_cast<unsigned long long>(taken), static_cast<unsigned long long>(sum));
      std::fflush(stdout);
      const std::uint64_t msg[2] = {taken, sum};
      (void)!::write(report[1], msg, sizeof msg);
      std::_Exit(0);
    } else {
      children.push_back(pid);
    }
  }
  for (int p = 0; p < producers; ++p) {
    if (pid_t pid = ::fork(); pid == 0) {
      auto tx = ipcring::mpmc_ring<job>::open(name).producer(policy);
      auto view = ipcring::map_view::open(done_name);
      for (std::uint64_t s = 0; s < count; ++s) {
        if (tx.push(job{static_cast<std::uint64_t>(p), s}) != ipcring::wait_result::ok) {
          std::_Exit(2);
        }
      }
      std::printf("producer %d (pid %d): %llu jobs sent\n", p, ::getpid(),
                  static_cast<unsigned long long>(count));
      std::fflush(stdout);
      auto* finished = reinterpret_cast<std::atomic<int>*>(view.data());
      if (finished->fetch_add(1) + 1 == producers) tx.close();  // the last one closes
      std::_Exit(0);
    } else {
      children.push_back(pid);
    }
  }
  int failed = 0;
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t taken = 0, sum = 0;
  for (int c = 0; c < consumers; ++c) {
    std::uint64_t msg[2];
    if (::read(report[0], msg, sizeof msg) == sizeof msg) {
      taken += msg[0];
      sum += msg[1];
    }
  }
  std::uint64_t expect = 0;
  for (int p = 0; p < producers; ++p) {
    for (std::uint64_t s = 0; s < count; ++s) {
      expect += demo::mix(static_cast<std::uint64_t>(p) << 40 | s);
    }
  }
  const std::uint64_t total = count * static_cast<std::uint64_t>(producers);
  std::printf(
      "workers: %d producers, %d consumers: %llu of %llu jobs taken in %.3f s "
      "(%.1f M jobs/s), checksum %s\n",
      producers, consumers, static_cast<unsigned long long>(taken),
      static_cast<unsigned long long>(total), secs, static_cast<double>(taken) / secs / 1e6,
      sum == expect ? "ok" : "WRONG");
  ipcring::remove(name);
  ipcring::remove(done_name);
  return failed == 0 && taken == total && sum == expect ? 0 : 1;
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "workers: %s\n", e.what());
  return 1;
}
