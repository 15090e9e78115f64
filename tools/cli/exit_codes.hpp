// tools/cli/exit_codes.hpp: the exit codes of `ipcring` (docs/cli.md) and the one exception
// type commands throw to end with one of them.
#pragma once

#include <stdexcept>
#include <string>

#include "ipcring/error.hpp"

namespace ipcring::cli {

/// What `ipcring` exits with. Values are documented (docs/cli.md) and never change meaning.
enum class exit_code : int {
  ok = 0,
  error = 1,         ///< any other failure (I/O, the peer died, a line too long, ...)
  usage = 2,         ///< bad command line or argument value (also the library's invalid_*)
  not_found = 3,     ///< no ring of that name (or no benchmark program)
  timeout = 4,       ///< recv --timeout passed without a message
  incompatible = 5,  ///< not a ring, or one this build cannot use (magic, version, kind, ...)
  busy = 6,          ///< the role is held by a live process (or every endpoint record is)
};

/// A command's failure: the message (naming the ring and the cause) goes to stderr, prefixed
/// with "ipcring <command>: ", and the process exits with `code`.
class failure : public std::runtime_error {
 public:
  failure(exit_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  exit_code code() const noexcept { return code_; }

 private:
  exit_code code_;
};

/// The exit code of a library error.
exit_code exit_code_for(errc e) noexcept;
/// The exit code of a C API status (ipcring_status; negative values are negated errc).
exit_code exit_code_for_status(int status) noexcept;

}  // namespace ipcring::cli
