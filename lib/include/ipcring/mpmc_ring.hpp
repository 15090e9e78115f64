// ipcring/mpmc_ring.hpp: a bounded multi-producer multi-consumer ring of fixed-size slots in a
// named shared-memory segment; any number of producer and consumer processes (up to 64
// endpoints in all) attach by name.
//
//   auto ring = ipcring::mpmc_ring<job>::create("jobs", 1024);
//   auto tx = ring.producer();            // each handle registers one endpoint
//   auto rx = ipcring::mpmc_ring<job>::open("jobs").consumer();
//   bool sent = tx.try_push(j), got = rx.try_pop(j);   // never wait
//   tx.push(j);  rx.pop(j, 5ms);                      // wait: ok, timeout, closed...
//
// Contract
//   * T is trivially copyable. Lock-free: a stalled endpoint never blocks the others' progress
//     except on the one slot it has claimed (Vyukov's bounded queue on 64-bit tickets).
//   * Every message is delivered to exactly one consumer; messages of one producer are taken
//     in the order it pushed them (with several consumers, they may *finish* in any order).
//   * Each handle holds one endpoint record (pid + start time) in the segment; at most
//     k_max_endpoints (64) across all processes, else errc::too_many_endpoints. A dead
//     endpoint's record is reused; one that died mid-claim, once recover() has repaired its
//     claim (an endpoint that finds the table full runs it, then tries once more). A child
//     process must not use a handle inherited across fork(): its claims would be named in
//     the parent's record, and a recovery after the parent's death would repair them under
//     it. It opens the ring and registers its own.
//   * Hot-path calls are noexcept and make no syscall but the wake of a sleeping peer (and,
//     once every 4,096 such wakes, reads of /proc/<pid>/stat for the records that name
//     sleepers, to take back dead ones' counts; no allocation either way); they
//     retry a bounded number of times under contention or corruption and then report
//     "full"/"empty".
//   * A producer whose try_push found no free slot at its ticket waits for a few lines of
//     room: its try_push calls report "full" at that ticket until the slot 4 lines of slots on
//     (room_after_full() tickets) is free as well. Only where slots tile lines (16- and 32-byte
//     slots, detail::mpmc_slot_layout) in rings of 32 lines of slots or more. With consumers
//     freeing in order, at most 4 * 64 / slot bytes free slots go unused meanwhile; a consumer
//     that holds that later slot holds the wait (as it would hold the producer when it got
//     there). Batches and the blocking push take what is free and never start the wait.
//     Polling the slot the consumers are freeing took its line from them once a message;
//     docs/tuning.md, "A full producer waits for 4 lines".
//
// Memory ordering: what a producer wrote into a slot before publishing it is visible to the
// consumer that takes it; the consumer's reads of the slot finish before any producer reuses it.
//
// Layout (docs/layout.md): segment_header, registry_control (ring_control with `tail` = next
// ticket to claim for pushing, `head` = next ticket to claim for popping, then 64 endpoint
// records), then `capacity` slots of slot_size bytes:
//   offset in slot  size      field
//   0               8         seq    bits 0..62: sequence number minus the slot index, mod 2^63
//                                    (0-filled = empty ring); bit 63: skip (see recover())
//   value_offset    sizeof T  value  value_offset = max(8, alignof(T))
// Ticket t lives in slot t & (capacity - 1). seq == t: free for the producer of ticket t;
// seq == t + 1: holds ticket t's message; a consumer frees it with seq = t + capacity.
// Sequence numbers compare modulo 2^63 (2^63 tickets last centuries).
//
// Crashes: an endpoint names each claim in its record before making it. recover() (called by
// blocking waits at most once per wait_policy::liveness_interval of a handle, on the clock and
// across its waits, or by the user) finds records of dead processes whose claims were never
// completed and repairs the slots: a ticket a dead producer claimed but never published is marked
// skip (consumers pass over it: that message was never sent); a ticket a dead consumer took but
// never freed is freed (that message is lost: at most the batch the consumer was taking). A ticket
// that a live endpoint's record names is never touched, so a slow producer keeps its slot.
// recover() judges the owner of each record that names a claim once a call, so its cost is bounded
// by the records and the capacity however the records read. Untrusted counters: an endpoint refuses
// head and tail more than a lap apart when it attaches (errc::corrupted; the check gives up,
// passing, on a ring whose head keeps moving while it reads, which a corrupt one does not).
#pragma once

#include <algorithm>
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
#include "ipcring/detail/inline.hpp"
#include "ipcring/detail/overlap.hpp"
#include "ipcring/detail/role.hpp"
#include "ipcring/detail/segment.hpp"
#include "ipcring/detail/wait_block.hpp"
#include "ipcring/error.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/ring_options.hpp"
#include "ipcring/type_name.hpp"
#include "ipcring/wait.hpp"

namespace ipcring {

namespace c_api {
struct slot_pusher;  // the C API's blocking slot batch (push_within): lib/src/c_api.cpp
}

template <class T>
class mpmc_producer;
template <class T>
class mpmc_consumer;

namespace detail {

// Where the value sits in an mpmc slot, and the slot's size: a wire ABI (mpmc_slot_size).
template <class T>
struct mpmc_slot_layout {
  static constexpr std::size_t align = mpmc_slot_align(alignof(T));
  static constexpr std::size_t value_offset = align;
  static constexpr std::size_t size = mpmc_slot_size(sizeof(T), alignof(T));
};

// Shared state of mpmc handles: slot access and the ticket protocol.
template <class T>
class mpmc_endpoint {
 public:
  /// A moved-from handle may only be destroyed or assigned to (close() does nothing): it
  /// keeps no pointer to the ring, so another call on it faults at address 0 instead of
  /// using the ring behind the handle it moved to.
  mpmc_endpoint(mpmc_endpoint&& o) noexcept { *this = std::move(o); }
  mpmc_endpoint& operator=(mpmc_endpoint&& o) noexcept {
    if (this != &o) {
      lease_.release();  // while the mapping holding the record is still ours
      seg_ = std::move(o.seg_);
      lease_ = std::move(o.lease_);
      ctl_ = std::exchange(o.ctl_, nullptr);
      record_ = std::exchange(o.record_, nullptr);
      slots_ = std::exchange(o.slots_, nullptr);
      mask_ = std::exchange(o.mask_, 0);
      stall_at_ = o.stall_at_;
      full_at_ = o.full_at_;
      fast_notify_ = o.fast_notify_;
      scope_ = std::exchange(o.scope_, {});
      wait_ = o.wait_;
      wakes_ = o.wakes_;
      corrupted_ = o.corrupted_;
    }
    return *this;
  }
  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  void set_wait_policy(const wait_policy& p) noexcept {
    wait_ = detail::wait_state{p};  // and a new schedule: checks on the new interval
  }
  /// True once a blocking call of this handle found `head` and `tail` more than a lap apart
  /// after its attach (another process wrote them: no ring's endpoints move them so). That
  /// call and any later one that finds them so returns wait_result::timeout (at its next
  /// liveness check, within liveness_interval) instead of waiting for them to change. Kept.
  bool corrupted() const noexcept { return corrupted_; }

 protected:
  // A publish woke sleepers: now and then, take back dead ones' counts (detail/role.hpp).
  void woke_sleepers() noexcept { detail::woke_sleepers(registry(), wakes_); }

  using slot_layout = mpmc_slot_layout<T>;
  // Whether a try_push can wait for room (the contract at the top): slots that tile lines. Else
  // the test is left out of claim() altogether.
  static constexpr bool k_waits_for_room =
      room_after_full<slot_layout::size>(~std::uint64_t{0}) != 0;
  static constexpr int k_max_retries = 1024;  // bounded under contention or corrupt words

  mpmc_endpoint(attachment_ptr seg, endpoint_role role, const wait_policy& wait)
      : seg_(std::move(seg)) {
    ctl_ = &registry().base;
    slots_ = seg_->data();
    mask_ = seg_->spec.capacity - 1;
    check_counters();
    lease_ = register_recovering(role);  // recovery needs the fields above
    fast_notify_ = register_fast_notifier();
    wait_ = detail::wait_state{wait};
    const bool producer = role == endpoint_role::producer;
    scope_ = {producer ? &ctl_->space_wait : &ctl_->data_wait,
              producer ? &ctl_->producer_closed : &ctl_->consumer_closed,
              producer ? &ctl_->consumer_closed : &ctl_->producer_closed,
              nullptr,
              &mpmc_endpoint::recover_hook,
              nullptr,  // recover_self: set per wait
              &record_->stats,
              record_,  // several endpoints sleep on each block
              producer ? &seg_->producer_closed_here.value : &seg_->consumer_closed_here.value};
    // Called with recover_self, as recover_hook: only waits through blocking() set it.
    if (!producer) scope_.claimed_ahead = &mpmc_endpoint::claimed_ahead_hook;
    detail::reopen_side(*seg_, *ctl_, producer);  // a new endpoint reopens its side
  }
  registry_control& registry() const noexcept {
    return *reinterpret_cast<registry_control*>(seg_->control());
  }
  // Takes an endpoint record. When all are held, some may be kept by dead endpoints that died
  // mid-claim, for a recovery to clear; if every endpoint is dead, no one else is left to run it,
  // so run it here (it needs no record of its own) and try once more.
  role_lease register_recovering(endpoint_role role) {
    try {
      return role_lease::register_endpoint(registry(), role, seg_->name, &record_);
    } catch (const error& e) {
      if (e.value() != errc::too_many_endpoints) throw;
    }
    recover();  // its count says nothing here: a claim never made frees its record repairing none
    return role_lease::register_endpoint(registry(), role, seg_->name, &record_);
  }
  // Untrusted: head <= tail <= head + capacity (a consumer takes a ticket only once it is
  // published, a producer only once the ticket a lap before was freed). Counters that say
  // otherwise would leave every call waiting for a slot that never comes: refuse them at once.
  void check_counters() const {
    for (int attempt = 0; attempt < 8; ++attempt) {
      // acquire x3: pairs with [R-claim] of the endpoints that moved the counters, so that
      // tail read after head is no older than the head its claims waited for
      const std::uint64_t head = ctl_->head.load(std::memory_order_acquire);
      const std::uint64_t tail = ctl_->tail.load(std::memory_order_acquire);
      if (ctl_->head.load(std::memory_order_acquire) != head) continue;  // in use: again
      if (tail - head <= capacity()) return;
      throw error(errc::corrupted, "'" + seg_->name + "': tail=" + std::to_string(tail) +
                                       " and head=" + std::to_string(head) +
                                       " cannot both be: tail runs from head to head + capacity (" +
                                       std::to_string(capacity()) + ")");
    }
  }

  std::atomic<std::uint64_t>& seq_of(std::uint64_t ticket) const noexcept {
    return *reinterpret_cast<std::atomic<std::uint64_t>*>(slots_ +
                                                          (ticket & mask_) * slot_layout::size);
  }
  T* value_of(std::uint64_t ticket) const noexcept {
    return reinterpret_cast<T*>(slots_ + (ticket & mask_) * slot_layout::size +
                                slot_layout::value_offset);
  }
  static constexpr std::uint64_t k_seq_mask = ~std::uint64_t{0} >> 1;
  static constexpr std::uint64_t k_skip = ~k_seq_mask;
  // The slot's sequence number for `ticket`'s lap, mod 2^63. Acquire: [A-m1] for a consumer
  // (pairs with the producer's publishing [R-m1]), [A-m2] for a producer (pairs with the
  // consumer's freeing [R-m2]: its reads of the slot end before the producer's writes).
  std::uint64_t seq(std::uint64_t ticket) const noexcept {
    return (seq_of(ticket).load(std::memory_order_acquire) + (ticket & mask_)) & k_seq_mask;
  }
  bool seq_is(std::uint64_t ticket, std::uint64_t value) const noexcept {
    return seq(ticket) == (value & k_seq_mask);
  }
  std::uint64_t raw_for(std::uint64_t ticket, std::uint64_t value) const noexcept {
    return (value - (ticket & mask_)) & k_seq_mask;
  }
  void set_seq(std::uint64_t ticket, std::uint64_t value) noexcept {
    seq_of(ticket).store(raw_for(ticket, value), std::memory_order_release);
  }
  bool skipped(std::uint64_t ticket) const noexcept {
    // relaxed: read after the acquire in seq() for the same ticket
    return (seq_of(ticket).load(std::memory_order_relaxed) & k_skip) != 0;
  }

 public:
  /// Repairs slots left by endpoints whose processes died mid-claim (see the header comment).
  /// Reads /proc: not for the hot path. Returns how many tickets it repaired.
  std::size_t recover() noexcept {
    std::size_t repaired = 0;
    registry_control& reg = registry();
    const std::uint64_t cap = mask_ + 1;
    // Each owner judged once, and only if its record names a claim: the work below is bounded
    // by the records and the capacity, not their product with /proc reads, however they read.
    owner_liveness alive;
    withdraw_dead_sleepers(reg);  // dead waiters' counts, which would make every publish wake
    for (std::size_t i = 0; i < k_max_endpoints; ++i) {
      endpoint_record& r = reg.endpoints[i];
      // claim_first before owner: a record re-registered by a live endpoint meanwhile then
      // shows that endpoint as owner (still_owned() below), and the hand-back CAS cannot
      // match it.
      // acquire: pairs with the release store naming the claim (claim()), so claim_count is
      // the one named with it
      const std::uint64_t first = r.claim_first.load(std::memory_order_acquire);
      // acquire: pairs with the registering CAS (register_endpoint, acq_rel)
      const std::uint64_t owner = r.owner.load(std::memory_order_acquire);
      if (owner == 0 || first == 0 || alive.alive(i, owner)) continue;
      // acquire: pairs with the release store naming the claim (claim()): a claim_count newer
      // than `first` comes after the slots of `first`'s claim were published
      const std::uint64_t count = std::min(r.claim_count.load(std::memory_order_acquire), cap);
      // relaxed: ordered by the acquire of claim_first above
      const std::uint32_t role = r.role.load(std::memory_order_relaxed);
      const bool producer = role == static_cast<std::uint32_t>(endpoint_role::producer);
      // A record of neither side (garbage) names no claim to repair.
      if (!producer && role != static_cast<std::uint32_t>(endpoint_role::consumer)) continue;
      // The fields above are the dead owner's only if the record was not released and taken by
      // a new endpoint meanwhile (a dead owner's id never comes back).
      if (!dead_claim{&r, owner, first - 1, count}.still_owned()) continue;
      // acquire: pairs with [R-claim]; tickets below the counter were really claimed. A
      // read-modify-write, not a load: it reads the counter's last value, so the dead owner's
      // CAS after naming the claim above is in it (a load may return an older value, and the
      // claim would then be handed back unrepaired: docs/layout.md, "Roles"). Off the hot path.
      const std::uint64_t counter =
          (producer ? ctl_->tail : ctl_->head).fetch_add(0, std::memory_order_acquire);
      // Read after the counter: the claims of the tickets below it are named by now.
      live_spans live(reg, producer ? endpoint_role::producer : endpoint_role::consumer, first - 1,
                      count, alive);
      bool deferred = false;  // a ticket left for later: the record must stay to find it again
      for (std::uint64_t t = first - 1; t != first - 1 + count; ++t) {
        if (static_cast<std::int64_t>(counter - t) <= 0) break;  // never claimed
        if (live.covers(t - (first - 1))) {
          // A live endpoint names this ticket (a claim whose CAS is failing, or a real one
          // that will publish or free it): if it was the dead one's, only this record still
          // says so, and a later recover() repairs it.
          deferred = true;
          continue;
        }
        std::uint64_t expect = raw_for(t, producer ? t : t + 1);
        const std::uint64_t repaired_raw =
            producer ? raw_for(t, t + 1) | k_skip : raw_for(t, t + cap);
        // acq_rel: the repair is published like a normal publish / free
        bool done =
            seq_of(t).compare_exchange_strong(expect, repaired_raw, std::memory_order_acq_rel);
        if (!done && !producer && expect == (raw_for(t, t + 1) | k_skip)) {
          // A dead consumer was taking a skipped ticket: free it the same way.
          done = seq_of(t).compare_exchange_strong(expect, repaired_raw, std::memory_order_acq_rel);
        }
        if (done) ++repaired;
      }
      if (deferred) continue;
      // Done with this claim: the record is free for a new endpoint, which clears the claim.
      // Handed back by its owner, not by clearing claim_first: another recoverer that judged
      // the same claim, cleared it and let a new endpoint take the record would otherwise
      // find the same value named again, by the new owner, and erase its live claim. The dead
      // owner's id never comes back. release: pairs with the registering CAS (acquire), so a
      // new owner sees the repairs above.
      std::uint64_t dead = owner;
      r.owner.compare_exchange_strong(dead, 0, std::memory_order_release,
                                      std::memory_order_relaxed);
    }
    if (repaired != 0) {
      wake_all(ctl_->data_wait);
      wake_all(ctl_->space_wait);
    }
    return repaired;
  }

 protected:
  // Every liveness check of a blocking wait: counters no ring has end the wait (blocking()),
  // else dead endpoints' claims are repaired.
  static std::size_t recover_hook(void* self) noexcept {
    auto* e = static_cast<mpmc_endpoint*>(self);
    if (e->counters_impossible()) {
      e->impossible_ = e->corrupted_ = true;
      return 1;  // the wait looks again at once, and ends
    }
    return e->recover();
  }
  // head and tail more than a lap apart, read twice with head unchanged (as check_counters():
  // on a ring in use, head may pass the value read before tail is).
  bool counters_impossible() const noexcept {
    // acquire x3: pair with [R-claim], the CASes that moved head and tail (check_counters())
    const std::uint64_t head = ctl_->head.load(std::memory_order_acquire);
    const std::uint64_t tail = ctl_->tail.load(std::memory_order_acquire);
    return ctl_->head.load(std::memory_order_acquire) == head && tail - head > capacity();
  }
  // A consumer's wait_scope::claimed_ahead: producers claimed tickets no consumer has taken
  // (one still being written, a dead producer's until recovery skips it, or published ones
  // behind them), so closed producers have not said their last. More than a lap: corrupt.
  static bool claimed_ahead_hook(void* self) noexcept {
    const auto* e = static_cast<const mpmc_endpoint*>(self);
    // head first, then tail: head never passes tail, so a tail read after it is not behind it
    // (read the other way, consumers could pass a stale tail, and the difference would wrap).
    // acquire: pairs with [R-claim] of the consumer that moved head there
    const std::uint64_t h = e->ctl_->head.load(std::memory_order_acquire);
    // acquire: pairs with [R-claim], the CAS of the producer that moved tail there
    const std::uint64_t t = e->ctl_->tail.load(std::memory_order_acquire);
    return t != h && t - h <= e->mask_ + 1;
  }

  // Claims consecutive tickets on `counter` whose slots satisfy seq(t) == t + ready_offset
  // (0: free, for producers; 1: full, for consumers): up to `n` of them, or with `all` exactly
  // `n`. A consumer taking `all` counts messages, not tickets: skipped tickets (recover())
  // come along without counting. When the messages are too few, the skips at the front (if
  // any) are claimed on their own, so that the caller frees them and tries again: they would
  // otherwise take room a batch of the whole ring needs. With `room` (try_push, see
  // detail::room_after_full), a retry at the ticket of the last full event also waits for the
  // slot `room` tickets on. With `pass_skips` (a consumer that just freed skips only), up to
  // `n` messages are counted as with `all`, the skips before and among them coming along: a
  // run of skips (a dead producer's batch) is passed in one claim, not one per attempt.
  // Returns the first ticket and sets `got` (0: nothing). Always inlined, as are push_claimed()
  // and pop_claimed() around it (detail/inline.hpp).
  IPCRING_ALWAYS_INLINE std::uint64_t claim(std::atomic<std::uint64_t>& counter,
                                            std::uint64_t ready_offset, std::uint64_t n, bool all,
                                            std::uint64_t& got, std::uint64_t room = 0,
                                            bool pass_skips = false) noexcept {
    got = 0;
    if (all && n > mask_ + 1) return 0;  // can never all fit
    n = std::min(n, mask_ + 1);
    const bool count_messages = (all || pass_skips) && ready_offset == 1;
    const std::uint64_t max_tickets = count_messages ? mask_ + 1 : n;
    // relaxed: the slot's seq, read with acquire, is what orders the data
    std::uint64_t pos = counter.load(std::memory_order_relaxed);
    // Only delays: the loop below still checks every slot it takes.
    if constexpr (k_waits_for_room) {
      if (room != 0 && full_at_ == pos && !seq_is(pos + room, pos + room)) return 0;
    }
    for (int attempt = 0; attempt < k_max_retries; ++attempt) {
      std::uint64_t k = 0;       // tickets ready
      std::uint64_t wanted = 0;  // of them, what counts towards n
      std::uint64_t lead = 0;    // skipped tickets before the first message (count_messages)
      while (k < max_tickets && wanted < n && seq_is(pos + k, pos + k + ready_offset)) {
        if (!count_messages || !skipped(pos + k)) {
          ++wanted;
        } else if (wanted == 0) {
          ++lead;
        }
        ++k;
      }
      if (all && count_messages && wanted < n && lead != 0) k = lead;  // free skips, retry
      if (k == 0 || (all && wanted < n && k != lead)) {
        // Not ready at pos: full / empty, unless other endpoints moved the counter meanwhile.
        const std::uint64_t now = counter.load(std::memory_order_relaxed);
        if (now == pos) {
          // A claim named by an earlier, failed CAS must not outlive it: it would shield the
          // ticket from recovery (live_spans) if its real claimant died. release: as claim_done(),
          // a recoverer that reads this 0 also sees the slots of the last claim published
          record_->claim_first.store(0, std::memory_order_release);
          if constexpr (k_waits_for_room) {
            if (room != 0) full_at_ = pos;  // try_push found the ring full: wait for room
          }
          if (stall_at_ != pos) {  // a full / empty event: the first failure at this ticket
            stall_at_ = pos;
            bump(record_->stats.stalls, 1);
          }
          return 0;
        }
        pos = now;
        continue;
      }
      // Name the claim before making it, so a holder that dies after the CAS is found.
      // release: a recoverer that reads this count with an older claim_first (acquire, in
      // recover() and claim_of()) also sees that older claim's slots published, and so leaves
      // them alone
      record_->claim_count.store(k, std::memory_order_release);
      // release: pairs with the acquire loads of claim_first in recover() and covers(), which
      // then read this claim_count, not an older one
      record_->claim_first.store(pos + 1, std::memory_order_release);
      // [R-claim] release: the record stores above are visible before the claim is
      if (counter.compare_exchange_weak(pos, pos + k, std::memory_order_release,
                                        std::memory_order_relaxed)) {
        got = k;
        return pos;
      }
    }
    // release: as above, a claim never made
    record_->claim_first.store(0, std::memory_order_release);
    return 0;
  }
  // A blocking operation: `attempt` until it succeeds, sleeping on `hint` in between (other
  // endpoints may take what the hint saw, so the attempt can fail again).
  // `time` and `counted`: as detail::retry_until's, shared by the parts of a blocking batch.
  template <class Attempt, class Hint>
  wait_result blocking(std::chrono::nanoseconds timeout, Attempt&& attempt, Hint&& hint) noexcept {
    time_budget time(timeout);
    bool counted = false;
    return blocking(time, counted, attempt, hint);
  }
  template <class Attempt, class Hint>
  wait_result blocking(time_budget& time, bool& counted, Attempt&& attempt, Hint&& hint) noexcept {
    wait_scope scope = scope_;
    scope.recover_self = this;  // not stored: handles move
    impossible_ = false;        // judged again by this wait's liveness checks
    bool done = false;
    const wait_result r = retry_until(
        scope, wait_, time, counted,
        [&] {
          done = attempt();
          return done || impossible_;
        },
        [&] { return hint() || impossible_; });
    // Impossible counters never change back by themselves: timeout now, not at the deadline.
    return r == wait_result::ok && !done ? wait_result::timeout : r;
  }
  void claim_done() noexcept {
    // release: a reader of the record that sees 0 also sees the slots published
    record_->claim_first.store(0, std::memory_order_release);
  }

  endpoint_record* record_ = nullptr;  // set with lease_
  attachment_ptr seg_;                 // before lease_: destroyed after it
  role_lease lease_;
  ring_control* ctl_ = nullptr;
  std::byte* slots_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t stall_at_ = ~std::uint64_t{0};  // ticket of the last full/empty event counted
  bool fast_notify_ = false;
  wait_scope scope_{};
  detail::wait_state wait_{};  // policy and liveness schedule (wait_block.hpp)
  // Last, so that adding it moved no other field (64 B single ops ran 0.83x-0.90x with it
  // after stall_at_, although their code did not change).
  std::uint64_t full_at_ = ~std::uint64_t{0};  // ticket where try_push last found no free slot
  std::uint32_t wakes_ = 0;                    // publishes that woke sleepers (woke_sleepers())
  bool corrupted_ = false;                     // corrupted()
  bool impossible_ = false;                    // this wait's check found them so (blocking())
};

}  // namespace detail

template <class T>
class mpmc_ring {
  static_assert(std::is_trivially_copyable_v<T>,
                "mpmc_ring<T>: T must be trivially copyable, because it is copied byte-wise "
                "between processes");
  static_assert(!std::is_const_v<T> && !std::is_volatile_v<T>, "mpmc_ring<T>: T must not be cv");
  static_assert(alignof(T) <= 4096, "mpmc_ring<T>: alignof(T) must be at most a page");
  static_assert(detail::mpmc_slot_layout<T>::size <= 0xffffffffu,
                "mpmc_ring<T>: a slot (sizeof(T) and its sequence word) must fit in 32 bits");

 public:
  using value_type = T;

  /// Creates the named ring (errors as spsc_ring::create).
  static mpmc_ring create(std::string_view name, std::uint64_t capacity,
                          const ring_options& opt = {}) {
    return mpmc_ring(detail::create_shm(name, spec(capacity, opt), opt));
  }
  /// Opens the named ring (errors as spsc_ring::open; kind_mismatch for another kind).
  static mpmc_ring open(std::string_view name, const ring_options& opt = {}) {
    return mpmc_ring(detail::open_shm(name, spec(0, opt), opt));
  }
  static mpmc_ring create_file(const std::filesystem::path& path, std::uint64_t capacity,
                               const ring_options& opt = {}) {
    return mpmc_ring(detail::create_file(path, spec(capacity, opt), opt));
  }
  static mpmc_ring open_file(const std::filesystem::path& path, const ring_options& opt = {}) {
    return mpmc_ring(detail::open_file(path, spec(0, opt), opt));
  }
  static mpmc_ring create_in(std::span<std::byte> bytes, std::uint64_t capacity,
                             const ring_options& opt = {}) {
    return mpmc_ring(detail::create_in(bytes, spec(capacity, opt), "<memory>"));
  }
  static mpmc_ring open_in(std::span<std::byte> bytes, const ring_options& opt = {}) {
    return mpmc_ring(detail::open_in(bytes, spec(0, opt), "<memory>", opt));
  }
  static std::uint64_t required_bytes(std::uint64_t capacity) {
    return detail::required_bytes(spec(capacity, {}), "mpmc_ring::required_bytes");
  }

  /// Registers a producer endpoint. Throws errc::too_many_endpoints when 64 are held.
  mpmc_producer<T> producer(const wait_policy& wait = {}) const {
    return mpmc_producer<T>(seg_, wait);
  }
  /// Registers a consumer endpoint. Throws errc::too_many_endpoints when 64 are held.
  mpmc_consumer<T> consumer(const wait_policy& wait = {}) const {
    return mpmc_consumer<T>(seg_, wait);
  }

  std::uint64_t capacity() const noexcept { return seg_->spec.capacity; }
  /// Racy observer: claimed-for-pushing minus claimed-for-popping tickets, in [0, capacity].
  std::uint64_t size_approx() const noexcept {
    const auto* c = reinterpret_cast<const ring_control*>(seg_->control());
    // Head first, acquire: pairs with [R-claim], a consumer's CAS of head, made after it read
    // (acquire) the seq of each slot it took, which that slot's producer stored after its CAS
    // of tail; so the tail loaded next is not behind this head (read the other way round, a
    // busy ring read as empty)
    const std::uint64_t h = c->head.load(std::memory_order_acquire);
    // relaxed: an estimate; no data is read on the strength of it
    const std::uint64_t t = c->tail.load(std::memory_order_relaxed);
    return t - h <= capacity() ? t - h : 0;
  }
  const std::string& name() const noexcept { return seg_->name; }

 private:
  explicit mpmc_ring(detail::attachment_ptr seg) : seg_(std::move(seg)) {}

  static detail::ring_spec spec(std::uint64_t capacity, const ring_options& opt) {
    detail::ring_spec s;
    s.kind = ring_kind::mpmc;
    s.capacity = capacity;
    s.slot_size = static_cast<std::uint32_t>(detail::mpmc_slot_layout<T>::size);
    s.slot_align = static_cast<std::uint32_t>(detail::mpmc_slot_layout<T>::align);
    s.elem_size = sizeof(T);
    s.elem_align = alignof(T);
    s.control_size = detail::control_size_of(ring_kind::mpmc);
    s.type_name = stored_type_name(opt.type_name.empty() ? type_tag<T>::name : opt.type_name);
    return s;
  }

  detail::attachment_ref seg_;
};

/// A producer endpoint of an mpmc_ring. Move-only; unregisters when destroyed.
/// \pre one thread at a time per handle (use one handle per thread).
template <class T>
class mpmc_producer : public detail::mpmc_endpoint<T> {
  using base = detail::mpmc_endpoint<T>;

 public:
  /// Copies `v` into the next free slot. False if the ring is full, and after that at the same
  /// ticket until a few lines of slots are free (the contract at the top).
  [[nodiscard]] bool try_push(const T& v) noexcept {
    return push_claimed(std::span<const T>(&v, 1), false, room_after_full()) == 1;
  }
  /// All of `items` (consecutive tickets, so they stay together in order) or nothing.
  [[nodiscard]] bool try_push_all(std::span<const T> items) noexcept {
    return items.empty() || push_claimed(items, true) == items.size();
  }
  /// As many of `items` as there are consecutive free slots; returns how many were pushed.
  [[nodiscard]] std::size_t try_push_some(std::span<const T> items) noexcept {
    return items.empty() ? 0 : push_claimed(items, false);
  }
  /// Blocking: waits (by the wait_policy) for a free slot. ok, closed or timeout.
  wait_result push(const T& v) noexcept { return push(v, std::chrono::nanoseconds::max()); }
  template <class Rep, class Period>
  wait_result push(const T& v, std::chrono::duration<Rep, Period> timeout) noexcept {
    detail::time_budget time(detail::saturate(timeout));
    bool counted = false;
    return push_within(v, time, counted);
  }
  /// Blocking batch: pushes all of `items` in order, as many at a time as there are
  /// consecutive free slots, waiting (by the wait_policy) for room as often as needed within
  /// one `timeout`. Returns how many were pushed: items.size() with `*result` ok; fewer where a
  /// wait ended first, `*result` saying why (closed, timeout; as push()). The parts take
  /// consecutive tickets each, but another producer's messages may come between two parts. As
  /// the C API's batches (and the try_ calls), it uses the room there is even after the side
  /// closed: closed comes only where it would wait (push() returns it at once).
  template <class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  [[nodiscard]] std::size_t push_all(
      std::span<const T> items,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      wait_result* result = nullptr) noexcept {
    detail::time_budget time(detail::saturate(timeout));
    bool counted = false;  // one wait counted for the call
    std::size_t n = 0;
    wait_result r = wait_result::ok;
    while (n < items.size()) {
      std::size_t k = push_claimed(items.subspan(n), false);
      if (k == 0) {
        r = this->blocking(
            time, counted,
            [&] {
              k = push_claimed(items.subspan(n), false);
              return k != 0;
            },
            [&] { return slot_may_be_free(); });
        if (r != wait_result::ok) break;
      }
      n += k;
    }
    if (result != nullptr) *result = r;
    return n;
  }
  /// Closes the producer side for every endpoint: consumers drain, then see `closed`. Does
  /// nothing in a child that inherited the handle across fork(): the ring is the parent's.
  void close() noexcept { closer().close(); }
  close_token closer() const noexcept {
    return detail::side_closer(this->seg_.get(), this->ctl_, true, this->lease_);
  }
  /// Racy observer: whether the consumers closed their side (close(), a close_token), without
  /// waiting; a new consumer reopens it. One load, no syscall. (Many peers: no peer_dead();
  /// inspect() lists the endpoints, recover() repairs what dead ones left.)
  bool peer_closed() const noexcept { return detail::peer_side_closed(this->scope_); }

 private:
  friend class mpmc_ring<T>;
  friend struct c_api::slot_pusher;
  mpmc_producer(detail::attachment_ptr seg, const wait_policy& wait)
      : base(std::move(seg), endpoint_role::producer, wait) {}

  // push() within `time` and `counted`: as blocking()'s, shared by the waits of a C batch
  // (ipcring_push_all, through c_api::slot_pusher).
  wait_result push_within(const T& v, detail::time_budget& time, bool& counted) noexcept {
    // Takes a slot as soon as one is free: no wait for room (only consumers' frees wake a
    // sleeping producer, and another producer's push could end that wait unseen).
    return this->blocking(
        time, counted, [&] { return push_claimed(std::span<const T>(&v, 1), false) == 1; },
        [&] { return slot_may_be_free(); });
  }

  // A blocking push's hint that a slot is free; the attempt decides.
  bool slot_may_be_free() const noexcept {
    // relaxed: a hint
    const std::uint64_t t = this->ctl_->tail.load(std::memory_order_relaxed);
    // A tail that moved meanwhile (another producer filled t) says nothing of t + 1: look
    // again rather than sleep. seq()'s acquire read the filled slot, so this load sees the CAS
    // that claimed it. relaxed: a hint, as above
    return this->seq_is(t, t) || this->ctl_->tail.load(std::memory_order_relaxed) != t;
  }
  // Asks for the lines of the slots prefetch_distance tickets after the `n` just claimed, so
  // the pushes that reach them find the lines owned (detail/overlap.hpp). Only in rings of
  // four times the distance or more, where those slots are free unless the ring is nearly
  // full; a hint either way: it never changes memory, a wrong guess costs one transfer.
  // Slots of 256 B and more: 1P1C single pushes of 1 KiB ran 1.44-1.48x faster with it, of
  // 8 B 1.00x and of 64 B 0.85-0.88x (docs/tuning.md).
  void prefetch_ahead(std::uint64_t first, std::uint64_t n) noexcept {
    constexpr std::size_t slot = base::slot_layout::size;
    constexpr std::uint64_t ahead = slot >= 256 ? detail::prefetch_distance<slot> : 0;
    if constexpr (ahead != 0) {
      if (n == 0 || ahead * 4 > this->mask_ + 1) return;
      for (std::uint64_t t = first + ahead; t != first + ahead + std::min(n, ahead); ++t) {
        detail::prefetch_for_write(this->slots_ + (t & this->mask_) * slot, slot);
      }
    }
  }
  // How many tickets on try_push waits for the slot to be free too after finding no free slot
  // (the contract at the top; 0: it does not wait).
  std::uint64_t room_after_full() const noexcept {
    return detail::room_after_full<base::slot_layout::size>(this->mask_ + 1);
  }
  IPCRING_ALWAYS_INLINE std::size_t push_claimed(std::span<const T> items, bool all,
                                                 std::uint64_t room = 0) noexcept {
    std::uint64_t got = 0;
    const std::uint64_t first = this->claim(this->ctl_->tail, 0, items.size(), all, got, room);
    prefetch_ahead(first, got);
    for (std::uint64_t i = 0; i < got; ++i) {
      std::memcpy(this->value_of(first + i), &items[i], sizeof(T));
      this->set_seq(first + i, first + i + 1);  // [R-m1] publishes; pairs with [A-m1]
    }
    if (got != 0) {
      this->claim_done();
      if (detail::notify(this->ctl_->data_wait, this->fast_notify_)) [[unlikely]]
        this->woke_sleepers();
    }
    return static_cast<std::size_t>(got);
  }
};

/// A consumer endpoint of an mpmc_ring. Move-only; unregisters when destroyed.
/// \pre one thread at a time per handle.
template <class T>
class mpmc_consumer : public detail::mpmc_endpoint<T> {
  using base = detail::mpmc_endpoint<T>;

 public:
  /// Takes the oldest unclaimed message. False if the ring is empty.
  [[nodiscard]] bool try_pop(T& out) noexcept { return try_pop_some(std::span<T>(&out, 1)) == 1; }
  /// Exactly out.size() consecutive messages or nothing. Tickets a dead producer claimed and
  /// never filled (skipped by recover()) are passed over and do not count.
  [[nodiscard]] bool try_pop_all(std::span<T> out) noexcept {
    return out.empty() || pop_claimed(out, true) == out.size();
  }
  /// Up to out.size() consecutive messages; returns how many.
  [[nodiscard]] std::size_t try_pop_some(std::span<T> out) noexcept {
    return out.empty() ? 0 : pop_claimed(out, false);
  }
  /// Racy observer, as mpmc_ring::size_approx(): tickets claimed for pushing and not yet for
  /// popping, in [0, capacity]; some may still be being written.
  std::uint64_t size_approx() const noexcept {
    // relaxed: an estimate; nothing is read on the strength of it
    const std::uint64_t t = this->ctl_->tail.load(std::memory_order_relaxed);
    const std::uint64_t h = this->ctl_->head.load(std::memory_order_relaxed);
    return t - h <= this->mask_ + 1 ? t - h : 0;
  }
  /// Racy observer: whether the oldest unclaimed ticket holds a published message, so that a
  /// try_pop now most likely succeeds (another consumer may take it first). Unlike an attempt,
  /// a "no" counts no empty event: a ticket a producer claimed and has not written yet, or
  /// one a dead producer's recovery skipped, answers no.
  bool front_ready() const noexcept {
    // relaxed: a hint; seq()'s acquire [A-m1] pairs with the publishing store [R-m1]
    const std::uint64_t h = this->ctl_->head.load(std::memory_order_relaxed);
    return this->seq_is(h, h + 1) && !this->skipped(h);  // seq_is() ignores the skip bit
  }
  /// Blocking: waits for a message. ok; closed (this side closed, or producers closed and the
  /// ring is drained, tickets they claimed before included: a dead producer's is skipped, a
  /// live one's waited for); timeout.
  wait_result pop(T& out) noexcept { return pop(out, std::chrono::nanoseconds::max()); }
  template <class Rep, class Period>
  wait_result pop(T& out, std::chrono::duration<Rep, Period> timeout) noexcept {
    return this->blocking(
        detail::saturate(timeout), [&] { return try_pop(out); },
        [&] { return message_may_be_there(); });
  }
  /// Blocking batch: takes as many consecutive messages as are there, up to out.size(), in
  /// order, waiting (by the wait_policy) for the first where there is none. Returns how many: 0
  /// where the wait ended without one, `*result` saying why (closed, timeout; as pop()), else
  /// ok. As the C API's batches, it takes what the ring holds even after the side closed:
  /// closed comes only where it would wait (pop() returns it at once).
  template <class Rep = std::chrono::nanoseconds::rep,
            class Period = std::chrono::nanoseconds::period>
  [[nodiscard]] std::size_t pop_some(
      std::span<T> out,
      std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max(),
      wait_result* result = nullptr) noexcept {
    std::size_t n = 0;
    wait_result r = wait_result::ok;
    if (!out.empty() && (n = pop_claimed(out, false)) == 0) {
      r = this->blocking(
          detail::saturate(timeout),
          [&] {
            n = pop_claimed(out, false);
            return n != 0;
          },
          [&] { return message_may_be_there(); });
    }
    if (result != nullptr) *result = r;
    return n;
  }
  /// Closes the consumer side for every endpoint: producers' blocking calls return `closed`.
  /// Does nothing in a child that inherited the handle across fork(): the ring is the parent's.
  void close() noexcept { closer().close(); }
  close_token closer() const noexcept {
    return detail::side_closer(this->seg_.get(), this->ctl_, false, this->lease_);
  }
  /// Racy observer: whether the producers closed their side (close(), a close_token), without
  /// waiting; a new producer reopens it. One load, no syscall. What the ring holds is still to
  /// be read. (Many peers: no peer_dead(), as mpmc_producer.)
  bool peer_closed() const noexcept { return detail::peer_side_closed(this->scope_); }

 private:
  friend class mpmc_ring<T>;
  mpmc_consumer(detail::attachment_ptr seg, const wait_policy& wait)
      : base(std::move(seg), endpoint_role::consumer, wait) {}

  // A blocking pop's hint that a message is there; the attempt decides.
  bool message_may_be_there() const noexcept {
    // relaxed: a hint
    const std::uint64_t h = this->ctl_->head.load(std::memory_order_relaxed);
    // A head that moved meanwhile (another consumer took h and freed its slot, which then
    // reads as a later lap) says nothing of h + 1: look again rather than sleep, or end as
    // drained, with h + 1 in the ring. seq()'s acquire read the freed slot, so this load sees
    // the CAS that claimed it. relaxed: a hint, as above
    return this->seq_is(h, h + 1) || this->ctl_->head.load(std::memory_order_relaxed) != h;
  }
  // A single pop entering a line of slots asks for the line two lines on, in the modified state
  // (PREFETCHW), while this consumer's last empty event (stall_at_: an empty ring, or a
  // try_pop_all that found too few) is more than a lap behind: it is then likely the slower
  // side, and the lines ahead hold messages published long ago, last written by a producer. A pop
  // then finds its line here to read and free, instead of waiting for it to come over and again to
  // own it for the free. Slots that tile lines only. A hint: it changes no memory; a wrong guess (a
  // line a producer is still filling) costs one transfer. 1P1C 8 B single ops: 2.5x far
  // (docs/tuning.md, "An mpmc consumer asks for its lines ahead").
  void prefetch_ahead(std::uint64_t first) noexcept {
    constexpr std::uint64_t per_line = detail::slots_per_line<base::slot_layout::size>;
    if constexpr (per_line > 1) {
      if ((first & (per_line - 1)) == 0 && first - this->stall_at_ > this->mask_ + 1) {
        detail::prefetch_for_write(&this->seq_of(first + 2 * per_line), 1);
      }
    }
  }
  IPCRING_ALWAYS_INLINE std::size_t pop_claimed(std::span<T> out, bool all) noexcept {
    std::size_t n = 0;
    if (pop_once(out, all, false, n)) return n;  // every honest pop ends here
    return pop_past_skips(out, all);
  }
  // The first claim took skips only (a dead producer's tickets, recover()): the next ones pass
  // a whole run of them with the messages after it (try_pop said "empty" behind 4 skips or
  // more; a dead producer's batch of 32 took 8 calls). Out of line: inlined with the first
  // claim, a second copy of claim() made single-thread push+pop 1.13x slower.
  IPCRING_COLD std::size_t pop_past_skips(std::span<T> out, bool all) noexcept {
    for (int attempt = 0; attempt < 3; ++attempt) {  // bounded: skips are rare
      std::size_t n = 0;
      if (pop_once(out, all, true, n)) return n;
    }
    return 0;
  }
  // One claim: copies its messages into `out` (sets `n`) and frees its slots. True when done:
  // it took a message, or found none; false when it took skips only (the caller tries again).
  IPCRING_ALWAYS_INLINE bool pop_once(std::span<T> out, bool all, bool pass_skips,
                                      std::size_t& n) noexcept {
    const std::uint64_t cap = this->mask_ + 1;
    std::uint64_t got = 0;
    const std::uint64_t first =
        this->claim(this->ctl_->head, 1, out.size(), all, got, 0, pass_skips);
    if (out.size() == 1 && got == 1) prefetch_ahead(first);
    n = 0;
    for (std::uint64_t i = 0; i < got; ++i) {
      // A ticket marked skip by recover() holds no message: free it, deliver nothing.
      // n < out.size() always holds (claim counted the messages); checked all the same, since
      // the skip bit lives in shared memory.
      if (!this->skipped(first + i) && n < out.size()) {
        std::memcpy(&out[n++], this->value_of(first + i), sizeof(T));
      }
      this->set_seq(first + i, first + i + cap);  // [R-m2] frees the slot; pairs with [A-m2]
    }
    if (got != 0) {
      this->claim_done();
      if (detail::notify(this->ctl_->space_wait, this->fast_notify_)) [[unlikely]]
        this->woke_sleepers();
    }
    return n != 0 || got == 0;
  }
};

}  // namespace ipcring
