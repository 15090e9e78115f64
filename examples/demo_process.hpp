// Child processes for the examples, the same on Linux and Windows. Windows has no fork(), so a
// program that wants a second process starts ITSELF again with a role argument and waits for it:
//
//   if (const char* role = demo::arg(argc, argv, "--role", nullptr)) return run_as(role);
//   demo::child_process pong({"--role", "pong", "--name", name});   // this program, again
//   ...
//   if (pong.wait() != 0) ...                                        // its exit code
//
// Linux: posix_spawn of /proc/self/exe. Windows: CreateProcessA of GetModuleFileNameA(nullptr).
// The child shares stdin, stdout and stderr, and inherits pipe_end handles made before it starts.
#pragma once

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
extern char** environ;
#endif

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace demo {

/// This process's id (getpid, GetCurrentProcessId).
inline int current_pid() noexcept {
#ifdef _WIN32
  return static_cast<int>(GetCurrentProcessId());
#else
  return static_cast<int>(::getpid());
#endif
}

/// This program, started again with `args` as its argv[1..]. Move-only; a child nobody waited
/// for is killed and reaped when its handle is destroyed.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& args);
  child_process(child_process&& o) noexcept
      :
#ifndef _WIN32
        exit_status_(o.exit_status_),
#endif
        id_(std::exchange(o.id_, k_none)) {
  }
  child_process& operator=(child_process&&) = delete;
  ~child_process();

  /// Waits for the child to exit: its exit code (Linux: 128 + N if killed by signal N).
  int wait();
  /// True if the child has exited (its exit code then comes from wait(), at once).
  bool exited();

 private:
#ifdef _WIN32
  using id_type = HANDLE;  // the process handle
  static constexpr id_type k_none = nullptr;
#else
  using id_type = pid_t;
  static constexpr id_type k_none = -1;
  int exit_status_ = -1;  // waitpid's status once exited() reaped the child
#endif
  id_type id_ = k_none;
};

#ifdef _WIN32

/// Appends `arg` to a command line, quoted so that the child's argv holds it unchanged
/// (the CommandLineToArgv rules: backslashes count only before a quote).
inline void append_quoted(std::string& cmd, const std::string& arg) {
  cmd.append(" \"");
  std::size_t backslashes = 0;
  for (const char c : arg) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    cmd.append(c == '"' ? 2 * backslashes + 1 : backslashes, '\\');
    cmd.push_back(c);
    backslashes = 0;
  }
  cmd.append(2 * backslashes, '\\');
  cmd.push_back('"');
}

inline child_process::child_process(const std::vector<std::string>& args) {
  char exe[MAX_PATH];
  const DWORD n = GetModuleFileNameA(nullptr, exe, sizeof exe);
  if (n == 0 || n == sizeof exe) throw std::runtime_error("GetModuleFileNameA failed");
  std::string cmd(1, '"');
  cmd.append(exe, n).push_back('"');
  for (const auto& a : args)
    append_quoted(cmd, a);
  STARTUPINFOA si{};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi{};
  // TRUE: the child inherits the inheritable handles, among them stdio and pipe_end's.
  if (CreateProcessA(exe, cmd.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi) == 0) {
    throw std::runtime_error("CreateProcessA failed: error " + std::to_string(GetLastError()));
  }
  CloseHandle(pi.hThread);
  id_ = pi.hProcess;
}

inline int child_process::wait() {
  if (id_ == k_none) return -1;
  DWORD code = 1;
  if (WaitForSingleObject(id_, INFINITE) != WAIT_OBJECT_0 || GetExitCodeProcess(id_, &code) == 0)
    code = 1;
  CloseHandle(std::exchange(id_, k_none));
  return static_cast<int>(code);
}

inline bool child_process::exited() {
  return id_ == k_none || WaitForSingleObject(id_, 0) == WAIT_OBJECT_0;
}

inline child_process::~child_process() {
  if (id_ == k_none) return;
  TerminateProcess(id_, 1);
  wait();
}

#else

inline child_process::child_process(const std::vector<std::string>& args) {
  std::string self = "/proc/self/exe";
  std::vector<char*> argv{self.data()};
  std::vector<std::string> copy = args;  // posix_spawn takes char* const*
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  if (const int err = ::posix_spawn(&id_, self.c_str(), nullptr, nullptr, argv.data(), environ)) {
    id_ = k_none;
    throw std::runtime_error("posix_spawn of /proc/self/exe failed: error " + std::to_string(err));
  }
}

inline int child_process::wait() {
  if (id_ == k_none) return -1;
  int status = exit_status_;
  if (status < 0 && ::waitpid(std::exchange(id_, k_none), &status, 0) < 0) return -1;
  id_ = k_none;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

inline bool child_process::exited() {
  if (id_ == k_none) return true;
  if (exit_status_ >= 0) return true;
  int status = 0;
  if (::waitpid(id_, &status, WNOHANG) != id_) return false;
  exit_status_ = status;  // reaped: wait() reads it from here
  return true;
}

inline child_process::~child_process() {
  if (id_ == k_none) return;
  if (exit_status_ < 0) ::kill(id_, SIGKILL);
  wait();
}

#endif

/// One end of an anonymous pipe. Children started while it is open inherit it, unless
/// keep_here() said otherwise; it travels to them as a number in an argument (arg(),
/// from_arg(): a file descriptor, or a HANDLE's value on Windows). Keep the ends that stay in
/// this process out of children: a child holding the write end of its own input never reads
/// end of file when this process dies. Move-only; closes on destruction. read_some/write_some move
/// bytes in one call each, blocking; they return the count, or a negative number on error and 0 at
/// end of file.
class pipe_end {
 public:
  /// A new pipe: {read end, write end}.
  static std::pair<pipe_end, pipe_end> create();
  /// Adopts an end inherited from the parent, by the number its arg() gave.
  static pipe_end from_arg(const char* arg) {
    return pipe_end(static_cast<id_type>(std::strtoll(arg, nullptr, 10)));
  }
  std::string arg() const { return std::to_string(static_cast<long long>(id_)); }

  pipe_end(pipe_end&& o) noexcept : id_(std::exchange(o.id_, k_none)) {}
  pipe_end& operator=(pipe_end&&) = delete;
  ~pipe_end() { close(); }
  void close() noexcept;
  /// Children started from now on do not inherit this end.
  void keep_here();

  long long read_some(void* to, std::size_t n) noexcept;
  long long write_some(const void* from, std::size_t n) noexcept;

 private:
#ifdef _WIN32
  using id_type = std::intptr_t;  // a HANDLE, as a number
  static constexpr id_type k_none = 0;
  HANDLE handle() const noexcept {
    return reinterpret_cast<HANDLE>(id_);
  }
#else
  using id_type = int;
  static constexpr id_type k_none = -1;
#endif
  explicit pipe_end(id_type id) noexcept : id_(id) {}
  id_type id_ = k_none;
};

#ifdef _WIN32

inline std::pair<pipe_end, pipe_end> pipe_end::create() {
  SECURITY_ATTRIBUTES inherit{sizeof inherit, nullptr, TRUE};
  HANDLE r = nullptr, w = nullptr;
  if (CreatePipe(&r, &w, &inherit, 0) == 0) {
    throw std::runtime_error("CreatePipe failed: error " + std::to_string(GetLastError()));
  }
  return {pipe_end(reinterpret_cast<id_type>(r)), pipe_end(reinterpret_cast<id_type>(w))};
}

inline void pipe_end::close() noexcept {
  if (id_ != k_none) CloseHandle(reinterpret_cast<HANDLE>(std::exchange(id_, k_none)));
}

inline void pipe_end::keep_here() {
  if (SetHandleInformation(handle(), HANDLE_FLAG_INHERIT, 0) == 0) {
    throw std::runtime_error("SetHandleInformation failed: error " +
                             std::to_string(GetLastError()));
  }
}

inline long long pipe_end::read_some(void* to, std::size_t n) noexcept {
  DWORD got = 0;
  if (ReadFile(handle(), to, static_cast<DWORD>(n), &got, nullptr) == 0) {
    return GetLastError() == ERROR_BROKEN_PIPE ? 0 : -1;  // the writer is gone: end of file
  }
  return got;
}

inline long long pipe_end::write_some(const void* from, std::size_t n) noexcept {
  DWORD put = 0;
  if (WriteFile(handle(), from, static_cast<DWORD>(n), &put, nullptr) == 0) return -1;
  return put;
}

#else

inline std::pair<pipe_end, pipe_end> pipe_end::create() {
  int fd[2];
  if (::pipe(fd) != 0) throw std::runtime_error("pipe failed");
  return {pipe_end(fd[0]), pipe_end(fd[1])};
}

inline void pipe_end::close() noexcept {
  if (id_ != k_none) ::close(std::exchange(id_, k_none));
}

inline void pipe_end::keep_here() {
  if (::fcntl(id_, F_SETFD, FD_CLOEXEC) != 0) throw std::runtime_error("fcntl(FD_CLOEXEC) failed");
}

inline long long pipe_end::read_some(void* to, std::size_t n) noexcept {
  return ::read(id_, to, n);
}

inline long long pipe_end::write_some(const void* from, std::size_t n) noexcept {
  return ::write(id_, from, n);
}

#endif

}  // namespace demo
