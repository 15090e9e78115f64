// Process identity and liveness, Linux: /proc/<pid>/stat (windows/process.cpp: OpenProcess).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "ipcring/detail/role.hpp"
#include "ipcring/error.hpp"

namespace ipcring::detail {
namespace {

// Reads the file at `path` into buf (NUL-terminated) with plain syscalls: no FILE, so no
// allocation (a publish that wakes sleepers may sweep for dead ones, mpmc_ring.hpp). Bytes
// read, or -1 with errno set.
long read_small_file(const char* path, char* buf, std::size_t size) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::size_t n = 0;
  while (n < size - 1) {
    const ssize_t got = ::read(fd, buf + n, size - 1 - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
    if (got == 0) break;
    n += static_cast<std::size_t>(got);
  }
  ::close(fd);
  buf[n] = '\0';
  return static_cast<long>(n);
}

struct proc_stat {
  char state = '?';
  std::uint64_t start_ticks = 0;
};

// Reads state (field 3) and starttime (field 22) of /proc/<pid>/stat. nullopt: no such process.
// The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
std::optional<proc_stat> read_stat(std::uint32_t pid, int* err) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  char buf[1024];
  if (read_small_file(path, buf, sizeof buf) < 0) {
    *err = errno;
    return std::nullopt;
  }
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) {
    *err = EINVAL;
    return std::nullopt;
  }
  proc_stat s;
  // After ") ": field 3 is the state; starttime is field 22, i.e. the 20th token after it.
  char* cursor = const_cast<char*>(p + 1);
  int field = 2;
  for (char* tok = strtok_r(cursor, " ", &cursor); tok != nullptr;
       tok = strtok_r(nullptr, " ", &cursor)) {
    ++field;
    if (field == 3) s.state = tok[0];
    if (field == 22) {
      s.start_ticks = std::strtoull(tok, nullptr, 10);
      return s;
    }
  }
  *err = EINVAL;
  return std::nullopt;
}

}  // namespace

std::uint32_t current_pid() noexcept {
  return static_cast<std::uint32_t>(::getpid());
}

std::uint64_t self_identity() {
  const auto pid = current_pid();
  int err = 0;
  const auto s = read_stat(pid, &err);
  if (!s) {
    throw error(errc::system, "cannot read /proc/" + std::to_string(pid) +
                                  "/stat for the process start time: " + std::strerror(err));
  }
  return pid | (s->start_ticks << 32);
}

// Threads still running in process `pid` ("Threads:" of /proc/<pid>/status). nullopt if the
// file cannot be read or parsed, with *err: the errno (ENOENT, ESRCH: the process is gone), or
// EINVAL for a file without the line.
static std::optional<unsigned> thread_count(std::uint32_t pid, int* err) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/status", pid);
  char buf[4096];  // the whole file (about 1.5 KiB); "Threads:" is in its first half
  if (read_small_file(path, buf, sizeof buf) < 0) {
    *err = errno;
    return std::nullopt;
  }
  const char* line = std::strstr(buf, "\nThreads:");
  unsigned n = 0;
  if (line == nullptr || std::sscanf(line + 1, "Threads: %u", &n) != 1) {
    *err = EINVAL;
    return std::nullopt;
  }
  return n;
}

bool process_alive(std::uint64_t id) noexcept {
  const std::uint32_t pid = identity_pid(id);
  // Linux never hands out a pid above PID_MAX_LIMIT (2^22): a larger one is forged, and as a
  // negative pid_t kill() below would probe a process group (-1: every process) instead.
  constexpr std::uint32_t k_pid_max_limit = 1u << 22;
  if (pid == 0 || pid > k_pid_max_limit) return false;
  int err = 0;
  const auto s = read_stat(pid, &err);
  if (!s) {
    // No /proc entry does not prove death: /proc may hide other users' processes (hidepid).
    // Ask the kernel: ESRCH means no such process; success or EPERM means it exists.
    return !(::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
  }
  if (static_cast<std::uint32_t>(s->start_ticks) != static_cast<std::uint32_t>(id >> 32)) {
    return false;  // the pid now belongs to another process
  }
  if (s->state == 'X' || s->state == 'x') return false;
  // A zombie has exited, unless only its main thread did (pthread_exit) and others still run.
  if (s->state == 'Z') {
    const auto threads = thread_count(pid, &err);
    if (threads) return *threads > 1;
    // Gone since: dead. A failure that cannot tell (EMFILE, ENOMEM, a file without the line)
    // counts as alive, as everywhere here: a role is never taken from a holder that may live.
    return err != ENOENT && err != ESRCH;
  }
  return true;
}

}  // namespace ipcring::detail
