// bench/single.hpp: single-thread costs (after DPDK's ring_perf_autotest) and the memcpy
// floor. BM_single/<ring>/<scenario> with ns_per_op; BM_memcpy/<bytes> with bytes_per_s.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "ipcring/ipcring.hpp"

namespace bench {

/// Zeroed, 128-byte-aligned heap memory for a ring that lives in one process.
struct heap_bytes {
  explicit heap_bytes(std::size_t n)
      : size(n), mem(static_cast<std::byte*>(::operator new (n, std::align_val_t{128}))) {
    std::memset(mem, 0, n);
  }
  ~heap_bytes() { ::operator delete (mem, std::align_val_t{128}); }
  heap_bytes(const heap_bytes&) = delete;
  heap_bytes& operator=(const heap_bytes&) = delete;
  std::span<std::byte> span() const { return {mem, size}; }
  std::size_t size;
  std::byte* mem;
};

inline void per_op(benchmark::State& state, std::int64_t ops_per_iteration) {
  state.SetItemsProcessed(state.iterations() * ops_per_iteration);
  // An inverted rate is seconds per op; scaling the count by 1e-9 makes it nanoseconds.
  state.counters["ns_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations() * ops_per_iteration) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

inline void spsc_empty_pop(benchmark::State& state) {
  heap_bytes h(ipcring::spsc_ring<u64>::required_bytes(1024));
  auto ring = ipcring::spsc_ring<u64>::create_in(h.span(), 1024);
  auto rx = ring.consumer();
  u64 v = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(rx.try_pop(v));
  per_op(state, 1);
}

template <class Ring>
void push_pop(benchmark::State& state) {
  heap_bytes h(Ring::required_bytes(1024));
  auto ring = Ring::create_in(h.span(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  u64 v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tx.try_push(v));
    benchmark::DoNotOptimize(rx.try_pop(v));
  }
  per_op(state, 1);
}

template <std::size_t K>
void spsc_push_pop_batch(benchmark::State& state) {
  heap_bytes h(ipcring::spsc_ring<u64>::required_bytes(1024));
  auto ring = ipcring::spsc_ring<u64>::create_in(h.span(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  std::array<u64, K> buf{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(tx.try_push_some(buf));
    benchmark::DoNotOptimize(rx.try_pop_some(buf));
  }
  per_op(state, K);
}

/// Single-core copy bandwidth between two buffers that stay in cache (the floor for large
/// messages): the same bytes per call as one message.
template <std::size_t N>
void memcpy_floor(benchmark::State& state) {
  std::vector<std::byte> a(N, std::byte{1}), b(N);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), N);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["msgs_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["bytes_per_s"] =
      benchmark::Counter(n * static_cast<double>(N), benchmark::Counter::kIsRate);
}

/// How often this vCPU is taken away: spins on the clock for 0.2 s and counts gaps longer
/// than 5 us (counters gaps_per_s, gap_us_per_s, max_gap_ns). Explains tails no ring can
/// avoid: a peer paused for a millisecond delays every message queued behind it.
inline void vcpu_gaps(benchmark::State& state) {
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto last = t0;
    double gaps = 0, gap_ns = 0, max_gap = 0;
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      const double d = std::chrono::duration<double, std::nano>(now - last).count();
      if (d > 5000) {
        gaps += 1;
        gap_ns += d;
        max_gap = std::max(max_gap, d);
      }
      last = now;
      if (now - t0 > std::chrono::milliseconds(200)) break;
    }
    const double secs = std::chrono::duration<double>(last - t0).count();
    state.counters["gaps_per_s"] = gaps / secs;
    state.counters["gap_us_per_s"] = gap_ns / 1000 / secs;
    state.counters["max_gap_ns"] = max_gap;
  }
}

inline void register_single() {
  benchmark::RegisterBenchmark("BM_vcpu_gaps", vcpu_gaps)->Iterations(1);
  benchmark::RegisterBenchmark("BM_single/spsc/empty_pop", spsc_empty_pop);
  benchmark::RegisterBenchmark("BM_single/spsc/push_pop", push_pop<ipcring::spsc_ring<u64>>);
  benchmark::RegisterBenchmark("BM_single/spsc/push_pop_batch8", spsc_push_pop_batch<8>);
  benchmark::RegisterBenchmark("BM_single/spsc/push_pop_batch32", spsc_push_pop_batch<32>);
  benchmark::RegisterBenchmark("BM_single/mpmc/push_pop", push_pop<ipcring::mpmc_ring<u64>>);
}

}  // namespace bench
