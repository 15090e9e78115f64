// The message the producer/consumer demo sends, and the helpers both sides share.
#pragma once

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX  // keep std::min and std::max usable
#endif
#include <windows.h>
#else
#include <sched.h>
#endif

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ipcring/ipcring.hpp"

namespace demo {

struct message {
  std::uint64_t seq;      // 0, 1, 2, ...
  std::uint64_t payload;  // mix(seq): the consumer recomputes it to catch torn or stale slots
};

/// splitmix64: a cheap, well-mixed function of the sequence number.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Pins the calling process to `cpu` (if >= 0 and present); says what it did on stderr.
inline void pin(const char* who, int cpu) {
  if (cpu < 0) return;
#ifdef _WIN32
  const bool pinned = cpu < 64 && SetProcessAffinityMask(GetCurrentProcess(),
                                                         static_cast<DWORD_PTR>(1) << cpu) != 0;
#else
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const bool pinned = sched_setaffinity(0, sizeof set, &set) == 0;
#endif
  if (pinned) {
    std::fprintf(stderr, "%s: pinned to cpu %d\n", who, cpu);
  } else {
    std::fprintf(stderr, "%s: could not pin to cpu %d, running unpinned\n", who, cpu);
  }
}

/// "--flag value" lookup: returns the value or `def`.
inline const char* arg(int argc, char** argv, std::string_view flag, const char* def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (flag == argv[i]) return argv[i + 1];
  }
  return def;
}
inline bool has_flag(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    if (flag == argv[i]) return true;
  }
  return false;
}

/// "--flag N": a whole number in [lo, hi], or `def` when the flag is absent. Anything else (not
/// a number, trailing characters, out of range) ends the program with exit code 2 and a message
/// that names `who` and the option.
inline long long number(const char* who, int argc, char** argv, std::string_view flag,
                        long long def, long long lo, long long hi) {
  const char* text = arg(argc, argv, flag, nullptr);
  if (text == nullptr) return def;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    std::fprintf(stderr, "%s: %.*s wants a whole number from %lld to %lld, not '%s'\n", who,
                 static_cast<int>(flag.size()), flag.data(), lo, hi, text);
    std::exit(2);
  }
  return v;
}

/// Removes the ring `name` if an earlier run left it: everyone who attached died (stale), its
/// creator died before it was ready, or its producer closed and left with nobody attached
/// (unread messages go with it). Says what it did; false if the ring is in use (a live process
/// has it open, even holding no role), was not there, or is not a ring this version reads (then
/// left alone: it may be another program's). Judged and removed through one view, which
/// removes it only while no other process has it open (map_view::remove_if_unused).
inline bool remove_left_over(const char* who, const std::string& name) {
  if (ipcring::remove_if_stale(name)) {  // judged and removed through one view
    std::fprintf(stderr, "%s: removed '%s', left by an earlier run that died\n", who, name.c_str());
    return true;
  }
  try {
    const ipcring::map_view v = ipcring::map_view::open(name);
    const ipcring::ring_info info = ipcring::inspect(v, name);
    // A stale ring remove_if_stale kept is open in a live process: in use, as is any other.
    if (!(info.endpoints.empty() && info.producer_closed)) return false;
    if (!v.remove_if_unused()) return false;
    std::fprintf(stderr, "%s: removed '%s', left by an earlier run (%llu messages in it)\n", who,
                 name.c_str(), static_cast<unsigned long long>(info.used));
    return true;
  } catch (const ipcring::error& e) {
    if (e.code() != ipcring::errc::not_found) {
      std::fprintf(stderr, "%s: leaving '%s' alone: %s\n", who, name.c_str(), e.what());
    }
    return false;
  }
}

/// While alive, SIGINT and SIGTERM close one side of a ring through `token` (close() is
/// async-signal-safe); afterwards they are back to their defaults. Declare it after the ring
/// handle the token came from, so that it is gone before the handle and its mapping are.
class close_on_signal {
 public:
  explicit close_on_signal(ipcring::close_token token) {
    stop_token() = token;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
  }
  ~close_on_signal() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  close_on_signal(const close_on_signal&) = delete;
  close_on_signal& operator=(const close_on_signal&) = delete;

 private:
  static ipcring::close_token& stop_token() {
    static ipcring::close_token t;
    return t;
  }
  static void on_signal(int) { stop_token().close(); }
};

/// Removes the segments it names when it goes (a return, an exception) and on SIGINT or SIGTERM,
/// after which the process ends by that signal, as it would have: a demo stopped by Ctrl-C or
/// failing half-way leaves no segment in /dev/shm. Make it for names that are this run's own
/// (its pid in them, or removed before the create), one at a time per process, and not beside
/// a close_on_signal (each takes the signals over). The handler calls only ipcring::remove,
/// which unlinks a valid name without allocating. Windows: a segment goes with its last handle
/// anyway, and removing does nothing there, so the signals are left alone.
class remove_on_exit {
 public:
  explicit remove_on_exit(std::initializer_list<std::string> names) {
    list().assign(names);  // before the handlers: they only read it
#ifndef _WIN32
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
#endif
  }
  ~remove_on_exit() {
#ifndef _WIN32
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
#endif
    for (const std::string& n : list())
      ipcring::remove(n);
  }
  remove_on_exit(const remove_on_exit&) = delete;
  remove_on_exit& operator=(const remove_on_exit&) = delete;

 private:
  static std::vector<std::string>& list() {
    static std::vector<std::string> names;
    return names;
  }
  static void on_signal(int sig) {
    for (const std::string& n : list())
      ipcring::remove(n);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
};

}  // namespace demo

// Both sides name the element type, so builds by different compilers agree on it.
template <>
struct ipcring::type_tag<demo::message> {
  static constexpr std::string_view name = "ipcring.demo.message/v1";
};
