// Process identity and liveness, Linux: /proc/<pid>/stat (windows/process.cpp: OpenProcess).
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

struct proc_stat {
  char state = '?';
  std::uint64_t start_ticks = 0;
};

// Reads state (field 3) and starttime (field 22) of /proc/<pid>/stat. nullopt: no such process.
// The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
std::optional<proc_stat> read_stat(std::uint32_t pid, int* err) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) {
    *err = errno;
    return std::nullopt;
  }
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
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
    throw error(errc::system, std::string("cannot read /proc/self/stat for the process start "
                                          "time: ") +
                                  std::strerror(err));
  }
  return pid | (s->start_ticks << 32);
}

// Threads still running in process `pid` ("Threads:" of /proc/<pid>/status), 0 if unknown.
static unsigned thread_count(std::uint32_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/status", pid);
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return 0;
  char line[256];
  unsigned n = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "Threads: %u", &n) == 1) break;
  }
  std::fclose(f);
  return n;
}

bool process_alive(std::uint64_t id) noexcept {
  const std::uint32_t pid = identity_pid(id);
  if (pid == 0) return false;
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
  if (s->state == 'Z') return thread_count(pid) > 1;
  return true;
}

}  // namespace ipcring::detail
