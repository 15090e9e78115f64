// Helpers shared by the tests: unique segment names removed on entry and exit, heap memory for
// rings, and (POSIX only) forked child processes with a deadline. Tests that must also run on
// Windows spawn their children with support/spawn.hpp instead.
#pragma once

#include <gtest/gtest.h>
#ifndef _WIN32
#include <signal.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <thread>

#include "ipcring/detail/role.hpp"
#include "ipcring/ipcring.h"
#include "ipcring/ipcring.hpp"

namespace ipcring::test {

// Ends a transfer loop once nothing has moved for 30 s (the peer died, or stopped at a wrong
// message and left the ring full): the test then fails on its count instead of hanging until
// ctest's timeout. The clock is read only every 4096 idle turns.
class stall_watch {
 public:
  void moved() noexcept { idle_ = 0; }
  bool stalled() {
    if (++idle_ % 4096 != 0) return false;
    const auto now = std::chrono::steady_clock::now();
    if (idle_ == 4096) since_ = now;
    return now - since_ > std::chrono::seconds(30);
  }

 private:
  std::uint64_t idle_ = 0;
  std::chrono::steady_clock::time_point since_{};
};

/// Waits (up to `limit`) until a waiter sleeps on the named ring's data wait block (its
/// `sleepers` count is not 0: the consumer went past its spinning into a sleep, so a push must
/// wake it). False if none did in time.
inline bool consumer_asleep(const std::string& ring_name,
                            std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const map_view v = map_view::open(ring_name);
  const auto& c = *reinterpret_cast<const ring_control*>(v.data() + k_control_offset);
  for (const auto end = std::chrono::steady_clock::now() + limit;;) {
    // relaxed: a look from outside; the test acts on it only after it was seen
    if (c.data_wait.sleepers.load(std::memory_order_relaxed) != 0) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

/// "ipcring-test-<pid>-<n>-<test name>": unique per test and process.
inline std::string unique_name(const char* tag = "") {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string n =
      "ipcring-test-" + std::to_string(detail::current_pid()) + "-" + std::to_string(counter++);
  if (info != nullptr) n += std::string("-") + info->name();
  n += tag;
  std::replace(n.begin(), n.end(), '/', '_');  // parameterised tests are named "case/param"
  return n.substr(0, 200);
}

/// A file path of this test's own in the temporary directory (unique_name), removed when made
/// and when it goes, so that a test that fails half-way leaves no file behind.
class temp_file {
 public:
  explicit temp_file(const char* tag)
      : path_(std::filesystem::temp_directory_path() / unique_name(tag)) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Removes the named segment on construction and destruction, so a failing test leaves none.
class segment_guard {
 public:
  explicit segment_guard(std::string name) : name_(std::move(name)) { ipcring::remove(name_); }
  ~segment_guard() { ipcring::remove(name_); }
  segment_guard(const segment_guard&) = delete;
  segment_guard& operator=(const segment_guard&) = delete;
  const std::string& name() const { return name_; }
  const char* c_str() const { return name_.c_str(); }

 private:
  std::string name_;
};

/// Zero-filled heap memory for rings in tests, aligned to `align` (at least 128) bytes.
class heap_bytes {
 public:
  explicit heap_bytes(std::size_t n, std::size_t align = 128)
      : p_(static_cast<std::byte*>(::operator new (n, std::align_val_t{align}))),
        n_(n),
        align_(align) {
    std::fill_n(p_, n_, std::byte{0});
  }
  ~heap_bytes() { ::operator delete (p_, std::align_val_t{align_}); }
  heap_bytes(const heap_bytes&) = delete;
  heap_bytes& operator=(const heap_bytes&) = delete;
  std::span<std::byte> span() const { return {p_, n_}; }

 private:
  std::byte* p_;
  std::size_t n_;
  std::size_t align_;
};

#ifndef _WIN32
/// This process's locked memory (VmLck in /proc/self/status), in KiB; 0 where not told.
inline std::size_t locked_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  std::size_t kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmLck: %zu kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

/// In a child: killed when the test process ends (Linux), so that a test process killed from
/// outside (SIGKILL, the OOM killer) leaves no child spinning on. `parent`: its pid, or 0 if
/// not known (then only a parent that is gone by now is missed).
inline void die_with_parent([[maybe_unused]] pid_t parent) {
#ifdef __linux__
  (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent != 0 && ::getppid() != parent) ::_exit(96);  // it died before the prctl
#endif
}

/// A forked child running `body`; its exit code is body's return value (an exception or a
/// crash is a failure). Killed with SIGKILL if still running when destroyed.
class child_process {
 public:
  explicit child_process(const std::function<int()>& body) {
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      die_with_parent(parent);
      int rc = 99;
      try {
        rc = body();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
        rc = 98;
      }
      std::fflush(nullptr);
      ::_exit(rc);
    }
  }
  ~child_process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void kill(int sig = SIGKILL) const { ::kill(pid_, sig); }

  /// Waits up to `limit` for the child; returns its raw wait status, or -1 on timeout (the
  /// child is then killed).
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (true) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return status;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        reaped_ = true;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  /// Waits and returns the exit code (or 1000 + signal, or -1 on timeout).
  int exit_code(std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    const int st = wait(limit);
    if (st == -1) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 1000 + WTERMSIG(st);
    return -2;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

/// A one-shot signal between processes over a pipe (created before fork).
class pipe_signal {
 public:
  pipe_signal() {
    if (::pipe(fd_) != 0) throw std::runtime_error("pipe failed");
  }
  ~pipe_signal() {
    ::close(fd_[0]);
    ::close(fd_[1]);
  }
  void notify() const {
    const char c = 1;
    (void)!::write(fd_[1], &c, 1);
  }
  /// True if notified before `limit`.
  bool wait(std::chrono::milliseconds limit = std::chrono::seconds(30)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      fd_set s;
      FD_ZERO(&s);
      FD_SET(fd_[0], &s);
      timeval tv{0, 10000};
      if (::select(fd_[0] + 1, &s, nullptr, nullptr, &tv) == 1) {
        char c;
        return ::read(fd_[0], &c, 1) == 1;
      }
    }
    return false;
  }

 private:
  int fd_[2]{-1, -1};
};

#endif  // !_WIN32

/// Expects `f` to throw ipcring::error with `code`; returns its message for further checks.
template <class F>
std::string expect_error(errc code, F&& f) {
  try {
    f();
  } catch (const ipcring::error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected ipcring::error " << to_string(code) << ", nothing was thrown";
  return {};
}

/// An identity (pid | start time << 32) that no process has: pid 0x7ffffff0 is above any
/// pid_max. Stored in a role word or endpoint record, it stands for a holder that died.
inline constexpr std::uint64_t k_dead_owner = 0x7ffffff0u | (std::uint64_t{1} << 32);

/// Repeats `wait` (a blocking call with a short timeout, as a loop that looks at a stop flag
/// between its waits makes) while it returns timeout, `times` times at most; returns its last
/// result, and in `*calls` how many calls it took.
template <class Wait>
wait_result until_not_timeout(Wait&& wait, int times, int* calls) {
  wait_result r = wait_result::timeout;
  for (*calls = 0; r == wait_result::timeout && *calls < times; ++*calls)
    r = wait();
  return r;
}

/// Makes endpoint record `r` say that a dead process of `role` claimed `count` tickets (or
/// bytes, on a message ring) at `first`, and died before publishing them.
inline void name_dead_claim(endpoint_record& r, std::uint64_t first, std::uint64_t count,
                            endpoint_role role = endpoint_role::producer) {
  r.owner.store(k_dead_owner);
  r.role.store(static_cast<std::uint32_t>(role));
  r.claim_count.store(count);
  r.claim_first.store(first + 1);
}

/// A ring reached through the C API (what ipcring_create or ipcring_open gave; taken over),
/// with a producer and a consumer attached; all three are freed at the end of the scope.
/// Check attached() before using them.
class c_endpoints {
 public:
  explicit c_endpoints(ipcring_ring* r) : ring(r) {
    if (ring == nullptr) return;
    if (ipcring_producer_attach(ring, &tx) != IPCRING_OK) return;
    (void)ipcring_consumer_attach(ring, &rx);
  }
  ~c_endpoints() {
    ipcring_producer_free(tx);
    ipcring_consumer_free(rx);
    ipcring_close(ring);
  }
  c_endpoints(const c_endpoints&) = delete;
  c_endpoints& operator=(const c_endpoints&) = delete;
  bool attached() const { return tx != nullptr && rx != nullptr; }

  ipcring_ring* const ring;
  ipcring_producer* tx = nullptr;
  ipcring_consumer* rx = nullptr;
};

/// Builds with sanitizers are slower: scale message counts of in-process stress by this.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr std::uint64_t k_sanitizer_scale = 10;
#else
inline constexpr std::uint64_t k_sanitizer_scale = 1;
#endif

}  // namespace ipcring::test
