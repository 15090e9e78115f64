#include "ipcring/detail/role.hpp"

#include <algorithm>
#include <utility>

#include "ipcring/detail/counters.hpp"
#include "ipcring/error.hpp"

namespace ipcring::detail {

role_lease role_lease::acquire(std::atomic<std::uint64_t>& word, std::string_view role,
                               std::string_view segment, std::uint64_t* replaced) {
  std::uint64_t me = 0;
  try {
    me = self_identity();
  } catch (const error& e) {
    throw error(e.value(), "claiming the " + std::string(role) + " role of '" +
                               std::string(segment) + "': " + e.what());
  }
  auto busy = [&](std::uint64_t holder, const char* why) {
    return error(errc::busy, "the " + std::string(role) + " role of '" + std::string(segment) +
                                 "' is held by " + why + " (pid " +
                                 std::to_string(identity_pid(holder)) + ")");
  };
  if (replaced != nullptr) *replaced = 0;
  // Bounded: each failed CAS means another claimant made progress.
  for (int attempt = 0; attempt < 64; ++attempt) {
    // [A-role] pairs with [R-role] (release in release()) and the CASes below: a claimant
    // sees the indices the previous holder left.
    std::uint64_t cur = word.load(std::memory_order_acquire);
    if (cur == me) throw busy(cur, "another handle in this process");
    if (cur != 0 && process_alive(cur)) throw busy(cur, "a live process");
    // Free, or its holder is gone: claim it. acq_rel: acquire as [A-role]; release orders what
    // this process wrote before the claim (nothing the ring needs yet) before it.
    if (word.compare_exchange_strong(cur, me, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      if (replaced != nullptr) *replaced = cur;
      return role_lease(&word, me);
    }
  }
  // relaxed: only the pid for the message
  throw busy(word.load(std::memory_order_relaxed), "a contended claim");
}

namespace {

// One count fewer in the wait block of a record's side, never below zero (the record's fields
// are untrusted: a forged `asleep` must not wrap the count).
void withdraw_sleeper(registry_control& reg, std::uint32_t role) noexcept {
  if (role != static_cast<std::uint32_t>(endpoint_role::producer) &&
      role != static_cast<std::uint32_t>(endpoint_role::consumer)) {
    return;
  }
  wait_words& b = role == static_cast<std::uint32_t>(endpoint_role::producer) ? reg.base.space_wait
                                                                              : reg.base.data_wait;
  // relaxed: the count is what notifiers test ([N2]); nothing is published with it
  std::uint32_t n = b.sleepers.load(std::memory_order_relaxed);
  while (n != 0 && !b.sleepers.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::size_t withdraw_dead_sleepers(registry_control& reg) noexcept {
  std::size_t withdrawn = 0;
  for (auto& r : reg.endpoints) {
    // relaxed: a dead waiter's last store; the CAS below acts on the latest value anyway
    std::uint64_t who = r.asleep.load(std::memory_order_relaxed);
    if (who == 0 || process_alive(who)) continue;
    // acquire: pairs with the release stores of role in register_endpoint, which takes a dead
    // holder's count back itself before it names its own role, and in release(), which names
    // none after that: a new holder's role (or the none it left) read here comes after that,
    // and the CAS below then fails (the dead identity is gone from asleep)
    const std::uint32_t role = r.role.load(std::memory_order_acquire);
    // relaxed: only the one that clears it withdraws the count
    if (r.asleep.compare_exchange_strong(who, 0, std::memory_order_relaxed)) {
      withdraw_sleeper(reg, role);
      ++withdrawn;
    }
  }
  return withdrawn;
}

role_lease role_lease::register_endpoint(registry_control& reg, endpoint_role role,
                                         std::string_view segment, endpoint_record** record) {
  std::uint64_t me = 0;
  try {
    me = self_identity();
  } catch (const error& e) {  // as acquire(): which role of which segment could not be taken
    throw error(e.value(),
                "registering a " +
                    std::string(role == endpoint_role::producer ? "producer" : "consumer") +
                    " of '" + std::string(segment) + "': " + e.what());
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& r : reg.endpoints) {
      // [A-role], as for role words
      std::uint64_t cur = r.owner.load(std::memory_order_acquire);
      if (pass == 0 && cur != 0) continue;  // first pass: free records only
      // Second pass: dead holders' records, and any freed since the first pass went by it.
      if (pass == 1 && cur != 0) {
        if (cur == me || process_alive(cur)) continue;
        // acquire: pairs with the dead holder's release store naming its claim, as in covers().
        // A read-modify-write: the dead holder's last store, which a load need not return
        // (taken as free, its claim would never be repaired: docs/layout.md, "Roles").
        if (r.claim_first.fetch_add(0, std::memory_order_acquire) != 0) continue;  // recovery's
      }
      if (r.owner.compare_exchange_strong(cur, me, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
        // The record's fields change after its owner, as a seqlock's data after its sequence:
        // a recoverer that read one of the stores below and then re-reads owner (after its
        // acquire fence, dead_claim::still_owned) sees `me`, not the dead owner it judged.
        // ThreadSanitizer cannot model a fence (GCC warns): its builds, on x86-64, leave it out.
#if !defined(__SANITIZE_THREAD__)
        std::atomic_thread_fence(std::memory_order_release);
#endif
        // relaxed: the record is ours now; readers (tools) only display it
        r.claim_first.store(0, std::memory_order_relaxed);
        r.claim_count.store(0, std::memory_order_relaxed);
        // A dead holder's counts go to the totals of the side it was on.
        const auto old_role = r.role.load(std::memory_order_relaxed);
        // And a holder killed asleep is still counted by its side's wait block: take it back
        // (before naming our role: see withdraw_dead_sleepers). relaxed: the record is ours
        if (r.asleep.exchange(0, std::memory_order_relaxed) != 0) withdraw_sleeper(reg, old_role);
        if (old_role == static_cast<std::uint32_t>(endpoint_role::producer)) {
          fold_counters(r.stats, reg.base.producer_stats);
        } else if (old_role == static_cast<std::uint32_t>(endpoint_role::consumer)) {
          fold_counters(r.stats, reg.base.consumer_stats);
        }
        // release: pairs with the acquire in withdraw_dead_sleepers
        r.role.store(static_cast<std::uint32_t>(role), std::memory_order_release);
        *record = &r;
        withdraw_dead_sleepers(reg);  // those of dead holders whose records nobody took
        role_lease lease(&r.owner, me);
        lease.stats_ = &r.stats;
        lease.role_ = &r.role;
        lease.totals_ =
            role == endpoint_role::producer ? &reg.base.producer_stats : &reg.base.consumer_stats;
        return lease;
      }
    }
  }
  // Say which: live holders need one of them to leave; dead ones need a recovery.
  std::size_t dead = 0;
  for (const auto& r : reg.endpoints) {
    // relaxed: for the message only
    const std::uint64_t owner = r.owner.load(std::memory_order_relaxed);
    if (owner != 0 && !process_alive(owner)) ++dead;
  }
  // Appended piece by piece: gcc 12 warns falsely (-Wrestrict) on "'" + std::string(...).
  std::string why(1, '\'');
  why.append(segment).append("': all ").append(std::to_string(k_max_endpoints));
  why.append(" endpoint records are held, ").append(std::to_string(k_max_endpoints - dead));
  why.append(" by live processes");
  if (dead != 0) {
    why.append(", ").append(std::to_string(dead));
    why.append(
        " by dead ones with unfinished claims, which a recovery hands back (mpmc: "
        "recover() on any endpoint; mpsc_msg: the consumer's recover(), or its blocking "
        "read)");
  }
  throw error(errc::too_many_endpoints, why);
}

namespace {

// The claim record `r` names if it is of `role`: its owner (0: none), first and count. The
// owner is the one read with the claim's fields: a record released and taken by another
// endpoint meanwhile is judged by the owner that made the claim, not a later one.
struct claim_fields {
  std::uint64_t owner = 0, first = 0, count = 0;
};
claim_fields claim_of(const endpoint_record& r, endpoint_role role) noexcept {
  // acquire: pairs with the holder's release store naming its claim (mpmc claim(), the mpsc
  // reserve()) and with its clearing store
  const std::uint64_t first = r.claim_first.load(std::memory_order_acquire);
  // acquire: pairs with the registering CAS (register_endpoint, acq_rel)
  const std::uint64_t owner = r.owner.load(std::memory_order_acquire);
  if (first == 0 || owner == 0) return {};
  // relaxed: ordered by the acquire of claim_first above
  if (r.role.load(std::memory_order_relaxed) != static_cast<std::uint32_t>(role)) return {};
  // acquire: pairs with the release store naming a claim (mpmc claim(), the mpsc reserve()): a
  // count newer than `first` comes after the slots of `first`'s claim were published
  return {owner, first - 1, r.claim_count.load(std::memory_order_acquire)};
}
// The claim of record `r` if it is of `role` and covers `pos`.
claim_fields covering(const endpoint_record& r, std::uint64_t pos, endpoint_role role) noexcept {
  const claim_fields c = claim_of(r, role);
  return c.owner != 0 && pos - c.first < c.count ? c : claim_fields{};
}

}  // namespace

bool dead_claim::still_owned() const noexcept {
  // The fence pairs with the release fence a registration puts between its owner CAS and its
  // field stores (register_endpoint). ThreadSanitizer cannot model a fence (GCC warns): its
  // builds, on x86-64, leave it out.
#if !defined(__SANITIZE_THREAD__)
  std::atomic_thread_fence(std::memory_order_acquire);
#endif
  // relaxed: ordered by the fence above
  return record != nullptr && record->owner.load(std::memory_order_relaxed) == owner;
}

bool claimed_by_live(const registry_control& reg, std::uint64_t pos, endpoint_role role) noexcept {
  for (const auto& r : reg.endpoints) {
    const claim_fields c = covering(r, pos, role);
    if (c.owner != 0 && process_alive(c.owner)) return true;
  }
  return false;
}

dead_claim dead_claim_covering(registry_control& reg, std::uint64_t pos,
                               endpoint_role role) noexcept {
  // The latest claim that covers pos: an older one is a claim whose CAS failed (its holder
  // died before naming the next), made when tail was at or before the real claim's start. Of
  // claims that start together, the shortest: the rest of an unmarked record was never
  // written, reads as zero, and is padded by a later pass, while a longer stale claim would
  // pad over records committed after the real one.
  dead_claim best;
  for (auto& r : reg.endpoints) {
    const claim_fields c = covering(r, pos, role);
    if (c.owner == 0 || process_alive(c.owner)) continue;
    if (best.record == nullptr || pos - c.first < pos - best.first ||
        (c.first == best.first && c.count < best.count)) {
      best = {&r, c.owner, c.first, c.count};
    }
  }
  return best;
}

live_spans::live_spans(const registry_control& reg, endpoint_role role, std::uint64_t first,
                       std::uint64_t count, owner_liveness& alive) noexcept {
  for (std::size_t i = 0; i < k_max_endpoints; ++i) {
    const claim_fields c = claim_of(reg.endpoints[i], role);
    if (c.owner == 0 || !alive.alive(i, c.owner)) continue;
    // Untrusted fields, modular like covering(): offset o is named if (o - start) mod 2^64 < count.
    const std::uint64_t start = c.first - first;
    if (start < count) add(start, c.count >= count - start ? count : start + c.count);
    if (start != 0 && c.count > 0 - start) {
      add(0, std::min(c.count - (0 - start), count));  // the part that wraps past 2^64
    }
  }
  std::sort(spans_.begin(), spans_.begin() + static_cast<std::ptrdiff_t>(n_),
            [](const span& a, const span& b) { return a.begin < b.begin; });
  std::size_t merged = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    if (merged != 0 && spans_[i].begin <= spans_[merged - 1].end) {
      spans_[merged - 1].end = std::max(spans_[merged - 1].end, spans_[i].end);
    } else {
      spans_[merged++] = spans_[i];
    }
  }
  n_ = merged;
}

role_lease& role_lease::operator=(role_lease&& o) noexcept {
  if (this != &o) {
    release();
    word_ = std::exchange(o.word_, nullptr);
    id_ = o.id_;
    stats_ = o.stats_;
    totals_ = o.totals_;
    role_ = o.role_;
  }
  return *this;
}

bool holds_role(const std::atomic<std::uint64_t>* word, std::uint64_t id) noexcept {
  // The pid alone is not proof: a descendant that inherited the lease across fork() may later
  // be given the dead holder's pid, after a successor took the role over (it would then flush,
  // pad or close over the successor's ring). The word names that successor, not `id`.
  // relaxed: compared only; a holder's own word changes only when it is taken over
  return word != nullptr && identity_pid(id) == current_pid() &&
         word->load(std::memory_order_relaxed) == id;
}

bool role_lease::held_here() const noexcept {
  return holds_role(word_, id_);
}

void role_lease::release_to(std::uint64_t previous) noexcept {
  const bool mine = held_here();  // false when released already, or inherited by fork
  auto* w = std::exchange(word_, nullptr);
  if (!mine) return;
  if (stats_ != nullptr && w->load(std::memory_order_relaxed) == id_) {
    fold_counters(*stats_, *totals_);  // while the record is still ours
    // The next holder reads `none` as its predecessor's role (published by the owner CAS
    // below, [R-role]), with nothing left to fold or take back. release: a sweeper that
    // reads this 0 (withdraw_dead_sleepers, acquire) also sees this holder's registration,
    // which took back any count its record's `asleep` named.
    if (role_ != nullptr) role_->store(0, std::memory_order_release);
  }
  std::uint64_t expected = id_;
  // [R-role] publishes this holder's final index stores to the next claimant ([A-role]).
  // A CAS, not a store: if a claimant took the role over (we were judged dead), keep theirs.
  // On failure relaxed: nothing is read on its strength.
  w->compare_exchange_strong(expected, previous, std::memory_order_release,
                             std::memory_order_relaxed);
}

}  // namespace ipcring::detail
