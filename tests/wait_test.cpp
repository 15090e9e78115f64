// Blocking calls of spsc_ring in one process (and of the other kinds, where a test says so):
// results, timeouts, close, every strategy.
#include "ipcring/wait.hpp"

#include <gtest/gtest.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <pthread.h>
#include <signal.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <thread>

#include "ipcring/inspect.hpp"
#include "ipcring/ipcring.h"
#include "ipcring/mpmc_ring.hpp"
#include "ipcring/msg_ring.hpp"
#include "ipcring/spsc_ring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;
using clock_type = std::chrono::steady_clock;

struct ring_fixture {
  explicit ring_fixture(u64 cap)
      : mem(spsc_ring<u64>::required_bytes(cap)),
        ring(spsc_ring<u64>::create_in(mem.span(), cap)) {}
  heap_bytes mem;
  spsc_ring<u64> ring;
};

// A blocking call of a ring other endpoints can overtake (mpmc, mpsc_msg producers) waits
// again after every attempt another took from it: it counts one wait, as docs/layout.md
// defines `waits` (blocking calls that had to wait). It counted one per wait (here 3).
TEST(wait_counters, a_blocking_call_that_waits_several_times_counts_one_wait) {
  wait_words block{};
  std::atomic<std::uint32_t> own{0}, own_here{0}, peer{0};
  side_counters stats{};
  detail::wait_scope w;
  w.block = &block;
  w.own_closed = &own;
  w.own_closed_here = &own_here;
  w.peer_closed = &peer;
  w.stats = &stats;
  int attempts = 0;
  int looks = 0;
  detail::wait_state state{wait_policy{wait_strategy::spin, 0}};
  const wait_result r = detail::retry_until(
      w, state, 10s, [&] { return ++attempts == 4; },
      [&] { return ++looks % 2 == 0; });  // each wait finds it not ready once, then ready
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(attempts, 4);
  EXPECT_EQ(stats.waits.load(), 1u);
}

class wait_strategies : public ::testing::TestWithParam<wait_strategy> {
 protected:
  wait_policy policy() const {
    wait_policy p;
    p.strategy = GetParam();
    p.spin_count = 100;
    return p;
  }
};

TEST_P(wait_strategies, pop_times_out_on_an_empty_ring) {
  ring_fixture f(8);
  auto rx = f.ring.consumer(policy());
  u64 v = 0;
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.pop(v, 30ms), wait_result::timeout);
  const auto took = clock_type::now() - t0;
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 2s);
}

TEST_P(wait_strategies, push_times_out_on_a_full_ring) {
  ring_fixture f(2);
  auto tx = f.ring.producer(policy());
  ASSERT_TRUE(tx.try_push(1));
  ASSERT_TRUE(tx.try_push(2));
  EXPECT_EQ(tx.push(3, 20ms), wait_result::timeout);
  EXPECT_EQ(tx.push(3, 0ms), wait_result::timeout);  // zero timeout: one try
}

// A timeout that is not a number is no time: one look, as 0 (it was converted unchecked).
TEST(wait, a_nan_timeout_is_zero) {
  EXPECT_EQ(detail::saturate(std::chrono::duration<double>(std::nan(""))), 0ns);
  EXPECT_EQ(detail::saturate(std::chrono::duration<double>(-1.0)), 0ns);
  EXPECT_EQ(detail::saturate(std::chrono::duration<double>(1e300)),
            std::chrono::nanoseconds::max());
  ring_fixture f(8);
  auto rx = f.ring.consumer();
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, std::chrono::duration<double>(std::nan(""))), wait_result::timeout);
}

TEST_P(wait_strategies, pop_returns_a_message_pushed_later) {
  ring_fixture f(8);
  auto tx = f.ring.producer(policy());
  auto rx = f.ring.consumer(policy());
  std::thread late([&] {
    std::this_thread::sleep_for(20ms);
    (void)tx.push(42);
  });
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 10s), wait_result::ok);
  EXPECT_EQ(v, 42u);
  late.join();
}

TEST_P(wait_strategies, push_waits_for_space_made_later) {
  ring_fixture f(1);
  auto tx = f.ring.producer(policy());
  auto rx = f.ring.consumer(policy());
  ASSERT_EQ(tx.push(1), wait_result::ok);
  std::thread late([&] {
    std::this_thread::sleep_for(20ms);
    u64 v = 0;
    (void)rx.pop(v);
  });
  EXPECT_EQ(tx.push(2, 10s), wait_result::ok);
  late.join();
}

TEST_P(wait_strategies, producer_close_wakes_the_consumer_after_the_data_is_drained) {
  ring_fixture f(8);
  auto tx = f.ring.producer(policy());
  auto rx = f.ring.consumer(policy());
  ASSERT_TRUE(tx.try_push(1));
  ASSERT_TRUE(tx.try_push(2));
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    tx.close();
  });
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 10s), wait_result::ok);
  EXPECT_EQ(rx.pop(v, 10s), wait_result::ok);
  EXPECT_EQ(v, 2u);
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.pop(v, 10s), wait_result::closed);  // woken by the close, not the timeout
  EXPECT_LT(clock_type::now() - t0, 5s);
  closer.join();
  EXPECT_EQ(tx.push(3, 10ms), wait_result::closed);  // the closed side's own calls
}

TEST_P(wait_strategies, consumer_close_wakes_a_producer_waiting_for_space) {
  ring_fixture f(1);
  auto tx = f.ring.producer(policy());
  auto rx = f.ring.consumer(policy());
  ASSERT_TRUE(tx.try_push(1));
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    rx.close();
  });
  const auto t0 = clock_type::now();
  EXPECT_EQ(tx.push(2, 10s), wait_result::closed);
  EXPECT_LT(clock_type::now() - t0, 5s);
  closer.join();
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 10ms), wait_result::closed);  // closed on its own side
  EXPECT_TRUE(rx.try_pop(v));                       // try_ calls are unaffected
}

// The ring's control block in `mem` (mpmc and message rings: in their registry).
ring_control& control_of(heap_bytes& mem, bool registry) {
  std::byte* at = mem.span().data() + k_control_offset;
  return registry ? reinterpret_cast<registry_control*>(at)->base
                  : *reinterpret_cast<ring_control*>(at);
}

// Also when, right after the close, another process clears the flag in the segment (a
// forbidden store, see below): the close wakes the waiter, which then ends on this process's
// record of it.
TEST_P(wait_strategies, close_token_closes_from_elsewhere) {
  for (const bool cleared_behind : {false, true}) {
    SCOPED_TRACE(cleared_behind ? "segment's flag cleared after the close" : "plain close");
    ring_fixture f(8);
    auto rx = f.ring.consumer(policy());
    const close_token token = rx.closer();
    std::thread other([&] {
      std::this_thread::sleep_for(20ms);
      token.close();
      if (cleared_behind) control_of(f.mem, false).consumer_closed.store(0);
    });
    u64 v = 0;
    const auto start = clock_type::now();
    EXPECT_EQ(rx.pop(v, 10s), wait_result::closed);
    EXPECT_LT(clock_type::now() - start, 5s);
    other.join();
  }
}

// close() leaves errno, and on Windows the last error, as it found them: the code it
// interrupted (a signal handler's, a console control handler's caller) may read them next. On
// Windows each close creates or opens its view's semaphore of the block, which sets the last
// error: to 0 where it makes it (under Wine; the caller then read 0 instead of 4242), to
// ERROR_ALREADY_EXISTS where another view holds it open (the second close).
TEST(close_token, leaves_the_callers_error_state_as_it_found_it) {
  segment_guard g(unique_name());
  const auto ring = spsc_ring<u64>::create(g.name(), 8);
  map_view v = map_view::open(g.name());
  auto& ctl = *reinterpret_cast<ring_control*>(v.data() + k_control_offset);
  const auto first = spsc_ring<u64>::open(g.name());   // its own view: its own semaphores,
  const auto second = spsc_ring<u64>::open(g.name());  // which it keeps while it lives
  for (const auto* through : {&first, &second}) {
    SCOPED_TRACE(through == &first ? "first close" : "second close, another view");
    auto tx = through->producer();
    ctl.data_wait.sleepers.store(1);  // as if a consumer slept: the wake goes to the system
    errno = EDOM;
#ifdef _WIN32
    SetLastError(4242);
#endif
    tx.close();
    EXPECT_EQ(errno, EDOM);
#ifdef _WIN32
    EXPECT_EQ(GetLastError(), 4242u);
#endif
    ctl.data_wait.sleepers.store(0);
  }
}

// A token of a handle whose role another process took over (its holder judged dead, or, with
// the same words, a child given the dead parent's pid after a fork) closes nothing: the side
// is the successor's. Checked by the pid alone, it closed the successor's side. Handed back
// the role, the same tokens close again.
TEST(close_token, closes_nothing_once_its_role_was_taken_over) {
  const auto check = [](std::atomic<u64>& word, const close_token& token,
                        std::atomic<std::uint32_t>& flag) {
    const u64 mine = word.load();
    ASSERT_NE(mine, 0u);
    word.store(k_dead_owner);  // a successor's identity
    token.close();
    EXPECT_EQ(flag.load(), 0u) << "closed the successor's side";
    word.store(mine);
    token.close();
    EXPECT_EQ(flag.load(), 1u) << "the holder's own close did nothing";
  };
  {
    ring_fixture f(8);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    auto& ctl = control_of(f.mem, false);
    SCOPED_TRACE("spsc_ring");
    check(ctl.producer_owner, tx.closer(), ctl.producer_closed);
    check(ctl.consumer_owner, rx.closer(), ctl.consumer_closed);
  }
  {
    heap_bytes mem(spsc_msg_ring::required_bytes(1024));
    auto ring = spsc_msg_ring::create_in(mem.span(), 1024);
    auto tx = ring.producer();
    auto rx = ring.consumer();
    auto& ctl = control_of(mem, true);
    SCOPED_TRACE("spsc_msg_ring");
    check(ctl.producer_owner, tx.closer(), ctl.producer_closed);
    check(ctl.consumer_owner, rx.closer(), ctl.consumer_closed);
  }
  {
    heap_bytes mem(mpmc_ring<u64>::required_bytes(8));
    auto ring = mpmc_ring<u64>::create_in(mem.span(), 8);
    auto tx = ring.producer();
    auto& reg = *reinterpret_cast<registry_control*>(mem.span().data() + k_control_offset);
    SCOPED_TRACE("mpmc_ring (its endpoint record)");
    check(reg.endpoints[0].owner, tx.closer(), reg.base.producer_closed);
  }
}

// A loop of waits each shorter than the liveness interval still learns that its peer died:
// the handle checks once per interval, across its waits (each wait used to begin an interval
// of its own, and such a loop said timeout for ever).
TEST_P(wait_strategies, short_waits_in_a_loop_still_see_a_dead_peer) {
  ring_fixture f(8);
  wait_policy p = policy();
  p.liveness_interval = 50ms;
  auto rx = f.ring.consumer(p);
  control_of(f.mem, false).producer_owner.store(k_dead_owner);  // a producer that died
  u64 v = 0;
  int waits = 0;  // at most 2 s of 20 ms waits
  EXPECT_EQ(until_not_timeout([&] { return rx.pop(v, 20ms); }, 100, &waits), wait_result::peer_dead)
      << "after " << waits << " waits of 20 ms";
}

TEST_P(wait_strategies, a_new_holder_reopens_its_side) {
  ring_fixture f(8);
  {
    auto tx = f.ring.producer(policy());
    tx.close();
  }
  auto tx = f.ring.producer(policy());
  auto rx = f.ring.consumer(policy());
  EXPECT_EQ(tx.push(5, 1s), wait_result::ok);
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 1s), wait_result::ok);
  EXPECT_EQ(rx.pop(v, 10ms), wait_result::timeout);  // not closed any more
}

// A side closed in this process stays closed for this process's waits when another process
// clears the flag in the segment (a forbidden store: the flag is the closing side's): the
// handle's close() is remembered in the process too.
TEST_P(wait_strategies, a_side_closed_here_stays_closed_if_the_segment_is_reopened_behind_it) {
  const auto clear = [](ring_control& c) {
    c.producer_closed.store(0);
    c.consumer_closed.store(0);
  };
  u64 v = 0;
  {
    ring_fixture f(8);
    auto rx = f.ring.consumer(policy());
    auto tx = f.ring.producer(policy());
    rx.close();
    tx.close();
    clear(control_of(f.mem, false));
    EXPECT_EQ(rx.pop(v, 2s), wait_result::closed);
    EXPECT_EQ(rx.wait_readable(1, 2s), wait_result::closed);
    for (int i = 0; i < 8; ++i)
      ASSERT_TRUE(tx.try_push(1));
    EXPECT_EQ(tx.push(1, 2s), wait_result::closed);
  }
  {
    heap_bytes mem(mpmc_ring<u64>::required_bytes(8));
    auto ring = mpmc_ring<u64>::create_in(mem.span(), 8);
    auto rx = ring.consumer(policy());
    rx.close();
    clear(control_of(mem, true));
    EXPECT_EQ(rx.pop(v, 2s), wait_result::closed);
  }
  {
    heap_bytes mem(spsc_msg_ring::required_bytes(1024));
    auto ring = spsc_msg_ring::create_in(mem.span(), 1024);
    auto rx = ring.consumer(policy());
    rx.close();
    clear(control_of(mem, true));
    EXPECT_EQ(rx.wait_readable(2s), wait_result::closed);
  }
}

// The same for the kinds whose endpoints register (mpmc; C handles of any kind): a side
// closed in this process is reopened, here too, by the next endpoint made on it.
TEST_P(wait_strategies, a_new_mpmc_endpoint_reopens_its_side) {
  heap_bytes mem(mpmc_ring<u64>::required_bytes(8));
  auto ring = mpmc_ring<u64>::create_in(mem.span(), 8);
  {
    auto tx = ring.producer(policy());
    auto rx = ring.consumer(policy());
    tx.close();
    rx.close();
  }
  auto tx = ring.producer(policy());
  auto rx = ring.consumer(policy());
  EXPECT_EQ(tx.push(5, 1s), wait_result::ok);
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, 1s), wait_result::ok);
  EXPECT_EQ(v, 5u);
  EXPECT_EQ(rx.pop(v, 10ms), wait_result::timeout);  // not closed any more
}

TEST_P(wait_strategies, wait_readable_waits_for_n_messages) {
  ring_fixture f(8);
  auto tx = f.ring.producer(policy());
  auto rx = f.ring.consumer(policy());
  std::thread feeder([&] {
    for (u64 i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(5ms);
      (void)tx.push(i);
    }
  });
  EXPECT_EQ(rx.wait_readable(4, 10s), wait_result::ok);
  EXPECT_EQ(rx.peek(8).size(), 4u);
  feeder.join();
  EXPECT_EQ(tx.wait_writable(4, 10ms), wait_result::ok);  // 4 of 8 free
  EXPECT_EQ(tx.wait_writable(5, 10ms), wait_result::timeout);
}

INSTANTIATE_TEST_SUITE_P(all, wait_strategies,
                         ::testing::Values(wait_strategy::spin, wait_strategy::spin_yield,
                                           wait_strategy::block),
                         [](const auto& p) {
                           switch (p.param) {
                             case wait_strategy::spin:
                               return std::string("spin");
                             case wait_strategy::spin_yield:
                               return std::string("spin_yield");
                             case wait_strategy::block:
                               return std::string("block");
                           }
                           return std::string("unknown");
                         });

// A spin policy with spin_count 0 checks the ring 64 pauses apart from the first check on
// (bench ring spsc_tput): every message still arrives, in order, and timeouts still hold.
TEST(wait, spinning_without_a_tight_phase_moves_every_message_and_times_out) {
  const wait_policy p{wait_strategy::spin, 0, std::chrono::milliseconds(100)};
  ring_fixture f(64);
  auto tx = f.ring.producer(p);
  auto rx = f.ring.consumer(p);
  u64 v = 0;
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.pop(v, 20ms), wait_result::timeout);
  EXPECT_GE(clock_type::now() - t0, 20ms);
  constexpr u64 n = 200000;
  std::thread producer([&] {
    for (u64 i = 0; i < n; ++i)
      ASSERT_EQ(tx.push(i), wait_result::ok);
    tx.close();
  });
  u64 expect = 0;
  while (rx.pop(v) == wait_result::ok) {
    ASSERT_EQ(v, expect);
    ++expect;
  }
  producer.join();
  EXPECT_EQ(expect, n);
}

TEST(wait, results_have_names) {
  EXPECT_STREQ(to_string(wait_result::ok), "ok");
  EXPECT_STREQ(to_string(wait_result::timeout), "timeout");
  EXPECT_STREQ(to_string(wait_result::closed), "closed");
  EXPECT_STREQ(to_string(wait_result::peer_dead), "peer_dead");
}

TEST(wait, huge_timeouts_do_not_overflow) {
  ring_fixture f(8);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_TRUE(tx.try_push(1));
  u64 v = 0;
  EXPECT_EQ(rx.pop(v, std::chrono::hours::max()), wait_result::ok);
  EXPECT_EQ(rx.pop(v, std::chrono::nanoseconds::min()), wait_result::timeout);
}

#ifndef _WIN32
double thread_cpu_ms() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// A liveness interval of zero, below zero or too large to add to the clock still sleeps: before,
// each made every pass of the wait check at once (a loop of zero-length sleeps, membarriers
// and /proc reads; the largest also overflowed).
TEST(wait, any_liveness_interval_still_sleeps) {
  for (const auto interval : {0ms, -5ms, std::chrono::milliseconds::max()}) {
    ring_fixture f(8);
    wait_policy p;
    p.spin_count = 100;
    p.liveness_interval = interval;
    auto rx = f.ring.consumer(p);
    u64 v = 0;
    const double cpu0 = thread_cpu_ms();
    EXPECT_EQ(rx.pop(v, 200ms), wait_result::timeout);
    EXPECT_LT(thread_cpu_ms() - cpu0, 100.0) << interval.count() << " ms: a busy wait";
  }
}
#endif

// A timeout shorter than the spin phase ends the spin: before, pop waited out every spin.
TEST(wait, a_short_timeout_ends_the_spin) {
  ring_fixture f(8);
  wait_policy p;
  p.spin_count = std::numeric_limits<std::uint32_t>::max();  // long, at any cpu_relax() speed
  auto rx = f.ring.consumer(p);
  u64 v = 0;
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.pop(v, 1ms), wait_result::timeout);
  EXPECT_LT(clock_type::now() - t0, 5s);  // the spins alone take minutes: wide for a busy VM
}

// Both directions of the sleep/wake race, in-process (the TSan variant of the IPC hammer):
// a one-slot ring, both sides blocking with no spinning, so nearly every hand-off sleeps. No
// liveness check wakes a sleeper on the way (see sleep_until_woken() in wait_ipc_test.cpp), so
// a wake-up lost in a sleep after the first slice shows as a wait that times out (10 s); both
// sides then stop. (On Windows, whose sleeps are 5 ms slices, lib/src/windows/wait.cpp, a lost
// wake-up costs 5 ms: it cannot fail this test there.)
TEST(wait_threads, hand_offs_never_lose_a_wake_up) {
  const u64 n = 200'000 / k_sanitizer_scale;
  ring_fixture f(1);
  wait_policy p = wait_policy::blocking();
  p.spin_count = 0;
  p.liveness_interval = std::chrono::hours(1);
  auto tx = f.ring.producer(p);
  auto rx = f.ring.consumer(p);
  std::atomic<u64> slow_pushes{0};
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    for (u64 i = 0; i < n && !stop.load(); ++i) {
      if (tx.push(i, 10s) != wait_result::ok) {
        slow_pushes.fetch_add(1);
        break;
      }
    }
  });
  u64 slow_pops = 0, wrong = 0;
  for (u64 i = 0; i < n; ++i) {
    u64 v = ~u64{0};
    if (rx.pop(v, 10s) != wait_result::ok) {
      ++slow_pops;
      break;
    }
    if (v != i) ++wrong;
  }
  stop.store(true);
  producer.join();
  EXPECT_EQ(slow_pops, 0u);
  EXPECT_EQ(slow_pushes.load(), 0u);
  EXPECT_EQ(wrong, 0u);
}

// ipcring_*_interrupt: the C API's close_token. A call blocked on the handle in another
// thread (or, below, interrupted by a signal whose handler calls it) ends with IPCRING_CLOSED.
struct c_ring {
  explicit c_ring(ipcring_kind kind)
      : g(unique_name()), msg(kind >= IPCRING_KIND_SPSC_MSG), c(create(g, kind, msg)) {
    EXPECT_TRUE(c.attached()) << ipcring_last_error();
  }
  static ipcring_ring* create(const segment_guard& g, ipcring_kind kind, bool msg) {
    ipcring_ring* r = nullptr;
    EXPECT_EQ(ipcring_create(g.c_str(), kind, msg ? 4096 : 8, msg ? 0 : 8, nullptr, &r), IPCRING_OK)
        << ipcring_last_error();
    return r;
  }
  // One blocking receive or send; 10 s: an interrupt that does not work shows as a timeout.
  int receive() const {
    char buf[128];
    std::uint32_t type = 0;
    std::size_t len = 0;
    return msg ? ipcring_read(c.rx, buf, sizeof buf, &type, &len, 10'000'000'000)
               : ipcring_pop(c.rx, buf, 10'000'000'000);
  }
  int try_send() const {
    const char buf[100] = {};
    return msg ? ipcring_try_write(c.tx, 1, buf, sizeof buf) : ipcring_try_push(c.tx, buf);
  }
  // Until the side's blocking call counts its wait (it is in it, spinning or asleep).
  void wait_until_waiting(bool consumer) const {
    const auto give_up = clock_type::now() + 10s;
    while (clock_type::now() < give_up) {
      const ring_info i = inspect(g.name());
      if ((consumer ? i.consumer : i.producer).waits != 0) return;
      std::this_thread::sleep_for(1ms);
    }
    ADD_FAILURE() << "the blocking call never waited";
  }
  int send() const {
    const char buf[100] = {};
    return msg ? ipcring_write(c.tx, 1, buf, sizeof buf, 10'000'000'000)
               : ipcring_push(c.tx, buf, 10'000'000'000);
  }
  segment_guard g;
  bool msg;
  c_endpoints c;
};

constexpr ipcring_kind k_c_kinds[] = {IPCRING_KIND_SPSC, IPCRING_KIND_MPMC, IPCRING_KIND_SPSC_MSG,
                                      IPCRING_KIND_MPSC_MSG};

TEST(c_interrupt, ends_a_call_blocked_in_another_thread_on_either_side_of_every_kind) {
  for (const ipcring_kind kind : k_c_kinds) {
    SCOPED_TRACE(kind);
    {  // a consumer waiting on an empty ring
      c_ring e(kind);
      std::atomic<int> got{-100};
      const auto t0 = clock_type::now();
      std::thread reader([&] { got = e.receive(); });
      e.wait_until_waiting(true);
      ipcring_consumer_interrupt(e.c.rx);
      reader.join();
      EXPECT_EQ(got.load(), IPCRING_CLOSED);
      EXPECT_LT(clock_type::now() - t0, 5s);
      EXPECT_EQ(e.receive(), IPCRING_CLOSED);  // the side stays closed
    }
    {  // a producer waiting on a full ring
      c_ring e(kind);
      int filled = 0;
      while (e.try_send() == IPCRING_OK)
        ++filled;
      ASSERT_GT(filled, 0);
      std::atomic<int> got{-100};
      std::thread writer([&] { got = e.send(); });
      e.wait_until_waiting(false);
      ipcring_producer_interrupt(e.c.tx);
      writer.join();
      EXPECT_EQ(got.load(), IPCRING_CLOSED);
      int drained = 0;  // what was in the ring is still delivered
      while (e.receive() == IPCRING_OK)
        ++drained;
      EXPECT_EQ(drained, filled);
    }
  }
  ipcring_producer_interrupt(nullptr);  // no-ops
  ipcring_consumer_interrupt(nullptr);
}

#ifndef _WIN32
std::atomic<const ipcring_consumer*> g_interrupted{nullptr};
extern "C" void interrupt_on_signal(int) {
  ipcring_consumer_interrupt(g_interrupted.load());
}

TEST(c_interrupt, a_signal_handler_ends_the_blocked_read_of_its_thread) {
  c_ring e(IPCRING_KIND_SPSC_MSG);
  g_interrupted = e.c.rx;
  struct sigaction sa {
  }, old{};
  sa.sa_handler = interrupt_on_signal;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
  std::atomic<int> got{-100};
  std::thread reader([&] { got = e.receive(); });
  e.wait_until_waiting(true);
  ASSERT_EQ(::pthread_kill(reader.native_handle(), SIGUSR1), 0);
  reader.join();
  ::sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(got.load(), IPCRING_CLOSED);
}
#endif

}  // namespace
}  // namespace ipcring::test
