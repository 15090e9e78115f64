// Creating, opening and validating ring segments: the header protocol of docs/layout.md.
#include "ipcring/detail/segment.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>
#include <thread>

#include "in_quotes.hpp"
#include "ipcring/error.hpp"
#include "ipcring/inspect.hpp"
#include "ipcring/type_name.hpp"
#include "open_retry.hpp"

namespace ipcring {

const char* to_string(ring_kind k) noexcept {
  switch (k) {
    case ring_kind::spsc:
      return "spsc";
    case ring_kind::mpmc:
      return "mpmc";
    case ring_kind::spsc_msg:
      return "spsc_msg";
    case ring_kind::mpsc_msg:
      return "mpsc_msg";
  }
  return "unknown";
}

std::string stored_type_name(std::string_view name) {
  if (name.size() <= k_type_name_max) return std::string(name);
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4)
    out[static_cast<std::size_t>(i)] = hex[h & 15];
  out += '~';
  out += name.substr(name.size() - (k_type_name_max - 17));
  return out;
}

namespace detail {
namespace {

using clock = std::chrono::steady_clock;

std::string kind_name(std::uint32_t k) {
  const char* n = to_string(static_cast<ring_kind>(k));
  return std::string(n) + " (" + std::to_string(k) + ")";
}

constexpr std::uint64_t round_up(std::uint64_t v, std::uint64_t to) {
  return (v + to - 1) / to * to;
}

bool is_pow2(std::uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// Largest ring we accept: keeps every offset far from overflow (1 TiB of slots).
constexpr std::uint64_t k_max_data_bytes = std::uint64_t{1} << 40;

}  // namespace

std::uint64_t data_offset(const ring_spec& s) noexcept {
  const std::uint64_t align = std::max<std::uint64_t>(k_block, s.slot_align);
  return round_up(k_control_offset + s.control_size, align);
}

namespace {

// The rule a capacity breaks, or empty.
std::string capacity_problem(const ring_spec& s) {
  if (!is_pow2(s.capacity)) {
    return "capacity=" + std::to_string(s.capacity) + " must be a power of two (and not 0)";
  }
  // One slot cannot tell "full for ticket t" (seq t + 1) from "free for ticket t + 1".
  if (s.kind == ring_kind::mpmc && s.capacity < 2) {
    return "capacity=" + std::to_string(s.capacity) + " must be at least 2 for an mpmc ring";
  }
  // Message rings: below 1 KiB the longest payload, capacity / 8 - 8, wraps around (or is
  // useless); above 2^33 the longest record, capacity / 8 bytes, overflows its int32 length.
  if (s.kind == ring_kind::spsc_msg || s.kind == ring_kind::mpsc_msg) {
    static_assert((std::uint64_t{1} << 33) / 8 <= std::uint64_t{INT32_MAX});
    if (s.capacity < 1024) {
      return "capacity=" + std::to_string(s.capacity) +
             " is below a message ring's minimum of 1024 bytes";
    }
    if (s.capacity > std::uint64_t{1} << 33) {
      return "capacity=" + std::to_string(s.capacity) +
             " is above a message ring's maximum of 2^33 bytes";
    }
  }
  if (s.slot_size == 0) return "slot_size=0: a slot holds at least one byte";
  if (s.capacity > k_max_data_bytes / s.slot_size) {
    return "capacity=" + std::to_string(s.capacity) +
           " x slot_size=" + std::to_string(s.slot_size) +
           " exceeds the limit of 2^40 bytes of slots";
  }
  return {};
}

// Memory must be aligned for the header's atomics and for the slots.
void check_alignment(std::span<std::byte> bytes, const ring_spec& spec, const std::string& what) {
  const std::uint64_t align = std::max<std::uint64_t>(k_block, spec.slot_align);
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % align != 0) {
    throw error(errc::invalid_argument,
                what + ": memory must be aligned to " + std::to_string(align) + " bytes");
  }
}

// An alignment a header may give (data_offset rounds to it): a power of two up to a page.
// Read once by the caller (volatile), so that what is checked is what is used.
void check_header_align(const char* field, std::uint32_t align, const std::string& what) {
  if (!std::has_single_bit(align) || align > 4096) {
    throw error(errc::corrupted, what + ": header field " + field + "=" + std::to_string(align) +
                                     " must be a power of two <= 4096");
  }
}

// Appends "FIELD expected E, found F" to `diff` ("; " between) where the two differ.
void note_difference(std::string& diff, const char* field, std::uint64_t expected,
                     std::uint64_t found) {
  if (expected == found) return;
  diff += diff.empty() ? "" : "; ";
  diff += std::string(field) + " expected " + std::to_string(expected) + ", found " +
          std::to_string(found);
}

std::uint32_t read_once(const std::uint32_t& field) {
  return *static_cast<const volatile std::uint32_t*>(&field);
}

}  // namespace

std::uint64_t check_geometry(const ring_spec& spec, const segment_header& h, std::size_t size,
                             const std::string& what) {
  if (auto rule = capacity_problem(spec); !rule.empty()) {
    throw error(errc::corrupted, what + ": header field " + rule);
  }
  const std::uint64_t need = required_bytes(spec, what);
  if (h.data_offset != data_offset(spec)) {
    throw error(errc::corrupted, what + ": data_offset expected " +
                                     std::to_string(data_offset(spec)) + ", found " +
                                     std::to_string(h.data_offset));
  }
  if (h.total_size != need) {
    throw error(errc::corrupted, what + ": total_size expected " + std::to_string(need) +
                                     " for capacity " + std::to_string(spec.capacity) + ", found " +
                                     std::to_string(h.total_size));
  }
  if (size < need) {
    throw error(errc::too_small, what + ": segment is " + std::to_string(size) +
                                     " bytes, but its header claims " + std::to_string(need));
  }
  return need;
}

ring_spec spec_of_header(const segment_header& h, const std::string& what) {
  ring_spec s;
  if (h.kind < static_cast<std::uint32_t>(ring_kind::spsc) ||
      h.kind > static_cast<std::uint32_t>(ring_kind::mpsc_msg)) {
    throw error(errc::corrupted,
                what + ": header field kind=" + std::to_string(h.kind) + " names no ring kind");
  }
  const std::uint32_t slot_align = read_once(h.slot_align);
  check_header_align("slot_align", slot_align, what);
  s.kind = static_cast<ring_kind>(h.kind);
  s.capacity = h.capacity;
  s.slot_size = h.slot_size;
  s.slot_align = slot_align;
  s.elem_size = h.elem_size;
  s.elem_align = h.elem_align;
  s.control_size = control_size_of(s.kind);
  return s;
}

void check_elements(const ring_spec& s, const std::string& what) {
  check_header_align("elem_align", s.elem_align, what);
  // What a ring of this kind writes with this slot (spsc: its element is the slot) or this
  // element (mpmc; 64 bits: a forged element size must not wrap round to the slot size).
  std::uint64_t elem_size = s.slot_size, elem_align = s.slot_align;  // spsc
  std::uint64_t slot_size = s.slot_size, slot_align = s.slot_align;
  if (s.kind == ring_kind::mpmc) {
    elem_size = s.elem_size;
    elem_align = s.elem_align;
    slot_size = mpmc_slot_size(s.elem_size, s.elem_align);
    slot_align = mpmc_slot_align(s.elem_align);
  } else if (s.kind != ring_kind::spsc) {
    const ring_spec m = msg_spec(s.kind, s.capacity);
    elem_size = m.elem_size;
    elem_align = m.elem_align;
    slot_size = m.slot_size;
    slot_align = m.slot_align;
  }
  std::string diff;
  if (s.elem_size == 0) {
    diff = "elem_size=0";  // no type has size 0 (an mpmc slot computed from it would pass)
  } else {
    note_difference(diff, "elem_size", elem_size, s.elem_size);
  }
  note_difference(diff, "elem_align", elem_align, s.elem_align);
  note_difference(diff, "slot_size", slot_size, s.slot_size);
  note_difference(diff, "slot_align", slot_align, s.slot_align);
  if (!diff.empty()) {
    throw error(errc::corrupted,
                what + ": header fields describe no " + to_string(s.kind) + " ring: " + diff);
  }
}

map_view require_header_written(map_view v, std::string_view verb) {
  std::uint64_t magic = 0;
  v.peek(0, std::as_writable_bytes(std::span(&magic, 1)));
  if (magic != 0) return v;
  const std::string what = std::string(verb) + " " + in_quotes(v.name());
  if (v.size() < sizeof(segment_header)) {
    throw error(errc::too_small, what + ": segment is " + std::to_string(v.size()) +
                                     " bytes, smaller than the " +
                                     std::to_string(sizeof(segment_header)) + "-byte header");
  }
  throw error(errc::not_ready, what +
                                   ": no header yet (its first word is zero: its creator has not "
                                   "written it, or it is not an ipcring segment)");
}

std::uint64_t required_bytes(const ring_spec& s, std::string_view what) {
  if (auto rule = capacity_problem(s); !rule.empty()) {
    throw error(errc::invalid_argument, std::string(what) + ": " + rule);
  }
  return data_offset(s) + s.capacity * s.slot_size;
}

namespace {

// What create_shm and create_file have map_view::create / create_file write first (the
// header's frozen bytes 0..15, not ready): a segment whose creator dies while its pages are
// reserved and pre-faulted is then recognisably a ring in the making (abandoned_in_creation).
struct creation_stamp {
  std::uint64_t magic = k_magic;
  std::uint32_t layout_version = k_layout_version;
  std::uint32_t init_state = 0;
};
static_assert(sizeof(creation_stamp) == 16 && offsetof(segment_header, init_state) == 12);

#ifdef _WIN32
// A Windows creator's hold (map_view::create's event, create_file's lock) is one its stamp says
// it holds: a stamp without it (an older release's, a foreign creator's) has no hold to look
// at, and is never judged abandoned.
constexpr std::uint32_t k_stamp_state = k_init_held;
#else
constexpr std::uint32_t k_stamp_state = 0;  // the creator's lock tells, whatever the stamp
#endif

// A creation_stamp is in `bytes`, as create_shm and create_file wrote it. relaxed:
// written by this thread (through the file handle, or on Windows the mapping).
bool stamped_here(const segment_header& h) noexcept {
  const std::uint32_t state = h.init_state.load(std::memory_order_relaxed);
  return h.magic.load(std::memory_order_relaxed) == k_magic &&
         h.layout_version == k_layout_version && (state == 0 || state == k_init_held);
}

// Writes the header into `bytes` and publishes ready. `stamped`: create_shm's or create_file's
// segment, which starts with its creation_stamp; other memory must be zero-filled.
attachment created(std::span<std::byte> bytes, ring_spec spec, std::string name,
                   bool stamped = false) {
  const std::uint64_t need = required_bytes(spec, "create " + in_quotes(name));
  if (bytes.size() < need) {
    throw error(errc::too_small, "create " + in_quotes(name) + ": " + std::to_string(bytes.size()) +
                                     " bytes given, the ring needs " + std::to_string(need));
  }
  check_alignment(bytes, spec, "create " + in_quotes(name));
  if (spec.type_name.size() > k_type_name_max) spec.type_name = stored_type_name(spec.type_name);

  auto* h = reinterpret_cast<segment_header*>(bytes.data());
  // Memory that holds a header already (create_in over a ring in use) is not written over.
  // relaxed: a look at the caller's own memory, not a publication.
  if (stamped ? !stamped_here(*h)
              : h->magic.load(std::memory_order_relaxed) != 0 ||
                    h->init_state.load(std::memory_order_relaxed) != 0) {
    throw error(errc::already_exists, "create " + in_quotes(name) +
                                          ": the memory holds a ring header already (a new "
                                          "ring needs zero-filled memory)");
  }
  if (!stamped) {  // a stamp holds both already (and a look may read them meanwhile)
    // relaxed: published by [R-ready]; atomic only because openers poll it meanwhile
    h->magic.store(k_magic, std::memory_order_relaxed);
    h->layout_version = k_layout_version;
  }
  h->kind = static_cast<std::uint32_t>(spec.kind);
  h->slot_size = spec.slot_size;
  h->slot_align = spec.slot_align;
  h->elem_size = spec.elem_size;
  h->elem_align = spec.elem_align;
  h->type_name_len = static_cast<std::uint32_t>(spec.type_name.size());
  h->capacity = spec.capacity;
  h->data_offset = data_offset(spec);
  h->total_size = need;
  std::memset(h->type_name, 0, sizeof h->type_name);
  std::memcpy(h->type_name, spec.type_name.data(), spec.type_name.size());
  // [R-ready] publishes every field above (and the zeroed control blocks); pairs with
  // [A-ready] in open_in. Nothing else is ever stored to init_state.
  h->init_state.store(k_init_ready, std::memory_order_release);

  attachment a;
  a.bytes = bytes.first(need);
  a.name = std::move(name);
  a.spec = std::move(spec);
  return a;
}

// The bad_magic message's tail: what the first 8 bytes hold instead, as they lie in memory.
std::string not_ours(std::uint64_t magic) {
  char found[40];
  std::snprintf(found, sizeof found, "0x%016llx", static_cast<unsigned long long>(magic));
  return std::string(": not an ipcring segment (magic is not \"IPCRING\": found ") + found +
         " read as one 64-bit word)";
}

// Checks the header in `bytes` against `spec`, waiting until `deadline` for ready. `view`: the
// mapping `bytes` is, if any, whose creator may be seen to have let go of it meanwhile.
attachment opened(std::span<std::byte> bytes, ring_spec spec, std::string name,
                  const ring_options& opt, clock::time_point deadline,
                  const map_view* view = nullptr) {
  const std::string what = "open " + in_quotes(name);
  if (bytes.size() < sizeof(segment_header)) {
    throw error(errc::too_small, what + ": segment is " + std::to_string(bytes.size()) +
                                     " bytes, smaller than the " +
                                     std::to_string(sizeof(segment_header)) + "-byte header");
  }
  check_alignment(bytes, spec, what);
  auto* h = reinterpret_cast<segment_header*>(bytes.data());
  // [A-ready] pairs with [R-ready] in create_in: once ready is seen, every field is visible.
  // The creator's hold is looked at first, then every 10 ms (a system call or two each time)
  // and once more at the deadline; the header every 200 us.
  clock::time_point next_hold_look{};  // now
  while (h->init_state.load(std::memory_order_acquire) != k_init_ready) {
    // A creator stores the whole magic at once (0 -> k_magic); any other value is foreign and
    // will never become ours. relaxed: only the value matters, nothing is read on its strength.
    const std::uint64_t m = h->magic.load(std::memory_order_relaxed);
    if (m != 0 && m != k_magic) throw error(errc::bad_magic, what + not_ours(m));
    const auto now = clock::now();
    if (view != nullptr && (now >= next_hold_look || now >= deadline)) {
      if (abandoned_in_creation(*view)) throw abandoned_error(what);
      next_hold_look = now + std::chrono::milliseconds(10);
    }
    if (now >= deadline) {
      throw error(errc::not_ready, what + ": its creator has not published 'ready'");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  if (const std::uint64_t m = h->magic.load(std::memory_order_relaxed);  // ordered by [A-ready]
      m != k_magic) {
    throw error(errc::bad_magic, what + not_ours(m));
  }
  if (h->layout_version != k_layout_version) {
    throw error(errc::version_mismatch, what + ": layout_version expected " +
                                            std::to_string(k_layout_version) + ", found " +
                                            std::to_string(h->layout_version) +
                                            " (created by a different ipcring release)");
  }
  if (h->kind != static_cast<std::uint32_t>(spec.kind)) {
    throw error(errc::kind_mismatch, what + ": ring kind expected " +
                                         kind_name(static_cast<std::uint32_t>(spec.kind)) +
                                         ", found " + kind_name(h->kind));
  }

  if (h->type_name_len > k_type_name_max) {
    throw error(errc::corrupted, what + ": type_name_len=" + std::to_string(h->type_name_len) +
                                     " exceeds " + std::to_string(k_type_name_max));
  }
  if (spec.type_name.size() > k_type_name_max) spec.type_name = stored_type_name(spec.type_name);
  const std::size_t found_len = std::min<std::size_t>(h->type_name_len, k_type_name_max);
  const std::string_view found_name(h->type_name, found_len);
  const std::uint32_t own_slot_align = spec.slot_align;  // the opener's type's
  if (opt.any_type) {
    // Byte-copying openers take the element's name and alignment from the header; sizes
    // are still checked. Untrusted: the alignment feeds data_offset.
    // (mpmc slots: their layout follows from elem_size and elem_align, so a wider element
    // alignment than the opener's shows up as a slot_size difference below.)
    // Read once (volatile: the compiler may not load them again): what is checked is what is
    // used. Another process may write the header meanwhile; the comparison below reports it.
    const std::uint32_t slot_align = read_once(h->slot_align);
    const std::uint32_t elem_align = read_once(h->elem_align);
    check_header_align("slot_align", slot_align, what);
    check_header_align("elem_align", elem_align, what);
    spec.elem_align = elem_align;
    spec.slot_align = slot_align;
    spec.type_name = std::string(found_name);
  }
  std::string diff;
  const auto cmp = [&](const char* field, std::uint64_t expected, std::uint64_t found) {
    note_difference(diff, field, expected, found);
  };
  cmp("elem_size", spec.elem_size, h->elem_size);
  cmp("elem_align", spec.elem_align, h->elem_align);
  cmp("slot_size", spec.slot_size, h->slot_size);
  cmp("slot_align", spec.slot_align, h->slot_align);
  if (found_name != spec.type_name) {
    diff += diff.empty() ? "" : "; ";
    diff += "type_name expected " + in_quotes(spec.type_name) + ", found " + in_quotes(found_name);
  }
  if (!diff.empty()) throw error(errc::type_mismatch, what + ": element type differs: " + diff);
  // The header's alignment, taken above, places the slots (data_offset): they must still land
  // where the opener's type may live (slot_size, checked equal, keeps each slot aligned as the
  // first). A C ring of 2048-byte slots (slot_align 8) opened as an alignas(2048) type would
  // hand out misaligned objects.
  if (opt.any_type && data_offset(spec) % own_slot_align != 0) {
    throw error(errc::type_mismatch,
                what + ": its slots (slot_align " + std::to_string(spec.slot_align) +
                    ", at offset " + std::to_string(data_offset(spec)) +
                    ") are not aligned to the " + std::to_string(own_slot_align) +
                    " bytes the element type needs");
  }

  spec.capacity = h->capacity;
  const std::uint64_t need = check_geometry(spec, *h, bytes.size(), what);

  attachment a;
  a.bytes = bytes.first(need);
  a.name = std::move(name);
  a.spec = std::move(spec);
  return a;
}

// Runs `attach` on a fresh mapping; the mapping moves into the attachment it returns. With
// `prepare`, pre-faults and locks (as it asks) the bytes the attachment uses, and only those.
template <class Attach>
attachment_ptr adopt(map_view v, Attach&& attach, const map_options* prepare = nullptr) {
  attachment a = attach(v);
  if (prepare != nullptr) v.prepare(a.bytes.size(), *prepare);
  a.view.emplace(std::move(v));  // the bytes stay where they are: only the handle moves
  return std::make_shared<const attachment>(std::move(a));
}

// gave_up(e, open_timeout), for open() and its kin.
[[noreturn]] void gave_up(const error& e, const ring_options& opt) {
  detail::gave_up(e, opt.open_timeout.count(), "ring_options::open_timeout");
}

// Opens a mapping with open_view(map_options) and attaches to it. The pages are faulted in and
// locked (as opt.map asks) only once the header is checked, and only as far as it says the ring
// reaches: a foreign or oversized file is refused without touching the rest of it (reading a
// page of a sparse tmpfs file allocates it; past the free space, the read is a SIGBUS).
// Waits (retry_open) for the name until opt.wait_for_creation has passed, then for `ready`
// until opt.open_timeout has passed since the name was first found.
template <class OpenView>
attachment_ptr open_view(const ring_options& opt, OpenView&& open_view, const ring_spec& spec) {
  open_waits w;
  w.wait_for_name = opt.wait_for_creation.count() > 0;
  w.created_by = deadline_in(saturate(opt.wait_for_creation));
  w.ready_for = saturate(opt.open_timeout);
  w.created_ms = opt.wait_for_creation.count();
  w.created_setting = "ring_options::wait_for_creation";
  w.ready_ms = opt.open_timeout.count();
  w.ready_setting = "ring_options::open_timeout";
  map_options unprepared = opt.map;
  unprepared.prefault = false;
  unprepared.lock_memory = false;
  return retry_open(w, [&](const auto& found) {
    map_view v = open_view(unprepared);
    const clock::time_point ready_by = found();
    return adopt(
        require_header_written(std::move(v), "open"),
        [&](const map_view& m) { return opened(m.bytes(), spec, m.name(), opt, ready_by, &m); },
        &opt.map);
  });
}

}  // namespace

attachment_ptr create_in(std::span<std::byte> bytes, ring_spec spec, std::string name) {
  return std::make_shared<const attachment>(created(bytes, std::move(spec), std::move(name)));
}

attachment_ptr open_in(std::span<std::byte> bytes, ring_spec spec, std::string name,
                       const ring_options& opt) {
  try {
    return std::make_shared<const attachment>(opened(bytes, std::move(spec), std::move(name), opt,
                                                     deadline_in(saturate(opt.open_timeout))));
  } catch (const error& e) {
    if (e.value() == errc::not_ready) gave_up(e, opt);  // only once the deadline has passed
    throw;
  }
}

attachment_ptr create_shm(std::string_view name, ring_spec spec, const ring_options& opt) {
  const std::uint64_t need = required_bytes(spec, "create " + in_quotes(name));  // before naming
  // A huge page covers a whole aligned huge_page_size(): a smaller segment would get none. Not
  // where huge pages are larger than 32 MiB (arm64 with 64 KiB pages: 512 MiB).
  const std::uint64_t huge_size = opt.map.huge_pages ? huge_page_size() : 0;
  const std::uint64_t huge = huge_size <= (std::uint64_t{32} << 20) ? huge_size : 0;
  const creation_stamp stamp{k_magic, k_layout_version, k_stamp_state};
  map_view v = map_view::create(name, huge != 0 ? round_up(need, huge) : need, opt.map,
                                std::as_bytes(std::span(&stamp, 1)));
  return adopt(std::move(v), [&](map_view& m) {
    try {
      attachment a = created(m.bytes(), spec, m.name(), true);
      m.end_creation();  // ready is out: nobody need tell whether it ever will be
      return a;
    } catch (...) {
      // Removed while still held: once let go of, it may be judged abandoned, removed and
      // its name taken by a new ring, which a removal by name would then delete.
      (void)m.remove_if_still_named();
      throw;
    }
  });
}

attachment_ptr open_shm(std::string_view name, ring_spec spec, const ring_options& opt) {
  return open_view(
      opt, [&](const map_options& m) { return map_view::open(name, m); }, spec);
}

attachment_ptr create_file(const std::filesystem::path& p, ring_spec spec,
                           const ring_options& opt) {
  const std::uint64_t need = required_bytes(spec, "create_file " + in_quotes(p.string()));
  const creation_stamp stamp{k_magic, k_layout_version, k_stamp_state};
  map_view v = map_view::create_file(p, need, opt.map, std::as_bytes(std::span(&stamp, 1)));
  try {
    return adopt(std::move(v), [&](map_view& m) {
      try {
        attachment a = created(m.bytes(), spec, m.name(), true);
        m.end_creation();  // as create_shm
        return a;
      } catch (...) {
        (void)m.remove_if_still_named();  // as create_shm: while still held (POSIX)
        throw;
      }
    });
  } catch (...) {
#ifdef _WIN32
    remove_file(p);  // unmapped by now; Windows cannot delete a mapped file, nor compare
#endif
    throw;
  }
}

attachment_ptr open_file(const std::filesystem::path& p, ring_spec spec, const ring_options& opt) {
  return open_view(
      opt, [&](const map_options& m) { return map_view::open_file(p, m); }, spec);
}

namespace {

// e.what() without its ": <code>": the error made from it says the code again.
std::string without_code(const error& e) {
  std::string why = e.what();
  const std::string code = ": " + e.code().message();
  if (why.ends_with(code)) why.resize(why.size() - code.size());
  return why;
}

}  // namespace

[[noreturn]] void gave_up(const error& e, std::int64_t waited_ms, std::string_view wait_longer) {
  const std::string why = without_code(e);
  // Where the creator's death can be told (its lock; on Windows its named event), a dead one
  // has made this an abandoned_error already: either it is alive and still making the ring,
  // or (killed in its first moments, before its stamp) it died.
  throw error(e.value(), why + " after waiting " + std::to_string(waited_ms) +
                             " ms; its creator is still making it (a large ring, pre-faulted or "
                             "locked, may take longer: raise " +
                             std::string(wait_longer) +
                             ") or died before it could be told abandoned (then remove it and "
                             "create it again)");
}

[[noreturn]] void not_created(const error& e, std::int64_t waited_ms,
                              std::string_view wait_longer) {
  throw error(e.value(), without_code(e) + " after waiting " + std::to_string(waited_ms) +
                             " ms for it to be created (raise " + std::string(wait_longer) +
                             " to wait longer)");
}

}  // namespace detail

bool abandoned_in_creation(const map_view& v) noexcept {
  try {
    // Through the handle (map_view::peek): nothing of the mapping is touched.
    const auto unready_stamp = [&] {
      detail::creation_stamp s{0, 0, 0};
      v.peek(0, std::as_writable_bytes(std::span(&s, 1)));
      return s.magic == k_magic && s.layout_version == k_layout_version &&
             s.init_state != k_init_ready &&
             // where the stamp names the hold (Windows), only a stamp that names it
             (detail::k_stamp_state == 0 || s.init_state == k_init_held);
    };
    // Only creators of this layout version stamp the segment and hold it while they make it,
    // and each publishes ready before it lets go: still not ready once it has let go, it
    // never will be.
    return unready_stamp() && v.creator_gone() && unready_stamp();
  } catch (...) {
    return false;
  }
}

}  // namespace ipcring
