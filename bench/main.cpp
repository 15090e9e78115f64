// ipcring-bench: the benchmark suite. Every figure beside the floor (a raw cache-line
// ping-pong between the same two cores, and memcpy for bandwidth) and beside the alternatives
// (Boost.Interprocess message_queue, boost::lockfree::spsc_queue in shared memory, a pipe, a
// socketpair), measured in the same run. Names and counters: bench/README.md.
//
//   ./build/release/bench/ipcring-bench [--quick] [--prototypes] [--cpus A,B]
//                                       [--pair-limit SECONDS] [GB flags]
//   bash bench/run.sh [--quick]        (runs it, writes JSON, a Markdown table and plots)
//
// --prototypes adds bench-only prototypes of a layout (seq_proto.hpp), outside the goals.
//
// Cross-process benchmarks pin this process to cpu A and a forked peer to cpu B (default 0,1
// when the machine has two or more cpus; --cpus none leaves both unpinned). A pair that runs
// past --pair-limit (180 s) stops the run with exit status 3: its sides wait for each other.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "alternatives.hpp"
#include "harness.hpp"
#include "mpmc_2p2c.hpp"
#include "scenarios.hpp"
#include "seq_proto.hpp"
#include "single.hpp"
#include "transports.hpp"

namespace bench {
namespace {

// A setup that throws (a ring refused, say a memory lock over `ulimit -l`) ends that benchmark
// with its reason, not the whole run (Google Benchmark does not catch).
template <class F>
void add(const std::string& name, F&& f) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [f = std::forward<F>(f)](benchmark::State& s) {
                                 try {
                                   f(s);
                                 } catch (const std::exception& e) {
                                   s.SkipWithError(e.what());
                                 }
                               })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMicrosecond);
}

// Calls f.template operator()<N>() for every message size N (quick: 8, 1 KiB, 64 KiB).
template <class F>
void for_sizes(F&& f) {
  f.template operator()<8>();
  if (!settings().quick) f.template operator()<64>();
  f.template operator()<1024>();
  if (!settings().quick) f.template operator()<4096>();
  f.template operator()<65536>();
}

std::vector<mode> modes() {
  if (settings().quick) return {mode::single, mode::batch32, mode::claim};
  return {mode::single, mode::batch8, mode::batch32, mode::claim};
}

template <class T>
void add_throughput(const std::string& ring, std::size_t bytes, bool single_only = false) {
  for (mode m : modes()) {
    if (single_only && m != mode::single) continue;
    if (m == mode::claim && !T::has_claim) continue;
    if ((m == mode::batch8 || m == mode::batch32) && !T::has_batch) continue;
    add("BM_throughput/" + ring + "/" + std::to_string(bytes) + "/" + to_string(m),
        [bytes, m](benchmark::State& s) { throughput<T>(s, bytes, m); });
  }
}

void register_all() {
  add("BM_floor_probe/start", floor_pingpong);

  // Round trips, 8-byte messages.
  add("BM_pingpong/floor/8", floor_pingpong);
  add("BM_pingpong/spsc/8", [](benchmark::State& s) { pingpong<spsc_transport<8>>(s, 8); });
  add("BM_pingpong/mpmc/8", [](benchmark::State& s) { pingpong<mpmc_transport<8>>(s, 8); });
  if (settings().prototypes) {
    add("BM_pingpong/seq_proto/8",
        [](benchmark::State& s) { pingpong<seq_proto_transport<8>>(s, 8); });
    add("BM_pingpong/seq_proto_remap/8",
        [](benchmark::State& s) { pingpong<seq_proto_transport<8, true>>(s, 8); });
  }
  add("BM_pingpong/mpmc_block/8",
      [](benchmark::State& s) { pingpong<mpmc_transport<8, true>>(s, 8); });
  add("BM_pingpong/spsc_msg/8",
      [](benchmark::State& s) { pingpong<msg_transport<ipcring::spsc_msg_ring>>(s, 8); });
  add("BM_pingpong/mpsc_msg/8",
      [](benchmark::State& s) { pingpong<msg_transport<ipcring::mpsc_msg_ring>>(s, 8); });
  add("BM_pingpong/spsc_msg_block/8",
      [](benchmark::State& s) { pingpong<msg_transport<ipcring::spsc_msg_ring, true>>(s, 8); });
  add("BM_pingpong/spsc_block/8",
      [](benchmark::State& s) { pingpong<spsc_block_transport<8>>(s, 8); });
  add("BM_pingpong/spsc_tput/8",
      [](benchmark::State& s) { pingpong<spsc_tput_transport<8>>(s, 8); });
  add("BM_pingpong/spsc_sleep/8",
      [](benchmark::State& s) { pingpong<spsc_sleep_transport<8>>(s, 8); });
  add("BM_pingpong/spsc_hugepages/8",
      [](benchmark::State& s) { pingpong<spsc_transport<8, false, mapping::huge_pages>>(s, 8); });
  add("BM_pingpong/spsc_mlock/8",
      [](benchmark::State& s) { pingpong<spsc_transport<8, false, mapping::locked>>(s, 8); });
  add("BM_pingpong/boost_lockfree/8",
      [](benchmark::State& s) { pingpong<boost_lockfree_transport<8>>(s, 8); });
  add("BM_pingpong/boost_lockfree_patient/8",
      [](benchmark::State& s) { pingpong<boost_lockfree_transport<8, true>>(s, 8); });
  add("BM_pingpong/boost_mq/8", [](benchmark::State& s) { pingpong<boost_mq_transport>(s, 8); });
  add("BM_pingpong/pipe/8", [](benchmark::State& s) { pingpong<pipe_transport>(s, 8); });
  add("BM_pingpong/socketpair/8",
      [](benchmark::State& s) { pingpong<socketpair_transport>(s, 8); });

  // One-way throughput for each size and mode, and the memcpy floor.
  for_sizes([]<std::size_t N>() {
    add_throughput<spsc_transport<N>>("spsc", N);
    if (N >= 4096) {  // large rings: where pages matter
      add_throughput<spsc_transport<N, false, mapping::huge_pages>>("spsc_hugepages", N, true);
      add_throughput<spsc_transport<N, false, mapping::locked>>("spsc_mlock", N, true);
      add_throughput<spsc_transport<N, false, mapping::no_prefault>>("spsc_noprefault", N, true);
    }
    add_throughput<spsc_tput_transport<N>>("spsc_tput", N);
    if constexpr (N >= 4096) {  // pushes that stream (spsc_producer::stream_copies)
      add_throughput<spsc_transport<N, false, mapping::plain, true>>("spsc_stream", N);
    }
    if (settings().prototypes) {
      add_throughput<seq_proto_transport<N>>("seq_proto", N);
      if (N == 8) add_throughput<seq_proto_transport<N, true>>("seq_proto_remap", N);
    }
    add_throughput<mpmc_transport<N>>("mpmc", N);
    add_throughput<mpmc_transport<N, true>>("mpmc_block", N, true);
    for (mode m : modes()) {  // two producer and two consumer processes (mpmc_2p2c.hpp)
      if (m == mode::claim) continue;
      add("BM_throughput/mpmc_2p2c/" + std::to_string(N) + "/" + to_string(m),
          [m](benchmark::State& s) { throughput_2p2c<N>(s, m); });
    }
    add_throughput<msg_transport<ipcring::spsc_msg_ring>>("spsc_msg", N);
    add_throughput<msg_transport<ipcring::mpsc_msg_ring>>("mpsc_msg", N);
    add_throughput<msg_transport<ipcring::spsc_msg_ring, true>>("spsc_msg_block", N, true);
    add_throughput<boost_lockfree_transport<N>>("boost_lockfree", N);
    add_throughput<boost_lockfree_transport<N, true>>("boost_lockfree_patient", N);
    add_throughput<boost_mq_transport>("boost_mq", N);
    add_throughput<pipe_transport>("pipe", N);
    add_throughput<socketpair_transport>("socketpair", N);
    // Wall time, as the rings' figures: a rate counter is divided by CPU time otherwise, which
    // leaves out what the VM's pauses take.
    benchmark::RegisterBenchmark(("BM_memcpy/" + std::to_string(N)).c_str(), memcpy_floor<N>)
        ->UseRealTime();
  });

  // One-way latency at 1 M msgs/s (16-byte messages carrying the time they were due).
  constexpr double rate = 1e6;
  const std::string r = "/1000000";
  add("BM_latency_under_load/floor" + r,
      [](benchmark::State& s) { latency_under_load<floor_mailbox_transport>(s, rate); });
  add("BM_latency_under_load/spsc" + r,
      [](benchmark::State& s) { latency_under_load<spsc_transport<16>>(s, rate); });
  add("BM_latency_under_load/mpmc" + r,
      [](benchmark::State& s) { latency_under_load<mpmc_transport<16>>(s, rate); });
  add("BM_latency_under_load/spsc_msg" + r, [](benchmark::State& s) {
    latency_under_load<msg_transport<ipcring::spsc_msg_ring>>(s, rate);
  });
  add("BM_latency_under_load/boost_lockfree" + r,
      [](benchmark::State& s) { latency_under_load<boost_lockfree_transport<16>>(s, rate); });

  register_single();
  add("BM_floor_probe/end", floor_pingpong);
}

// Where the two vCPUs sit, from the floor's p50: near cores ~93-150 ns, distant ones several
// hundred. Below 80 ns the two are closer than near cores ever measured here (SMT siblings of
// one core, likely): figures of such a run compare with neither.
const char* placement_of(double floor_ns) {
  if (!(floor_ns > 0)) return "unknown";  // the probe failed
  if (floor_ns < 80) return "close";
  return floor_ns < 300 ? "near" : "far";
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  std::vector<char*> args;
  int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  bench::settings().cpu_a = ncpu >= 2 ? 0 : -1;
  bench::settings().cpu_b = ncpu >= 2 ? 1 : -1;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      bench::settings().quick = true;
    } else if (std::strcmp(argv[i], "--prototypes") == 0) {
      bench::settings().prototypes = true;
    } else if (std::strcmp(argv[i], "--pair-limit") == 0 && i + 1 < argc) {
      const std::string v = argv[++i];
      char* end = nullptr;
      const unsigned long s = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || v[0] < '0' || v[0] > '9' || *end != '\0' || s == 0 || s > 86400) {
        std::fprintf(stderr,
                     "ipcring-bench: --pair-limit wants whole seconds (1 to 86400), not '%s'\n",
                     v.c_str());
        return 2;
      }
      bench::settings().pair_limit_s = static_cast<unsigned>(s);
    } else if (std::strcmp(argv[i], "--cpus") == 0 && i + 1 < argc) {
      const std::string v = argv[++i];
      if (v == "none") {
        bench::settings().cpu_a = bench::settings().cpu_b = -1;
      } else if (std::sscanf(v.c_str(), "%d,%d", &bench::settings().cpu_a,
                             &bench::settings().cpu_b) != 2) {
        std::fprintf(stderr, "ipcring-bench: --cpus wants A,B or none, not '%s'\n", v.c_str());
        return 2;
      }
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;

  bench::remove_segments_on_stop_signals();
  const double floor = bench::probe_floor();
  benchmark::AddCustomContext("cpus", std::to_string(bench::settings().cpu_a) + "," +
                                          std::to_string(bench::settings().cpu_b));
  benchmark::AddCustomContext("floor_ns_start", std::to_string(floor));
  benchmark::AddCustomContext("placement", bench::placement_of(floor));
  benchmark::AddCustomContext("mode", bench::settings().quick ? "quick" : "full");
  const std::string huge = ipcring::huge_page_support();
  benchmark::AddCustomContext("huge_pages", huge.empty() ? "available" : huge);
  if (!huge.empty()) {
    std::fprintf(stderr,
                 "ipcring-bench: huge pages unavailable, spsc_hugepages uses normal pages: %s\n",
                 huge.c_str());
  }
  std::fprintf(stderr, "ipcring-bench: cpus %d,%d; floor %.0f ns (%s cores)\n",
               bench::settings().cpu_a, bench::settings().cpu_b, floor, bench::placement_of(floor));
  bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  const double floor_end = bench::probe_floor();
  std::fprintf(stderr, "ipcring-bench: floor at the end %.0f ns (%.2fx the start)\n", floor_end,
               floor_end / floor);
  benchmark::Shutdown();
  return 0;
}
