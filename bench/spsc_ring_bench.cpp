// Single-thread costs of spsc_ring (after DPDK's ring_perf_autotest): pop from an empty ring,
// push+pop on one core, and batches of 8 and 32. Cross-process figures: examples/pingpong and
// the benchmark suite. Run: ./build/release/bench/ipcring-bench-spsc
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <new>

#include "ipcring/spsc_ring.hpp"

namespace {

using u64 = std::uint64_t;

struct heap_ring {
  explicit heap_ring(u64 cap)
      : size(ipcring::spsc_ring<u64>::required_bytes(cap)),
        mem(static_cast<std::byte*>(::operator new (size, std::align_val_t{128}))) {
    std::fill_n(mem, size, std::byte{0});
  }
  ~heap_ring() { ::operator delete (mem, std::align_val_t{128}); }
  heap_ring(const heap_ring&) = delete;
  heap_ring& operator=(const heap_ring&) = delete;
  std::span<std::byte> span() const { return {mem, size}; }
  std::size_t size;
  std::byte* mem;
};

void BM_spsc_ring_empty_pop(benchmark::State& state) {
  heap_ring h(1024);
  auto ring = ipcring::spsc_ring<u64>::create_in(h.span(), 1024);
  auto rx = ring.consumer();
  u64 v = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(rx.try_pop(v));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_spsc_ring_empty_pop);

void BM_spsc_ring_push_pop(benchmark::State& state) {
  heap_ring h(1024);
  auto ring = ipcring::spsc_ring<u64>::create_in(h.span(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  u64 v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tx.try_push(v));
    benchmark::DoNotOptimize(rx.try_pop(v));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_spsc_ring_push_pop);

void BM_spsc_ring_push_pop_batch(benchmark::State& state) {
  heap_ring h(1024);
  auto ring = ipcring::spsc_ring<u64>::create_in(h.span(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::array<u64, 32> buf{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(tx.try_push_some(std::span(buf).first(n)));
    benchmark::DoNotOptimize(rx.try_pop_some(std::span(buf).first(n)));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_spsc_ring_push_pop_batch)->ArgName("batch")->Arg(8)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
