#include "harness.hpp"

#include <sys/prctl.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>

namespace bench {

run_settings& settings() {
  static run_settings s;
  return s;
}

bool pin_to(int cpu) noexcept {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

bool die_with_parent(pid_t parent) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  return ::getppid() == parent;  // else the parent died before the line above
}

double floor_ping(pair_control& c, u64 rounds) noexcept {
  const u64 base = c.ping.load(std::memory_order_relaxed);
  const std::int64_t t0 = now_ns();
  for (u64 i = 1; i <= rounds; ++i) {
    c.ping.store(base + i, std::memory_order_release);  // pairs with floor_echo's acquire
    // acquire: pairs with floor_echo's release of pong
    spin_until([&] { return c.pong.load(std::memory_order_acquire) == base + i; });
  }
  return static_cast<double>(now_ns() - t0) / static_cast<double>(rounds);
}

void floor_echo(pair_control& c, u64 rounds) noexcept {
  const u64 base = c.pong.load(std::memory_order_relaxed);
  for (u64 i = 1; i <= rounds; ++i) {
    // acquire: pairs with floor_ping's release of ping
    spin_until([&] { return c.ping.load(std::memory_order_acquire) == base + i; });
    c.pong.store(base + i, std::memory_order_release);  // pairs with floor_ping's acquire
  }
}

bool floor_echo_until(pair_control& c, u64 rounds, std::int64_t deadline_ns) noexcept {
  const u64 base = c.pong.load(std::memory_order_relaxed);
  for (u64 i = 1; i <= rounds; ++i) {
    // acquire: pairs with floor_ping's release of ping
    while (c.ping.load(std::memory_order_acquire) != base + i) {
      if (now_ns() > deadline_ns) return false;
      ipcring::cpu_relax();
    }
    c.pong.store(base + i, std::memory_order_release);  // pairs with floor_ping's acquire
  }
  return true;
}

std::vector<std::int64_t> floor_ping_timed(pair_control& c, u64 rounds) {
  std::vector<std::int64_t> rtt;
  rtt.reserve(rounds);
  const u64 base = c.ping.load(std::memory_order_relaxed);
  for (u64 i = 1; i <= rounds; ++i) {
    const std::int64_t t0 = now_ns();
    c.ping.store(base + i, std::memory_order_release);
    spin_until([&] { return c.pong.load(std::memory_order_acquire) == base + i; });
    rtt.push_back(now_ns() - t0);
  }
  std::sort(rtt.begin(), rtt.end());
  return rtt;
}

namespace {
// The peer of the pair running now, until the closing floor probe is done (0 otherwise), and its
// control block. A peer cannot end before then on its own: if it does, it crashed, or it
// failed and the benchmark side never came to read child_failed (it spins on a ring nobody
// drains). The process then stops with the reason instead of waiting forever, and removes the
// segments the benchmark made (its own exit would skip their owners' destructors).
volatile std::sig_atomic_t g_peer = 0;
std::atomic<pair_control*> g_peer_ctl{nullptr};  // relaxed: set before g_peer arms the handler
// The peer of the pair under its time limit (settings().pair_limit_s), until it is reaped: the
// limit covers the reap too, which waits for a peer that may be stopped or stuck.
volatile std::sig_atomic_t g_limited = 0;
static_assert(std::atomic<pair_control*>::is_always_lock_free);

// The /dev/shm paths of the last segments named (track_segment), oldest overwritten first:
// written only outside a watch (names are made before run_pair), read by on_peer_exit.
constexpr std::size_t k_tracked = 8;
char g_tracked[k_tracked][128] = {};
std::size_t g_next_tracked = 0;

// Removes every tracked segment (unlink is async-signal-safe; one already gone is ENOENT).
void remove_tracked() noexcept {
  for (const char* path : g_tracked) {
    if (path[0] != 0) (void)::unlink(path);
  }
}

void write_err(const char* s, std::size_t n) noexcept {
  (void)!::write(2, s, n);
}
void write_err(const char* s) noexcept {
  write_err(s, std::strlen(s));
}

void on_peer_exit(int) noexcept {
  const pid_t peer = g_peer;
  if (peer == 0) return;
  // Asked by pid: signals of other children (mpmc_2p2c's) merge with the peer's.
  const int saved_errno = errno;  // the interrupted code may be about to read it
  int status = 0;
  if (::waitpid(peer, &status, WNOHANG) != peer) {  // still running
    errno = saved_errno;
    return;
  }
  const bool exited = WIFEXITED(status);
  unsigned v = static_cast<unsigned>(exited ? WEXITSTATUS(status) : WTERMSIG(status));
  char num[16];
  char* p = num + sizeof num;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  write_err("ipcring-bench: the peer process ended during the run (");
  write_err(exited ? "exit status " : "signal ");
  write_err(p, static_cast<std::size_t>(num + sizeof num - p));
  write_err("): ");
  const pair_control* c = g_peer_ctl.load(std::memory_order_relaxed);
  if (c != nullptr && c->failure[0] != 0) {
    write_err(c->failure, strnlen(c->failure, sizeof c->failure));  // the peer's; bounded
  } else {
    write_err("no reason given");
  }
  write_err("\n");
  remove_tracked();
  ::_exit(3);
}

// A pair that ran past settings().pair_limit_s (SIGALRM): its sides wait for each other for
// ever, most likely for a message a transport lost. The peer and the segments go, and the run
// stops with the reason, as for a peer that ended.
void on_pair_limit(int) noexcept {
  const pid_t peer = g_limited;
  if (peer == 0) return;  // the pair ended as the alarm came
  g_peer = 0;             // its end, which the kill below brings, is no news (SIGCHLD is masked)
  write_err(
      "ipcring-bench: a pair ran past --pair-limit: both sides wait for a message that "
      "never comes (lost by the transport?), or one of them is stuck");
  const pair_control* c = g_peer_ctl.load(std::memory_order_relaxed);
  if (c != nullptr && c->failure[0] != 0) {
    write_err("; the peer said: ");
    write_err(c->failure, strnlen(c->failure, sizeof c->failure));  // the peer's; bounded
  }
  write_err("\n");
  ::kill(peer, SIGKILL);
  remove_tracked();
  ::_exit(3);
}

// Ctrl-C, a kill or a hang-up: the segments go too, then the signal takes its default course.
// Forked peers inherit it (they get a Ctrl-C too, as members of the process group).
void on_stop_signal(int sig) noexcept {
  remove_tracked();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Watches `pid` from now on (a SIGCHLD handler), and looks once for an end that came before;
// starts the pair's time limit (SIGALRM). Returns the SIGCHLD action it replaced.
struct sigaction watch_peer(pid_t pid, pair_control* c) noexcept {
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = on_peer_exit;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGALRM);  // the two handlers never run one inside the other
  ::sigaction(SIGCHLD, &sa, &old);
  struct sigaction limit {};
  limit.sa_handler = on_pair_limit;
  limit.sa_flags = SA_RESTART;
  sigemptyset(&limit.sa_mask);
  sigaddset(&limit.sa_mask, SIGCHLD);
  ::sigaction(SIGALRM, &limit, nullptr);
  g_peer_ctl.store(c, std::memory_order_relaxed);
  g_peer = pid;
  g_limited = pid;
  on_peer_exit(SIGCHLD);
  ::alarm(settings().pair_limit_s);
  return old;
}
// Stops watching, then puts back the old SIGCHLD action. The time limit stays until the peer
// is reaped (end_pair_limit).
void unwatch_peer(const struct sigaction& old) noexcept {
  g_peer = 0;
  ::sigaction(SIGCHLD, &old, nullptr);
  g_peer_ctl.store(nullptr, std::memory_order_relaxed);
}
void end_pair_limit() noexcept {
  ::alarm(0);
  g_limited = 0;
}
}  // namespace

void remove_segments_on_stop_signals() noexcept {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    // A signal ignored from the start (nohup, a background job of a script) stays ignored.
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) {
      ::sigaction(sig, &sa, nullptr);
    }
  }
}

void track_segment(const std::string& name) noexcept {
  // shm_open(name) is the file /dev/shm/<name> on Linux; a name too long is not tracked.
  char* path = g_tracked[g_next_tracked];
  const int n = std::snprintf(path, sizeof g_tracked[0], "/dev/shm/%s", name.c_str());
  if (n < 0 || static_cast<std::size_t>(n) >= sizeof g_tracked[0]) path[0] = 0;
  g_next_tracked = (g_next_tracked + 1) % k_tracked;
}

pair_result run_pair(const std::function<void(pair_control&)>& parent,
                     const std::function<int(pair_control&)>& child) {
  pair_result r;
  void* mem = ::mmap(nullptr, sizeof(pair_control), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    r.ok = false;
    r.error = "mmap of the pair's control block failed";
    return r;
  }
  auto* c = new (mem) pair_control{};
  cpu_set_t saved;
  const bool have_saved = sched_getaffinity(0, sizeof saved, &saved) == 0;
  std::fflush(nullptr);
  const pid_t parent_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::munmap(mem, sizeof(pair_control));
    r.ok = false;
    r.error = "fork failed";
    return r;
  }
  if (pid == 0) {
    if (!die_with_parent(parent_pid)) ::_exit(1);
    // relaxed: published by child_ready's release.
    c->child_cpu.store(pin_to(settings().cpu_b) ? settings().cpu_b : -1, std::memory_order_relaxed);
    c->child_ready.store(1, std::memory_order_release);
    floor_echo(*c, k_probe_rounds);
    int rc = 1;
    try {
      rc = child(*c);
    } catch (const std::exception& e) {
      std::snprintf(c->failure, sizeof c->failure, "peer: %s", e.what());
    }
    if (rc == 0) {
      // Our scenario's buffers and ring are gone by now: the closing probe times the
      // placement, not our teardown. release: pairs with the benchmark side's acquire.
      c->child_ready.store(2, std::memory_order_release);
      floor_echo(*c, k_probe_rounds);
    } else {
      c->child_failed.store(1, std::memory_order_release);
      // The benchmark side sees child_failed where it waits for us, then probes; if it is
      // stuck on the ring instead, our exit stops it (watch_peer).
      if (!floor_echo_until(*c, k_probe_rounds, now_ns() + k_failed_peer_wait_ns)) {
        std::fflush(nullptr);
        ::_exit(rc);
      }
    }
    // The benchmark side watches us through the closing probe (an end during it would leave it
    // spinning there), so we end only once it stopped watching: a few hundred ns after our
    // last echo. acquire: pairs with the release below.
    spin_until([&] { return c->unwatched.load(std::memory_order_acquire) != 0; });
    std::fflush(nullptr);
    ::_exit(rc);
  }
  const struct sigaction old_action = watch_peer(pid, c);
  r.cpu_a = pin_to(settings().cpu_a) ? settings().cpu_a : -1;
  spin_until([&] { return c->child_ready.load(std::memory_order_acquire) != 0; });
  r.cpu_b = static_cast<int>(c->child_cpu.load(std::memory_order_relaxed));  // after the acquire
  r.floor_before_ns = floor_ping(*c, k_probe_rounds);
  try {
    parent(*c);
  } catch (const std::exception& e) {
    unwatch_peer(old_action);
    ::kill(pid, SIGKILL);  // it may wait for us forever
    ::waitpid(pid, nullptr, 0);
    end_pair_limit();
    if (have_saved) sched_setaffinity(0, sizeof saved, &saved);
    ::munmap(mem, sizeof(pair_control));
    r.ok = false;
    r.error = std::string("benchmark side: ") + e.what();
    return r;
  }
  // The closing probe once the peer is done with its scenario (it frees buffers of up to
  // megabytes and unmaps its ring meanwhile, which inflated this probe by up to 77%), or has
  // failed. acquire: pairs with the peer's release stores.
  spin_until([&] {
    return c->child_ready.load(std::memory_order_acquire) == 2 ||
           c->child_failed.load(std::memory_order_acquire) != 0;
  });
  r.floor_after_ns = floor_ping(*c, k_probe_rounds);
  unwatch_peer(old_action);
  c->unwatched.store(1, std::memory_order_release);  // pairs with the peer's acquire above
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  end_pair_limit();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.ok = false;
    r.error = c->failure[0] != 0
                  ? std::string(c->failure)
                  : "the peer process failed (status " + std::to_string(status) + ")";
  }
  if (have_saved) sched_setaffinity(0, sizeof saved, &saved);
  c->~pair_control();
  ::munmap(mem, sizeof(pair_control));
  return r;
}

}  // namespace bench

namespace bench {
double probe_floor() {
  double p50 = 0;  // the median: a busy machine inflates the mean, not the placement
  const auto r =
      run_pair([&](pair_control& c) { p50 = percentile(floor_ping_timed(c, 5000), 0.5); },
               [](pair_control& c) {
                 floor_echo(c, 5000);
                 return 0;
               });
  return r.ok ? p50 : -1;
}
}  // namespace bench
