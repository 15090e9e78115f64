// spawned_process for POSIX (posix_spawn of /proc/self/exe) and Windows (CreateProcess of the
// module's own path), and the main() that dispatches to a child role.
#include "support/spawn.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string_view>
#include <thread>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
extern char** environ;
#endif

namespace ipcring::test {

namespace {
constexpr std::string_view k_child_flag = "--ipcring-child";
}

#ifdef _WIN32

spawned_process::spawned_process(const std::string& role, const std::vector<std::string>& args) {
  char exe[MAX_PATH];
  const DWORD n = GetModuleFileNameA(nullptr, exe, sizeof exe);
  if (n == 0 || n == sizeof exe) throw std::runtime_error("GetModuleFileName failed");
  // Arguments here are names and numbers: quoting each is enough (none holds a quote).
  // (Appended piece by piece: gcc 12 warns falsely, -Wrestrict, on a chain of operator+.)
  std::string cmd(1, '"');
  cmd.append(exe).append("\" ").append(k_child_flag).append(" ").append(role);
  for (const auto& a : args)
    cmd.append(" \"").append(a).append("\"");
  STARTUPINFOA si{};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi{};
  if (CreateProcessA(nullptr, cmd.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi) ==
      0) {
    throw std::runtime_error("CreateProcess failed: error " + std::to_string(GetLastError()));
  }
  CloseHandle(pi.hThread);
  handle_ = pi.hProcess;
  pid_ = pi.dwProcessId;
}

spawned_process::~spawned_process() {
  if (!reaped_) {
    kill();
    WaitForSingleObject(handle_, INFINITE);
  }
  CloseHandle(handle_);
}

void spawned_process::kill() noexcept {
  TerminateProcess(handle_, k_killed_exit_code);
}

int spawned_process::exit_code(std::chrono::milliseconds limit) {
  if (reaped_) return code_;
  if (WaitForSingleObject(handle_, static_cast<DWORD>(limit.count())) != WAIT_OBJECT_0) {
    kill();
    WaitForSingleObject(handle_, INFINITE);
    reaped_ = true;
    return code_ = -1;
  }
  DWORD code = 0;
  GetExitCodeProcess(handle_, &code);
  reaped_ = true;
  return code_ = static_cast<int>(code);
}

#else

spawned_process::spawned_process(const std::string& role, const std::vector<std::string>& args) {
  std::vector<std::string> argv_s{"/proc/self/exe", std::string(k_child_flag), role};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ);
  if (err != 0) throw std::runtime_error("posix_spawn failed: error " + std::to_string(err));
  pid_ = static_cast<std::uint32_t>(pid);
}

spawned_process::~spawned_process() {
  if (!reaped_) {
    kill();
    ::waitpid(static_cast<pid_t>(pid_), nullptr, 0);
  }
}

void spawned_process::kill() noexcept {
  ::kill(static_cast<pid_t>(pid_), SIGKILL);
}

int spawned_process::exit_code(std::chrono::milliseconds limit) {
  if (reaped_) return code_;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  pid_t r = 0;
  while ((r = ::waitpid(static_cast<pid_t>(pid_), &status, WNOHANG)) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill();
      ::waitpid(static_cast<pid_t>(pid_), nullptr, 0);
      reaped_ = true;
      return code_ = -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  reaped_ = true;
  if (r < 0) return code_ = -2;  // not our child any more: no exit code to report
  if (WIFEXITED(status)) return code_ = WEXITSTATUS(status);
  return code_ = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? k_killed_exit_code
                                                                    : 1000 + WTERMSIG(status);
}

#endif

int run_child_or_tests(int argc, char** argv) {
  if (argc >= 3 && argv[1] == k_child_flag) {
#ifndef _WIN32
    die_with_parent(0);
#endif
    const auto it = child_roles().find(argv[2]);
    if (it == child_roles().end()) {
      std::fprintf(stderr, "no child role '%s' in this binary\n", argv[2]);
      return 97;
    }
    try {
      return it->second(std::vector<std::string>(argv + 3, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %s: %s\n", argv[2], e.what());
      return 98;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

}  // namespace ipcring::test

int main(int argc, char** argv) {
  return ipcring::test::run_child_or_tests(argc, argv);
}
