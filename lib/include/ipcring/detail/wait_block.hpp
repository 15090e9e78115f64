// ipcring/detail/wait_block.hpp: sleeping on a ring and waking its sleepers, across processes.
//
// A wait_block is 8 bytes in the shared segment, one per condition a side can wait for (spsc:
// "data" for the consumer, "space" for the producer), each on its own 128-byte block:
//   offset size field     meaning
//   0      4    sleepers  number of waiters that announced themselves and may sleep
//   4      4    seq       futex word; every wake adds 1
//
// Protocol (no cost to a notifier while nobody sleeps; a wake is never lost for longer than
// the first sleep slice, k_first_slice):
//   waiter                                    notifier (hot path, after publishing)
//   s = seq.load()                [A-seq]      publish(tail or head)            [R1]/[R2]
//   sleepers += 1 (seq_cst)       [W1]         barrier: compiler-only if this process
//   re-check ready() for ~2 us                   registered for membarrier, else a
//   futex_wait(&seq, s, first slice)             seq_cst RMW                    [N1]
//   then, while not ready:                     if sleepers.load() != 0:         [N2]
//     membarrier(GLOBAL_EXPEDITED) [W2]          seq += 1; futex_wake(&seq)     [R-seq]
//     if ready(): done
//     futex_wait(&seq, s', long slice)
//   sleepers -= 1
// SYNC POINT [W1]/[N1]: a store-load (Dekker) race: the waiter stores `sleepers`, then loads the
// index; the notifier stores the index, then loads `sleepers`. A fence-free notifier may load
// `sleepers` before its index store is visible, so both can miss each other. Rather than fence
// every publish (measured: it more than halves cross-process throughput), the waiter pays:
//   * the waiter re-checks its condition for ~2 us after announcing: longer than a store
//     buffer takes to drain, so in practice the notifier's store is seen before it sleeps;
//   * the first sleep is short (k_first_slice): a wake lost to the race costs at most that.
//     (Not shorter: a timeout earlier than the next scheduler tick reprograms the timer on
//     every sleep, measured at +7 us per sleep in a VM.)
//   * before any longer sleep it calls membarrier(GLOBAL_EXPEDITED) [W2], a full barrier on
//     every running thread of every registered process: afterwards the notifier's index store
//     is visible to ready(), or its next load of `sleepers` sees the announcement. Either way
//     the long sleep cannot miss a wake. (membarrier costs ~40 us in a VM: too slow to pay on
//     every sleep, cheap once per idle period.)
// If the notifier's seq += 1 lands before the waiter's futex_wait, the kernel sees seq != s and
// futex_wait returns at once. Where membarrier is unavailable, waiters keep to short slices;
// notifiers that could not register pay a seq_cst RMW ([N1]) and never need it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "ipcring/detail/counters.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/wait.hpp"

namespace ipcring::detail {

// wait_block (= wait_words, declared in wait.hpp): the shared words; layout.hpp owns their place.

/// Registers this process as a notifier that needs no fence (membarrier); once per process.
/// True if registered; false: notify() must use the RMW barrier.
bool register_fast_notifier() noexcept;
/// [W2]: a full barrier on every registered process. False if the kernel refused.
bool waiter_barrier() noexcept;
/// seq += 1, then wakes every thread sleeping on the block. Async-signal-safe on Linux (an
/// atomic add and a futex wake); on Windows it may take the semaphore table's lock, which is
/// safe there: no asynchronous signals, and a console control handler runs on its own thread.
void wake_all(wait_block& b) noexcept;
/// Drops wakes released for sleepers that are gone (Windows: the units a dead sleeper's count
/// made notifiers leave in the block's semaphore; Linux: nothing, a futex keeps none). Only
/// for a block nobody sleeps on: reset_sole_sleeper().
void drop_stale_wakes(wait_block& b) noexcept;
/// Sleeps while b.seq == expected, at most `timeout` (monotonic). Returns on wake, timeout,
/// signal or a changed seq; the caller re-checks its condition.
void sleep_on(wait_block& b, std::uint32_t expected, std::chrono::nanoseconds timeout) noexcept;

/// The notifier's side, inlined into the hot path after each publish. True if it found
/// sleepers counted and woke them (a syscall).
inline bool notify(wait_block& b, bool fast) noexcept {
  std::uint32_t sleeping;
  if (fast) {
    // [N1] compiler-only: the waiter's membarrier [W2] orders the publish before this load
    std::atomic_signal_fence(std::memory_order_seq_cst);
    sleeping = b.sleepers.load(std::memory_order_relaxed);  // [N2]
  } else {
    // [N1] a seq_cst RMW orders the publish before the load; pairs with [W1]
    sleeping = b.sleepers.fetch_add(0, std::memory_order_seq_cst);  // [N2]
  }
  if (sleeping == 0) [[likely]]
    return false;
  wake_all(b);
  return true;
}

/// Called by a new holder of a role that is the only one to sleep on `b` (spsc's producer and
/// consumer, spsc_msg's producer, a message ring's consumer): the holder is not waiting, so
/// nobody is. A holder that died asleep never took its announcement back; left raised, it
/// would make every publish pay a wake (a syscall) for the life of the segment.
inline void reset_sole_sleeper(wait_block& b) noexcept {
  // relaxed: no waiter to order against; a notifier that still reads the old count only
  // wakes nobody once
  // On Windows each publish that saw a dead holder's count left a unit in the semaphore, up to
  // one per message: the holder's first sleep would take them one syscall at a time. Only then:
  // an attach with no count to take back opens no semaphore and makes no syscall.
  if (b.sleepers.exchange(0, std::memory_order_relaxed) != 0) drop_stale_wakes(b);
}

/// First sleep of a wait: the most a wake lost to the [W1]/[N1] race can be late.
inline constexpr std::chrono::milliseconds k_first_slice{5};
/// cpu_relax() iterations of the re-check after announcing (about 2 us).
inline constexpr int k_race_spins = 64;

/// What a waiter watches besides its condition.
struct wait_scope {
  wait_block* block = nullptr;
  const std::atomic<std::uint32_t>* own_closed = nullptr;   // this side closed: stop now
  const std::atomic<std::uint32_t>* peer_closed = nullptr;  // peer closed: stop once !ready
  const std::atomic<std::uint64_t>* peer_owner = nullptr;   // peer role word (liveness);
                                                            // null: many peers, not checked
  /// Called every liveness interval of a wait: repairs what dead peers left (returns how
  /// much it repaired; the wait then re-checks at once). Null: nothing to repair.
  std::size_t (*recover)(void*) noexcept = nullptr;
  void* recover_self = nullptr;    // the endpoint `recover` and `claimed_ahead` are called with
  side_counters* stats = nullptr;  // the waiting side's counters (waits); null: not counted
  /// The waiter's endpoint record, on a block several endpoints sleep on (mpmc, mpsc_msg
  /// producers): named `asleep` while counted in `sleepers`, so that the count of a waiter
  /// killed asleep can be withdrawn (withdraw_dead_sleepers). Null: the block's only sleeper.
  endpoint_record* record = nullptr;
  /// This process's copy of own_closed (attachment::closed_here), set by close_token::close()
  /// with it: a waiter of this process ends on it even if another process clears own_closed.
  const std::atomic<std::uint32_t>* own_closed_here = nullptr;
  /// Called once the peer side closed and nothing is ready: true while that side has claimed
  /// space past what is ready (a message or record a producer of several is still writing, or
  /// one a dead producer left, which `recover` repairs): the wait goes on instead of ending
  /// `closed`, so what was published after it is delivered. Null: closed and not ready is
  /// drained (one producer: it publishes in order).
  bool (*claimed_ahead)(void*) noexcept = nullptr;
};

/// True once this side was closed: in this process, or by any process, as the segment says.
inline bool own_side_closed(const wait_scope& w) noexcept {
  // acquire x2: pair with the release stores in close_token::close()
  return w.own_closed_here->load(std::memory_order_acquire) != 0 ||
         w.own_closed->load(std::memory_order_acquire) != 0;
}

/// True if `owner` names a process that is gone (free roles and live holders are not).
bool peer_is_dead(std::uint64_t owner) noexcept;

/// A handle's look at its peer side, without waiting (peer_closed() of the handles): whether
/// it closed (close(), a close_token; a new holder of the role reopens it).
inline bool peer_side_closed(const wait_scope& w) noexcept {
  // acquire: pairs with the release store in close_token::close()
  return w.peer_closed->load(std::memory_order_acquire) != 0;
}
/// Whether the peer role is held by a process that is gone (peer_dead() of the handles): false
/// for a free role, a live holder, and a handle with many peers (no peer_owner).
inline bool peer_side_dead(const wait_scope& w) noexcept {
  // relaxed: a snapshot of the role word; a stale one answers for the holder before it
  return w.peer_owner != nullptr && peer_is_dead(w.peer_owner->load(std::memory_order_relaxed));
}

/// True once the peer side closed and has nothing more on the way (claimed_ahead): what is not
/// ready then never will be. The closed flag first (docs/layout.md, "Closed and drained").
inline bool peer_done(const wait_scope& w) noexcept {
  // acquire: pairs with the release store in close_token::close()
  return w.peer_closed->load(std::memory_order_acquire) != 0 &&
         (w.claimed_ahead == nullptr || !w.claimed_ahead(w.recover_self));
}

/// What a wait that ran out of time, or looked once, says: timeout, unless the peer closed;
/// then ok if something is ready, else closed once drained. With claims ahead (claimed_ahead)
/// the dead claimants' are repaired first (`recover`): a poll, or a wait shorter than the
/// liveness interval, never reaches the check that repairs them in a longer wait, and would
/// say timeout for ever. A live producer's claim is still to come: timeout.
template <class Ready>
wait_result out_of_time(const wait_scope& w, Ready& ready) noexcept {
  // acquire: pairs with the release store in close_token::close()
  if (w.peer_closed->load(std::memory_order_acquire) == 0) return wait_result::timeout;
  if (w.claimed_ahead != nullptr && w.claimed_ahead(w.recover_self)) {
    if (w.recover != nullptr) (void)w.recover(w.recover_self);
    if (ready()) return wait_result::ok;
    if (w.claimed_ahead(w.recover_self)) return wait_result::timeout;
  }
  return ready() ? wait_result::ok : wait_result::closed;  // drain what it sent first
}

inline std::chrono::steady_clock::time_point deadline_in(std::chrono::nanoseconds d) noexcept;

/// When a wait that checks at `now` checks its peer's liveness next: at least 1 ms on (a zero or
/// negative interval would make the wait a loop of /proc reads and membarriers), and without
/// overflowing the clock (milliseconds::max() means never, in practice).
inline std::chrono::steady_clock::time_point liveness_after(
    std::chrono::steady_clock::time_point now, const wait_policy& p) noexcept {
  const auto interval = std::max(p.liveness_interval, std::chrono::milliseconds{1});
  if (interval >= std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::time_point::max() - now)) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + interval;
}

using check_time = std::chrono::steady_clock::time_point;

/// How a handle waits: its policy, and when it next checks its peer's liveness and repairs
/// what dead peers left. One object per handle, copied whole by its moves and replaced whole
/// by set_wait_policy(), so the two never part.
/// The schedule is kept across the handle's waits, on the clock (clear: not yet scheduled; a
/// new policy clears it). A handle whose every wait is shorter than the liveness interval (a
/// loop of pop(v, 50ms) that looks at a stop flag in between) still checks once per interval:
/// scheduled per wait, such a loop never checked, and a dead producer's claim held an mpmc
/// ring up for ever. The price: a wait that starts an interval or more after the last check
/// checks (a /proc read; mpmc, a scan of the records) once its spin phase ends.
struct wait_state {
  wait_policy policy{};
  check_time next_check{};

  wait_state() = default;
  explicit wait_state(const wait_policy& p) noexcept : policy(p) {}
};

/// Waits until ready() (which may refresh the caller's cached indices), at most `timeout`.
/// The clock is read only once ready() has failed: a call that need not wait costs no
/// clock read (a vDSO call of 20-50 ns in a VM, measured to halve cross-process throughput).
/// A wait is counted in w.stats->waits unless `*counted` says this blocking call counted one
/// already (retry_until waits several times for one call); it is then set.
/// `state`: the handle's policy and schedule of liveness checks (wait_state).
template <class Ready>
wait_result wait_for(const wait_scope& w, wait_state& state, std::chrono::nanoseconds timeout,
                     Ready&& ready, bool* counted = nullptr) noexcept {
  using clock = std::chrono::steady_clock;
  const wait_policy& p = state.policy;
  check_time& next_check = state.next_check;
  if (own_side_closed(w)) return wait_result::closed;
  if (ready()) return wait_result::ok;
  if (timeout == std::chrono::nanoseconds::zero()) {  // one look: no spin, no clock, no wait
    return out_of_time(w, ready);
  }
  if (w.stats != nullptr && (counted == nullptr || !*counted)) bump(w.stats->waits, 1);
  if (counted != nullptr) *counted = true;
  const clock::time_point deadline = deadline_in(timeout);
  std::uint32_t spins = 0;
  bool slept = false;  // a first, short sleep is behind us
  for (;;) {
    if (own_side_closed(w)) return wait_result::closed;
    if (ready()) return wait_result::ok;
    if (peer_done(w)) return ready() ? wait_result::ok : wait_result::closed;  // drained first
    if (spins < p.spin_count) {
      // A short timeout ends the spin too: a look at the clock every 128 spins (a few us).
      if ((++spins & 127) == 0 && clock::now() >= deadline) return out_of_time(w, ready);
      cpu_relax();
      continue;
    }
    const auto now = clock::now();
    if (now >= deadline) return out_of_time(w, ready);
    // The handle's first check comes one interval into its first wait: waits that end sooner
    // (the usual case) read no /proc files; later ones at most once per interval (check_time).
    if (next_check == check_time{}) next_check = liveness_after(now, p);
    if (now >= next_check) {
      // relaxed: a hint; a stale value only delays the verdict to the next check
      if (w.peer_owner != nullptr && peer_is_dead(w.peer_owner->load(std::memory_order_relaxed))) {
        return ready() ? wait_result::ok : wait_result::peer_dead;
      }
      next_check = liveness_after(now, p);
      if (w.recover != nullptr && w.recover(w.recover_self) != 0) continue;
    }
    switch (p.strategy) {
      case wait_strategy::spin:
        for (int i = 0; i < 64; ++i)
          cpu_relax();
        break;
      case wait_strategy::spin_yield:
        std::this_thread::yield();
        break;
      case wait_strategy::block: {
        // [A-seq] pairs with [R-seq] in wake_all: a wake after this load changes seq
        const std::uint32_t seq = w.block->seq.load(std::memory_order_acquire);
        w.block->sleepers.fetch_add(1, std::memory_order_seq_cst);  // [W1]
        if (w.record != nullptr) {
          // relaxed x2: our own identity; `asleep` is read by others only once we are dead
          w.record->asleep.store(w.record->owner.load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
        }
        // After the first slice, make the long sleep safe against fence-free notifiers ([W2]).
        const bool fenced = slept && waiter_barrier();
        bool now_ready = ready();
        for (int i = 0; !fenced && !now_ready && i < k_race_spins; ++i) {
          cpu_relax();
          now_ready = ready();
        }
        if (!now_ready && !own_side_closed(w) && !peer_done(w)) {
          auto slice = std::min<clock::duration>(deadline - now, next_check - now);
          if (!fenced) slice = std::min<clock::duration>(slice, k_first_slice);
          sleep_on(*w.block, seq, slice);
          slept = true;
        }
        // Cleared before the count goes down: a count is never withdrawn twice (by us and by a
        // sweep of dead sleepers, were we killed between the two). relaxed: as above
        if (w.record != nullptr) w.record->asleep.store(0, std::memory_order_relaxed);
        // release: keeps the store above before it (relaxed would let the compiler or CPU
        // swap the two); otherwise a late decrement only costs a notifier one needless wake
        w.block->sleepers.fetch_sub(1, std::memory_order_release);
        break;
      }
    }
  }
}

/// Any duration as nanoseconds, clamped to [0, nanoseconds::max()]; NaN is 0.
template <class Rep, class Period>
constexpr std::chrono::nanoseconds saturate(std::chrono::duration<Rep, Period> d) noexcept {
  using std::chrono::duration;
  if (!(d > duration<Rep, Period>::zero())) return std::chrono::nanoseconds::zero();
  if (std::chrono::duration_cast<duration<double>>(d) >=
      std::chrono::duration_cast<duration<double>>(std::chrono::nanoseconds::max())) {
    return std::chrono::nanoseconds::max();
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

/// now + d, saturating (a huge timeout means "no deadline").
inline std::chrono::steady_clock::time_point deadline_after(
    std::chrono::steady_clock::time_point now, std::chrono::nanoseconds d) noexcept {
  if (d >= std::chrono::steady_clock::time_point::max() - now) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
}
inline std::chrono::steady_clock::time_point deadline_in(std::chrono::nanoseconds d) noexcept {
  return deadline_after(std::chrono::steady_clock::now(), d);
}

/// The time of a blocking call that may wait several times (a batch that waits for room, then
/// for more): one deadline for all its waits. The clock is read only once a wait is needed (a
/// vDSO call costs 20-50 ns in a VM), so the first call of left() starts it, from the time it
/// read; a zero timeout is 0 at once, and nanoseconds::max() never runs out (no clock read).
/// Once it has run out, left() is 0: a wait given 0 still looks once, so that a closed peer
/// reads as closed, not as a timeout.
class time_budget {
 public:
  explicit time_budget(std::chrono::nanoseconds timeout) noexcept : timeout_(timeout) {}
  std::chrono::nanoseconds left() noexcept {
    if (timeout_ == std::chrono::nanoseconds::max()) return timeout_;
    if (timeout_ <= std::chrono::nanoseconds::zero()) return std::chrono::nanoseconds::zero();
    const auto now = std::chrono::steady_clock::now();
    if (!started_) {
      started_ = true;
      deadline_ = deadline_after(now, timeout_);
    }
    return now >= deadline_ ? std::chrono::nanoseconds::zero()
                            : std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_ - now);
  }

 private:
  std::chrono::nanoseconds timeout_;
  bool started_ = false;
  std::chrono::steady_clock::time_point deadline_{};
};

/// A blocking operation for rings whose ready-check can be overtaken by other endpoints:
/// `attempt()` until it succeeds, waiting on `hint()` between attempts, within `time` (read only
/// once the first attempt failed). `counted`: whether this blocking call counted its wait
/// already; a call made of several of these (a batch that waits for room more than once)
/// passes the same flag to each, and counts one wait.
template <class Attempt, class Hint>
wait_result retry_until(const wait_scope& w, wait_state& state, time_budget& time, bool& counted,
                        Attempt&& attempt, Hint&& hint) noexcept {
  if (own_side_closed(w)) return wait_result::closed;
  if (attempt()) return wait_result::ok;
  for (;;) {
    const std::chrono::nanoseconds left = time.left();
    const bool last = left == std::chrono::nanoseconds::zero();
    // Out of time, wait_for still looks once (0 ns: no spin): a peer that closed says so, as
    // wait_for itself does, rather than a timeout.
    const wait_result r = wait_for(w, state, left, hint, &counted);
    if (r != wait_result::ok) return r;
    if (attempt()) return wait_result::ok;
    if (last) {
      // The look may have found only what the attempt then passed over (tickets a dead
      // producer claimed, which it repaired; an attempt frees a few): look and try again, a
      // bounded number of times, so that a poll reaches what follows them, or closed.
      for (int i = 0; i < 16; ++i) {
        const wait_result again =
            wait_for(w, state, std::chrono::nanoseconds::zero(), hint, &counted);
        if (again != wait_result::ok) return again;
        if (attempt()) return wait_result::ok;
      }
      return wait_result::timeout;
    }
  }
}
/// As above, for one blocking call: its own `timeout`, one wait counted.
template <class Attempt, class Hint>
wait_result retry_until(const wait_scope& w, wait_state& state, std::chrono::nanoseconds timeout,
                        Attempt&& attempt, Hint&& hint) noexcept {
  time_budget time(timeout);
  bool counted = false;
  return retry_until(w, state, time, counted, attempt, hint);
}

}  // namespace ipcring::detail
