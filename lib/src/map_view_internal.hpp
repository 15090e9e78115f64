// What the map-view layer's platform files (posix/map_view.cpp, windows/map_view.cpp) share.
// Internal to lib/src (map_view.cpp includes it too); with the platform files, the only code
// that includes Boost.Interprocess.
#pragma once

#include <boost/interprocess/exceptions.hpp>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "in_quotes.hpp"
#include "ipcring/error.hpp"
#include "ipcring/map_view.hpp"

namespace ipcring::detail {

/// A stamp must fit in the segment or file it starts. `what`: "create" or "create_file".
inline void check_stamp(std::string_view what, std::string_view name, std::size_t size,
                        std::span<const std::byte> stamp) {
  if (stamp.size() > size) {
    throw error(errc::invalid_argument, std::string(what) + " " + in_quotes(name) +
                                            ": a stamp of " + std::to_string(stamp.size()) +
                                            " bytes does not fit in " + std::to_string(size));
  }
}

/// create's checks of its arguments, the same on every platform.
inline void check_create(std::string_view name, std::size_t size,
                         std::span<const std::byte> stamp = {}) {
  validate_name(name);
  if (size == 0) throw error(errc::invalid_argument, "create " + in_quotes(name) + ": size=0");
  check_stamp("create", name, size, stamp);
}

/// open_file's checks before mapping: a path, to an existing file, not empty if `check_size`
/// (POSIX checks the size of the file it opened instead, after who controls it). Returns the
/// path as a string for messages.
inline std::string file_to_open(const std::filesystem::path& path, bool check_size = true) {
  std::string p = path.string();
  if (p.empty()) throw error(errc::invalid_name, "open_file: empty path");
  std::error_code ec;
  // A FIFO, directory or device at the path is no segment (file_size would say only "not
  // supported").
  if (const auto st = std::filesystem::status(path, ec);
      !ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) {
    throw error(errc::bad_magic,
                "open_file " + in_quotes(p) + ": not a regular file, so not an ipcring segment");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    const errc code = ec == std::errc::no_such_file_or_directory ? errc::not_found
                      : ec == std::errc::permission_denied       ? errc::permission_denied
                                                                 : errc::system;
    throw error(code, "open_file " + in_quotes(p) + ": " + ec.message());
  }
  if (check_size && size == 0) {
    throw error(errc::not_ready, "open_file " + in_quotes(p) + ": file has size 0");
  }
  return p;
}

/// Bytes between the pre-faulting touches: the smallest page size of the supported platforms.
inline constexpr std::size_t k_page = 4096;

// Maps a Boost.Interprocess failure to our code, with a message naming the segment.
[[noreturn]] inline void rethrow(const boost::interprocess::interprocess_exception& e,
                                 std::string_view what, std::string_view name) {
  errc code = errc::system;
  switch (e.get_error_code()) {
    case boost::interprocess::already_exists_error:
      code = errc::already_exists;
      break;
    case boost::interprocess::not_found_error:
    case boost::interprocess::not_such_file_or_directory:
      code = errc::not_found;
      break;
    case boost::interprocess::security_error:
      code = errc::permission_denied;
      break;
    case boost::interprocess::out_of_space_error:   // ENOSPC; Windows: disk full
    case boost::interprocess::out_of_memory_error:  // ENOMEM; Windows: past the commit limit
      code = errc::no_space;
      break;
    default:
#ifdef _WIN32
      if (e.get_native_error() == 1455) code = errc::no_space;  // ERROR_COMMITMENT_LIMIT
#endif
      break;
  }
  std::string msg = std::string(what) + " " + in_quotes(name) + ": ";
  switch (code) {
    case errc::already_exists:
      msg += "a segment of that name already exists";
      break;
    case errc::not_found:
      msg += "no segment of that name exists";
      break;
    case errc::permission_denied:
      msg += "permission denied (this user may not read and write it)";
      break;
    case errc::no_space:
      msg += std::string("no space or memory for it (") + e.what() + ")";
      break;
    default:
      msg += e.what();
      break;
  }
  throw error(code, msg);
}

// Maps every page now, so the hot path never takes a page fault. Pages reserved by
// posix_fallocate (and every page of an existing segment) are only read: a read fault on a
// shared writable mapping installs a writable entry, and reading never disturbs data. A fresh
// segment that could not be reserved is written, each page's first byte with what it holds
// (zero, or the stamp map_view::create wrote first).
inline void prefault(std::byte* p, std::size_t n, bool write) {
  for (std::size_t off = 0; off < n; off += k_page) {
    auto* b = reinterpret_cast<volatile unsigned char*>(p + off);
    if (write) {
      *b = *b;
    } else {
      (void)*b;
    }
  }
}

}  // namespace ipcring::detail
