// ipcring/detail/segment.hpp: creating, opening and validating the header of a ring segment.
//
// Shared by every ring kind: a kind describes itself as a ring_spec, and gets back an
// attachment (the memory, kept alive by whoever holds it) whose header has been written
// (create) or checked field by field against the spec (open).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ipcring/detail/role.hpp"
#include "ipcring/error.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/map_view.hpp"
#include "ipcring/ring_options.hpp"
#include "ipcring/wait.hpp"

namespace ipcring::detail {

/// What a ring kind expects of its segment.
struct ring_spec {
  ring_kind kind{};
  std::uint64_t capacity = 0;  // slots; on open, filled in from the header
  std::uint32_t slot_size = 0;
  std::uint32_t slot_align = 0;
  std::uint32_t elem_size = 0;
  std::uint32_t elem_align = 0;
  std::uint64_t control_size = 0;  // bytes of the kind's control blocks after segment_header
  std::string type_name;           // as stored (see stored_type_name)
};

/// Bytes of a kind's control blocks after segment_header (ring_spec::control_size): a
/// ring_control for spsc, a registry_control (with the endpoint table) for the others.
constexpr std::uint64_t control_size_of(ring_kind k) noexcept {
  return k == ring_kind::spsc ? sizeof(ring_control) : sizeof(registry_control);
}

/// An mpmc slot (a wire ABI): its sequence word, then the value at the slot's alignment,
/// the whole padded to it; the alignment is the element's, at least 8 (the sequence word's).
/// mpmc_slot_layout<T> and check_elements() both follow it.
constexpr std::uint64_t mpmc_slot_align(std::uint64_t elem_align) noexcept {
  return elem_align > 8 ? elem_align : 8;
}
constexpr std::uint64_t mpmc_slot_size(std::uint64_t elem_size, std::uint64_t elem_align) noexcept {
  const std::uint64_t a = mpmc_slot_align(elem_align);
  return (a + elem_size + a - 1) / a * a;
}

/// The spec of a message ring of `kind` (msg_ring.cpp): byte slots, "bytes" as the type name.
ring_spec msg_spec(ring_kind kind, std::uint64_t capacity);

/// First slot's offset: header + control blocks, rounded up to a block and to slot_align.
std::uint64_t data_offset(const ring_spec& s) noexcept;
/// Bytes a ring of this spec needs. Throws errc::invalid_argument for a capacity that is 0,
/// not a power of two, or too large; `what` names the segment in the message.
std::uint64_t required_bytes(const ring_spec& s, std::string_view what);

/// Checks what header `h` says of the ring's place in the segment, against `spec` (kind,
/// capacity, slot size and alignment, control blocks): the capacity rules, then data_offset and
/// total_size as they follow (errc::corrupted, naming the field and the rule), then that `size`
/// bytes hold total_size (errc::too_small). Returns total_size.
std::uint64_t check_geometry(const ring_spec& spec, const segment_header& h, std::size_t size,
                             const std::string& what);
/// The spec header `h` describes, for readers that take a ring as it is (inspect) rather than
/// as a kind expects it. errc::corrupted for an unknown kind or a slot alignment that is not
/// a power of two up to 4096 (data_offset rounds to it). The type name is left empty.
ring_spec spec_of_header(const segment_header& h, const std::string& what);
/// Checks that the element fields of `s` (from spec_of_header) are those a ring of its kind
/// writes: spsc, slots of the element's size and alignment; mpmc, mpmc_slot_size() and
/// mpmc_slot_align() of the element (of at least one byte); message rings, msg_spec()'s.
/// errc::corrupted naming each field that differs, or elem_align if it is not a power of two
/// up to 4096. What is shown of a ring (inspect's byte counts) is then a ring's.
void check_elements(const ring_spec& s, const std::string& what);

/// Returns `v` once its first word (the magic) is written, read through its handle
/// (map_view::peek): a page never written is not read through the mapping, which would
/// allocate it (a SIGBUS on a full /dev/shm); once the magic is there, so is the header's page.
/// A zero first word is errc::too_small below a header's size, else errc::not_ready (no
/// header yet). `verb` starts the message ("open", "inspect").
map_view require_header_written(map_view v, std::string_view verb);

/// The errc::not_ready of a ring whose creator let go of it before it became ready
/// (abandoned_in_creation): it never will, so it is not waited for again.
struct abandoned_error : error {
  /// `what` starts the message ("open 'x'").
  explicit abandoned_error(const std::string& what)
      : error(errc::not_ready,
              what +
                  ": its creator let go of it (died, most likely) before publishing 'ready': "
                  "it never will be ready (remove_if_stale() removes a segment, remove_file() a "
                  "file)") {}
};

/// Memory holding one ring: a mapping, or caller-owned bytes. Shared by a ring and its role
/// handles so that the mapping lives as long as any of them.
struct attachment {
  /// This process's copy of a side's closed flag: close_token::close() sets it with the one
  /// in the segment, and this process's waits end on either, so that another process clearing
  /// the segment's flag cannot keep a closed side waiting. Cleared where the side reopens.
  struct closed_flag {
    mutable std::atomic<std::uint32_t> value{0};
    closed_flag() = default;
    closed_flag(const closed_flag&) noexcept {}  // a new attachment's flags are clear
    closed_flag& operator=(const closed_flag&) noexcept { return *this; }
    ~closed_flag() = default;
  };

  std::optional<map_view> view;  // empty for caller-owned memory
  std::span<std::byte> bytes;
  std::string name;  // for messages
  ring_spec spec;    // as validated
  closed_flag producer_closed_here, consumer_closed_here;
  segment_header& header() const noexcept {
    return *reinterpret_cast<segment_header*>(bytes.data());
  }
  std::byte* control() const noexcept { return bytes.data() + k_control_offset; }
  std::byte* data() const noexcept { return bytes.data() + data_offset(spec); }
};
using attachment_ptr = std::shared_ptr<const attachment>;

/// The close_token of the producer (or consumer) side of the ring `seg` maps, whose control
/// block is `ctl`, for the handle holding `role`. An empty token for a moved-from handle (ctl
/// null).
inline close_token side_closer(const attachment* seg, ring_control* ctl, bool producer,
                               const role_lease& role) noexcept {
  if (ctl == nullptr) return {};
  auto& here = producer ? seg->producer_closed_here : seg->consumer_closed_here;
  return close_token(producer ? &ctl->producer_closed : &ctl->consumer_closed, &here.value,
                     &ctl->data_wait, &ctl->space_wait, role.word(), role.identity());
}

/// A new holder of the producer (or consumer) role reopens its side: in the segment, and in
/// this process's copy (other processes' copies stay as their own closes left them: a side
/// one of them closed stays closed for its own remaining endpoints).
inline void reopen_side(const attachment& seg, ring_control& ctl, bool producer) noexcept {
  // relaxed x2: a flag's store orders nothing else; the peer sees the shared flag with its
  // next acquire, and an endpoint of another thread sees this process's copy by the time it
  // learns of the new endpoint's messages (which it reads with acquire)
  (producer ? ctl.producer_closed : ctl.consumer_closed).store(0, std::memory_order_relaxed);
  (producer ? seg.producer_closed_here : seg.consumer_closed_here)
      .value.store(0, std::memory_order_relaxed);
}

/// A ring object's hold on its attachment. Copies share it, and so does a move: a moved-from
/// ring object is the same ring, never one without a mapping.
class attachment_ref : public attachment_ptr {
 public:
  attachment_ref(attachment_ptr p) noexcept : attachment_ptr(std::move(p)) {}  // NOLINT: implicit
  attachment_ref(const attachment_ref&) noexcept = default;
  attachment_ref(attachment_ref&& o) noexcept : attachment_ptr(o) {}
  attachment_ref& operator=(const attachment_ref&) noexcept = default;
  attachment_ref& operator=(attachment_ref&& o) noexcept {
    attachment_ptr::operator=(o);
    return *this;
  }
  ~attachment_ref() = default;
};

/// Writes the header into zeroed `bytes` and publishes ready. The caller's memory must be
/// zero-filled (fresh mappings are; errc::already_exists if it holds a header); `bytes` must
/// be 128-byte aligned.
attachment_ptr create_in(std::span<std::byte> bytes, ring_spec spec, std::string name);
/// Waits (bounded by opt.open_timeout) for `ready`, then checks every field against `spec`.
attachment_ptr open_in(std::span<std::byte> bytes, ring_spec spec, std::string name,
                       const ring_options& opt);

attachment_ptr create_shm(std::string_view name, ring_spec spec, const ring_options& opt);
attachment_ptr open_shm(std::string_view name, ring_spec spec, const ring_options& opt);
attachment_ptr create_file(const std::filesystem::path& p, ring_spec spec, const ring_options& opt);
attachment_ptr open_file(const std::filesystem::path& p, ring_spec spec, const ring_options& opt);

/// tail - head read from shared memory, as a count in [0, capacity]: head read past a tail read
/// before it (by less than a ring's worth) is a race, 0; any other gap of more than a ring's
/// worth is a race or a corrupt index, and counts as full, not as empty.
constexpr std::uint64_t used_between(std::uint64_t tail, std::uint64_t head,
                                     std::uint64_t capacity) noexcept {
  const std::uint64_t gap = tail - head;
  return gap <= capacity ? gap : gap >= std::uint64_t{0} - capacity ? 0 : capacity;
}

/// A racy look at how much of the message ring `a` is in use (its size_approx).
inline std::uint64_t used_approx(const attachment& a, std::uint64_t capacity) noexcept {
  const auto& c = *reinterpret_cast<const ring_control*>(a.control());
  // Pairs with [R2] in msg_ring.cpp: the consumer stored this head after reading a tail at
  // least as far, so the tail loaded next is not behind it (head read after tail could be,
  // and would read as empty under load).
  const std::uint64_t head = c.head.load(std::memory_order_acquire);
  // relaxed: an estimate; no data is read on the strength of it
  const std::uint64_t tail = c.tail.load(std::memory_order_relaxed);
  return used_between(tail, head, capacity);
}

/// The error a wait for `ready` ends with: `e` (thrown when the deadline had passed), with how
/// long was waited and what to do, said once; `wait_longer` names the setting that waits longer
/// (open(): "ring_options::open_timeout").
[[noreturn]] void gave_up(const error& e, std::int64_t waited_ms, std::string_view wait_longer);
/// The error a wait for a ring's name ends with: `e` (errc::not_found, thrown when the
/// deadline had passed), with how long was waited and the setting that waits longer.
[[noreturn]] void not_created(const error& e, std::int64_t waited_ms, std::string_view wait_longer);

}  // namespace ipcring::detail
