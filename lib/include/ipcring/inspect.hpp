// ipcring/inspect.hpp: looking at a ring without attaching to it, for tools and cleanup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipcring/layout.hpp"
#include "ipcring/map_view.hpp"

namespace ipcring {

/// A process attached to a ring.
struct endpoint_info {
  std::uint32_t pid = 0;
  /// "producer" or "consumer"; "registering" for a record whose live owner has not named its
  /// role yet, or no longer names it as it leaves (or that holds garbage); "none" for such a
  /// record whose owner is dead (killed while it took or left it: the next registration takes
  /// it). Neither counts for a side. Just after a process takes over a dead holder's record,
  /// the role is the previous holder's until the new one names its own.
  const char* role = "";
  bool alive = false;
  bool claiming = false;  ///< its endpoint record names a claim not yet published
};

/// One side's counters (side_counters in layout.hpp), summed over its endpoints.
struct side_stats {
  std::uint64_t messages = 0;  ///< written (producer side) or read (consumer side)
  std::uint64_t bytes = 0;     ///< payload bytes of those messages
  std::uint64_t stalls = 0;    ///< attempts that found the ring full (producer) / empty
  std::uint64_t waits = 0;     ///< blocking calls that had to wait
};

/// What the header and control blocks of a ring say (any kind, any element type).
struct ring_info {
  std::string name;
  ring_kind kind{};
  std::uint64_t capacity = 0;  ///< slots, or bytes for message rings
  std::uint32_t slot_size = 0;
  std::uint32_t elem_size = 0;  ///< sizeof the element (an mpmc slot adds a sequence word)
  std::string type_name;
  std::uint64_t tail = 0, head = 0;
  std::uint64_t used = 0;  ///< racy: tail - head, clamped to [0, capacity]
  bool producer_closed = false, consumer_closed = false;
  std::vector<endpoint_info> endpoints;
  side_stats producer, consumer;  ///< racy snapshot of the counters
  /// Somebody held a role or an endpoint record and every one of them is dead. A process that
  /// has only opened the ring (no producer() or consumer() yet) is not seen here;
  /// remove_if_stale() sees it (its use lock).
  bool stale() const noexcept;
};

/// Reads the named ring's header and control blocks. Validates what it reads as an open does
/// (bad_magic, version_mismatch, not_ready, too_small; corrupted naming the header field whose
/// value no ring has: kind, capacity, slot_align, data_offset, total_size, type_name_len, and
/// element and slot sizes and alignments no ring of the kind writes together), but not the
/// element type.
ring_info inspect(std::string_view name, const map_options& opt = {});
/// As inspect(name), on a mapping the caller holds (a file-backed ring, or memory of its own).
/// Only reads it: a read-only mapping (PROT_READ) is enough.
ring_info inspect(std::span<const std::byte> segment, std::string_view name);
/// What inspect() reads: the header and the control blocks, endpoint records included.
inline constexpr std::size_t k_inspect_bytes = k_control_offset + sizeof(registry_control);
/// As inspect(segment, name), on a copy of the segment's first bytes (all of them, or at least
/// k_inspect_bytes) that the caller read (e.g. with pread(), which cannot fault where a
/// mapping of a segment another process shrank would raise SIGBUS), of a segment of
/// `segment_size` bytes. errc::invalid_argument if fewer bytes are given.
ring_info inspect(std::span<const std::byte> first_bytes, std::uint64_t segment_size,
                  std::string_view name);
/// As inspect(name), through a view the caller holds, read through its descriptor
/// (map_view::peek), not its mapping, and judged by the size the segment has now
/// (map_view::current_size): one another process shrank since the view was made is
/// errc::too_small if its header claims more, instead of raising SIGBUS.
ring_info inspect(const map_view& view, std::string_view name);
/// True if `v` maps a ring whose creator let go of it before publishing `ready` (it died while
/// creating it, most likely): it never will be ready, and opening it fails at once with
/// errc::not_ready. Told by the stamp a creator writes first (the header's magic and
/// layout_version, init_state not ready) and map_view::creator_gone(): on POSIX shared memory
/// and files; on Windows named mappings and files whose stamp says their creator holds an
/// event or a lock (k_init_held: rings created by this release). Rings of this layout_version
/// only. Never throws.
bool abandoned_in_creation(const map_view& v) noexcept;
/// Removes the named segment if it is a stale ring (see ring_info::stale), or one whose
/// creator let go of it before it became ready (abandoned_in_creation), and no other view has
/// it open (map_view::remove_if_unused): a process that opened it, even one holding no role yet
/// or taking over a dead holder's role while this call looks, keeps it, and one that opens it
/// just after the removal fails with not_found instead of staying on a lost segment. Never
/// throws; true if it removed it.
bool remove_if_stale(std::string_view name) noexcept;

namespace detail {
/// inspect(name, opt), its errors opening with `verb` instead of "inspect" (the C API's open
/// looks at a ring before it attaches, and its caller asked to open).
ring_info inspect_for(std::string_view verb, std::string_view name, const map_options& opt);
}  // namespace detail

}  // namespace ipcring
