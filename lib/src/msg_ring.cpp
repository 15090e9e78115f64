// Message rings: setup and the consumer's out-of-line parts.
#include "ipcring/msg_ring.hpp"

#include <atomic>
#include <climits>

namespace ipcring {
namespace detail {

ring_spec msg_spec(ring_kind kind, std::uint64_t capacity) {
  ring_spec s;
  s.kind = kind;
  s.capacity = capacity;  // bytes of the data area
  s.slot_size = 1;
  s.slot_align = 8;
  s.elem_size = 1;
  s.elem_align = 1;
  s.control_size = control_size_of(kind);
  s.type_name = "bytes";
  return s;
}

}  // namespace detail

const char* to_string(msg_status s) noexcept {
  switch (s) {
    case msg_status::ok:
      return "ok";
    case msg_status::full:
      return "full";
    case msg_status::empty:
      return "empty";
    case msg_status::too_long:
      return "too_long";
    case msg_status::bad_type:
      return "bad_type";
    case msg_status::buffer_small:
      return "buffer_small";
    case msg_status::corrupted:
      return "corrupted";
  }
  return "unknown";
}

msg_consumer::msg_consumer(detail::attachment_ptr seg, const wait_policy& wait)
    : seg_(std::move(seg)) {
  auto& reg = *reinterpret_cast<registry_control*>(seg_->control());
  ctl_ = &reg.base;
  lease_ = detail::role_lease::acquire(ctl_->consumer_owner, "consumer", seg_->name);
  data_ = seg_->data();
  mask_ = seg_->spec.capacity - 1;
  // acquire: pairs with [R2] of a predecessor, so the records it zeroed before storing
  // head read as zero here, not as the lap before (only the consumer writes head). A
  // read-modify-write reads head's last value, a dead predecessor's last store too (a plain
  // load could return an older head, and deliver again)
  head_ = ctl_->head.fetch_add(0, std::memory_order_acquire);
  released_ = head_;
  if ((head_ & 7) != 0) {
    throw error(errc::corrupted, "consumer of '" + seg_->name + "': head=" + std::to_string(head_) +
                                     " is not 8-byte aligned");
  }
  // A predecessor killed while zeroing a release left head_pending ahead of head: finish it
  // (those records were handed to its handler already), or the zeroed records would hide the
  // ones after them.
  // acquire: pairs with the predecessor's release store of head_pending; a read-modify-write
  // for the reason given for head above (a dead predecessor's last store, not an older one)
  const std::uint64_t pending = ctl_->head_pending.fetch_add(0, std::memory_order_acquire);
  if (pending != head_ && pending - head_ <= capacity() && (pending & 7) == 0) {
    head_ = pending;
    flush();
  }
  fast_notify_ = detail::register_fast_notifier();
  wait_ = detail::wait_state{wait};
  single_producer_ = seg_->spec.kind == ring_kind::spsc_msg;
  detail::reset_sole_sleeper(ctl_->data_wait);
  scope_ = {&ctl_->data_wait, &ctl_->consumer_closed, &ctl_->producer_closed,
            single_producer_ ? &ctl_->producer_owner : nullptr};
  scope_.stats = &ctl_->consumer_stats;
  scope_.own_closed_here = &seg_->consumer_closed_here.value;
  detail::reopen_side(*seg_, *ctl_, false);
}

msg_consumer& msg_consumer::operator=(msg_consumer&& o) noexcept {
  if (this != &o) {
    flush_if_holder();
    lease_.release();
    seg_ = std::move(o.seg_);
    lease_ = std::move(o.lease_);
    ctl_ = std::exchange(o.ctl_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    mask_ = std::exchange(o.mask_, 0);
    head_ = std::exchange(o.head_, 0);
    released_ = std::exchange(o.released_, 0);
    stall_at_ = o.stall_at_;
    retries_ = o.retries_;
    corrupted_ = o.corrupted_;
    fast_notify_ = o.fast_notify_;
    single_producer_ = o.single_producer_;
    wakes_ = o.wakes_;
    scope_ = std::exchange(o.scope_, {});
    wait_ = o.wait_;
  }
  return *this;
}

void msg_consumer::flush() noexcept {
  if (released_ == head_) return;
  // Zero what was consumed, so the next lap reads "not written" until a producer commits.
  // Name the release first: a consumer that is killed while zeroing must not leave zeroed
  // records below head (a successor would wait on them forever); the next one finishes it.
  ctl_->head_pending.store(head_, std::memory_order_release);
  // The zeroing below must not be seen before head_pending: a producer taking over that meets
  // a zero below head_pending goes on from head_pending (msg_producer::resume_position), and
  // one that met the zero alone would take it for the end of the committed records and write
  // behind our read position. A release store orders only what comes before it; the fence
  // (once per release, a sixteenth of the ring) orders it before the plain stores of memset,
  // on every CPU and for the compiler. ThreadSanitizer cannot model a thread fence (GCC
  // warns), so its builds keep only the compiler's part of it: they run on x86-64, which keeps
  // ordinary stores in order. (In the C++ model the zeroing's plain stores racing a producer's
  // atomic loads of the same words are a data race all the same: this relies on the hardware.)
#if !defined(__SANITIZE_THREAD__)
  std::atomic_thread_fence(std::memory_order_seq_cst);
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
  const std::uint64_t n = head_ - released_;
  const std::uint64_t index = released_ & mask_;
  const std::uint64_t first = std::min(n, capacity() - index);
  std::memset(data_ + index, 0, first);
  std::memset(data_, 0, n - first);
  released_ = head_;
  // [R2] gives the zeroed space back; pairs with [A2] in the producers
  ctl_->head.store(head_, std::memory_order_release);
  // mpsc_msg producers share space_wait, so no new producer resets its count: one killed
  // asleep is taken back now and then, as mpmc endpoints do (detail/role.hpp).
  if (detail::notify(ctl_->space_wait, fast_notify_) && !single_producer_) [[unlikely]]
    detail::woke_sleepers(*reinterpret_cast<registry_control*>(seg_->control()), wakes_);
}

// inline: only this file calls it, and try_read should be its body, not a call through the
// shared library's PLT.
inline read_result msg_consumer::read_one(std::span<std::byte> buffer, bool count_stall) noexcept {
  std::uint64_t pos = head_;
  for (;;) {
    read_result r;
    std::uint64_t length = 0;
    r.status = next(pos, r.type, length);
    if (r.status != msg_status::ok) {
      release_to(pos);  // padding skipped so far
      if (r.status == msg_status::empty) {
        stopped_at(pos);
        if (count_stall) stalled();
      }
      return r;
    }
    if (pos - released_ + detail::align8(length) > capacity()) {  // untrusted: past one lap
      corrupted_ = true;
      release_to(pos);
      r.status = msg_status::corrupted;
      return r;
    }
    if (r.type == k_padding_type) {
      pos += detail::align8(length);
      if (pos - released_ >= capacity()) {  // a lap of padding: nothing to read
        release_to(pos);
        r.status = msg_status::empty;
        if (count_stall) stalled();
        return r;
      }
      continue;
    }
    r.size = length - k_record_header;
    if (buffer.size() < r.size) {
      release_to(pos);
      r.status = msg_status::buffer_small;
      return r;
    }
    if (r.size != 0) std::memcpy(buffer.data(), data_ + (pos & mask_) + k_record_header, r.size);
    release_to(pos + detail::align8(length));
    detail::count_messages(ctl_->consumer_stats, 1, r.size);
    return r;
  }
}

read_result msg_consumer::try_read(std::span<std::byte> buffer) noexcept {
  return read_one(buffer, true);
}

std::size_t msg_consumer::read_some(std::span<std::byte> buffer, std::span<read_result> out,
                                    bool first) noexcept {
  std::size_t used = 0;  // bytes of buffer taken, up to the next 8-byte offset
  for (std::size_t n = 0; n < out.size(); ++n) {
    if (used > buffer.size()) {  // the last message ran past the last 8-byte offset
      out[n] = {msg_status::buffer_small, 0, 0};
      return n;
    }
    // A batch that found the ring empty after taking messages is not a stall.
    out[n] = read_one(buffer.subspan(used), first && n == 0);
    if (out[n].status != msg_status::ok) return n;
    used += static_cast<std::size_t>(detail::align8(out[n].size));
  }
  return out.size();
}

std::size_t msg_consumer::recover() noexcept {
  if (seg_->spec.kind != ring_kind::mpsc_msg) return 0;
  auto& reg = *reinterpret_cast<registry_control*>(seg_->control());
  detail::withdraw_dead_sleepers(reg);  // dead producers' counts on space_wait
  // Dead producers' claims that are finished (read already) or were never made (at or past
  // tail) hold their records for nothing: clear them, so the records can be reused.
  for (auto& r : reg.endpoints) {
    // acquire: pairs with the producer's release store naming its claim (reserve()), so
    // claim_count below is that claim's
    std::uint64_t first = r.claim_first.load(std::memory_order_acquire);
    // acquire: pairs with the registering CAS (register_endpoint)
    const std::uint64_t owner = r.owner.load(std::memory_order_acquire);
    if (first == 0 || owner == 0 || detail::process_alive(owner)) continue;
    // Read tail only now that the owner is known dead: a tail read before the liveness check
    // could miss a claim the owner made (and died in) meanwhile, and clearing that claim would
    // leave its record unrepairable. acquire: pairs with [R-claim]; a dead owner's CAS is
    // behind us (the syscalls of the liveness check separate us from its last store).
    const std::uint64_t claimed_below = ctl_->tail.load(std::memory_order_acquire);
    const std::uint64_t start = first - 1;
    // acquire: pairs with the release store naming a claim (reserve()), as claim_of()
    const std::uint64_t count = r.claim_count.load(std::memory_order_acquire);
    // Still in flight only if head is past the claim's start and inside it, or the claim
    // starts between head and tail (a claim that starts at head was made only if tail is past
    // it: one named just before its owner died, on a ring read to the end, was never made).
    const bool in_flight =
        (start != head_ && head_ - start < count) || start - head_ < claimed_below - head_;
    if (!in_flight) {
      // acq_rel: as the producer's own clearing store (release), and only if still that claim
      r.claim_first.compare_exchange_strong(first, 0, std::memory_order_acq_rel);
    }
  }
  std::size_t repaired = 0;
  std::uint64_t pos = head_;
  for (int i = 0; i < 64; ++i) {
    const std::uint64_t index = pos & mask_;
    // [A-msg] pairs with [R-msg]
    std::int32_t len = detail::length_at(data_, index).load(std::memory_order_acquire);
    if (len > 0) {  // committed (or repaired): look past it, within the current lap
      // A length no producer writes stops the look (the read then reports the ring corrupt
      // there) rather than landing inside another record.
      const auto ulen = static_cast<std::uint64_t>(len);
      if (!length_possible(ulen, index)) break;
      pos += detail::align8(ulen);
      if (pos - released_ >= capacity()) break;
      continue;
    }
    // acquire: pairs with [R-claim]; positions below tail were really claimed
    const std::uint64_t tail = ctl_->tail.load(std::memory_order_acquire);
    if (tail - pos == 0 || tail - pos > capacity()) break;
    const detail::dead_claim dead = detail::dead_claim_covering(reg, pos, endpoint_role::producer);
    // Its fields as read, and only if the record was not taken by a new endpoint meanwhile.
    if (!dead.still_owned() || detail::claimed_by_live(reg, pos, endpoint_role::producer)) break;
    const std::uint64_t first = dead.first;
    // A record its producer marked (-size, after its CAS) says its own size; otherwise the
    // claim does (up to the end of the buffer, where its padding would have gone). Either way
    // no more than tail, and no more than a producer writes at once (capacity / 8: a record,
    // or the padding before one); anything else is not a claim we can repair.
    // (INT32_MIN, a length no producer writes, is how versions before 2026-12-06 locked a
    // record: it says nothing of the size.)
    constexpr std::int32_t k_old_lock = INT32_MIN;
    const std::uint64_t size = len < 0 && len != k_old_lock
                                   ? static_cast<std::uint64_t>(-static_cast<std::int64_t>(len))
                                   : std::min(first + dead.count, pos + capacity() - index) - pos;
    if (size < k_record_header || (size & 7) != 0 || size > capacity() / 8 ||
        size > capacity() - index || size > tail - pos) {
      break;
    }
    const std::uint64_t end = pos + size;
    // Lock the record before touching its type, so a record committed meanwhile is never
    // turned into padding: as the producer's own mark, -size, so that a successor of a
    // consumer killed here reads the size it chose (and the mark the producer wrote, if it
    // did), not a shorter, older claim that starts at the same position.
    if (!detail::length_at(data_, index)
             .compare_exchange_strong(len, -static_cast<std::int32_t>(size),
                                      std::memory_order_acquire, std::memory_order_relaxed)) {
      break;  // changed under us: not dead after all
    }
    // relaxed: published by the length, [R-msg] below
    detail::type_at(data_, index).store(k_padding_type, std::memory_order_relaxed);
    // [R-msg], as a producer's commit: the padding is visible with its type
    detail::length_at(data_, index)
        .store(static_cast<std::int32_t>(size), std::memory_order_release);
    ++repaired;
    std::uint64_t f = first + 1;
    if (end == first + dead.count) {
      // acq_rel: as above; the padding stored before it is published with the cleared claim
      dead.record->claim_first.compare_exchange_strong(f, 0, std::memory_order_acq_rel);
    }
    pos = end;
  }
  if (repaired != 0) detail::wake_all(ctl_->data_wait);
  return repaired;
}

wait_result msg_consumer::wait_readable(std::chrono::nanoseconds timeout) noexcept {
  // About to wait: free what was read first, so that a waiting consumer leaves nothing held
  // (a producer never needs it, but a reader of the positions expects an empty ring).
  if (!deliverable()) flush();
  detail::wait_scope scope = scope_;
  scope.recover = [](void* self) noexcept { return static_cast<msg_consumer*>(self)->recover(); };
  if (!single_producer_) {
    // Producers closed with records claimed past head_: one still being written, or a dead
    // producer's (recover() pads it), with committed ones after it to deliver. A position more
    // than a lap ahead is no claim (corrupt): closed as before.
    scope.claimed_ahead = [](void* self) noexcept {
      const auto* c = static_cast<const msg_consumer*>(self);
      // acquire: pairs with [R-claim], the CAS of the producer that moved tail there
      const std::uint64_t ahead = c->ctl_->tail.load(std::memory_order_acquire) - c->head_;
      return ahead != 0 && ahead <= c->capacity();
    };
  }
  scope.recover_self = this;  // not stored: handles move
  return detail::wait_for(scope, wait_, timeout, [&] {
    // a record, or corruption to report (a head another process moved is one: next() says so)
    return deliverable() || head_overwritten();
  });
}

bool msg_consumer::deliverable() noexcept {
  // Padding is never delivered: passed here as a read would pass it, a lap at most (a producer
  // may write it as fast as this side skips it).
  for (std::uint64_t skipped = 0;;) {
    std::uint32_t type = 0;
    std::uint64_t length = 0;
    const msg_status s = next(head_, type, length);
    if (s != msg_status::ok) {
      // Padding passed and nothing after it: free it now, as a read that stops would (a
      // producer may be waiting for that space; a reader of the positions expects it free).
      if (s == msg_status::empty && skipped != 0) flush();
      return s != msg_status::empty;
    }
    // A lap of padding: the read says so. (A record past one lap, corrupt, is a defensive
    // check: next() refuses records longer than capacity / 8, and head_ - released_ stays
    // under a sixteenth of the ring.)
    const std::uint64_t record = detail::align8(length);
    if (type != k_padding_type || head_ - released_ + record > capacity() ||
        (skipped += record) >= capacity()) {
      return true;
    }
    release_to(head_ + record);
  }
}

bool msg_consumer::head_overwritten() noexcept {
  // relaxed: our own last store (flush()), unless another process wrote since; nothing is read
  // on the strength of it
  if (ctl_->head.load(std::memory_order_relaxed) == released_) return false;
  corrupted_ = true;
  return true;
}

#define IPCRING_MSG_RING_SETUP(ring, kind)                                                     \
  ring ring::create(std::string_view name, std::uint64_t capacity, const ring_options& opt) {  \
    return ring(detail::create_shm(name, detail::msg_spec(kind, capacity), opt));              \
  }                                                                                            \
  ring ring::open(std::string_view name, const ring_options& opt) {                            \
    return ring(detail::open_shm(name, detail::msg_spec(kind, 0), opt));                       \
  }                                                                                            \
  ring ring::create_file(const std::filesystem::path& path, std::uint64_t capacity,            \
                         const ring_options& opt) {                                            \
    return ring(detail::create_file(path, detail::msg_spec(kind, capacity), opt));             \
  }                                                                                            \
  ring ring::open_file(const std::filesystem::path& path, const ring_options& opt) {           \
    return ring(detail::open_file(path, detail::msg_spec(kind, 0), opt));                      \
  }                                                                                            \
  ring ring::create_in(std::span<std::byte> bytes, std::uint64_t capacity) {                   \
    return ring(detail::create_in(bytes, detail::msg_spec(kind, capacity), "<memory>"));       \
  }                                                                                            \
  ring ring::open_in(std::span<std::byte> bytes, const ring_options& opt) {                    \
    return ring(detail::open_in(bytes, detail::msg_spec(kind, 0), "<memory>", opt));           \
  }                                                                                            \
  std::uint64_t ring::required_bytes(std::uint64_t capacity) {                                 \
    return detail::required_bytes(detail::msg_spec(kind, capacity), #ring "::required_bytes"); \
  }

IPCRING_MSG_RING_SETUP(spsc_msg_ring, ring_kind::spsc_msg)
IPCRING_MSG_RING_SETUP(mpsc_msg_ring, ring_kind::mpsc_msg)

}  // namespace ipcring
