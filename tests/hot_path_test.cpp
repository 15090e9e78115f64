// The hot paths allocate nothing and make no system call: every ring operation that does not
// have to sleep. Allocations are counted by a replacement of the global operator new; system
// calls (Linux) by a seccomp filter that traps each one the watched process makes from then on,
// in a child process that runs the same loop. Setup (create, open, role handles) may do either;
// the loops after it must not, in the calling thread or in a peer thread or process moving the
// data. (The demo pair under strace: bench/README.md, "No syscall and no allocation".)
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_THREAD__)
#define IPCRING_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPCRING_TEST_TSAN 1
#endif
#endif

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define IPCRING_TEST_SYSCALLS 1
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#endif

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
using namespace std::chrono_literals;
constexpr u64 k_ops = 200'000 / k_sanitizer_scale;

/// Allocations made by this thread while `f` runs.
template <class F>
u64 allocations_in(F&& f) {
  const u64 before = t_allocations;
  f();
  return t_allocations - before;
}

#ifdef IPCRING_TEST_SYSCALLS
// -- system calls -----------------------------------------------------------------------------

/// What a watched child process reports, through memory it shares with the test.
struct syscall_report {
  std::atomic<int> armed{0};       // watch_system_calls() installed the filter
  std::atomic<int> counting{0};    // from then until end_watch()
  std::atomic<int> count{0};       // system calls trapped meanwhile (none of them carried out)
  std::atomic<long> numbers[8]{};  // the first ones' numbers (<sys/syscall.h>)
  std::atomic<u64> failures{0};    // the loop's own checks that failed
};
syscall_report* g_report = nullptr;  // the child's

void on_sigsys(int, siginfo_t* si, void*) {
  // relaxed: the same thread's, and read by the parent once the child has exited (waitpid)
  if (g_report->counting.load(std::memory_order_relaxed) == 0) return;
  const int i = g_report->count.fetch_add(1, std::memory_order_relaxed);
  if (i < 8) g_report->numbers[i].store(si->si_syscall, std::memory_order_relaxed);
}

/// From here on, every system call of this thread but the process's exit (and the return from
/// the SIGSYS handler) is trapped instead of made, and counted until end_watch(). Reads of the
/// clock are let through: where the clocksource allows (kvm-clock and tsc do), the kernel
/// serves them through the vDSO, no system call, and a filter never sees them; where it does
/// not (hpet, acpi_pm, a kvm-clock the host marked unstable, which can happen during a run),
/// a spinning wait's clock reads are the machine's, not the ring's. Trapped, they would fail
/// the test on such a machine, and leave the loop's clock broken (the call is not made).
void watch_system_calls() {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
#if defined(__x86_64__)
  constexpr unsigned k_arch = AUDIT_ARCH_X86_64;
#else
  constexpr unsigned k_arch = AUDIT_ARCH_AARCH64;
#endif
  const auto allow = [](unsigned nr) {
    return std::array<sock_filter, 2>{{BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
                                       BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}};
  };
  std::vector<sock_filter> f = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k_arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),  // another ABI: trapped (and counted)
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr))};
  std::vector<unsigned> let_through = {SYS_exit_group, SYS_exit, SYS_rt_sigreturn,
                                       SYS_clock_gettime, SYS_gettimeofday};
#ifdef IPCRING_TEST_TSAN
  // ThreadSanitizer's runtime maps memory for its own records of the loop's atomics as it
  // first meets them; trapped, its checks fail and it ends the process. Release and ASan builds
  // watch these calls too.
  let_through.insert(let_through.end(), {SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise});
#endif
  for (const unsigned nr : let_through) {
    const auto a = allow(nr);
    f.insert(f.end(), a.begin(), a.end());
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
  const sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  // One SIGSYS before the filter, not counted: ThreadSanitizer's signal wrapper maps memory for
  // the thread's first signal, a call the filter would trap inside the handler (with SIGSYS
  // blocked there, the kernel would kill the process).
  if (::sigaction(SIGSYS, &sa, nullptr) == 0 && ::raise(SIGSYS) == 0 &&
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0) {
    g_report->armed.store(1, std::memory_order_relaxed);
    g_report->counting.store(1, std::memory_order_relaxed);
  }
}

/// The end of the loop: the system calls after it (the handles' destructors unmapping and
/// closing) are not the hot path's. They stay trapped, so not made: the child exits next.
void end_watch() {
  g_report->counting.store(0, std::memory_order_relaxed);
}

/// Runs `loop` (which returns how many of its checks failed) with system calls watched.
template <class Loop>
u64 watched(Loop&& loop) {
  watch_system_calls();
  const u64 failures = loop();
  end_watch();
  return failures;
}

/// A watched child: runs `body` (its setup, then watch_system_calls(), then the loop, returning
/// the number of its checks that failed) in a forked process, which then exits at once.
class watched_child {
 public:
  template <class Body>
  explicit watched_child(Body&& body)
      : report_(static_cast<syscall_report*>(::mmap(nullptr, sizeof(syscall_report),
                                                    PROT_READ | PROT_WRITE,
                                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0))) {
    if (report_ == MAP_FAILED) {
      report_ = nullptr;
      ADD_FAILURE() << "mmap for the report failed";
      return;
    }
    new (report_) syscall_report{};
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      die_with_parent(parent);  // a test killed by its timeout leaves no child spinning
      g_report = report_;
      u64 failures = 1;
      try {
        failures = body();
      } catch (...) {  // e.g. a failed create: the child must not go on into gtest
      }
      report_->failures.store(failures, std::memory_order_relaxed);
      // The exit itself, not _exit(): a sanitizer's _exit makes other system calls first,
      // which the filter would trap. Nothing of the parent's (atexit, destructors) runs here.
      ::syscall(SYS_exit_group, 0);
    }
    if (pid_ < 0) ADD_FAILURE() << "fork failed";
  }
  ~watched_child() {
    if (pid_ > 0) {  // a test that failed before finish(): the child must not run on
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (report_ != nullptr) ::munmap(report_, sizeof(syscall_report));
  }
  watched_child(const watched_child&) = delete;
  watched_child& operator=(const watched_child&) = delete;

  /// Waits for the child; false if it did not exit normally.
  bool finish() {
    if (pid_ <= 0 || report_ == nullptr) return false;
    // A child stuck on trapped calls (a call retried until it succeeds) would never exit.
    // 50 s: two children finished one after the other stay inside ctest's 120 s.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(50);
    int status = 0;
    pid_t r = 0;
    while ((r = ::waitpid(pid_, &status, WNOHANG)) == 0 || (r < 0 && errno == EINTR)) {
      if (std::chrono::steady_clock::now() > give_up) {
        ::kill(pid_, SIGKILL);
        ADD_FAILURE() << "the watched child did not end within 50 s (killed): numbers of its "
                      << "first system calls:" << numbers();
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    pid_ = 0;
    if (r == pid_t{-1} || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ADD_FAILURE() << "the watched child ended with status " << status;
      return false;
    }
    return true;
  }
  const syscall_report& report() const { return *report_; }
  /// The numbers of the first system calls trapped, for messages.
  std::string numbers() const {
    std::string out;
    for (int i = 0; i < std::min(report_->count.load(), 8); ++i) {
      out += ' ';
      out += std::to_string(report_->numbers[i].load());
    }
    return out;
  }

  /// Waits for the child and checks that its loop ran watched, passed its checks and made no
  /// system call.
  void expect_no_system_call(const std::string& what) {
    if (!finish()) return;
    EXPECT_EQ(report_->armed.load(), 1)
        << what << ": the seccomp filter could not be installed (prctl PR_SET_SECCOMP)";
    EXPECT_EQ(report_->failures.load(), 0u) << what << ": the loop's checks failed";
    EXPECT_EQ(report_->count.load(), 0)
        << what << ": system calls made in the loop; the first ones' numbers:" << numbers();
  }

 private:
  syscall_report* report_;
  pid_t pid_ = -1;
};
#endif  // IPCRING_TEST_SYSCALLS

TEST(hot_path, the_replacement_counts) {  // the counter itself works
  static int* volatile sink = nullptr;    // volatile: the allocation may not be elided
  EXPECT_EQ(allocations_in([] { sink = new int(1); }), 1u);
  delete sink;
  EXPECT_EQ(allocations_in([] { std::vector<int> v(100); }), 1u);
}

// The loops: each returns how many of its checks failed (a watched child cannot report
// through gtest).

u64 spsc_operations(spsc_producer<u64>& tx, spsc_consumer<u64>& rx) {
  std::array<u64, 32> batch{};
  u64 failures = 0;
  u64 sum = 0;
  for (u64 i = 0; i < k_ops; ++i) {
    u64 v = 0;
    failures += !tx.try_push(i) || !rx.try_pop(v);
    sum += v;
    failures += tx.push(i) != wait_result::ok || rx.pop(v) != wait_result::ok;
    failures += !tx.try_push_all(batch) || rx.try_pop_some(batch) != batch.size();
    failures += tx.push_all(std::span<const u64>(batch)) != batch.size() ||
                rx.pop_some(std::span<u64>(batch), 1s) != batch.size();
    auto w = tx.claim(8);  // contiguous: fewer at the end of the ring
    failures += w.empty();
    tx.publish(w.size());
    auto r = rx.peek(8);
    failures += r.size() != w.size();
    rx.release(r.size());
    failures += rx.try_pop(v);  // the empty path too
  }
  return failures + (sum != k_ops * (k_ops - 1) / 2);
}

u64 mpmc_operations(mpmc_producer<u64>& tx, mpmc_consumer<u64>& rx) {
  std::array<u64, 32> batch{};
  u64 failures = 0;
  for (u64 i = 0; i < k_ops; ++i) {
    u64 v = 0;
    failures += !tx.try_push(i) || !rx.try_pop(v) || v != i;
    failures += tx.push(i) != wait_result::ok || rx.pop(v) != wait_result::ok;
    failures += !tx.try_push_all(batch) || rx.try_pop_some(batch) != batch.size();
    failures += tx.push_all(std::span<const u64>(batch), 1s) != batch.size() ||
                rx.pop_some(std::span<u64>(batch)) != batch.size();
    failures += rx.try_pop(v);  // the empty path too
  }
  return failures;
}

u64 message_ring_operations(msg_producer<false>& tx1, msg_consumer& rx1, msg_producer<true>& tx2,
                            msg_consumer& rx2) {
  std::array<std::byte, 200> payload{};
  std::array<std::byte, 256> buffer{};
  std::size_t seen = 0;
  auto count = [&](std::uint32_t, std::span<const std::byte> b) { seen += b.size(); };
  u64 failures = 0;
  for (u64 i = 0; i < k_ops; ++i) {
    const auto len = 1 + i % payload.size();
    const auto msg = std::span<const std::byte>(payload).first(len);
    failures += tx1.try_write(1, msg) != msg_status::ok || rx1.read(count) != 1;
    failures += tx2.try_write(1, msg) != msg_status::ok || rx2.read(count) != 1;
    failures += tx1.write(2, msg) != wait_result::ok;
    const std::span<const std::byte> two[] = {msg, msg};
    failures += tx2.write_all(4, two) != 2 || rx2.read(count) != 2;
    failures += rx1.try_read(buffer).status != msg_status::ok;
    auto c = tx2.try_claim(3, len);
    failures += !c;
    c.commit();
    failures += rx2.read_wait(count) != 1;
    failures += rx1.read(count) != 0;  // the empty path too
  }
  return failures + (seen == 0);
}

/// A fixed-slot ring of 1024 slots with a spinning producer and consumer.
template <class Ring>
struct ring_endpoints {
  explicit ring_endpoints(const std::string& name) : ring(Ring::create(name, 1024)) {}
  Ring ring;
  decltype(ring.producer()) tx = ring.producer(wait_policy::spinning());
  decltype(ring.consumer()) rx = ring.consumer(wait_policy::spinning());
};

/// Both message rings, with a spinning producer and consumer each.
struct message_ring_endpoints {
  message_ring_endpoints(const std::string& a, const std::string& b)
      : spsc(spsc_msg_ring::create(a, 1 << 16)), mpsc(mpsc_msg_ring::create(b, 1 << 16)) {}
  u64 operations() { return message_ring_operations(tx1, rx1, tx2, rx2); }
  spsc_msg_ring spsc;
  mpsc_msg_ring mpsc;
  msg_producer<false> tx1 = spsc.producer(wait_policy::spinning());
  msg_consumer rx1 = spsc.consumer(wait_policy::spinning());
  msg_producer<true> tx2 = mpsc.producer(wait_policy::spinning());
  msg_consumer rx2 = mpsc.consumer(wait_policy::spinning());
};

/// `operations` on a fixed-slot ring of type Ring, counting allocations.
template <class Ring, class Operations>
void expect_no_allocation_in(Operations operations) {
  segment_guard g(unique_name());
  ring_endpoints<Ring> e(g.name());
  u64 failures = 0;
  EXPECT_EQ(allocations_in([&] { failures = operations(e.tx, e.rx); }), 0u);
  EXPECT_EQ(failures, 0u);
}

TEST(hot_path, spsc_single_batch_and_zero_copy_allocate_nothing) {
  expect_no_allocation_in<spsc_ring<u64>>(spsc_operations);
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
  expect_no_allocation_in<mpmc_ring<u64>>(mpmc_operations);
}

TEST(hot_path, message_rings_allocate_nothing) {
  segment_guard g(unique_name()), h(unique_name("-mp"));
  message_ring_endpoints e(g.name(), h.name());
  u64 failures = 0;
  EXPECT_EQ(allocations_in([&] { failures = e.operations(); }), 0u);
  EXPECT_EQ(failures, 0u);
}

#ifdef IPCRING_TEST_SYSCALLS
TEST(hot_path, the_filter_traps_and_counts_system_calls) {  // the watch itself works
  watched_child child([] {
    watch_system_calls();
    (void)::getppid();
    (void)::sched_yield();
    return u64{0};
  });
  ASSERT_TRUE(child.finish());
  EXPECT_EQ(child.report().armed.load(), 1);
  EXPECT_EQ(child.report().count.load(), 2);
  std::string expected;
  for (const long nr : {long{SYS_getppid}, long{SYS_sched_yield}}) {
    expected += ' ';
    expected += std::to_string(nr);
  }
  EXPECT_EQ(child.numbers(), expected);
}

/// `operations` on a fixed-slot ring of type Ring made in a watched child.
template <class Ring, class Operations>
void expect_no_system_call_in(Operations operations, const std::string& what) {
  segment_guard g(unique_name());
  watched_child child([&] {
    ring_endpoints<Ring> e(g.name());
    return watched([&] { return operations(e.tx, e.rx); });
  });
  child.expect_no_system_call(what);
}

TEST(hot_path, spsc_single_batch_and_zero_copy_make_no_system_call) {
  expect_no_system_call_in<spsc_ring<u64>>(spsc_operations, "spsc_ring");
}

TEST(hot_path, mpmc_operations_make_no_system_call) {
  expect_no_system_call_in<mpmc_ring<u64>>(mpmc_operations, "mpmc_ring");
}

TEST(hot_path, spsc_transfer_between_spinning_processes_makes_no_system_call) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 64);  // small: both sides wait often
  // Spinning, and looking for a dead peer only once an hour: that look reads /proc.
  const wait_policy spin{wait_strategy::spin, 2000, std::chrono::hours(1)};
  watched_child producer([&] {
    auto tx = spsc_ring<u64>::open(g.name()).producer(spin);
    return watched([&] {
      u64 failures = 0;
      for (u64 i = 0; i < k_ops; ++i)
        failures += tx.push(i) != wait_result::ok;
      return failures;
    });
  });
  watched_child consumer([&] {
    auto rx = spsc_ring<u64>::open(g.name()).consumer(spin);
    return watched([&] {
      u64 failures = 0;
      for (u64 i = 0; i < k_ops; ++i) {
        u64 v = 0;
        failures += rx.pop(v) != wait_result::ok || v != i;
      }
      return failures;
    });
  });
  producer.expect_no_system_call("spsc_ring producer process");
  consumer.expect_no_system_call("spsc_ring consumer process");
}

TEST(hot_path, message_rings_make_no_system_call) {
  segment_guard g(unique_name()), h(unique_name("-mp"));
  watched_child child([&] {
    message_ring_endpoints e(g.name(), h.name());
    return watched([&] { return e.operations(); });
  });
  child.expect_no_system_call("spsc_msg_ring and mpsc_msg_ring");
}
#endif

}  // namespace
}  // namespace ipcring::test
