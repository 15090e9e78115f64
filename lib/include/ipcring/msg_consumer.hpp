// ipcring/msg_consumer.hpp: the consumer side of the message rings (msg_ring.hpp has the
// contract and the rings): msg_consumer, for both kinds.
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
#include <type_traits>
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
struct batch_reader;  // the C API's batch read: lib/src/c_api_batch.cpp
}

/// What try_read found.
struct read_result {
  msg_status status = msg_status::empty;  ///< ok, empty, buffer_small or corrupted
  std::uint32_t type = 0;
  std::size_t size = 0;  ///< payload bytes (needed size when buffer_small)
};

/// The consumer of a message ring (both variants). Move-only. \pre one thread at a time.
class msg_consumer {
 public:
  /// A moved-from handle may only be destroyed or assigned to (close() does nothing): it
  /// keeps no pointer to the ring, so another call on it faults at address 0 instead of
  /// reading the ring behind the handle it moved to.
  msg_consumer(msg_consumer&& o) noexcept { *this = std::move(o); }
  msg_consumer& operator=(msg_consumer&& o) noexcept;
  ~msg_consumer() {
    flush_if_holder();  // before lease_ lets a successor start from head
  }

  /// Hands up to `max_messages` messages to `handler(type, span<const std::byte>)` in place
  /// (no copy; the span is valid during the call), then releases them (their space is freed a
  /// sixteenth of the ring at a time, see msg_ring.hpp). Returns how many. A handler that
  /// returns bool controls the read: false leaves that message in the ring, unread and not
  /// counted, for the next read (which hands it over again) and ends this one. The handler must
  /// not throw: read() is noexcept, so an exception from it ends the program (std::terminate).
  template <class Handler>
  std::size_t read(Handler&& handler, std::size_t max_messages = SIZE_MAX) noexcept {
    using returned = std::remove_cvref_t<
        std::invoke_result_t<Handler&, std::uint32_t&, const std::span<const std::byte>&>>;
    constexpr bool controlled = std::is_same_v<returned, bool>;
    static_assert(controlled || std::is_void_v<returned>,
                  "a read() handler returns void, or bool to control the read");
    std::size_t n = 0;
    std::uint64_t bytes = 0;
    std::uint64_t pos = head_;
    bool empty = false;     // stopped where nothing is committed
    bool declined = false;  // the handler left a message in the ring
    // At most one lap from the last head stored: beyond it lie records read but not yet
    // zeroed (flush() zeroes them).
    while (n < max_messages && pos - released_ < capacity()) {
      std::uint32_t type = 0;
      std::uint64_t length = 0;
      const msg_status s = next(pos, type, length);
      if (s != msg_status::ok) {
        empty = s == msg_status::empty;
        break;
      }
      // Untrusted: a record reaching past one lap would overlap records already read.
      if (pos - released_ + detail::align8(length) > capacity()) {
        corrupted_ = true;
        break;
      }
      if (type != k_padding_type) {
        const std::span<const std::byte> message(data_ + (pos & mask_) + k_record_header,
                                                 length - k_record_header);
        if constexpr (controlled) {
          if (!handler(type, message)) {
            declined = true;
            break;
          }
        } else {
          handler(type, message);
        }
        ++n;
        bytes += length - k_record_header;
      }
      pos += detail::align8(length);
    }
    release_to(pos);
    if (empty) stopped_at(pos);
    if (n != 0) {
      detail::count_messages(ctl_->consumer_stats, n, bytes);
    } else if (max_messages != 0 && !declined) {
      stalled();
    }
    return n;
  }
  /// Copies the next message into `buffer`. If it does not fit, nothing is consumed and
  /// `size` is the length needed (buffer_small).
  read_result try_read(std::span<std::byte> buffer) noexcept;
  /// Copies messages into `buffer` one after another, each at the next 8-byte offset (the
  /// first at 0), until `out` is full, the ring is empty, or the next message does not fit (it
  /// stays in the ring). out[i] describes the i-th copied: ok, its type and size. Returns how
  /// many; if fewer than out.size(), out[count] says why it stopped: empty, corrupted, or
  /// buffer_small (`size` is what that message needs from its offset; 0 when the buffer has no
  /// 8-byte offset left). The copy-out counterpart of read(), for callers that keep messages
  /// after the call.
  std::size_t try_read_some(std::span<std::byte> buffer, std::span<read_result> out) noexcept {
    return read_some(buffer, out, true);
  }
  /// Blocking read: as read(), waiting first for a message where there is none; as the other
  /// batches, it reads what the ring holds even after this side closed (closed comes only
  /// where it would wait). `result` is ok, or how the
  /// wait ended (closed once the producers closed and the ring is drained, records they had
  /// claimed before included; timeout; peer_dead,
  /// spsc_msg only: an mpsc_msg consumer has no one producer to watch, and waits on).
  /// A corrupt ring reads as ready and delivers nothing: 0 with ok at once, so a caller that
  /// gets 0 with ok checks corrupted() before waiting again. 0 with ok also comes when the
  /// wait found only a lap of padding: call again; and when
  /// a controlling handler (read()) declined the first message: that message is still there,
  /// so read_wait() returns at once again; wait on what made the handler decline instead.
  template <class Handler, class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  std::size_t read_wait(
      Handler&& handler, std::size_t max_messages = SIZE_MAX,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      wait_result* result = nullptr) noexcept {
    // As the other batches, it reads what the ring holds even after this side closed: closed
    // comes only where it would wait.
    const wait_result r =
        deliverable() ? wait_result::ok : wait_readable(detail::saturate(timeout));
    if (result != nullptr) *result = r;
    return r == wait_result::ok ? read(std::forward<Handler>(handler), max_messages) : 0;
  }
  /// Waits until a message is readable, corruption is found, or a lap of padding was passed
  /// (a read then gets 0). Padding before a message is passed (and freed) on the way.
  wait_result wait_readable(
      std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) noexcept;
  /// Any duration, clamped (a timeout too long for nanoseconds waits without end).
  template <class Rep, class Period>
  wait_result wait_readable(std::chrono::duration<Rep, Period> timeout) noexcept {
    return wait_readable(detail::saturate(timeout));
  }
  /// mpsc_msg: turns into padding what producers that died between claiming and committing
  /// left at the read position (never what a live producer's record names). Reads /proc: not
  /// for the hot path; blocking reads call it every wait_policy::liveness_interval. Returns
  /// how many records it repaired. (spsc_msg needs none: a new producer takes over.)
  std::size_t recover() noexcept;
  /// True once a corrupt record was found, or the read position this consumer stores was
  /// found changed by another process: the ring delivers nothing more.
  bool corrupted() const noexcept { return corrupted_; }

  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  /// Closes the consumer side (producers' blocking calls return closed); frees what was read.
  /// Does nothing in a child that inherited the handle across fork(): the side is the
  /// parent's, and so is the read position.
  void close() noexcept {
    flush_if_holder();
    closer().close();
  }
  close_token closer() const noexcept {
    return detail::side_closer(seg_.get(), ctl_, false, lease_);
  }
  /// Racy observer: whether the producers closed their side (close(), a close_token), without
  /// waiting; a new producer reopens it. One load, no syscall. What the ring holds is still to
  /// be read.
  bool peer_closed() const noexcept { return detail::peer_side_closed(scope_); }
  /// spsc_msg: whether the producer's role is held by a process that is gone without letting go
  /// of it (closed first or not; a successor may take over); false for a free role and a live
  /// holder. mpsc_msg:
  /// false (many producers: inspect() lists them; recover() repairs what dead ones left). Reads
  /// /proc (Linux) or opens the process (Windows): not for the hot path.
  bool peer_dead() const noexcept { return detail::peer_side_dead(scope_); }
  void set_wait_policy(const wait_policy& p) noexcept {
    wait_ = detail::wait_state{p};  // and a new schedule: checks on the new interval
  }

 private:
  friend class spsc_msg_ring;
  friend class mpsc_msg_ring;
  friend struct c_api::batch_reader;
  msg_consumer(detail::attachment_ptr seg, const wait_policy& wait);

  // The record at `pos`: ok (committed), empty (not yet), corrupted.
  // Untrusted: a committed record at `index` must hold its header, fit before the end of the
  // buffer, and be no longer than a producer writes (max_message() + 8, capacity / 8, padding
  // included: it is shorter than the record it makes room for).
  bool length_possible(std::uint64_t len, std::uint64_t index) const noexcept {
    return len >= k_record_header && detail::align8(len) <= capacity() - index &&
           len <= capacity() / 8;
  }
  msg_status next(std::uint64_t pos, std::uint32_t& type, std::uint64_t& length) noexcept {
    if (corrupted_) return msg_status::corrupted;
    const std::uint64_t index = pos & mask_;
    // [A-msg] pairs with [R-msg]: the record's type and payload are visible
    const std::int32_t len = detail::length_at(data_, index).load(std::memory_order_acquire);
    if (len <= 0) {
      // Untrusted: only mpsc producers mark a record they fill (a negative length); in an
      // spsc_msg ring one would read as empty for ever.
      if (len < 0 && single_producer_) {
        corrupted_ = true;
        return msg_status::corrupted;
      }
      return msg_status::empty;
    }
    const auto ulen = static_cast<std::uint64_t>(len);
    if (!length_possible(ulen, index)) {
      corrupted_ = true;
      return msg_status::corrupted;
    }
    // relaxed: ordered after [A-msg] above, which saw the length published after the type
    type = detail::type_at(data_, index).load(std::memory_order_relaxed);
    length = ulen;
    return msg_status::ok;
  }
  // Whether a record to deliver waits at the read position, or corruption to report. Passes
  // the padding committed there first (a claim committed shorter leaves some after its
  // message, a repaired dead claim is one: a wait that ended for it alone would deliver
  // nothing), a lap at most.
  bool deliverable() noexcept;
  // try_read, counting an empty event only if `count_stall`.
  read_result read_one(std::span<std::byte> buffer, bool count_stall) noexcept;
  // try_read_some; `first` is false for a part of a larger batch that has taken messages,
  // which counts no empty event.
  std::size_t read_some(std::span<std::byte> buffer, std::span<read_result> out,
                        bool first) noexcept;
  // Read up to `pos`: frees the space once pos leaves the sixteenth of the ring that holds the
  // last head stored (the contract in msg_ring.hpp), so that many records share one release.
  void release_to(std::uint64_t pos) noexcept {
    head_ = pos;
    if (((pos ^ released_) & ~(capacity() / k_release_parts - 1)) != 0) flush();
  }
  // Zeroes [released_, head_) and gives it back to the producers.
  void flush() noexcept;
  // Frees what was read when this handle is let go of (closed, assigned over, destroyed): not
  // in a moved-from handle, nor in a child that inherited it across fork(), whose head_ is
  // stale. held_here() is out of line: never on the hot path.
  void flush_if_holder() noexcept {
    if (seg_ && lease_.held_here()) flush();
  }
  // The read position found no committed record at `pos`: if a producer claimed it and has not
  // committed (mpsc_msg), free what is held (the contract in msg_ring.hpp).
  void stopped_at(std::uint64_t pos) noexcept {
    // relaxed: only decides whether to free now; flush() orders its own stores
    if (detail::length_at(data_, pos & mask_).load(std::memory_order_relaxed) < 0) flush();
  }
  // A failed read: counts an empty event, and now and then looks at head (stall_event()).
  void stalled() noexcept {
    if (detail::stall_event(head_, stall_at_, retries_, ctl_->consumer_stats.stalls)) {
      (void)head_overwritten();
    }
  }
  // Whether head, which only this consumer stores, no longer holds what it stored last: another
  // process wrote it. A value that still looks possible (head moved back a lap) shows the
  // producers a full ring while this consumer finds it empty, and each would wait for the
  // other for ever. Sets corrupted_: the ring delivers nothing more. Out of line: looked at
  // only where the ring is empty (stalled(), waits).
  bool head_overwritten() noexcept;

  detail::attachment_ptr seg_;
  detail::role_lease lease_;
  ring_control* ctl_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t head_ = 0;      // read position: the next record
  std::uint64_t released_ = 0;  // == ctl_->head: the last head stored (msg_ring.hpp)
  std::uint64_t stall_at_ = ~std::uint64_t{0};  // head of the last empty event counted
  std::uint32_t retries_ = 0;                   // failed attempts since (stalled())
  bool corrupted_ = false;
  bool fast_notify_ = false;
  bool single_producer_ = false;  // spsc_msg: no record is ever marked (negative length)
  std::uint32_t wakes_ = 0;       // releases that woke sleeping producers (flush())
  detail::wait_scope scope_{};
  detail::wait_state wait_{};  // policy and liveness schedule (wait_block.hpp)
};

}  // namespace ipcring
