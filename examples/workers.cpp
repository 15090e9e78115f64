// workers: N producer processes and M consumer processes share one mpmc_ring by name. Each
// producer sends --count jobs; each consumer prints how many it took and a checksum; the
// parent checks that every job was taken exactly once.
//
//   ./build/release/examples/ipcring-workers --producers 2 --consumers 2 --count 5000000
//   wine build/windows/examples/ipcring-workers.exe --producers 2 --consumers 2   # on Windows
// Consumers sleep while the ring is empty (--spin to spin instead); the producers close the
// ring when all of them are done, which ends the consumers (and the parent closes it again once
// they have exited, in case one failed or was killed; a producer gives up if no consumer takes
// a job for 30 s, a consumer if no job comes for 30 s). Every worker is
// this program started again (--role producer|consumer --index I --name NAME: not for use by hand);
// consumers report (count, checksum) in the "<name>.done" segment, which the parent reads once they
// have exited.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "demo_message.hpp"
#include "demo_process.hpp"

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

namespace {

// The "<name>.done" segment, as 64-bit words: word 0 counts finished producers (the last one
// closes the ring); consumer c reports its count in word 8 + 2c and its checksum in 9 + 2c.
std::atomic<std::uint64_t>& done_word(const ipcring::map_view& v, std::size_t i) {
  return reinterpret_cast<std::atomic<std::uint64_t>*>(v.data())[i];
}
constexpr std::size_t k_first_report = 8;  // words 0..7: the producers' counter's cache line
std::size_t done_bytes(int consumers) {
  return std::max<std::size_t>(
      4096, (k_first_report + 2 * static_cast<std::size_t>(consumers)) * sizeof(std::uint64_t));
}

int run_consumer(const std::string& name, int c, const ipcring::wait_policy& policy) {
  auto rx = ipcring::mpmc_ring<job>::open(name).consumer(policy);
  auto view = ipcring::map_view::open(name + ".done");
  std::uint64_t taken = 0, sum = 0;
  job j{};
  // An mpmc consumer's wait never says peer_dead (its producers are many): with everyone else
  // killed, nobody would close the ring, so it gives up after 30 s without a job, as the
  // producers do without room.
  ipcring::wait_result r;
  while ((r = rx.pop(j, std::chrono::seconds(30))) == ipcring::wait_result::ok) {
    ++taken;
    sum += demo::mix(j.producer << 40 | j.seq);
  }
  if (r != ipcring::wait_result::closed) {
    std::fprintf(stderr, "consumer %d: stopped after %llu jobs: %s\n", c,
                 static_cast<unsigned long long>(taken), ipcring::to_string(r));
    return 3;
  }
  std::printf("consumer %d (pid %d): %llu jobs, checksum %016llx\n", c, demo::current_pid(),
              static_cast<unsigned long long>(taken), static_cast<unsigned long long>(sum));
  std::fflush(stdout);
  const auto slot = k_first_report + 2 * static_cast<std::size_t>(c);
  if ((slot + 2) * sizeof(std::uint64_t) > view.size()) return 2;
  // relaxed: the parent reads the report after this process has exited (waiting for the exit
  // orders it).
  done_word(view, slot).store(taken, std::memory_order_relaxed);
  done_word(view, slot + 1).store(sum, std::memory_order_relaxed);
  return 0;
}

int run_producer(const std::string& name, int p, int producers, std::uint64_t count,
                 const ipcring::wait_policy& policy) {
  auto tx = ipcring::mpmc_ring<job>::open(name).producer(policy);
  auto view = ipcring::map_view::open(name + ".done");
  std::uint64_t sent = 0;
  for (; sent < count; ++sent) {
    // Gives up if no consumer made room for 30 s (all of them gone) or the ring was closed.
    if (const auto r = tx.push(job{static_cast<std::uint64_t>(p), sent}, std::chrono::seconds(30));
        r != ipcring::wait_result::ok) {
      std::fprintf(stderr, "producer %d (pid %d): stopped after %llu jobs: %s\n", p,
                   demo::current_pid(), static_cast<unsigned long long>(sent),
                   ipcring::to_string(r));
      break;
    }
  }
  if (sent == count) {
    std::printf("producer %d (pid %d): %llu jobs sent\n", p, demo::current_pid(),
                static_cast<unsigned long long>(count));
    std::fflush(stdout);
  }
  // Counted done either way, so that the last one still closes the ring. acq_rel: every
  // producer's pushes happen before the last one's close.
  const auto finished = done_word(view, 0).fetch_add(1, std::memory_order_acq_rel) + 1;
  if (finished == static_cast<std::uint64_t>(producers)) tx.close();  // the last one closes
  return sent == count ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts("usage: ipcring-workers [--producers N] [--consumers M] [--count K] [--spin]");
    return 0;
  }
  // 64 endpoint records, one kept for the parent (it closes the ring if a producer fails).
  constexpr int k_max_workers = static_cast<int>(ipcring::k_max_endpoints) - 1;
  const auto producers =
      static_cast<int>(demo::number("workers", argc, argv, "--producers", 2, 1, k_max_workers - 1));
  const auto consumers =
      static_cast<int>(demo::number("workers", argc, argv, "--consumers", 2, 1, k_max_workers - 1));
  const auto count = static_cast<std::uint64_t>(
      demo::number("workers", argc, argv, "--count", 1000000, 1, 1LL << 40));
  if (producers + consumers > k_max_workers) {
    std::fprintf(stderr, "workers: at most %d producers and consumers together, not %d\n",
                 k_max_workers, producers + consumers);
    return 2;
  }
  const bool spin = demo::has_flag(argc, argv, "--spin");
  const auto policy = spin ? ipcring::wait_policy::spinning() : ipcring::wait_policy{};
  if (const std::string_view role = demo::arg(argc, argv, "--role", ""); !role.empty()) {
    const std::string worker = demo::arg(argc, argv, "--name", "");
    const auto index = static_cast<int>(demo::number("workers", argc, argv, "--index", 0, 0, 63));
    if (role == "consumer") return run_consumer(worker, index, policy);
    if (role == "producer") return run_producer(worker, index, producers, count, policy);
    return 1;
  }
  std::string name = "ipcring-workers-";
  name.append(std::to_string(demo::current_pid()));
  const std::string done_name = name + ".done";
  // Named by our pid, so ours to remove: on every way out, Ctrl-C included.
  const demo::remove_on_exit gone({name, done_name});
  // Both are held until the workers are done: on Windows a segment lives only while it is open.
  auto ring = ipcring::mpmc_ring<job>::create(name, 4096);
  // A counter of finished producers, so that the last one closes the ring; then the reports.
  auto done_view = ipcring::map_view::create(done_name, done_bytes(consumers));

  std::vector<demo::child_process> children;
  const auto start = [&](const char* role, int index) {
    std::vector<std::string> args{"--role",      role,
                                  "--index",     std::to_string(index),
                                  "--name",      name,
                                  "--producers", std::to_string(producers),
                                  "--count",     std::to_string(count)};
    if (spin) args.emplace_back("--spin");
    children.emplace_back(args);
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < consumers; ++c)
    start("consumer", c);
  for (int p = 0; p < producers; ++p)
    start("producer", p);
  // Producers first: one that failed (or was killed) before counting itself done leaves the
  // ring open, and the consumers would wait for ever; the parent closes it for them.
  int failed = 0;
  for (int p = 0; p < producers; ++p)
    failed += children[static_cast<std::size_t>(consumers + p)].wait() != 0;
  // relaxed: the producers have exited (waiting for them orders it)
  if (done_word(done_view, 0).load(std::memory_order_relaxed) !=
      static_cast<std::uint64_t>(producers)) {
    std::fprintf(stderr, "workers: a producer ended without finishing; closing the ring\n");
  }
  // Closed again whatever the count says (harmless if it is): the last producer may have been
  // killed between counting itself done and closing.
  ring.producer().close();  // closes the producer side for every endpoint
  for (int c = 0; c < consumers; ++c)
    failed += children[static_cast<std::size_t>(c)].wait() != 0;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t taken = 0, sum = 0;
  for (int c = 0; c < consumers; ++c) {
    const auto slot = k_first_report + 2 * static_cast<std::size_t>(c);
    taken += done_word(done_view, slot).load(std::memory_order_relaxed);  // the consumer exited
    sum += done_word(done_view, slot + 1).load(std::memory_order_relaxed);
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
  return failed == 0 && taken == total && sum == expect ? 0 : 1;
} catch (const std::exception& e) {  // ipcring::error, or a worker that could not start
  std::fprintf(stderr, "workers: %s\n", e.what());
  return 1;
}
