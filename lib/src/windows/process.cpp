// Process identity and liveness, Windows: OpenProcess, the exit state of its handle, and the
// creation time against pid reuse (posix/process.cpp is the Linux counterpart).
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <string>

#include "ipcring/detail/role.hpp"
#include "ipcring/error.hpp"

namespace ipcring::detail {
namespace {

// Low 32 bits of the creation time in milliseconds since 1601: pid | start << 32 names one
// process (a reused pid has another creation time; the ms count wraps after 49 days).
bool start_ms(HANDLE process, std::uint32_t* out) noexcept {
  FILETIME created{}, exited{}, kernel{}, user{};
  if (GetProcessTimes(process, &created, &exited, &kernel, &user) == 0) return false;
  const std::uint64_t t =
      (static_cast<std::uint64_t>(created.dwHighDateTime) << 32) | created.dwLowDateTime;
  *out = static_cast<std::uint32_t>(t / 10'000);  // 100 ns units to ms
  return true;
}

}  // namespace

std::uint32_t current_pid() noexcept {
  return static_cast<std::uint32_t>(GetCurrentProcessId());
}

std::uint64_t self_identity() {
  std::uint32_t start = 0;
  if (!start_ms(GetCurrentProcess(), &start)) {
    throw error(errc::system, "GetProcessTimes of this process failed (error " +
                                  std::to_string(GetLastError()) + ")");
  }
  return current_pid() | (static_cast<std::uint64_t>(start) << 32);
}

bool process_alive(std::uint64_t id) noexcept {
  const std::uint32_t pid = identity_pid(id);
  if (pid == 0) return false;
  // SYNCHRONIZE tells exit for certain; it can be refused (another user's or an elevated
  // process) where a query is still allowed, and then the exit code has to do.
  bool can_wait = true;
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, pid);
  if (h == nullptr && GetLastError() == ERROR_ACCESS_DENIED) {
    can_wait = false;
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  }
  if (h == nullptr) {
    // No such process: ERROR_INVALID_PARAMETER. Anything else (access denied: another user's
    // process) does not prove death, and the living are never robbed.
    return GetLastError() != ERROR_INVALID_PARAMETER;
  }
  bool alive = true;
  if (can_wait) {
    // signalled once it has exited; a failed wait proves nothing, and the living are never robbed
    alive = WaitForSingleObject(h, 0) != WAIT_OBJECT_0;
  } else {
    DWORD code = 0;  // STILL_ACTIVE also when it exited with 259: then counted alive
    alive = GetExitCodeProcess(h, &code) == 0 || code == STILL_ACTIVE;
  }
  std::uint32_t start = 0;
  if (alive && start_ms(h, &start) && start != static_cast<std::uint32_t>(id >> 32)) {
    alive = false;  // the pid now belongs to another process
  }
  CloseHandle(h);
  return alive;
}

}  // namespace ipcring::detail
