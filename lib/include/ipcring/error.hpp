// ipcring/error.hpp: the one exception type of setup calls and the codes it carries.
//
// Two error worlds (README.md, "Errors"):
//   * setup (create, open, role claims) throws ipcring::error, a std::system_error whose code()
//     is an ipcring::errc and whose what() names the segment, the value and the rule;
//   * the hot path (try_push, try_pop, ...) is noexcept and answers with bool or a count;
//   * cleanup (remove) never throws.
#pragma once

#include <string>
#include <system_error>

namespace ipcring {

/// Why a setup call failed. Values are stable: they appear in logs, and negated as the C
/// API's IPCRING_E_ statuses.
enum class errc : int {
  invalid_name = 1,         ///< empty, too long, contains '/', '\\' or NUL, or "." / ".."
  invalid_argument = 2,     ///< e.g. capacity=1000 is not a power of two
  already_exists = 3,       ///< create: a segment of that name exists
  not_found = 4,            ///< open: no segment of that name
  permission_denied = 5,    ///< the OS refused access to the segment or file
  too_small = 6,            ///< the segment is smaller than its header (or the ring) needs
  not_ready = 7,            ///< the creator did not publish `ready` in time (died mid-creation?)
  bad_magic = 8,            ///< not an ipcring segment (nor a regular file: a FIFO, say)
  version_mismatch = 9,     ///< layout_version differs from this build's
  kind_mismatch = 10,       ///< e.g. opened an mpmc ring as an spsc ring
  type_mismatch = 11,       ///< element size, alignment, slot size or type name differ
  corrupted = 12,           ///< a header field is impossible (capacity 0, offsets out of range)
  busy = 13,                ///< the role (producer/consumer) is held by a live process
  system = 14,              ///< any other OS failure; the message carries the OS error text
  no_space = 15,            ///< no room for the segment (/dev/shm or the file system is full)
  too_many_endpoints = 16,  ///< every endpoint record of a multi-producer/consumer ring is held
};

/// The error category of ipcring::errc; name() is "ipcring".
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Thrown by every setup call. `code() == ipcring::errc::busy` compares as expected.
class error : public std::system_error {
 public:
  error(errc e, const std::string& what) : std::system_error(make_error_code(e), what) {}
  errc value() const noexcept { return static_cast<errc>(code().value()); }
};

/// Short name of a code ("busy", "type_mismatch"), as listed in the README.
const char* to_string(errc e) noexcept;

}  // namespace ipcring

template <>
struct std::is_error_code_enum<ipcring::errc> : std::true_type {};
