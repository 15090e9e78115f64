// ipcring/spsc_ring.hpp: a single-producer single-consumer ring of fixed-size slots that lives
// in a named shared-memory segment (or a file, or memory the caller owns).
//
//   auto ring = ipcring::spsc_ring<quote>::create("quotes", 4096);  // or ::open("quotes")
//   auto tx = ring.producer();                 // move-only role handle; keeps the mapping alive
//   if (!tx.try_push(q)) { /* full */ }
//   auto rx = ipcring::spsc_ring<quote>::open("quotes").consumer();
//   quote q; if (rx.try_pop(q)) { ... }
//   ipcring::remove("quotes");
//
// Contract
//   * T is trivially copyable; it is copied byte-wise between processes. Pointers inside T are
//     meaningless in another process.
//   * At most one producer and one consumer handle exist at a time, across all processes
//     (errc::busy otherwise). A role whose holder died is taken over by the next claimant,
//     which continues from the shared indices. A handle is used by one thread at a time.
//     A child process must not use a handle inherited across fork() (it would be a second
//     producer or consumer): it opens the ring and claims its own role.
//   * Processes sharing a ring share a pid namespace (the role words hold pids).
//   * Hot-path calls are noexcept, wait-free and never allocate. They make no syscall while
//     the peer is awake; one that publishes while the peer sleeps on the ring wakes it (a
//     futex wake; on Windows, a semaphore release).
//
// Memory ordering (what users may rely on): everything the producer wrote to a slot before
// publishing it (try_push*, publish) is visible to the consumer that pops or peeks it; the
// consumer's reads of a slot complete before the producer can reuse it (try_pop*, release).
//
// When a popped slot is free again: at once, except for slots whose size divides 64 (1 to 32
// bytes: they tile cache lines) in rings of 8 cache lines of slots or more while the consumer knows
// of more than half a ring of messages after it. The producer is then close to full and re-reads
// head, and a head store per pop would take the line back each time, so the consumer stores head
// once per cache line of slots: a pop frees its slot (and those before it) when it leaves the line
// of slots of the last head stored, when the consumer is no longer that far behind, before it looks
// for more (every call that finds fewer messages than it wants, so before any wait), and when the
// handle closes or lets go of its role. At most 64 / sizeof(T) - 1 popped slots wait to be freed,
// and a consumer killed with some is succeeded by one that delivers them again (at-least-once).
// docs/tuning.md, "Releasing a line at a time", has what it bought.
//
// Layout (see layout.hpp and docs/layout.md): segment_header, then ring_control
// (producer_owner, consumer_owner, tail and head on their own 128-byte blocks), then
// `capacity` slots of sizeof(T) bytes. head and tail are free-running 64-bit counts; slot i is
// at index i & (capacity - 1). Invariant: 0 <= tail - head <= capacity. Both sides check it on
// every value they read from the segment and treat a violation as "nothing to do".
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ipcring/detail/counters.hpp"
#include "ipcring/detail/inline.hpp"
#include "ipcring/detail/overlap.hpp"
#include "ipcring/detail/role.hpp"
#include "ipcring/detail/segment.hpp"
#include "ipcring/detail/stream_copy.hpp"
#include "ipcring/detail/wait_block.hpp"
#include "ipcring/error.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/ring_options.hpp"
#include "ipcring/type_name.hpp"
#include "ipcring/wait.hpp"

namespace ipcring {

namespace c_api {
struct slot_pusher;  // the C API's blocking slot batch (wait_room_within): lib/src/c_api.cpp
}

template <class T>
class spsc_producer;
template <class T>
class spsc_consumer;

/// T is copied byte for byte from the other process: for a peer not to be trusted, prefer a T
/// for which every byte pattern is a value (a bool or an enum may arrive holding none of its
/// values; README, "Shared memory is input").
template <class T>
class spsc_ring {
  static_assert(std::is_trivially_copyable_v<T>,
                "spsc_ring<T>: T must be trivially copyable, because it is copied byte-wise "
                "between processes");
  static_assert(!std::is_const_v<T> && !std::is_volatile_v<T>, "spsc_ring<T>: T must not be cv");
  static_assert(alignof(T) <= 4096, "spsc_ring<T>: alignof(T) must be at most a page");
  static_assert(sizeof(T) <= 0xffffffffu,
                "spsc_ring<T>: sizeof(T) must fit in 32 bits (slot_size)");

 public:
  using value_type = T;

  /// Creates the named ring. Throws ipcring::error: already_exists, invalid_name,
  /// invalid_argument (capacity 0, not a power of two, or too large).
  static spsc_ring create(std::string_view name, std::uint64_t capacity,
                          const ring_options& opt = {}) {
    return spsc_ring(detail::create_shm(name, spec(capacity, opt), opt));
  }
  /// Opens the named ring. Throws ipcring::error: not_found, not_ready, bad_magic,
  /// version_mismatch, kind_mismatch, type_mismatch (expected vs found), too_small, corrupted.
  static spsc_ring open(std::string_view name, const ring_options& opt = {}) {
    return spsc_ring(detail::open_shm(name, spec(0, opt), opt));
  }
  /// As create/open, in a regular file the user names.
  static spsc_ring create_file(const std::filesystem::path& path, std::uint64_t capacity,
                               const ring_options& opt = {}) {
    return spsc_ring(detail::create_file(path, spec(capacity, opt), opt));
  }
  static spsc_ring open_file(const std::filesystem::path& path, const ring_options& opt = {}) {
    return spsc_ring(detail::open_file(path, spec(0, opt), opt));
  }
  /// As create/open, on memory the caller owns and keeps alive longer than every handle.
  /// `bytes` must be zero-filled (create: errc::already_exists if it holds a ring header),
  /// aligned to max(128, alignof(T)) bytes, and at least required_bytes() long.
  static spsc_ring create_in(std::span<std::byte> bytes, std::uint64_t capacity,
                             const ring_options& opt = {}) {
    return spsc_ring(detail::create_in(bytes, spec(capacity, opt), "<memory>"));
  }
  static spsc_ring open_in(std::span<std::byte> bytes, const ring_options& opt = {}) {
    return spsc_ring(detail::open_in(bytes, spec(0, opt), "<memory>", opt));
  }
  /// Bytes a ring of `capacity` slots occupies (header + control blocks + slots).
  static std::uint64_t required_bytes(std::uint64_t capacity) {
    return detail::required_bytes(spec(capacity, {}), "spsc_ring::required_bytes");
  }

  /// Claims the producer role. Throws errc::busy while a live process holds it. `wait` is how
  /// the handle's blocking calls wait (default: spin briefly, then sleep).
  spsc_producer<T> producer(const wait_policy& wait = {}) const {
    return spsc_producer<T>(seg_, wait);
  }
  /// Claims the consumer role. Throws errc::busy while a live process holds it.
  spsc_consumer<T> consumer(const wait_policy& wait = {}) const {
    return spsc_consumer<T>(seg_, wait);
  }

  std::uint64_t capacity() const noexcept { return seg_->spec.capacity; }
  /// Racy observer: slots in use at some instant during the call, in [0, capacity].
  std::uint64_t size_approx() const noexcept {
    const auto* c = reinterpret_cast<const ring_control*>(seg_->control());
    // [A2] pairs with [R2]: the consumer read a tail >= this head before storing it, so the
    // tail loaded next is not behind it (relaxed, it could be, and the estimate would say 0)
    const std::uint64_t h = c->head.load(std::memory_order_acquire);
    // relaxed: an estimate; no data is read on the strength of it
    const std::uint64_t t = c->tail.load(std::memory_order_relaxed);
    // More than capacity apart: head moved on and the producer refilled in between (full, as
    // far as one can tell), or garbage (tail behind head: 0).
    const std::uint64_t used = t - h;
    if (used <= capacity()) return used;
    return used < (std::uint64_t{1} << 63) ? capacity() : 0;
  }
  /// Segment name (or file path) for messages.
  const std::string& name() const noexcept { return seg_->name; }

 private:
  explicit spsc_ring(detail::attachment_ptr seg) : seg_(std::move(seg)) {}

  static detail::ring_spec spec(std::uint64_t capacity, const ring_options& opt) {
    detail::ring_spec s;
    s.kind = ring_kind::spsc;
    s.capacity = capacity;
    s.slot_size = sizeof(T);
    s.slot_align = alignof(T);
    s.elem_size = sizeof(T);
    s.elem_align = alignof(T);
    s.control_size = detail::control_size_of(ring_kind::spsc);
    s.type_name = stored_type_name(opt.type_name.empty() ? type_tag<T>::name : opt.type_name);
    return s;
  }

  detail::attachment_ref seg_;
};

/// The producer role of an spsc_ring. Move-only; releases the role when destroyed.
/// \pre one thread at a time.
template <class T>
class spsc_producer {
 public:
  /// A moved-from handle may only be destroyed or assigned to (close() does nothing): it
  /// keeps no pointer to the ring, so another call on it faults at address 0 instead of
  /// writing into the ring behind the handle it moved to.
  spsc_producer(spsc_producer&& o) noexcept { *this = std::move(o); }
  spsc_producer& operator=(spsc_producer&& o) noexcept {
    if (this != &o) {
      role_.release();  // while the mapping the role word lives in is still ours
      seg_ = std::move(o.seg_);
      role_ = std::move(o.role_);
      ctl_ = std::exchange(o.ctl_, nullptr);
      slots_ = std::exchange(o.slots_, nullptr);
      mask_ = std::exchange(o.mask_, 0);
      tail_ = std::exchange(o.tail_, 0);
      head_cache_ = std::exchange(o.head_cache_, 0);
      claimed_ = std::exchange(o.claimed_, 0);
      stall_at_ = o.stall_at_;
      retries_ = o.retries_;
      corrupted_ = o.corrupted_;
      fast_notify_ = o.fast_notify_;
      stream_ = o.stream_;
      scope_ = std::exchange(o.scope_, {});
      wait_ = o.wait_;
    }
    return *this;
  }

  /// Pushes copy slots of 4 KiB and more (whole cache lines) with non-temporal stores: they
  /// write each line whole instead of first taking it back from the consumer's cache, and the
  /// consumer then reads the message from memory. Faster where the two sides share no cache
  /// (other dies or sockets; 4 KiB single pushes 1.19x, 64 KiB 1.18x on this project's far
  /// cores), slower where they do (0.36x at 4 KiB on near cores). Off by default; no effect
  /// on smaller slots, on claims (the caller fills those), or where the CPU has no such stores
  /// (stream_copies() says).
  void stream_copies(bool on) noexcept { stream_ = on && detail::streams<sizeof(T)>; }
  bool stream_copies() const noexcept { return stream_; }

  /// Copies `v` into the next slot. False if the ring is full.
  [[nodiscard]] bool try_push(const T& v) noexcept {
    if (free_slots(1) == 0) return stalled();
    prefetch_ahead(1);
    copy_slots(slots_ + (tail_ & mask_), &v, 1);
    commit(1);
    return true;
  }
  /// All of `items` or nothing. False if fewer than items.size() slots are free. A batch of
  /// more than a quarter of the ring (and 16 KiB) becomes visible a part at a time, in order;
  /// a producer killed during the call may have published only a first part. A smaller batch
  /// becomes visible whole, also where it crosses the end of the ring.
  [[nodiscard]] bool try_push_all(std::span<const T> items) noexcept {
    if (free_slots(items.size()) < items.size()) return stalled();
    copy_in(items);
    return true;
  }
  /// As many of `items` as fit, in order. Returns how many were pushed.
  [[nodiscard]] std::size_t try_push_some(std::span<const T> items) noexcept {
    const std::size_t n = std::min<std::uint64_t>(items.size(), free_slots(items.size()));
    if (n == 0 && !items.empty()) stalled();
    copy_in(items.first(n));
    return n;
  }
  /// Zero-copy: up to `n` free slots, contiguous in memory (fewer at the wrap, when the ring is
  /// nearly full, or beyond a quarter of the ring and 16 KiB, so that the consumer can read one
  /// part while the next is filled; empty when full). Fill them, then publish(). Valid until
  /// the next call. Messages already in a buffer of their own are best copied into the span
  /// with one copy (or pushed as a batch): one copy per 1 KiB slot ran 4x slower between
  /// cores (docs/tuning.md, "The cost is per copy").
  [[nodiscard]] std::span<T> claim(std::size_t n) noexcept {
    const std::uint64_t idx = tail_ & mask_;
    const std::uint64_t want =
        std::min<std::uint64_t>(n, detail::publish_chunk(mask_ + 1, sizeof(T)));
    const std::uint64_t k = std::min({want, mask_ + 1 - idx, free_slots(want)});
    if (k == 0 && n != 0) stalled();
    // Slots smaller than a line only: 8 B claims of 32 ran 2.8-3.1x faster with it, 64 B ones
    // 0.74-0.89x (whatever was prefetched, docs/tuning.md).
    if constexpr (sizeof(T) < detail::k_line) prefetch_ahead(k);
    claimed_ = k;
    return {slots_ + idx, static_cast<std::size_t>(k)};
  }
  /// Publishes the first `n` slots of the last claim (clamped to its size).
  void publish(std::size_t n) noexcept {
    const std::uint64_t k = std::min<std::uint64_t>(n, claimed_);
    claimed_ = 0;
    if (k != 0) commit(k);
  }

  /// Blocking: waits (by this handle's wait_policy) for a free slot, then pushes `v`.
  /// ok; closed (this side closed, or the consumer closed and the ring has no room) or
  /// peer_dead (the consumer died and the ring has no room): nothing was pushed. A ring with
  /// room takes `v` whether or not the consumer is there.
  wait_result push(const T& v) noexcept { return push(v, std::chrono::nanoseconds::max()); }
  /// As push(v), giving up with wait_result::timeout after `timeout` (monotonic clock).
  template <class Rep, class Period>
  wait_result push(const T& v, std::chrono::duration<Rep, Period> timeout) noexcept {
    const wait_result r = wait_writable(1, timeout);
    if (r == wait_result::ok && !try_push(v)) return wait_result::timeout;  // cannot happen
    return r;
  }
  /// Blocking batch: pushes all of `items` in order, as many at a time as there is room for,
  /// waiting (by this handle's wait_policy) for room as often as needed within one `timeout`.
  /// Returns how many were pushed: items.size() with `*result` ok; fewer where a wait ended
  /// first, `*result` saying why (closed, peer_dead, timeout; as push()). A batch larger than
  /// the ring goes in parts, each visible as soon as it is in. As the C API's batches (and the
  /// try_ calls), it uses the room there is even after this side closed: closed comes only
  /// where it would wait (push() returns it at once).
  template <class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  [[nodiscard]] std::size_t push_all(
      std::span<const T> items,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      wait_result* result = nullptr) noexcept {
    detail::time_budget time(detail::saturate(timeout));  // the clock read only to wait
    bool counted = false;                                 // one wait counted for the call
    std::size_t n = 0;
    wait_result r = wait_result::ok;
    while (n < items.size()) {
      if (free_slots(1) == 0) {
        r = wait_room(1, time.left(), &counted);
        if (r != wait_result::ok) break;
      }
      const std::size_t k = try_push_some(items.subspan(n));
      if (k == 0) {  // room seen, then none: a head moved back from outside
        r = wait_result::timeout;
        break;
      }
      n += k;
    }
    if (result != nullptr) *result = r;
    return n;
  }
  /// Waits until at least `n` (<= capacity; more counts as capacity, which try_push_all()
  /// of more than capacity items never finds) slots are free, for claim() or try_push_all()
  /// (claim(n) may still return fewer: at the wrap, or past a quarter of the ring).
  /// A handle that reads an impossible index (corrupted()) does not wait for it to change:
  /// where it would, it returns wait_result::timeout at once.
  template <class Rep, class Period>
  wait_result wait_writable(std::size_t n, std::chrono::duration<Rep, Period> timeout) noexcept {
    return wait_room(n, detail::saturate(timeout), nullptr);
  }
  wait_result wait_writable(std::size_t n) noexcept {
    return wait_writable(n, std::chrono::nanoseconds::max());
  }

  /// Closes the producer side: the consumer drains what was sent, then its blocking calls
  /// return wait_result::closed; this handle's blocking calls return closed at once. Does
  /// nothing in a child that inherited the handle across fork(): the side is the parent's.
  /// It ends the stream: the try_ calls are not checked (the hot path reads no flag), and what
  /// they push after it reaches only a consumer that goes on reading past `closed`.
  void close() noexcept { closer().close(); }
  /// A token that closes this side from a signal handler (async-signal-safe).
  close_token closer() const noexcept { return detail::side_closer(seg_.get(), ctl_, true, role_); }
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
  /// True once this handle read an impossible index from the segment (another process wrote
  /// garbage), or found the index only it writes changed under it: the ring then looks full /
  /// empty to it instead of being read out of bounds, and its blocking calls return timeout at
  /// once while the index they read is impossible or theirs is not what they stored.
  bool corrupted() const noexcept { return corrupted_; }

  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  /// Racy observer: slots in use, as far as this producer knows right now.
  std::uint64_t size_approx() const noexcept {
    // relaxed: an estimate; nothing is read on the strength of it
    const std::uint64_t h = ctl_->head.load(std::memory_order_relaxed);
    return tail_ - h <= capacity() ? tail_ - h : capacity();
  }

 private:
  friend class spsc_ring<T>;
  friend struct c_api::slot_pusher;
  spsc_producer(detail::attachment_ptr seg, const wait_policy& wait)
      : seg_(std::move(seg)),
        role_(detail::role_lease::acquire(control()->producer_owner, "producer", seg_->name)) {
    auto* c = control();
    ctl_ = c;
    slots_ = reinterpret_cast<T*>(seg_->data());
    mask_ = seg_->spec.capacity - 1;
    // The indices are checked before anything shared is touched: a claim refused on corrupt
    // indices leaves the side as it found it (closed stays closed).
    // Only the producer writes tail. A read-modify-write reads the last value in tail's
    // modification order: after a takeover from a dead holder, whose last store no release
    // pairs with us, a plain load could return an older tail (and overwrite unread slots).
    // relaxed: the value is all we need; a released role orders us after the last holder's
    // stores anyway ([R-role] -> [A-role])
    tail_ = ctl_->tail.fetch_add(0, std::memory_order_relaxed);
    // [A2] pairs with [R2]: slots the consumer released are done being read
    head_cache_ = ctl_->head.load(std::memory_order_acquire);
    if (tail_ - head_cache_ > capacity()) {
      throw error(errc::corrupted, "producer of '" + seg_->name +
                                       "': tail=" + std::to_string(tail_) +
                                       " and head=" + std::to_string(head_cache_) +
                                       " break 0 <= tail - head <= " + std::to_string(capacity()));
    }
    fast_notify_ = detail::register_fast_notifier();
    detail::reset_sole_sleeper(c->space_wait);
    scope_ = {&c->space_wait, &c->producer_closed, &c->consumer_closed, &c->consumer_owner};
    scope_.stats = &c->producer_stats;
    scope_.own_closed_here = &seg_->producer_closed_here.value;
    wait_ = detail::wait_state{wait};
    detail::reopen_side(*seg_, *c, true);
  }
  ring_control* control() const noexcept {
    return reinterpret_cast<ring_control*>(seg_->control());
  }

  // wait_writable(1) within `time` and `counted`, shared by the waits of a C batch
  // (ipcring_push_all, through c_api::slot_pusher), which then claims the slot and copies
  // its bytes in place.
  wait_result wait_room_within(detail::time_budget& time, bool& counted) noexcept {
    return wait_room(1, time.left(), &counted);
  }
  // Whether head, read now, is impossible (a blocking call's look, only once corrupted_).
  IPCRING_COLD bool head_impossible_now() const noexcept {
    // [A2] pairs with [R2], as in free_slots()
    return tail_ - ctl_->head.load(std::memory_order_acquire) > mask_ + 1;
  }
  // wait_writable(); `counted`: as detail::wait_for's (a blocking batch counts one wait).
  wait_result wait_room(std::size_t n, std::chrono::nanoseconds timeout, bool* counted) noexcept {
    const std::uint64_t want = std::min<std::uint64_t>(n, mask_ + 1);
    // A handle that met garbage (corrupted(), kept) ends the wait only on a head impossible
    // now (it never frees a slot); a ring read sane since is waited on. Off the way of every
    // sane ring: its flag is clear.
    const wait_result r = detail::wait_for(
        scope_, wait_, timeout,
        [&] {
          return free_slots(want) >= want || (corrupted_ && head_impossible_now()) ||
                 tail_overwritten();
        },
        counted);
    if (r != wait_result::ok || !corrupted_) return r;
    return free_slots(want) >= want ? r : wait_result::timeout;
  }
  // Whether tail, which only this handle stores, no longer holds what it stored: another
  // process wrote it. A value that still looks possible (tail = head on a full ring) would
  // otherwise strand what the ring holds, and each side would wait for the other for ever.
  // Looked at where the ring is full (stalled(), the waits), never on a push. Sets corrupted_.
  IPCRING_COLD bool tail_overwritten() noexcept {
    // relaxed: our own last store, unless another process wrote since; nothing is read on
    // the strength of it
    if (ctl_->tail.load(std::memory_order_relaxed) == tail_) return false;
    corrupted_ = true;
    return true;
  }
  // Free slots, refreshing the cached head only when the cache says fewer than `want`.
  std::uint64_t free_slots(std::uint64_t want) noexcept {
    const std::uint64_t cap = mask_ + 1;
    claimed_ = 0;  // any other call ends a claim (claim() sets it again afterwards)
    if (cap - (tail_ - head_cache_) < want) {
      // [A2] pairs with [R2] (consumer's head store): its reads of the slots it released are
      // complete, so we may overwrite them.
      const std::uint64_t h = ctl_->head.load(std::memory_order_acquire);
      // Untrusted: a head ahead of tail or more than capacity behind is corrupt; ignore it.
      if (tail_ - h <= cap) {
        head_cache_ = h;
      } else {
        corrupted_ = true;
      }
    }
    const std::uint64_t used = tail_ - head_cache_;
    return used <= cap ? cap - used : 0;  // never more than the ring holds
  }
  // Asks for the lines of the `n` slots prefetch_distance ahead of the ones about to be
  // written (at most prefetch_distance of them), if they are free as far as head_cache_ says:
  // prefetching a slot still being read would steal it from the consumer. The write that comes
  // a few calls later then finds its lines owned instead of waiting for each to come back from
  // the consumer's cache (detail/overlap.hpp). An index only; nothing is read or written.
  void prefetch_ahead(std::uint64_t n) noexcept {
    constexpr std::uint64_t ahead = detail::prefetch_distance<sizeof(T)>;
    if constexpr (ahead != 0) {
      if constexpr (detail::slots_per_line < sizeof(T) >> 1) {
        // Slots that tile a line: one test of the position first, so that the pushes that
        // start no line pay one instruction for all this, not ten (near cores, where 8 B
        // pushes take 5 ns, the full test cost 0.79x).
        if (n == 1 && (tail_ & (detail::slots_per_line<sizeof(T)> - 1)) != 0) return;
      }
      const std::uint64_t first = tail_ + ahead;
      const std::uint64_t count = std::min(n, ahead);
      if (count == 0) return;
      if (first + count - head_cache_ > mask_ + 1) return;  // not free yet (or not known free)
      const std::uint64_t idx = first & mask_;
      if (count == 1 && !detail::first_in_line<sizeof(T)>(idx * sizeof(T))) return;
      const std::uint64_t run = std::min(count, mask_ + 1 - idx);
      detail::prefetch_for_write(slots_ + idx, run * sizeof(T));
      if (run < count) detail::prefetch_for_write(slots_, (count - run) * sizeof(T));
    }
  }
  // Copies a batch in and publishes it, in parts of publish_chunk() slots, so the consumer
  // copies the first part out while we copy the rest in (published all at once, the two sides
  // took turns: 64 KiB batches of 32 in a 16-slot ring ran at 0.39x boost::lockfree's,
  // docs/tuning.md). A part that crosses the end of the ring is still published once: a small
  // batch becomes visible whole.
  void copy_in(std::span<const T> items) noexcept {
    prefetch_ahead(items.size());
    const std::uint64_t chunk = detail::publish_chunk(mask_ + 1, sizeof(T));
    while (!items.empty()) {
      const std::uint64_t n = std::min<std::uint64_t>(items.size(), chunk);
      const std::uint64_t idx = tail_ & mask_;
      const std::uint64_t run = std::min(n, mask_ + 1 - idx);
      copy_slots(slots_ + idx, items.data(), run);
      if (run < n) copy_slots(slots_, items.data() + run, n - run);
      commit(n);
      items = items.subspan(n);
    }
  }
  // The copy of a push: streamed (stream_copies()) and fenced, so that the commit() that
  // follows publishes what it wrote; else memcpy.
  void copy_slots(T* dst, const T* src, std::uint64_t n) noexcept {
    if constexpr (detail::streams<sizeof(T)>) {
      if (stream_) {
        detail::stream_copy(dst, src, n * sizeof(T));
        detail::stream_fence();  // the streamed stores before [R1]'s release of tail
        return;
      }
    }
    std::memcpy(dst, src, n * sizeof(T));
  }
  void commit(std::uint64_t n) noexcept {
    tail_ += n;
    // [R1] publishes the slots just written; pairs with [A1] in the consumer.
    ctl_->tail.store(tail_, std::memory_order_release);
    detail::notify(ctl_->data_wait, fast_notify_);  // wakes a sleeping consumer, if any
    // Messages and bytes written are not counted: tail is the count (layout.hpp, counters).
  }
  // A failed push: counts a full event, and now and then looks at tail (stall_event()).
  bool stalled() noexcept {
    if (detail::stall_event(tail_, stall_at_, retries_, ctl_->producer_stats.stalls)) {
      (void)tail_overwritten();
    }
    return false;
  }

  // Hot fields first. Process-local: the segment only holds tail and head.
  ring_control* ctl_ = nullptr;  // the shared words: tail, head, wait blocks
  T* slots_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t tail_ = 0;        // == ctl_->tail (only we write it)
  std::uint64_t head_cache_ = 0;  // last head we read; the real head is never behind it
  std::uint64_t claimed_ = 0;
  std::uint64_t stall_at_ = ~std::uint64_t{0};  // tail of the last full event counted
  std::uint32_t retries_ = 0;                   // failed attempts since (stalled())
  bool corrupted_ = false;
  bool fast_notify_ = false;    // this process registered for membarrier
  bool stream_ = false;         // stream_copies()
  detail::wait_scope scope_{};  // what push() and wait_writable() watch
  detail::wait_state wait_{};   // policy and liveness schedule (wait_block.hpp)
  detail::attachment_ptr seg_;  // keeps the memory alive; destroyed after role_
  detail::role_lease role_;
};

/// The consumer role of an spsc_ring. Move-only; releases the role when destroyed.
/// \pre one thread at a time.
template <class T>
class spsc_consumer {
 public:
  /// A moved-from handle may only be destroyed or assigned to (close() does nothing): it
  /// keeps no pointer to the ring, so another call on it faults at address 0 instead of
  /// reading the ring behind the handle it moved to.
  spsc_consumer(spsc_consumer&& o) noexcept { *this = std::move(o); }
  ~spsc_consumer() {
    flush_if_holder();  // before role_ (destroyed first) lets a successor start from head
  }
  spsc_consumer& operator=(spsc_consumer&& o) noexcept {
    if (this != &o) {
      flush_if_holder();
      role_.release();  // while the mapping the role word lives in is still ours
      seg_ = std::move(o.seg_);
      role_ = std::move(o.role_);
      ctl_ = std::exchange(o.ctl_, nullptr);
      slots_ = std::exchange(o.slots_, nullptr);
      mask_ = std::exchange(o.mask_, 0);
      head_ = std::exchange(o.head_, 0);
      head_shared_ = std::exchange(o.head_shared_, 0);
      release_mask_ = std::exchange(o.release_mask_, 0);
      tail_cache_ = std::exchange(o.tail_cache_, 0);
      peeked_ = std::exchange(o.peeked_, 0);
      stall_at_ = o.stall_at_;
      retries_ = o.retries_;
      corrupted_ = o.corrupted_;
      fast_notify_ = o.fast_notify_;
      scope_ = std::exchange(o.scope_, {});
      wait_ = o.wait_;
    }
    return *this;
  }

  /// Copies the oldest message into `out`. False if the ring is empty.
  [[nodiscard]] bool try_pop(T& out) noexcept {
    if (available(1) == 0) return stalled();
    std::memcpy(&out, slots_ + (head_ & mask_), sizeof(T));
    consume(1);
    return true;
  }
  /// Exactly out.size() messages or nothing.
  [[nodiscard]] bool try_pop_all(std::span<T> out) noexcept {
    if (available(out.size()) < out.size()) return stalled();
    copy_out(out);
    return true;
  }
  /// Up to out.size() messages; returns how many were popped.
  [[nodiscard]] std::size_t try_pop_some(std::span<T> out) noexcept {
    const std::size_t n = std::min<std::uint64_t>(out.size(), available(out.size()));
    if (n == 0 && !out.empty()) stalled();
    copy_out(out.first(n));
    return n;
  }
  /// Zero-copy: up to `n` readable messages, contiguous in memory (fewer at the wrap, or beyond
  /// a quarter of the ring and 16 KiB, as claim(); empty when the ring is empty). Read them in
  /// place, then release(). Valid until the next call.
  [[nodiscard]] std::span<const T> peek(std::size_t n) noexcept {
    const std::uint64_t idx = head_ & mask_;
    const std::uint64_t want =
        std::min<std::uint64_t>(n, detail::publish_chunk(mask_ + 1, sizeof(T)));
    const std::uint64_t k = std::min({want, mask_ + 1 - idx, available(want)});
    if (k == 0 && n != 0) stalled();
    peeked_ = k;
    return {slots_ + idx, static_cast<std::size_t>(k)};
  }
  /// Frees the first `n` messages of the last peek (clamped to its size) for the producer.
  void release(std::size_t n) noexcept {
    const std::uint64_t k = std::min<std::uint64_t>(n, peeked_);
    peeked_ = 0;
    if (k != 0) consume(k);
  }

  /// Blocking: waits (by this handle's wait_policy) for a message, then pops it into `out`.
  /// ok; closed (this side closed, or the producer closed and the ring is drained);
  /// peer_dead (the producer died and the ring is drained).
  wait_result pop(T& out) noexcept { return pop(out, std::chrono::nanoseconds::max()); }
  /// As pop(out), giving up with wait_result::timeout after `timeout` (monotonic clock).
  template <class Rep, class Period>
  wait_result pop(T& out, std::chrono::duration<Rep, Period> timeout) noexcept {
    const wait_result r = wait_readable(1, timeout);
    if (r == wait_result::ok && !try_pop(out)) return wait_result::timeout;  // cannot happen
    return r;
  }
  /// Blocking batch: takes as many messages as are there, up to out.size(), in order, waiting
  /// (by this handle's wait_policy) for the first where there is none. Returns how many: 0
  /// where the wait ended without one, `*result` saying why (closed, peer_dead, timeout; as
  /// pop()), else ok. As the C API's batches, it takes what the ring holds even after this side
  /// closed: closed comes only where it would wait (pop() returns it at once).
  template <class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  [[nodiscard]] std::size_t pop_some(
      std::span<T> out,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      wait_result* result = nullptr) noexcept {
    std::size_t n = 0;
    wait_result r = wait_result::ok;
    if (!out.empty()) {
      if (available(1) == 0) r = wait_readable(1, timeout);  // no empty event counted first
      if (r == wait_result::ok) n = try_pop_some(out);
      if (n == 0 && r == wait_result::ok) r = wait_result::timeout;  // as pop(): cannot happen
    }
    if (result != nullptr) *result = r;
    return n;
  }
  /// Waits until at least `n` (<= capacity) messages are readable, for peek() or try_pop_all()
  /// (peek(n) may still return fewer: at the wrap, or past a quarter of the ring).
  /// A handle that reads an impossible index (corrupted()) does not wait for it to change:
  /// where it would, it returns wait_result::timeout at once.
  template <class Rep, class Period>
  wait_result wait_readable(std::size_t n, std::chrono::duration<Rep, Period> timeout) noexcept {
    const std::uint64_t want = std::min<std::uint64_t>(n, mask_ + 1);
    // A handle that met garbage (corrupted(), kept) ends the wait only on a tail impossible
    // now (it never publishes); a ring read sane since is waited on. Off the way of every sane
    // ring: its flag is clear.
    const wait_result r = detail::wait_for(scope_, wait_, detail::saturate(timeout), [&] {
      return available(want) >= want || (corrupted_ && tail_impossible_now()) || head_overwritten();
    });
    if (r != wait_result::ok || !corrupted_) return r;
    return available(want) >= want ? r : wait_result::timeout;
  }
  wait_result wait_readable(std::size_t n) noexcept {
    return wait_readable(n, std::chrono::nanoseconds::max());
  }

  /// Closes the consumer side: the producer's blocking calls return wait_result::closed where
  /// they would wait for room, and this handle's at once. try_ calls are unaffected. Frees
  /// the slots popped so far. Does nothing in a child that inherited the handle across fork():
  /// the side is the parent's, and so is the read position.
  void close() noexcept {
    flush_if_holder();
    closer().close();
  }
  /// A token that closes this side from a signal handler (async-signal-safe).
  close_token closer() const noexcept {
    return detail::side_closer(seg_.get(), ctl_, false, role_);
  }
  /// Racy observer: whether the producer closed its side (close(), a close_token), without
  /// waiting; a new holder of its role reopens it. One load, no syscall.
  bool peer_closed() const noexcept { return detail::peer_side_closed(scope_); }
  /// Whether the producer's role is held by a process that is gone without letting go of
  /// it (closed first or not: a closed peer's blocking calls still say closed); a successor may
  /// take over. False for a free role (none yet, or one that let go) and a live holder. Reads /proc
  /// (Linux) or opens the process (Windows): not for the hot path.
  bool peer_dead() const noexcept { return detail::peer_side_dead(scope_); }
  void set_wait_policy(const wait_policy& p) noexcept {
    wait_ = detail::wait_state{p};  // and a new schedule: checks on the new interval
  }
  /// True once this handle read an impossible index from the segment (another process wrote
  /// garbage), or found the index only it writes changed under it: the ring then looks full /
  /// empty to it instead of being read out of bounds, and its blocking calls return timeout at
  /// once while the index they read is impossible or theirs is not what they stored.
  bool corrupted() const noexcept { return corrupted_; }

  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  /// Racy observer: messages waiting, as far as this consumer knows right now.
  std::uint64_t size_approx() const noexcept {
    // relaxed: an estimate; nothing is read on the strength of it
    const std::uint64_t t = ctl_->tail.load(std::memory_order_relaxed);
    return t - head_ <= capacity() ? t - head_ : 0;
  }

 private:
  friend class spsc_ring<T>;
  spsc_consumer(detail::attachment_ptr seg, const wait_policy& wait)
      : seg_(std::move(seg)),
        role_(detail::role_lease::acquire(control()->consumer_owner, "consumer", seg_->name)) {
    auto* c = control();
    ctl_ = c;
    slots_ = reinterpret_cast<const T*>(seg_->data());
    mask_ = seg_->spec.capacity - 1;
    // Checked first, as the producer's. Only the consumer writes head: a read-modify-write
    // reads its last value, a dead holder's last store too (a plain load could return an
    // older head, and deliver again).
    // relaxed: see the producer's tail
    head_ = ctl_->head.fetch_add(0, std::memory_order_relaxed);
    head_shared_ = head_;
    constexpr std::uint64_t per_line = detail::slots_per_line<sizeof(T)>;
    release_mask_ = per_line > 1 && capacity() >= 8 * per_line ? per_line - 1 : 0;
    // [A1] pairs with [R1]: the slots up to tail are written
    tail_cache_ = ctl_->tail.load(std::memory_order_acquire);
    if (tail_cache_ - head_ > capacity()) {
      throw error(errc::corrupted, "consumer of '" + seg_->name +
                                       "': tail=" + std::to_string(tail_cache_) +
                                       " and head=" + std::to_string(head_) +
                                       " break 0 <= tail - head <= " + std::to_string(capacity()));
    }
    fast_notify_ = detail::register_fast_notifier();
    detail::reset_sole_sleeper(c->data_wait);
    scope_ = {&c->data_wait, &c->consumer_closed, &c->producer_closed, &c->producer_owner};
    scope_.stats = &c->consumer_stats;
    scope_.own_closed_here = &seg_->consumer_closed_here.value;
    wait_ = detail::wait_state{wait};
    detail::reopen_side(*seg_, *c, false);
  }
  ring_control* control() const noexcept {
    return reinterpret_cast<ring_control*>(seg_->control());
  }

  // Whether tail, read now, is impossible (a blocking call's look, only once corrupted_).
  IPCRING_COLD bool tail_impossible_now() const noexcept {
    // [A1] pairs with [R1], as in available()
    return ctl_->tail.load(std::memory_order_acquire) - head_ > mask_ + 1;
  }
  // Whether head, which only this handle stores, no longer holds what it last stored: another
  // process wrote it (as the producer's tail_overwritten(); head moved back a lap on an empty
  // ring looks possible, and shows the producer a full one: it would wait for ever for room it
  // cannot see). Looked at where the ring is empty, never on a pop. Sets corrupted_.
  IPCRING_COLD bool head_overwritten() noexcept {
    // relaxed: as the producer's
    if (ctl_->head.load(std::memory_order_relaxed) == head_shared_) return false;
    corrupted_ = true;
    return true;
  }
  // Readable messages, refreshing the cached tail only when the cache says fewer than `want`.
  std::uint64_t available(std::uint64_t want) noexcept {
    peeked_ = 0;  // any other call ends a peek (peek() sets it again afterwards)
    if (tail_cache_ - head_ < want) {
      // Looking for more: first free what was popped, or a producer waiting for space and a
      // consumer waiting for messages could each wait for the other.
      flush_pending();
      // [A1] pairs with [R1] (producer's tail store): the slots before tail are written.
      const std::uint64_t t = ctl_->tail.load(std::memory_order_acquire);
      // Untrusted: a tail behind head or more than capacity ahead is corrupt; ignore it.
      if (t - head_ <= mask_ + 1) {
        tail_cache_ = t;
      } else {
        corrupted_ = true;
      }
    }
    const std::uint64_t ready = tail_cache_ - head_;
    return ready <= mask_ + 1 ? ready : 0;  // never more than the ring holds
  }
  // Copies a batch out and frees its slots in the same parts (see the producer's copy_in).
  void copy_out(std::span<T> out) noexcept {
    const std::uint64_t chunk = detail::publish_chunk(mask_ + 1, sizeof(T));
    while (!out.empty()) {
      const std::uint64_t n = std::min<std::uint64_t>(out.size(), chunk);
      const std::uint64_t idx = head_ & mask_;
      const std::uint64_t run = std::min(n, mask_ + 1 - idx);
      std::memcpy(out.data(), slots_ + idx, run * sizeof(T));
      if (run < n) std::memcpy(out.data() + run, slots_, (n - run) * sizeof(T));
      consume(n);
      out = out.subspan(n);
    }
  }
  // Frees the slots read, or leaves them for a later store (the contract at the top) while head
  // stays in the line of slots of the last head stored, so fewer than a line is pending, and
  // more than half a ring is known to follow (tail_cache_ - head_ <= capacity: available()
  // checked it). Slots of a line or more have nothing to defer and skip the test.
  void consume(std::uint64_t n) noexcept {
    head_ += n;
    constexpr std::uint64_t per_line = detail::slots_per_line<sizeof(T)>;
    if constexpr (per_line > 1) {
      if (((head_ ^ head_shared_) & ~release_mask_) == 0 && tail_cache_ - head_ > (mask_ + 1) / 2)
        return;
    }
    flush();
  }
  void flush_pending() noexcept {
    if (head_shared_ != head_) flush();
  }
  // Frees what was popped when this handle is let go of (closed, assigned over, destroyed):
  // not in a moved-from handle, nor in a child that inherited it across fork(), whose head_
  // is stale. held_here() is out of line: never on the hot path.
  void flush_if_holder() noexcept {
    if (seg_ && role_.held_here()) flush_pending();
  }
  void flush() noexcept {
    head_shared_ = head_;
    // [R2] frees the slots read; pairs with [A2] in the producer.
    ctl_->head.store(head_, std::memory_order_release);
    detail::notify(ctl_->space_wait, fast_notify_);  // wakes a producer sleeping on a full ring
    // Messages and bytes read are not counted: head is the count (layout.hpp, counters).
  }
  // A failed pop: counts an empty event, and now and then looks at head (stall_event()).
  bool stalled() noexcept {
    if (detail::stall_event(head_, stall_at_, retries_, ctl_->consumer_stats.stalls)) {
      (void)head_overwritten();
    }
    return false;
  }

  ring_control* ctl_ = nullptr;
  const T* slots_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t head_ = 0;          // next slot to read; ctl_->head trails it (only we write it)
  std::uint64_t head_shared_ = 0;   // == ctl_->head: the last head we stored
  std::uint64_t release_mask_ = 0;  // slots per line - 1 if pops release a line at a time, else 0
  std::uint64_t tail_cache_ = 0;    // last tail we read; the real tail is never behind it
  std::uint64_t peeked_ = 0;
  std::uint64_t stall_at_ = ~std::uint64_t{0};  // head of the last empty event counted
  std::uint32_t retries_ = 0;                   // failed attempts since (stalled())
  bool corrupted_ = false;
  bool fast_notify_ = false;
  detail::wait_scope scope_{};
  detail::wait_state wait_{};  // policy and liveness schedule (wait_block.hpp)
  detail::attachment_ptr seg_;
  detail::role_lease role_;
};

}  // namespace ipcring
