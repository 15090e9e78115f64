// ipcring/msg_producer.hpp: the producer side of the message rings (msg_ring.hpp has the
// contract and the rings): msg_producer<false> of an spsc_msg_ring, msg_producer<true> of an
// mpsc_msg_ring, and msg_claim, a record claimed for writing in place.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string_view>
#include <utility>

#include "ipcring/detail/counters.hpp"
#include "ipcring/detail/overlap.hpp"
#include "ipcring/detail/role.hpp"
#include "ipcring/detail/segment.hpp"
#include "ipcring/detail/wait_block.hpp"
#include "ipcring/error.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/msg_record.hpp"
#include "ipcring/ring_options.hpp"
#include "ipcring/wait.hpp"

namespace ipcring {

namespace c_api {
struct batch_writer;  // the C API's batch write: lib/src/c_api_batch.cpp
}

template <bool MultiProducer>
class msg_producer;

/// A claimed record: write the payload into bytes(), then commit() or abort(). Committing a
/// claim that was never made (empty) does nothing. Destroying an open claim aborts it (not in a
/// child that inherited it across fork(): the claim is the parent's). A newer claim or write
/// of its producer (try_write, try_write_some...; not one refused as too_long or bad_type),
/// and moving the producer, end an open claim as padding: its commit() then returns false and
/// publishes nothing, and its bytes() must not be written any more (the consumer skips and
/// frees that space, and a producer may write it again: a late write there could be read as
/// part of a later record). So fill a claim before any other call on its producer (a log
/// line written from the fill code ends the claim). A claim must not outlive the producer object it
/// came from: after the producer moved (a std::vector that grew), let go of the claim before the
/// moved-from object goes (the claim reads it; it holds no pointer back, which would keep the claim
/// out of registers: 8 B claims 0.56x).
template <bool MultiProducer>
class msg_claim {
 public:
  msg_claim() = default;
  msg_claim(msg_claim&& o) noexcept;
  msg_claim& operator=(msg_claim&& o) noexcept;
  ~msg_claim() { drop(); }

  /// True once made, until its own commit() or abort() (a claim its producer ended stays
  /// true: its commit() says).
  explicit operator bool() const noexcept { return owner_ != nullptr; }
  msg_status status() const noexcept { return status_; }
  std::span<std::byte> bytes() const noexcept { return bytes_; }
  /// Publishes the record; the consumer can read it from now on. False if the claim was not
  /// open (never made, or ended before: see above), and nothing was published.
  bool commit() noexcept;
  /// As commit(), publishing only the first `used` bytes of bytes() as the message (all of
  /// them where `used` is more): for a message whose length is known once written (claim the
  /// most it can take, fill, commit what was filled). The rest of the claimed space becomes
  /// padding, which the consumer skips and frees; it is not given back to the producer first.
  bool commit(std::size_t used) noexcept;
  /// Turns the record into padding: the consumer skips it.
  void abort() noexcept;

 private:
  friend class msg_producer<MultiProducer>;
  msg_claim(msg_producer<MultiProducer>* owner, std::span<std::byte> bytes,
            std::uint64_t serial) noexcept;
  explicit msg_claim(msg_status s) noexcept : status_(s) {}
  void take(msg_claim& o) noexcept;
  void drop() noexcept;
  msg_producer<MultiProducer>* owner_ = nullptr;
  std::span<std::byte> bytes_{};
  std::uint64_t serial_ = 0;  // which claim of its producer this is: a stale one does nothing
  msg_status status_ = msg_status::ok;
};

/// A producer of a message ring. Move-only. A moved-from handle may only be destroyed or
/// assigned to (close() does nothing): it keeps no pointer to the ring, so another call on it
/// faults at address 0 instead of writing into the ring behind the handle it moved to.
/// \pre one thread at a time.
template <bool MultiProducer>
class msg_producer {
 public:
  /// Moving a producer ends (aborts) a claim it has open; so does destroying it (not in a
  /// child that inherited the handle across fork(): the claim is the parent's).
  msg_producer(msg_producer&& o) noexcept
      : record_(o.record_),
        stats_(o.stats_),
        seg_(std::move(o.seg_)),
        lease_(std::move(o.lease_)),
        ctl_(o.ctl_),
        data_(o.data_),
        mask_(o.mask_),
        tail_(o.tail_),
        head_cache_(o.head_cache_),
        fast_notify_(o.fast_notify_),
        scope_(o.scope_),
        wait_(o.wait_) {
    abort_if_held(o, lease_);  // a claim handle points at `o`: end it there (o's lease is ours)
    o.forget_ring();
    serial_ = o.serial_ + 1;
  }
  ~msg_producer() { abort_if_held(*this, lease_); }
  msg_producer& operator=(msg_producer&& o) noexcept {
    if (this != &o) {
      abort_if_held(*this, lease_);
      abort_if_held(o, o.lease_);
      open_length_ = 0;  // aborted above, or the parent's (a child across fork())
      serial_ = std::max(serial_, o.serial_) + 1;
      lease_.release();
      seg_ = std::move(o.seg_);
      lease_ = std::move(o.lease_);
      record_ = o.record_;
      stats_ = o.stats_;
      ctl_ = o.ctl_;
      data_ = o.data_;
      mask_ = o.mask_;
      tail_ = o.tail_;
      head_cache_ = o.head_cache_;
      fast_notify_ = o.fast_notify_;
      scope_ = o.scope_;
      wait_ = o.wait_;
      o.forget_ring();
    }
    return *this;
  }

  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  /// Longest payload accepted: capacity / 8 - 8 bytes.
  std::uint64_t max_message() const noexcept { return max_message_for(capacity()); }

  /// Copies `bytes` into a new record of `type`. ok, full, too_long or bad_type; corrupted
  /// when the ring's positions are impossible (tail behind head or more than a lap ahead;
  /// mpsc: or not 8-byte aligned): nothing is written. mpsc: full also after 1024 claims in a
  /// row lost to other producers (bounded, so that a try_ call never spins without end): the
  /// blocking calls try again.
  [[nodiscard]] msg_status try_write(std::uint32_t type,
                                     std::span<const std::byte> bytes) noexcept {
    if (const msg_status r = open_record(type, bytes.size()); r != msg_status::ok) return r;
    if (!bytes.empty()) {
      std::memcpy(data_ + open_index_ + k_record_header, bytes.data(), bytes.size());
    }
    finish(true);
    return msg_status::ok;
  }
  /// Zero-copy: reserves a record of `length` payload bytes. Check it with `if (claim)`; on
  /// failure claim.status() says why. At most one claim is open at a time per producer.
  [[nodiscard]] msg_claim<MultiProducer> try_claim(std::uint32_t type,
                                                   std::size_t length) noexcept {
    if (const msg_status r = open_record(type, length); r != msg_status::ok) {
      return msg_claim<MultiProducer>(r);
    }
    return msg_claim<MultiProducer>(this, {data_ + open_index_ + k_record_header, length},
                                    ++serial_);
  }
  /// Batch: copies as many of `messages` as fit now, in order, into consecutive records of
  /// `type`, with one reservation for all of them (one CAS on `tail` for an mpsc producer), and
  /// returns how many. A call takes at most capacity / 8 bytes of records (what one record may
  /// take; call again for the rest). When it returns fewer than messages.size(), `status` (if
  /// given) says why the next one was not written: ok (the batch reached that size), full,
  /// too_long or bad_type (that message; the ones before it are written), corrupted (impossible
  /// positions, as for try_write; nothing is written). The consumer may read the first records of
  /// a batch before the call returns; a producer killed during it leaves a prefix of the batch
  /// (spsc_msg: its successor continues after it; mpsc_msg: msg_consumer::recover() turns the
  /// rest into padding).
  [[nodiscard]] std::size_t try_write_some(std::uint32_t type,
                                           std::span<const std::span<const std::byte>> messages,
                                           msg_status* status = nullptr) noexcept {
    if (type == k_padding_type) {
      if (status != nullptr) *status = msg_status::bad_type;
      return 0;
    }
    // One reservation is no larger than one record may be, so that an mpsc consumer repairs a
    // dead producer's unfinished batch as it repairs a record (msg_consumer::recover).
    batch b = size_batch(messages, capacity() / 8, ~std::uint64_t{0}, 0);
    msg_status why = b.n < messages.size() && messages[b.n].size() > max_message()
                         ? msg_status::too_long
                         : msg_status::ok;
    if (b.n == 0) {
      if (status != nullptr) *status = why;
      return 0;
    }
    if (open_length_ != 0) abort_open();  // a forgotten claim becomes padding
    std::uint64_t pos = 0;
    for (msg_status r; (r = reserve(b.bytes, pos)) != msg_status::ok;) {
      // Not room for all: as many as the free space reserve() saw takes, and fewer each time.
      // relaxed: a size to try; reserve() decides
      const std::uint64_t at = MultiProducer ? ctl_->tail.load(std::memory_order_relaxed) : tail_;
      const std::uint64_t used = at - head_cache_;  // head_cache_: as reserve() refreshed it
      if (r == msg_status::full && b.n > 1 && used <= capacity()) {
        b = size_batch(messages.first(b.n - 1), capacity() / 8, capacity() - used,
                       capacity() - (at & mask_));
      } else {
        b.n = 0;
      }
      if (b.n == 0) {
        if (r == msg_status::full) stalled();
        if (status != nullptr) *status = r;
        return 0;
      }
      why = msg_status::full;
    }
    prefetch_ahead(pos, b.largest, b.bytes);
    std::uint64_t payload = 0;
    const std::uint64_t start = pos, end = pos + b.bytes;
    for (const std::span<const std::byte> m : messages.first(b.n)) {
      const std::uint64_t index = pos & mask_;  // reserve() keeps the batch before the wrap
      if (MultiProducer && pos != start) {
        // Marks the rest of the batch claimed (its size), as reserve() marked the whole: a
        // recovery after we die here pads it by this size, not by a claim that may be another
        // (dead) producer's. relaxed: as reserve()'s mark (there), a recovery acts on it only by
        // a CAS from the value it read.
        detail::length_at(data_, index)
            .store(-static_cast<std::int32_t>(end - pos), std::memory_order_relaxed);
      }
      // relaxed: published by the record's length, [R-msg] below
      detail::type_at(data_, index).store(type, std::memory_order_relaxed);
      if (!m.empty()) std::memcpy(data_ + index + k_record_header, m.data(), m.size());
      // [R-msg] publishes the record, the first ones while the rest are written; pairs with
      // [A-msg] in the consumer. In order: a producer killed here leaves a prefix of its batch.
      detail::length_at(data_, index)
          .store(static_cast<std::int32_t>(k_record_header + m.size()), std::memory_order_release);
      pos += detail::align8(k_record_header + m.size());
      payload += m.size();
    }
    detail::count_messages(*stats_, b.n, payload);
    end_reservation();
    if (status != nullptr) *status = why;
    return b.n;
  }
  /// Blocking try_write: waits (by the wait_policy) for space. Returns how the wait ended (ok,
  /// closed, peer_dead, timeout); `*status` gets try_write's outcome: ok, too_long, bad_type,
  /// corrupted (impossible positions, as for try_write; the wait then ends at once, ok, also
  /// when they turn impossible during it), or full when the wait ended without room.
  template <class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  wait_result write(
      std::uint32_t type, std::span<const std::byte> bytes,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      msg_status* status = nullptr) noexcept {
    msg_status s = msg_status::full;
    const wait_result r =
        blocking(detail::saturate(timeout), detail::align8(k_record_header + bytes.size()), [&] {
          s = try_write(type, bytes);
          return s != msg_status::full;
        });
    if (status != nullptr) *status = s;
    return r;
  }
  /// Blocking try_write_some: waits (by the wait_policy) until the first message fits, then
  /// writes as many as fit and returns how many. 0 when the first message is refused (`status`:
  /// too_long, bad_type, corrupted) or the wait ended without room (`result`: closed,
  /// peer_dead, timeout); 0 with ok for no messages. As the other batches, it uses the room
  /// there is even after this side closed: closed comes only where it would wait.
  template <class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  [[nodiscard]] std::size_t write_some(
      std::uint32_t type, std::span<const std::span<const std::byte>> messages,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      wait_result* result = nullptr, msg_status* status = nullptr) noexcept {
    std::size_t n = 0;
    msg_status s = messages.empty() ? msg_status::ok : msg_status::full;
    wait_result r = wait_result::ok;
    // As the other batches, it uses the room there is even after this side closed: closed
    // comes only where it would wait.
    if (!messages.empty() && (n = try_write_some(type, messages, &s)) == 0 &&
        s == msg_status::full) {
      r = blocking(detail::saturate(timeout), detail::align8(k_record_header + messages[0].size()),
                   [&] {
                     n = try_write_some(type, messages, &s);
                     return n != 0 || s != msg_status::full;
                   });
    }
    if (result != nullptr) *result = r;
    if (status != nullptr) *status = s;
    return n;
  }
  /// Blocking batch: writes all of `messages` in order, as many at a time as fit (as
  /// try_write_some), waiting (by the wait_policy) for room as often as needed within one
  /// `timeout`. Returns how many were written: messages.size() with `*result` and `*status`
  /// ok; fewer where a message was refused (`*status`: too_long, bad_type, corrupted; the ones
  /// before it are written, the ones after it are not tried) or a wait ended first (`*result`:
  /// closed, peer_dead, timeout; `*status` full). As the C API's batches (and the try_ calls),
  /// it uses the room there is even after this side closed: closed comes only where it would
  /// wait (write() returns it at once).
  template <class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  [[nodiscard]] std::size_t write_all(
      std::uint32_t type, std::span<const std::span<const std::byte>> messages,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      wait_result* result = nullptr, msg_status* status = nullptr) noexcept {
    detail::time_budget time(detail::saturate(timeout));
    bool counted = false;
    wait_result r = wait_result::ok;
    msg_status s = msg_status::ok;
    const std::size_t n = write_all_within(type, messages, time, counted, r, s);
    if (result != nullptr) *result = r;
    if (status != nullptr) *status = s;
    return n;
  }

  /// Closes the producer side (for every producer of an mpsc ring). Does nothing in a child
  /// that inherited the handle across fork(): the side is the parent's.
  void close() noexcept { closer().close(); }
  close_token closer() const noexcept {
    return detail::side_closer(seg_.get(), ctl_, true, lease_);
  }
  /// Racy observer: whether the consumer closed its side (close(), a close_token), without
  /// waiting; a new holder of its role reopens it. One load, no syscall.
  bool peer_closed() const noexcept { return detail::peer_side_closed(scope_); }
  /// Whether the consumer's role is held by a process that is gone without letting go of
  /// it (closed first or not: a closed peer's blocking calls still say closed); a successor may
  /// take over. False for a free role (none yet, or one that let go) and a live holder. Reads /proc
  /// (Linux) or opens the process (Windows): not for the hot path.
  bool peer_dead() const noexcept { return detail::peer_side_dead(scope_); }
  void set_wait_policy(const wait_policy& p) noexcept {
    wait_ = detail::wait_state{p};  // and a new schedule: checks on the new interval
  }

 private:
  template <bool>
  friend class msg_claim;
  friend class spsc_msg_ring;
  friend class mpsc_msg_ring;
  friend struct c_api::batch_writer;
  static constexpr int k_max_retries = 1024;  // lost claims before full: contention, corruption

  msg_producer(detail::attachment_ptr seg, const wait_policy& wait) : seg_(std::move(seg)) {
    std::uint64_t replaced = 0;  // single producer: the dead holder taken over from, if any
    auto& reg = *reinterpret_cast<registry_control*>(seg_->control());
    ctl_ = &reg.base;
    if constexpr (MultiProducer) {
      lease_ =
          detail::role_lease::register_endpoint(reg, endpoint_role::producer, seg_->name, &record_);
    } else {
      lease_ = detail::role_lease::acquire(ctl_->producer_owner, "producer", seg_->name, &replaced);
    }
    data_ = seg_->data();
    mask_ = seg_->spec.capacity - 1;
    // Only producers write tail; a new holder continues from it. A read-modify-write reads its
    // last value, a dead holder's last store too (as spsc_ring's producer). relaxed: the value
    // is all we need; records are read through their lengths
    tail_ = ctl_->tail.fetch_add(0, std::memory_order_relaxed);
    if constexpr (!MultiProducer) tail_ = resume_position(tail_);
    head_cache_ = ctl_->head.load(std::memory_order_acquire);  // [A2] pairs with [R2]
    // A single producer's tail_ is its own, so a head more than a lap from it is proof enough,
    // and the head checked is the head that clear_abandoned() is bounded by (a second load,
    // which a broken peer could have moved back, let the first through). With several, tail_
    // may be stale: impossible() looks again, and has_room() loads head again before use.
    const bool off_lap = tail_ - head_cache_ > capacity();
    if ((tail_ & 7) != 0 || (off_lap && (!MultiProducer || impossible(tail_)))) {
      // Refused: the role goes back to the dead holder taken over from, so that the next
      // taker takes over too and clears what it left (freed, it would not know to).
      if constexpr (!MultiProducer) lease_.release_to(replaced);
      throw error(errc::corrupted,
                  "producer of '" + seg_->name + "': tail=" + std::to_string(tail_) +
                      ", head=" + std::to_string(head_cache_) + " are inconsistent");
    }
    if constexpr (!MultiProducer) {
      if (replaced != 0) clear_abandoned();
      detail::reset_sole_sleeper(ctl_->space_wait);
    }
    fast_notify_ = detail::register_fast_notifier();
    wait_ = detail::wait_state{wait};
    scope_ = {&ctl_->space_wait, &ctl_->producer_closed, &ctl_->consumer_closed,
              &ctl_->consumer_owner};
    stats_ = MultiProducer ? &record_->stats : &ctl_->producer_stats;
    scope_.stats = stats_;
    if constexpr (MultiProducer) scope_.record = record_;  // producers share space_wait
    scope_.own_closed_here = &seg_->producer_closed_here.value;
    detail::reopen_side(*seg_, *ctl_, true);
  }

  // Single producer taking over: `tail` is stored just after each commit, so a predecessor
  // killed in between left committed records past it. Continue after the last committed
  // record, and never behind the consumer (which only passes committed records).
  std::uint64_t resume_position(std::uint64_t t) noexcept {
    for (std::uint64_t steps = 0; steps <= capacity() / k_record_header; ++steps) {
      // [A2] pairs with [R2]
      const std::uint64_t h = ctl_->head.load(std::memory_order_acquire);
      if (t - h > capacity()) t = h;  // behind the consumer: everything before head is read
      // Untrusted: no record starts off 8 bytes (nor would its length word lie inside the
      // buffer). Stop there; the constructor reports it.
      if ((t & 7) != 0) break;
      const std::uint64_t index = t & mask_;
      // [A-msg] pairs with [R-msg]
      const std::int32_t len = detail::length_at(data_, index).load(std::memory_order_acquire);
      const auto record = detail::align8(static_cast<std::uint64_t>(len > 0 ? len : 0));
      if (len > 0 && record <= capacity() - index && t + record - h <= capacity()) {
        t += record;  // committed: skip it
        continue;
      }
      if (ctl_->head.load(std::memory_order_acquire) - t <= capacity() &&
          ctl_->head.load(std::memory_order_acquire) != t) {
        continue;  // the consumer passed t meanwhile: look again from head
      }
      // A release in progress (msg_consumer::flush) stores its end in head_pending, zeroes what
      // the consumer read, then stores head: a zero below head_pending is a record already
      // read, not the end of the committed ones (a dead consumer's unfinished release looks
      // the same). Continue from there. acquire: a zero seen at [A-msg] above comes after
      // flush()'s fence, so this load sees the head_pending stored before that fence.
      const std::uint64_t pending = ctl_->head_pending.load(std::memory_order_acquire);
      if (pending - t <= capacity() && pending != t && pending - h <= capacity() &&
          (pending & 7) == 0) {
        t = pending;
        continue;
      }
      break;
    }
    return t;
  }

  // The first n of `messages` as records: the longest prefix of messages no longer than
  // max_message() whose records take at most `limit` bytes, and whose records plus the padding
  // they need (when they do not fit in the `before_wrap` bytes to the end of the buffer; 0:
  // never) take at most `room` bytes.
  struct batch {
    std::size_t n = 0;
    std::uint64_t bytes = 0;    // of the n records
    std::uint64_t largest = 0;  // record among them
  };
  batch size_batch(std::span<const std::span<const std::byte>> messages, std::uint64_t limit,
                   std::uint64_t room, std::uint64_t before_wrap) const noexcept {
    batch b;
    for (const std::span<const std::byte> m : messages) {
      if (m.size() > max_message()) break;
      const std::uint64_t record = detail::align8(k_record_header + m.size());
      const std::uint64_t pad =
          before_wrap != 0 && before_wrap < b.bytes + record ? before_wrap : 0;
      if (b.bytes + record > limit || pad + b.bytes + record > room) break;
      b.bytes += record;
      b.largest = std::max(b.largest, record);
      ++b.n;
    }
    return b;
  }
  // Single producer taking over from a dead one: a predecessor killed while it filled a
  // record (the copy of try_write, a claim, a batch past the records it published) left bytes
  // at tail_ that no length word covers. Our first record there may be shorter, and the
  // consumer would take what lies after it for records (a phantom message, or a corrupt
  // ring). Zero what it may have written: one reservation, at most capacity / 8 bytes, before
  // the end of the buffer and within the space the consumer released (head_cache_, loaded
  // after resume_position()). Up to capacity / 8 bytes written (1 GiB in the largest ring),
  // only after a death: a producer that released the role left nothing (an open claim ends
  // as padding, a write or batch ends within the call, as long as no other thread destroys
  // the handle during one, which its contract forbids). A taker that throws `corrupted` above
  // clears nothing and hands the role back to the dead holder: the next taker clears.
  void clear_abandoned() noexcept {
    const std::uint64_t index = tail_ & mask_;
    const std::uint64_t n =
        std::min({capacity() / 8, capacity() - index, head_cache_ + capacity() - tail_});
    if (n < k_record_header) return;  // a full ring: nothing was claimed
    // relaxed: the consumer may be polling this word, and reads "not written" either way; the
    // bytes after it it reads only after our first [R-msg] there
    detail::length_at(data_, index).store(0, std::memory_order_relaxed);
    std::memset(data_ + index + 4, 0, n - 4);
  }
  // Asks for the cache lines that begin within the `bytes` (the records written now) k_ahead
  // after `pos`, so that the records written there later find their lines owned
  // (detail/overlap.hpp): one prefetch per line, however small the records, and at most
  // k_ahead bytes of them per call. Only bytes that head_cache_ says the consumer released. A
  // hint: nothing is read or written. Single producer only: with several, the bytes ahead may
  // be another producer's open record (mpsc_msg 64 B single writes ran 0.49-0.58x with it).
  // Records (`largest`) of 256 B or less: larger ones won as often as they lost (0.70x-1.66x,
  // near and far cores; docs/tuning.md).
  void prefetch_ahead(std::uint64_t pos, std::uint64_t largest, std::uint64_t bytes) noexcept {
    constexpr std::uint64_t k_ahead = 2048;
    if constexpr (MultiProducer) return;
    if (largest > 256) return;
    const std::uint64_t begin = pos + k_ahead;
    const std::uint64_t end = begin + std::min(bytes, k_ahead);
    if (end - head_cache_ > capacity()) return;  // not released yet (or not known released)
    for (std::uint64_t a = (begin + detail::k_line - 1) & ~std::uint64_t{detail::k_line - 1};
         a < end; a += detail::k_line) {
      detail::prefetch_for_write(data_ + (a & mask_), 1);
    }
  }
  // Free bytes at `pos`, refreshing the head cache when it says fewer than `need`. Sets `odd`
  // if the head it loaded says pos is behind it or more than a lap ahead (impossible() tells
  // a ring that moved on meanwhile from a corrupt one; a healthy full ring never pays it).
  bool has_room(std::uint64_t pos, std::uint64_t need, bool& odd) noexcept {
    const std::uint64_t cap = capacity();
    if (pos - head_cache_ > cap || cap - (pos - head_cache_) < need) {
      // [A2] pairs with [R2]: the consumer zeroed what it released
      const std::uint64_t h = ctl_->head.load(std::memory_order_acquire);
      if (pos - h <= cap) {
        head_cache_ = h;
      } else {
        odd = true;  // untrusted: not cached
      }
    }
    return pos - head_cache_ <= cap && cap - (pos - head_cache_) >= need;
  }

  // Untrusted: true if tail `t` (this producer's, or the shared one as just loaded) lies
  // behind head or more than a lap ahead of it, which no ring allows. Off the hot path: when
  // reserving found no room, and at attach with several producers. With several, t is proof
  // only in a snapshot: tail reads t before head (acquire), so head is at least what the
  // producer that moved tail to t saw, and no more than a lap behind t; and again after head,
  // so head, which never passes tail, has not passed t meanwhile.
  bool impossible(std::uint64_t t) const noexcept {
    // acquire: pairs with [R-claim] of the producer whose CAS stored t (it read head first)
    if (MultiProducer && ctl_->tail.load(std::memory_order_acquire) != t) return false;
    // [A2] pairs with [R2]
    const std::uint64_t h = ctl_->head.load(std::memory_order_acquire);
    // relaxed: compared only; the acquire above orders it after the head load
    if (MultiProducer && ctl_->tail.load(std::memory_order_relaxed) != t) return false;
    return t - h > capacity();
  }
  // Reserves `record` contiguous bytes (plus padding to the end of the buffer when it does not
  // fit before the wrap) and sets `out` to the record's position: ok, full, or corrupted (a
  // shared tail that is not 8-byte aligned: records could not start there, and padding up to
  // the end of the buffer would be written past it; or positions that are impossible).
  msg_status reserve(std::uint64_t record, std::uint64_t& out) noexcept {
    const std::uint64_t cap = capacity();
    // relaxed: the CAS below decides; what lies below tail is read through lengths ([A-msg])
    std::uint64_t pos = MultiProducer ? ctl_->tail.load(std::memory_order_relaxed) : tail_;
    for (int attempt = 0; attempt < k_max_retries; ++attempt) {
      // Untrusted (several producers: read from the segment, again after a failed CAS).
      if (MultiProducer && (pos & 7) != 0) {
        // release: clears our own (stale) claim; as end_reservation(), a recoverer that reads
        // this 0 also sees our last record published
        record_->claim_first.store(0, std::memory_order_release);
        return msg_status::corrupted;
      }
      const std::uint64_t index = pos & mask_;
      const std::uint64_t pad = cap - index < record ? cap - index : 0;
      bool odd = false;
      if (!has_room(pos, pad + record, odd)) {
        if constexpr (MultiProducer) {
          const std::uint64_t now = ctl_->tail.load(std::memory_order_relaxed);  // as above
          if (now != pos) {
            pos = now;
            continue;
          }
          // A claim named by an earlier, failed CAS must not outlive it (see mpmc_ring).
          // release: as above
          record_->claim_first.store(0, std::memory_order_release);
        }
        // Untrusted: positions no ring has would read as full for ever.
        return odd && impossible(pos) ? msg_status::corrupted : msg_status::full;
      }
      if constexpr (MultiProducer) {
        // Name the claim before making it (docs/layout.md, endpoint records). release: a
        // recoverer that reads this count with an older claim_first (acquire, claim_of())
        // also sees that older claim's record published, and so leaves it alone
        record_->claim_count.store(pad + record, std::memory_order_release);
        // release: pairs with the acquire loads of claim_first in recover() and covers(),
        // which then read this claim_count, not an older one
        record_->claim_first.store(pos + 1, std::memory_order_release);
        // [R-claim] release: the record stores above are visible before the claim is
        if (!ctl_->tail.compare_exchange_weak(pos, pos + pad + record, std::memory_order_release,
                                              std::memory_order_relaxed)) {
          continue;
        }
      } else {
        tail_ = pos + pad + record;
      }
      if (pad != 0) {
        // relaxed: published by the padding's length, [R-msg] below
        detail::type_at(data_, index).store(k_padding_type, std::memory_order_relaxed);
        // [R-msg] publishes the padding record; pairs with [A-msg] in the consumer
        detail::length_at(data_, index)
            .store(static_cast<std::int32_t>(pad), std::memory_order_release);
        pos += pad;
        // relaxed: for a producer that takes over, which must not rewrite consumed padding
        if constexpr (!MultiProducer) ctl_->tail.store(pos, std::memory_order_relaxed);
      }
      if constexpr (MultiProducer) {
        // Marks the record claimed-in-progress (its size), so a recovery can skip it. relaxed:
        // stored after the CAS, so no acquire publishes it; recover() may read it before it
        // judges us dead, but changes the word only by a CAS from the value it read, which
        // fails if this mark landed meanwhile. A mark it misses reads as 0: the claim's size
        // is used, the same size.
        detail::length_at(data_, pos & mask_)
            .store(-static_cast<std::int32_t>(record), std::memory_order_relaxed);
      }
      out = pos;
      return msg_status::ok;
    }
    // release: clears our own claim, as above
    if constexpr (MultiProducer) record_->claim_first.store(0, std::memory_order_release);
    return msg_status::full;
  }

  // write_all() within `time`, one wait counted for every call that shares `counted` (the C
  // API writes a chunk of messages a call). r ok and s full with fewer written than asked
  // cannot happen: a wait that ended ok wrote the first or said why not.
  std::size_t write_all_within(std::uint32_t type,
                               std::span<const std::span<const std::byte>> messages,
                               detail::time_budget& time, bool& counted, wait_result& r,
                               msg_status& s) noexcept {
    std::size_t n = 0;
    r = wait_result::ok;
    s = msg_status::ok;
    while (n < messages.size()) {
      const auto rest = messages.subspan(n);
      std::size_t k = try_write_some(type, rest, &s);
      if (k == 0 && s == msg_status::full) {
        // Full: wait until the first fits, as write_some().
        r = blocking(time, counted, detail::align8(k_record_header + rest[0].size()), [&] {
          k = try_write_some(type, rest, &s);
          return k != 0 || s != msg_status::full;
        });
      }
      n += k;
      if (k == 0 || (s != msg_status::ok && s != msg_status::full)) break;
    }
    if (n == messages.size()) s = msg_status::ok;
    return n;
  }

  // The claim's commit() or abort(). True if a record was published.
  bool finish(bool commit, std::uint64_t serial) noexcept {
    if (serial != serial_) return false;  // already ended (by a newer claim, or a move)
    return finish(commit);
  }
  // The claim's commit(used): a record of `used` payload bytes where that is fewer than claimed,
  // the rest of its space a padding record of its own. A record never crosses the end of the
  // ring, so neither does the padding.
  bool finish_shorter(std::uint64_t serial, std::size_t used) noexcept {
    if (serial != serial_ || open_length_ == 0) return false;
    const std::uint64_t claimed = static_cast<std::uint64_t>(open_length_) - k_record_header;
    if (used < claimed) {
      const std::uint64_t kept = detail::align8(k_record_header + used);
      const std::uint64_t whole = detail::align8(k_record_header + claimed);
      if (kept < whole) {  // 8 bytes or more: room for a padding record's header
        // relaxed x2: published by the record's length, [R-msg] in finish(); a consumer that
        // reads the record reads this after it
        detail::type_at(data_, open_index_ + kept).store(k_padding_type, std::memory_order_relaxed);
        detail::length_at(data_, open_index_ + kept)
            .store(static_cast<std::int32_t>(whole - kept), std::memory_order_relaxed);
      }
      open_length_ = static_cast<std::int32_t>(k_record_header + used);
    }
    return finish(true);
  }
  bool finish(bool commit) noexcept {
    if (open_length_ == 0) return false;
    const std::uint64_t index = open_index_;
    std::int32_t length = open_length_;
    if (!commit) {
      // relaxed: published by the length, [R-msg] below
      detail::type_at(data_, index).store(k_padding_type, std::memory_order_relaxed);
      length = static_cast<std::int32_t>(detail::align8(static_cast<std::uint64_t>(length)));
    }
    open_length_ = 0;
    if (commit)
      detail::count_messages(*stats_, 1, static_cast<std::uint64_t>(length) - k_record_header);
    // [R-msg] publishes the record (or its padding); pairs with [A-msg] in the consumer
    detail::length_at(data_, index).store(length, std::memory_order_release);
    end_reservation();
    return commit;
  }
  // Reserves a record of `length` payload bytes and writes its type: the open record
  // (open_index_, open_length_) that finish() publishes. Ends an open claim first.
  msg_status open_record(std::uint32_t type, std::size_t length) noexcept {
    if (length > max_message()) return msg_status::too_long;
    if (type == k_padding_type) return msg_status::bad_type;
    if (open_length_ != 0) abort_open();  // a forgotten claim becomes padding
    const std::uint64_t record = detail::align8(k_record_header + length);
    std::uint64_t pos = 0;
    if (const msg_status r = reserve(record, pos); r != msg_status::ok) {
      if (r == msg_status::full) stalled();
      return r;
    }
    prefetch_ahead(pos, record, record);
    const std::uint64_t index = pos & mask_;
    // relaxed: published by the record's length, [R-msg] in finish()
    detail::type_at(data_, index).store(type, std::memory_order_relaxed);
    open_index_ = index;
    open_length_ = static_cast<std::int32_t>(k_record_header + length);
    return msg_status::ok;
  }
  // A moved-from handle keeps no pointer to the ring: a call on it faults at address 0
  // instead of writing into the ring behind the handle it moved to.
  void forget_ring() noexcept {
    record_ = nullptr;
    stats_ = nullptr;
    ctl_ = nullptr;
    data_ = nullptr;
    mask_ = 0;
    tail_ = 0;
    head_cache_ = 0;
    open_length_ = 0;
    scope_ = {};
  }
  // After the records of a reservation are published: the claim is over, the consumer told.
  void end_reservation() noexcept {
    if constexpr (MultiProducer) {
      // release: pairs with the acquire loads of claim_first in recover() and covers(): a
      // claim seen cleared has its records published
      record_->claim_first.store(0, std::memory_order_release);
    } else {
      // relaxed: only for a producer that takes over; the consumer reads lengths, not tail
      ctl_->tail.store(tail_, std::memory_order_relaxed);
    }
    detail::notify(ctl_->data_wait, fast_notify_);
  }
  void abort_open() noexcept { finish(false); }
  // Aborts p's open claim when a handle is let go of (moved from, assigned over, destroyed),
  // if `lease`, p's role, is held by this process: a child that inherited the handle across
  // fork() would write padding into the parent's claim. held_here() is out of line: tested
  // only when a claim is open.
  static void abort_if_held(msg_producer& p, const detail::role_lease& lease) noexcept {
    if (p.open_length_ != 0 && lease.held_here()) p.abort_open();
  }
  // A full event: the first failed attempt at this tail (a spinning retry is not another).
  void stalled() noexcept {
    // relaxed: only identifies the position; nothing is read on its strength
    const std::uint64_t at = MultiProducer ? ctl_->tail.load(std::memory_order_relaxed) : tail_;
    if (stall_at_ != at) {
      stall_at_ = at;
      detail::bump(stats_->stalls, 1);
    }
  }

  // Retries `attempt` for a record of `record` bytes, sleeping until it would fit: waiting
  // for more (say, the largest record) would let every release wake the producer for nothing.
  template <class Attempt>
  wait_result blocking(std::chrono::nanoseconds timeout, std::uint64_t record,
                       Attempt&& attempt) noexcept {
    detail::time_budget time(timeout);
    bool counted = false;
    return blocking(time, counted, record, attempt);
  }
  // `time` and `counted`: as detail::retry_until's, shared by the parts of a blocking batch.
  template <class Attempt>
  wait_result blocking(detail::time_budget& time, bool& counted, std::uint64_t record,
                       Attempt&& attempt) noexcept {
    return detail::retry_until(scope_, wait_, time, counted, attempt, [&] {
      // relaxed: a hint; the attempt decides
      const std::uint64_t pos = MultiProducer ? ctl_->tail.load(std::memory_order_relaxed) : tail_;
      const std::uint64_t before_wrap = capacity() - (pos & mask_);
      // At the wrap the record also needs padding to the end of the buffer. Impossible
      // positions wake the attempt, which reports them.
      bool odd = false;
      return has_room(pos, record <= before_wrap ? record : before_wrap + record, odd) ||
             (odd && impossible(pos));
    });
  }

  endpoint_record* record_ = nullptr;  // before lease_ (multi-producer registration sets it)
  side_counters* stats_ = nullptr;     // this producer's counters: its record's, or the ring's
  detail::attachment_ptr seg_;
  detail::role_lease lease_;
  ring_control* ctl_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t tail_ = 0;  // single producer: == next record position
  std::uint64_t head_cache_ = 0;
  std::uint64_t open_index_ = 0;
  std::int32_t open_length_ = 0;                // != 0 while a claim is open
  std::uint64_t serial_ = 0;                    // of the latest claim
  std::uint64_t stall_at_ = ~std::uint64_t{0};  // tail of the last full event counted
  bool fast_notify_ = false;
  detail::wait_scope scope_{};
  detail::wait_state wait_{};  // policy and liveness schedule (wait_block.hpp)
};

template <bool M>
msg_claim<M>::msg_claim(msg_producer<M>* owner, std::span<std::byte> bytes,
                        std::uint64_t serial) noexcept
    : owner_(owner), bytes_(bytes), serial_(serial) {}
template <bool M>
void msg_claim<M>::take(msg_claim& o) noexcept {
  owner_ = std::exchange(o.owner_, nullptr);
  bytes_ = std::exchange(o.bytes_, {});
  serial_ = o.serial_;
  status_ = o.status_;
}
template <bool M>
msg_claim<M>::msg_claim(msg_claim&& o) noexcept {
  take(o);
}
template <bool M>
msg_claim<M>& msg_claim<M>::operator=(msg_claim&& o) noexcept {
  if (this != &o) {
    drop();
    take(o);
  }
  return *this;
}
template <bool M>
bool msg_claim<M>::commit() noexcept {
  if (owner_ == nullptr) return false;
  bytes_ = {};
  return std::exchange(owner_, nullptr)->finish(true, serial_);
}
template <bool M>
bool msg_claim<M>::commit(std::size_t used) noexcept {
  if (owner_ == nullptr) return false;
  bytes_ = {};
  return std::exchange(owner_, nullptr)->finish_shorter(serial_, used);
}
template <bool M>
void msg_claim<M>::abort() noexcept {
  bytes_ = {};
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->finish(false, serial_);
}
// An open claim let go of without commit() or abort(): aborted where the producer's role is
// held, so that a child that inherited it across fork() leaves the parent's claim alone.
template <bool M>
void msg_claim<M>::drop() noexcept {
  if (owner_ == nullptr) return;
  msg_producer<M>* p = std::exchange(owner_, nullptr);
  bytes_ = {};
  if (p->lease_.held_here()) p->finish(false, serial_);
}

}  // namespace ipcring
