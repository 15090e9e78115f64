// tools/cli/segment_probe.hpp: what a named shared-memory segment holds, for commands that
// look at segments without attaching (ls, stat, rm, watch). The segment is mapped, read and
// validated by ipcring::inspect; nothing is written.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "exit_codes.hpp"
#include "ipcring/error.hpp"
#include "ipcring/inspect.hpp"
#include "ipcring/map_view.hpp"

namespace ipcring::cli {

/// Read-only looks may read anybody's segment: inspect() validates every field it uses, and
/// the tool writes nothing there. (Attaching to send or receive keeps the library's checks.)
map_options viewing_options() noexcept;

enum class segment_class {
  ring,        ///< an ipcring ring this build can read: `info` is set
  bad_ring,    ///< ipcring's magic, but unusable (version, corruption, not ready): `problem`
  not_ring,    ///< another program's segment (or an empty one): `problem` says what it holds
  unreadable,  ///< could not be opened or mapped: `problem`
};

struct segment_probe {
  std::string name;
  segment_class cls = segment_class::unreadable;
  std::size_t size = 0;
  std::optional<ring_info> info;
  std::optional<map_view> view;  ///< the mapping (when it could be made), for raw fields
  errc code = errc::system;      ///< why it is not a readable ring (not for segment_class::ring)
  /// bad_ring, not_ready: its creator let go of it before it became ready
  /// (ipcring::abandoned_in_creation); it never will, and `rm --stale` removes it.
  bool abandoned = false;
  std::string problem;  ///< the library's message, or what the segment holds; names the segment
};

/// Looks at the named segment. Throws ipcring::error only for errc::not_found (and a bad name).
segment_probe probe_segment(std::string_view name);
/// The exit code for a segment that is not a readable ring (incompatible, unless it could not
/// be read at all).
exit_code exit_code_for(const segment_probe& p) noexcept;
/// Throws cli::failure with the probe's problem unless it found a readable ring.
void require_ring(const segment_probe& p);

}  // namespace ipcring::cli
