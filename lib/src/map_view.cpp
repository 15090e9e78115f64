// The platform-neutral part of the map-view layer: name rules and moves. Creating, opening and
// removing segments is platform code; Boost.Interprocess is included by the map view's files
// only (these, and map_view_internal.hpp, which this file shares with them):
//   posix/map_view.cpp    POSIX shared memory (shm_open: /dev/shm/<name> on Linux)
//   windows/map_view.cpp  named file mappings (CreateFileMapping / MapViewOfFile)
#include "ipcring/map_view.hpp"

#include <utility>

#include "ipcring/error.hpp"
#include "map_view_internal.hpp"

namespace ipcring {

void validate_name(std::string_view name) {
  auto bad = [&](const std::string& rule) {
    throw error(errc::invalid_name, "segment name " + detail::in_quotes(name) + ": " + rule);
  };
  if (name.empty()) bad("must not be empty");
  if (name.size() > k_max_name_length) {
    bad("length " + std::to_string(name.size()) + " exceeds the limit of " +
        std::to_string(k_max_name_length));
  }
  // '/' separates directories on POSIX, '\' kernel-object namespaces on Windows: a name valid
  // on one platform is valid on the other.
  if (name.find('/') != std::string_view::npos) {
    // shm_open's names begin with '/': say what to give instead, where what follows it is a
    // valid name (no other '/', no backslash or NUL, not '.' or '..').
    const std::string_view rest = name.substr(1);
    const bool lead_only =
        name.front() == '/' && !rest.empty() && rest != "." && rest != ".." &&
        rest.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
    bad(lead_only ? "must not contain '/' (names are given without shm_open's leading '/': " +
                        detail::in_quotes(rest) + ")"
                  : std::string("must not contain '/'"));
  }
  if (name.find('\\') != std::string_view::npos) bad("must not contain '\\'");
  if (name.find('\0') != std::string_view::npos) bad("must not contain NUL");
  if (name == "." || name == "..") bad("must not be '.' or '..'");
}

map_view::map_view(map_view&& o) noexcept
    : backend_(std::move(o.backend_)), data_(o.data_), size_(o.size_), name_(std::move(o.name_)) {
  o.data_ = nullptr;
  o.size_ = 0;
}

map_view& map_view::operator=(map_view&& o) noexcept {
  if (this != &o) {
    backend_ = std::move(o.backend_);  // unmaps the old mapping
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    name_ = std::move(o.name_);
  }
  return *this;
}

}  // namespace ipcring
