// tools/cli/opened_segment.hpp: a segment's file, opened by name and held, so that a command
// can tell whether the ring it opened through the library is still the one under that name,
// and read that ring's state from it rather than from whatever holds the name later.
#pragma once

#include <optional>
#include <string>

#include "exit_codes.hpp"
#include "ipcring/inspect.hpp"

namespace ipcring::cli {

// A ring may be removed and a new one made under its name at any time. A command that must
// know what it opened opens the file first, the ring second (open_ring), and then asks
// same_ready_ring(): a file kept open keeps its inode number, and shm_unlink() cannot give it
// back a name it lost, so if the name leads to it now, it led to it the whole time, when the
// ring was opened too (unless somebody linked or renamed files in /dev/shm meanwhile, which
// no ipcring program does).
class opened_segment {
 public:
  /// Opens the segment's file by name, read-only (nothing is locked). Call before opening the
  /// ring; a missing file is told by same_ready_ring().
  explicit opened_segment(const std::string& name);
  ~opened_segment();
  opened_segment(const opened_segment&) = delete;
  opened_segment& operator=(const opened_segment&) = delete;

  /// After opening the ring: true if the name still leads to the file opened above and it is
  /// a ready ring (the ring opened is then this file). False if it does not (or the file was
  /// absent, then or now): the caller opens both again. ipcring::error if the file cannot be
  /// opened for another reason than its absence (e.g. too many open files). `who` starts the
  /// error's message (e.g. "send 'jobs'").
  bool same_ready_ring(const std::string& who) const;
  /// The state of the segment opened (inspect() of it, mapped read-only). ipcring::error if it
  /// cannot be mapped or does not read as a ring.
  ring_info read(const std::string& who) const;
  /// The descriptor (-1 if the file could not be opened), e.g. to flock it.
  int fd() const noexcept { return fd_; }

 private:
  std::string name_;
  int fd_;
  int open_errno_;  // why fd_ is -1
};

/// Opens `file` by name, then calls `open_by_name()` (the command's own open or look of the
/// ring by name, with its errors: not found, not a ring), until the name still leads to that
/// file afterwards; a name replaced 100 times in a row fails. Returns what open_by_name()
/// returned, which is then the ring in `file`. `command` names the command in messages.
template <class Open>
auto open_with_file(const std::string& name, const std::string& command,
                    std::optional<opened_segment>& file, Open&& open_by_name) {
  for (int attempt = 1;; ++attempt) {
    file.emplace(name);
    auto opened = open_by_name();
    if (file->same_ready_ring(command + " '" + name + "'")) return opened;
    if (attempt == 100) {
      throw failure(exit_code::error, "'" + name + "': the ring under this name kept being " +
                                          "replaced while " + command + " opened it (100 times)");
    }
  }
}

}  // namespace ipcring::cli
