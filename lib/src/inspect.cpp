#include "ipcring/inspect.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "in_quotes.hpp"
#include "ipcring/detail/role.hpp"
#include "ipcring/detail/segment.hpp"
#include "ipcring/error.hpp"

namespace ipcring {
namespace {

// `role`: null for a record that names no role. Its holder is taking it (register_endpoint
// stores the owner first) or letting go of it (release() names no role, then frees the owner),
// or the record holds garbage: registering. With its holder dead, neither will be finished:
// the record holds no role, count or claim of anyone's, and the next registration takes it.
void add(ring_info& info, std::uint64_t owner, const char* role, bool claiming) {
  if (owner == 0) return;
  const bool alive = detail::process_alive(owner);
  if (role == nullptr) role = alive ? "registering" : "none";
  info.endpoints.push_back({detail::identity_pid(owner), role, alive, claiming});
}

// Whether a side of a ring of `kind` keeps its counts in endpoint records, which an endpoint
// that leaves moves into the side's totals (mpmc: both sides; mpsc_msg: the producers; a lone
// role holder adds to the totals as it goes).
bool counts_in_records(std::uint32_t kind, endpoint_role side) noexcept {
  return kind == static_cast<std::uint32_t>(ring_kind::mpmc) ||
         (kind == static_cast<std::uint32_t>(ring_kind::mpsc_msg) &&
          side == endpoint_role::producer);
}

bool same(const side_stats& a, const side_stats& b) noexcept {
  return a.messages == b.messages && a.bytes == b.bytes && a.stalls == b.stalls &&
         a.waits == b.waits;
}

void add_counters(side_stats& to, const side_counters& c) {
  // relaxed: a snapshot for display
  to.messages += c.messages.load(std::memory_order_relaxed);
  to.bytes += c.bytes.load(std::memory_order_relaxed);
  to.stalls += c.stalls.load(std::memory_order_relaxed);
  to.waits += c.waits.load(std::memory_order_relaxed);
}

}  // namespace

bool ring_info::stale() const noexcept {
  if (endpoints.empty()) return false;
  for (const auto& e : endpoints) {
    if (e.alive) return false;
  }
  return true;
}

namespace {

// A view to look at: nothing faulted in, locked or advised (each would allocate the pages of a
// segment that may be only sized, or another program's), and only once its header is written.
map_view open_to_look(std::string_view name, const map_options& opt, std::string_view verb) {
  map_options o = opt;
  o.prefault = false;
  o.lock_memory = false;
  o.huge_pages = false;
  return detail::require_header_written(map_view::open(name, o), verb);
}

// Room for a copy of a segment's first bytes, aligned as the blocks it holds (ring_control is
// aligned to k_block): look() reads the copy through the same types as the segment.
class aligned_copy {
 public:
  explicit aligned_copy(std::size_t n) : blocks_((n + k_block - 1) / k_block), n_(n) {}
  std::span<std::byte> bytes() noexcept {
    return std::as_writable_bytes(std::span(blocks_)).first(n_);
  }

 private:
  struct alignas(k_block) block {
    std::byte b[k_block];
  };
  std::vector<block> blocks_;
  std::size_t n_;
};

// Reads the header and control blocks through the view's descriptor (map_view::peek), not its
// mapping: a segment another process shrank (ftruncate) since the view was made would raise
// SIGBUS where its pages went; a read returns what is there (the rest as zeros, which the
// checks refuse). Nor does a read allocate a page never written.
ring_info look_through(const map_view& v, std::string_view name, std::string_view verb);

// `v`: the segment's first bytes (all of it, or at least k_inspect_bytes), of a segment of
// `segment_size` bytes.
ring_info look(std::span<const std::byte> v, std::uint64_t segment_size, std::string_view name,
               std::string_view verb) {
  const std::string what = std::string(verb) + " " + detail::in_quotes(name);
  if (v.size() < std::min<std::uint64_t>(segment_size, k_inspect_bytes)) {
    throw error(errc::invalid_argument,
                what + ": " + std::to_string(v.size()) + " bytes given of a segment of " +
                    std::to_string(segment_size) + ", fewer than the " +
                    std::to_string(std::min<std::uint64_t>(segment_size, k_inspect_bytes)) +
                    " it reads");
  }
  // The magic first: a small segment of someone else's is foreign, not a truncated ring.
  if (v.size() >= sizeof(std::uint64_t)) {
    // The header's first word (segment_header::magic), read on its own: the span may be too
    // short for a whole header. relaxed: a foreign magic is final; ours is confirmed by
    // [A-ready] below.
    const std::uint64_t magic = reinterpret_cast<const std::atomic<std::uint64_t>*>(v.data())->load(
        std::memory_order_relaxed);
    if (magic != 0 && magic != k_magic) {
      throw error(errc::bad_magic, what + ": not an ipcring segment");
    }
  }
  if (v.size() < k_control_offset + sizeof(ring_control)) {
    throw error(errc::too_small, what + ": " + std::to_string(v.size()) +
                                     " bytes, less than a ring's header and control block (" +
                                     std::to_string(k_control_offset + sizeof(ring_control)) +
                                     " bytes)");
  }
  const auto& shared = *reinterpret_cast<const segment_header*>(v.data());
  // [A-ready] as in open: the fields are complete once ready is seen
  if (shared.init_state.load(std::memory_order_acquire) != k_init_ready ||
      shared.magic.load(std::memory_order_relaxed) != k_magic) {
    throw error(errc::not_ready, what + ": its creator has not published 'ready'");
  }
  // Checked and used from one copy: a field read twice from the segment could pass its check
  // and then be used with another value (type_name_len read again made the copy of the name
  // reach past the mapping).
  alignas(segment_header) std::byte copy[sizeof(segment_header)];
  std::memcpy(copy, v.data(), sizeof copy);
  const auto& h = *reinterpret_cast<const segment_header*>(copy);
  if (h.layout_version != k_layout_version) {
    throw error(errc::version_mismatch, what + ": layout_version expected " +
                                            std::to_string(k_layout_version) + ", found " +
                                            std::to_string(h.layout_version));
  }
  if (h.type_name_len > k_type_name_max) {
    throw error(errc::corrupted,
                what + ": header field type_name_len=" + std::to_string(h.type_name_len) +
                    " exceeds " + std::to_string(k_type_name_max));
  }
  // What an open checks of the ring's place in the segment, so that what is shown is a ring.
  const detail::ring_spec spec = detail::spec_of_header(h, what);
  (void)detail::check_geometry(spec, h, segment_size, what);
  detail::check_elements(spec, what);  // byte counts below multiply by elem_size
  ring_info info;
  info.name = std::string(name);
  info.kind = static_cast<ring_kind>(h.kind);
  info.capacity = h.capacity;
  info.slot_size = h.slot_size;
  info.elem_size = h.elem_size;
  info.type_name.assign(h.type_name, h.type_name_len);
  const auto& c = *reinterpret_cast<const ring_control*>(v.data() + k_control_offset);
  // relaxed throughout: a snapshot for display
  info.tail = c.tail.load(std::memory_order_relaxed);
  info.head = c.head.load(std::memory_order_relaxed);
  // Clamped (a gap of 2^63 or more once showed as empty, not as full).
  info.used = detail::used_between(info.tail, info.head, info.capacity);
  info.producer_closed = c.producer_closed.load(std::memory_order_relaxed) != 0;
  info.consumer_closed = c.consumer_closed.load(std::memory_order_relaxed) != 0;
  add(info, c.producer_owner.load(std::memory_order_relaxed), "producer", false);
  add(info, c.consumer_owner.load(std::memory_order_relaxed), "consumer", false);
  const bool registry = info.kind == ring_kind::mpmc || info.kind == ring_kind::mpsc_msg;
  const registry_control* const reg =
      registry && v.size() >= k_control_offset + sizeof(registry_control)
          ? reinterpret_cast<const registry_control*>(v.data() + k_control_offset)
          : nullptr;
  const auto role_of = [](const endpoint_record& r) {
    const auto role = r.role.load(std::memory_order_relaxed);
    return role == static_cast<std::uint32_t>(endpoint_role::producer)   ? endpoint_role::producer
           : role == static_cast<std::uint32_t>(endpoint_role::consumer) ? endpoint_role::consumer
                                                                         : endpoint_role::none;
  };
  // An endpoint that leaves moves its record's counts into its side's totals (fold_counters):
  // a look that read the totals before the move and the record after it would miss them, and
  // `watch` would show a rate of 0, then the endpoint's lifetime at once. The totals of a side
  // that keeps its counts in records change only so: a look between two equal readings of them
  // missed no move but one caught between a counter's exchange out of its record and its add
  // to the totals (nanoseconds; counters.hpp). Up to 64 looks, then the last as it is.
  const bool consumers_in_records =
      counts_in_records(static_cast<std::uint32_t>(info.kind), endpoint_role::consumer);
  for (int look = 0; look < 64; ++look) {
    side_stats producer, consumer;
    add_counters(producer, c.producer_stats);
    add_counters(consumer, c.consumer_stats);
    const side_stats totals[2] = {producer, consumer};
    if (reg != nullptr) {
      for (const auto& r : reg->endpoints) {
        // Free records hold zeros (their counts were folded into the totals), or, handed back
        // by an mpmc recovery, the dead holder's counts, which no total holds yet. A record
        // without a role counts for neither side (below).
        const endpoint_role role = role_of(r);
        if (role != endpoint_role::none) {
          add_counters(role == endpoint_role::producer ? producer : consumer, r.stats);
        }
      }
    }
    info.producer = producer;
    info.consumer = consumer;
    side_stats again[2];
    add_counters(again[0], c.producer_stats);
    add_counters(again[1], c.consumer_stats);
    if (reg == nullptr ||
        (same(again[0], totals[0]) && (!consumers_in_records || same(again[1], totals[1])))) {
      break;
    }
  }
  if (info.kind == ring_kind::spsc || info.kind == ring_kind::mpmc) {
    // Fixed-slot rings keep no message counts: every slot (ticket) before tail was written,
    // every one before head read (side_counters, layout.hpp).
    info.producer.messages = info.tail;
    info.producer.bytes = info.tail * info.elem_size;
    info.consumer.messages = info.head;
    info.consumer.bytes = info.head * info.elem_size;
  }
  if (reg != nullptr) {
    for (const auto& r : reg->endpoints) {
      const endpoint_role role = role_of(r);
      // A role the record names is its holder's, or, just after a takeover, its previous
      // holder's until the new one names its own (register_endpoint folds the old counts by it).
      add(info, r.owner.load(std::memory_order_relaxed),
          role == endpoint_role::producer   ? "producer"
          : role == endpoint_role::consumer ? "consumer"
                                            : nullptr,
          r.claim_first.load(std::memory_order_relaxed) != 0);
    }
  }
  return info;
}

ring_info look_through(const map_view& v, std::string_view name, std::string_view verb) {
  const std::size_t n = std::min<std::size_t>(v.size(), k_inspect_bytes);
  aligned_copy copy(n);
  const std::span<std::byte> bytes = copy.bytes();
  // The header's first 16 bytes (magic, layout_version, init_state) first, then, after an
  // acquire fence, everything: fields a creator wrote before publishing `ready` are then in the
  // second read if the first saw `ready` ([A-ready] as in open; the kernel's loads of the first
  // read are this thread's). look() judges `ready` from the first read.
  std::byte first[16] = {};
  v.peek(0, std::span(first).first(std::min<std::size_t>(n, sizeof first)));
#if !defined(__SANITIZE_THREAD__)  // ThreadSanitizer cannot model a fence; x86-64 needs none
  std::atomic_thread_fence(std::memory_order_acquire);
#endif
  // An endpoint that leaves moves its counts from its record into its side's totals, which one
  // read copies before the records: read those totals again after, and the whole again if they
  // moved (as look() does on a mapping); only the totals of sides that keep their counts in
  // records. Up to 64 reads, then the last as it is.
  constexpr std::size_t k_producer_totals =
      k_control_offset + offsetof(ring_control, producer_stats);
  constexpr std::size_t k_totals_end = k_control_offset + sizeof(ring_control);
  for (int read = 0; read < 64; ++read) {
    v.peek(0, bytes);
    if (n < k_totals_end) break;
    const auto kind = reinterpret_cast<const segment_header*>(bytes.data())->kind;
    if (!counts_in_records(kind, endpoint_role::producer)) break;  // nor then the consumers
    const std::size_t end = counts_in_records(kind, endpoint_role::consumer)
                                ? k_totals_end
                                : k_control_offset + offsetof(ring_control, consumer_stats);
    std::byte again[k_totals_end - k_producer_totals];
    const std::span<std::byte> totals = std::span(again).first(end - k_producer_totals);
    v.peek(k_producer_totals, totals);
    if (std::memcmp(totals.data(), bytes.data() + k_producer_totals, totals.size()) == 0) break;
  }
  if (n != 0) std::memcpy(bytes.data(), first, std::min<std::size_t>(n, sizeof first));
  // Judged by the size the segment has now, read after the copy: one another process shrank
  // since the view was made read as zeros past its new end, and is then too small for what its
  // header claims (errc::too_small), not a ring whose records and counts read zero.
  return look(bytes, std::min<std::uint64_t>(v.size(), v.current_size()), name, verb);
}

}  // namespace

ring_info inspect(std::string_view name, const map_options& opt) {
  return detail::inspect_for("inspect", name, opt);
}

ring_info inspect(std::span<const std::byte> segment, std::string_view name) {
  return look(segment, segment.size(), name, "inspect");
}

ring_info inspect(std::span<const std::byte> first_bytes, std::uint64_t segment_size,
                  std::string_view name) {
  // The caller's bytes may sit anywhere: look() reads them as the segment's aligned blocks.
  aligned_copy copy(std::min<std::size_t>(first_bytes.size(), k_inspect_bytes));
  const std::span<std::byte> bytes = copy.bytes();
  if (!bytes.empty()) std::memcpy(bytes.data(), first_bytes.data(), bytes.size());
  return look(bytes, segment_size, name, "inspect");
}

ring_info inspect(const map_view& v, std::string_view name) {
  return look_through(v, name, "inspect");
}

ring_info detail::inspect_for(std::string_view verb, std::string_view name,
                              const map_options& opt) {
  const map_view v = open_to_look(name, opt, verb);
  try {
    return look_through(v, name, verb);
  } catch (const error& e) {
    if (e.value() != errc::not_ready || !abandoned_in_creation(v)) throw;
    throw detail::abandoned_error(std::string(verb) + " " + detail::in_quotes(name));
  }
}

bool remove_if_stale(std::string_view name) noexcept {
  try {
    // Judged and removed through one view: another process that removed the stale segment
    // and created a new one under the name meanwhile keeps it. And only while no other view
    // has it open (remove_if_unused): the owner words judged here are a snapshot, and a
    // process that opened the ring meanwhile (to take over a dead holder's role, or not yet
    // holding one) would be left on a segment no one else can find.
    map_options o;
    o.prefault = false;  // as open_to_look: a look allocates no page
    map_view v = map_view::open(name, o);
    if (abandoned_in_creation(v)) return v.remove_if_unused();
    const map_view ring = detail::require_header_written(std::move(v), "inspect");
    return look_through(ring, name, "inspect").stale() && ring.remove_if_unused();
  } catch (...) {
    return false;
  }
}

}  // namespace ipcring
