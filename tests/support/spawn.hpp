// Child processes on every platform: the test binary starts itself again with a role argument
// ("--ipcring-child <role> <args>..."), the way a Windows test must (there is no fork), so the
// same two-process tests run on Linux and on Windows.
//
//   IPCRING_CHILD_ROLE(echo) {                  // int echo(const std::vector<std::string>& args)
//     auto rx = spsc_ring<u64>::open(args.at(0)).consumer();  ...  return 0;
//   }
//   spawned_process child("echo", {segment_name});
//   EXPECT_EQ(child.exit_code(), 0);
//
// Test binaries that use it link support/spawn.cpp (which holds main()) instead of gtest_main.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ipcring::test {

using child_body = int (*)(const std::vector<std::string>& args);

/// Roles this binary can be started as, by name.
inline std::map<std::string, child_body>& child_roles() {
  static std::map<std::string, child_body> roles;
  return roles;
}

struct child_role_registrar {
  child_role_registrar(const char* name, child_body body) { child_roles()[name] = body; }
};

#define IPCRING_CHILD_ROLE(name)                                                  \
  static int name##_child_role(const std::vector<std::string>& args);             \
  static const ::ipcring::test::child_role_registrar name##_child_role_registrar{ \
      #name, &name##_child_role};                                                 \
  static int name##_child_role(const std::vector<std::string>& args)

/// Exit code of a child that was killed (TerminateProcess's code on Windows; on POSIX a child
/// killed by SIGKILL reports this too).
inline constexpr int k_killed_exit_code = 137;

/// This binary, started again as `role` with `args`. Killed if still running when destroyed.
class spawned_process {
 public:
  spawned_process(const std::string& role, const std::vector<std::string>& args);
  ~spawned_process();
  spawned_process(const spawned_process&) = delete;
  spawned_process& operator=(const spawned_process&) = delete;

  std::uint32_t pid() const noexcept { return pid_; }
  /// Kills the child (SIGKILL, TerminateProcess); exit_code() then reports k_killed_exit_code.
  void kill() noexcept;
  /// Waits up to `limit`; the child's exit code, or -1 on timeout (the child is then killed).
  int exit_code(std::chrono::milliseconds limit = std::chrono::seconds(60));

 private:
  std::uint32_t pid_ = 0;
  void* handle_ = nullptr;  // Windows: the process handle
  bool reaped_ = false;
  int code_ = -1;
};

/// main() of the test binaries that spawn: runs a child role if asked to, else the tests.
int run_child_or_tests(int argc, char** argv);

}  // namespace ipcring::test
