// The hot paths allocate nothing: every ring operation that does not have to sleep, counted by
// a replacement of the global operator new. Setup (create, open, role handles) may allocate;
// the loops after it must not, in the calling thread or in a peer thread moving the data.
// (Syscalls on the same paths: bench/README.md, "strace", shows the steady state makes none.)
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "ipcring/ipcring.hpp"
#include "support/test_support.hpp"

namespace {
thread_local std::uint64_t t_allocations = 0;
}

// Replacements of every throwing and aligned form (the nothrow forms call these). gcc sees
// free() of what operator new returned and warns; here operator new is malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  ++t_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  ++t_allocations;
  const auto al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return ::operator new(n, a);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace ipcring::test {
namespace {

using u64 = std::uint64_t;
constexpr u64 k_ops = 200'000 / k_sanitizer_scale;

/// Allocations made by this thread while `f` runs.
template <class F>
u64 allocations_in(F&& f) {
  const u64 before = t_allocations;
  f();
  return t_allocations - before;
}

TEST(hot_path, the_replacement_counts) {  // the counter itself works
  static int* volatile sink = nullptr;    // volatile: the allocation may not be elided
  EXPECT_EQ(allocations_in([] { sink = new int(1); }), 1u);
  delete sink;
  EXPECT_EQ(allocations_in([] { std::vector<int> v(100); }), 1u);
}

TEST(hot_path, spsc_single_batch_and_zero_copy_allocate_nothing) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 1024);
  auto tx = ring.producer(wait_policy::spinning());
  auto rx = ring.consumer(wait_policy::spinning());
  std::array<u64, 32> batch{};
  u64 sum = 0;
  const u64 n = allocations_in([&] {
    for (u64 i = 0; i < k_ops; ++i) {
      u64 v = 0;
      if (!tx.try_push(i) || !rx.try_pop(v)) ADD_FAILURE() << i;
      sum += v;
      if (tx.push(i) != wait_result::ok || rx.pop(v) != wait_result::ok) ADD_FAILURE() << i;
      if (!tx.try_push_all(batch) || rx.try_pop_some(batch) != batch.size()) ADD_FAILURE() << i;
      auto w = tx.claim(8);  // contiguous: fewer at the end of the ring
      if (w.empty()) ADD_FAILURE() << i;
      tx.publish(w.size());
      auto r = rx.peek(8);
      if (r.size() != w.size()) ADD_FAILURE() << i;
      rx.release(r.size());
      if (rx.try_pop(v)) ADD_FAILURE() << "empty ring gave " << v;  // the empty path too
    }
  });
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(sum, k_ops * (k_ops - 1) / 2);
}

TEST(hot_path, spsc_transfer_between_spinning_threads_allocates_nothing) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);  // small: both sides wait often
  auto tx = ring.producer(wait_policy::spinning());
  auto rx = ring.consumer(wait_policy::spinning());
  std::atomic<u64> producer_allocations{~u64{0}};
  std::thread producer([&] {
    producer_allocations = allocations_in([&] {
      for (u64 i = 0; i < k_ops; ++i) {
        if (tx.push(i) != wait_result::ok) ADD_FAILURE() << i;
      }
    });
  });
  u64 wrong = 0;
  const u64 n = allocations_in([&] {
    for (u64 i = 0; i < k_ops; ++i) {
      u64 v = 0;
      if (rx.pop(v) != wait_result::ok || v != i) ++wrong;
    }
  });
  producer.join();
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(producer_allocations.load(), 0u);
  EXPECT_EQ(wrong, 0u);
}

TEST(hot_path, mpmc_operations_allocate_nothing) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 1024);
  auto tx = ring.producer(wait_policy::spinning());
  auto rx = ring.consumer(wait_policy::spinning());
  std::array<u64, 32> batch{};
  const u64 n = allocations_in([&] {
    for (u64 i = 0; i < k_ops; ++i) {
      u64 v = 0;
      if (!tx.try_push(i) || !rx.try_pop(v) || v != i) ADD_FAILURE() << i;
      if (tx.push(i) != wait_result::ok || rx.pop(v) != wait_result::ok) ADD_FAILURE() << i;
      if (!tx.try_push_all(batch) || rx.try_pop_some(batch) != batch.size()) ADD_FAILURE() << i;
      if (rx.try_pop(v)) ADD_FAILURE() << "empty ring gave " << v;
    }
  });
  EXPECT_EQ(n, 0u);
}

TEST(hot_path, message_rings_allocate_nothing) {
  segment_guard g(unique_name()), h(unique_name("-mp"));
  auto spsc = spsc_msg_ring::create(g.name(), 1 << 16);
  auto mpsc = mpsc_msg_ring::create(h.name(), 1 << 16);
  auto tx1 = spsc.producer(wait_policy::spinning());
  auto rx1 = spsc.consumer(wait_policy::spinning());
  auto tx2 = mpsc.producer(wait_policy::spinning());
  auto rx2 = mpsc.consumer(wait_policy::spinning());
  std::array<std::byte, 200> payload{};
  std::array<std::byte, 256> buffer{};
  std::size_t seen = 0;
  auto count = [&](std::uint32_t, std::span<const std::byte> b) { seen += b.size(); };
  const u64 n = allocations_in([&] {
    for (u64 i = 0; i < k_ops; ++i) {
      const auto len = 1 + i % payload.size();
      const auto msg = std::span<const std::byte>(payload).first(len);
      if (tx1.try_write(1, msg) != msg_status::ok || rx1.read(count) != 1) ADD_FAILURE() << i;
      if (tx2.try_write(1, msg) != msg_status::ok || rx2.read(count) != 1) ADD_FAILURE() << i;
      if (tx1.write(2, msg) != wait_result::ok) ADD_FAILURE() << i;
      if (rx1.try_read(buffer).status != msg_status::ok) ADD_FAILURE() << i;
      auto c = tx2.try_claim(3, len);
      if (!c) ADD_FAILURE() << i;
      c.commit();
      if (rx2.read_wait(count) != 1) ADD_FAILURE() << i;
      if (rx1.read(count) != 0) ADD_FAILURE() << "empty ring gave a message";
    }
  });
  EXPECT_EQ(n, 0u);
  EXPECT_GT(seen, 0u);
}

}  // namespace
}  // namespace ipcring::test
