// ipcring/detail/role.hpp: exclusive roles (producer, consumer) held by processes.
//
// A role is one 64-bit word in the segment: 0 when free, else the holder's process identity,
//   identity = pid (bits 0..31) | low 32 bits of the process start time (bits 32..63).
// The start time (clock ticks since boot on Linux; on Windows the creation time in ms) guards
// against pid reuse: a new process that got a dead holder's pid has a different start time.
// Claiming is one CAS, so a claimant that dies never leaves a half-written record. A holder that is
// gone (no such pid, a zombie, or another start time) is replaced by the next claimant, which
// continues from the shared indices; a live holder makes the claim fail with errc::busy.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipcring/layout.hpp"

namespace ipcring::detail {

/// This process's identity (recomputed after fork: the pid changes).
std::uint64_t self_identity();
/// This process's id (getpid, GetCurrentProcessId).
std::uint32_t current_pid() noexcept;
/// The pid part of an identity.
constexpr std::uint32_t identity_pid(std::uint64_t id) noexcept {
  return static_cast<std::uint32_t>(id);
}
/// True while `word` (a role word or endpoint record's owner) still names `id` and `id` is this
/// process: the holder test of role_lease::held_here() and close_token::close(). The pid
/// alone is not proof: a descendant that inherited a handle across fork() may later be given
/// the dead holder's pid, after a successor took the role over. Async-signal-safe (getpid and
/// one atomic load).
bool holds_role(const std::atomic<std::uint64_t>* word, std::uint64_t id) noexcept;
/// False if the process `id` names has exited (also when it is a zombie) or its pid was
/// reused; true if it runs, or if liveness cannot be determined (never steal from the living).
bool process_alive(std::uint64_t id) noexcept;

/// RAII hold of a role word. Move-only; the destructor frees the role, unless this process is
/// not the holder (a copy inherited across fork() frees nothing).
class role_lease {
 public:
  role_lease() = default;
  /// Claims `word` for this process. Throws errc::busy naming `role`, `segment` and the pid of
  /// the live holder. Sets `*replaced` to the identity of the dead holder it replaced, 0 if
  /// the role was free.
  static role_lease acquire(std::atomic<std::uint64_t>& word, std::string_view role,
                            std::string_view segment, std::uint64_t* replaced = nullptr);
  /// Registers this process as an endpoint of a ring with an endpoint table: takes a free
  /// record, or one whose holder died with no unpublished claim (a record naming a claim is
  /// left for recovery). Throws errc::too_many_endpoints when none is left. The record's
  /// counters are added to the ring totals when the lease is released.
  static role_lease register_endpoint(registry_control& reg, endpoint_role role,
                                      std::string_view segment, endpoint_record** record);
  role_lease(role_lease&& o) noexcept
      : word_(o.word_), id_(o.id_), stats_(o.stats_), totals_(o.totals_), role_(o.role_) {
    o.word_ = nullptr;
  }
  role_lease& operator=(role_lease&& o) noexcept;
  ~role_lease() { release(); }
  void release() noexcept { release_to(0); }
  /// As release(), but hands the word back to `previous`, the dead holder acquire() replaced
  /// (0: frees it): a taker that refuses what it found leaves the next one to take over from
  /// that holder too, and to repair what it left.
  void release_to(std::uint64_t previous) noexcept;
  /// True while this process holds the role: false once released, in a child that inherited
  /// the lease across fork() (even one later given the holder's pid), and once another
  /// process took the role over (this one judged dead). Makes a syscall: not for the hot path.
  bool held_here() const noexcept;
  /// The role word (null once released or moved from) and the identity this lease put in it:
  /// what a close_token checks with holds_role().
  const std::atomic<std::uint64_t>* word() const noexcept { return word_; }
  std::uint64_t identity() const noexcept { return id_; }

 private:
  role_lease(std::atomic<std::uint64_t>* w, std::uint64_t id) : word_(w), id_(id) {}
  std::atomic<std::uint64_t>* word_ = nullptr;
  std::uint64_t id_ = 0;
  side_counters* stats_ = nullptr;   // an endpoint's own counters: folded into
  side_counters* totals_ = nullptr;  // the ring totals on release
  // An endpoint record's role, named `none` again on release: a record keeps no role of a
  // holder that left, so one registering in it reads as registering until it names its own.
  std::atomic<std::uint32_t>* role_ = nullptr;
};

/// Takes back, from their side's wait block, the counts of record holders killed while they
/// slept (`asleep` names a dead process): a dead waiter never lowers `sleepers`, and while it
/// stays raised every publish pays a wake (a syscall). Reads /proc only for records whose
/// `asleep` is set. Registration and recovery call it. Returns how many it took back.
std::size_t withdraw_dead_sleepers(registry_control& reg) noexcept;
/// A publish found sleepers counted and woke them (a syscall); `wakes` counts such publishes
/// for one endpoint. Every 4,096 of them, the counts of waiters that died asleep are taken
/// back: registration and recovery do it otherwise, and endpoints that only spin or read
/// never call either, so a dead waiter's count would make each of their publishes pay a wake
/// for as long as the ring lives. A sweep reads the liveness of each record that names a
/// sleeper.
inline void woke_sleepers(registry_control& reg, std::uint32_t& wakes) noexcept {
  constexpr std::uint32_t k_sweep_after = 4096;
  if (++wakes % k_sweep_after == 0) withdraw_dead_sleepers(reg);
}

/// True if a live endpoint of `role` names `pos` (a ticket or byte position) in its claim.
bool claimed_by_live(const registry_control& reg, std::uint64_t pos, endpoint_role role) noexcept;
/// A dead endpoint's unfinished claim, as read from its record: [first, first + count).
struct dead_claim {
  endpoint_record* record = nullptr;  // null: none
  std::uint64_t owner = 0;            // the dead owner the fields were read under
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  /// True while the record still belongs to that owner (read again after an acquire fence,
  /// as a seqlock's reader reads its sequence again; see register_endpoint): the fields above
  /// are then the dead owner's, not those of an endpoint that took the record meanwhile.
  bool still_owned() const noexcept;
};
/// The claim of a dead endpoint of `role` that covers `pos` (of several, the one that starts
/// last, and of those the shortest), or one whose record is null.
dead_claim dead_claim_covering(registry_control& reg, std::uint64_t pos,
                               endpoint_role role) noexcept;

/// Whether records' owners live, asked of the system at most once per record (process_alive
/// reads /proc), and only of records a recovery asks about (those naming claims), for a recovery
/// that judges many claims. An owner that is not the one judged first for its record counts as
/// alive: a record changes hands only to a live registrant, and a dead owner's identity never
/// comes back.
class owner_liveness {
 public:
  bool alive(std::size_t record, std::uint64_t owner) noexcept {
    if (!judged_[record]) {
      judged_[record] = true;
      owners_[record] = owner;
      alive_[record] = process_alive(owner);
    }
    return owner != owners_[record] || alive_[record];
  }

 private:
  std::array<std::uint64_t, k_max_endpoints> owners_{};
  std::array<bool, k_max_endpoints> alive_{};
  std::array<bool, k_max_endpoints> judged_{};
};

/// The parts of a range [first, first + count) that claims of live endpoints of `role` name,
/// as sorted, disjoint spans of offsets from `first`: what claimed_by_live says of each
/// position, read once for the whole range.
class live_spans {
 public:
  live_spans(const registry_control& reg, endpoint_role role, std::uint64_t first,
             std::uint64_t count, owner_liveness& alive) noexcept;
  /// True if a live claim names offset `off`. Offsets are asked in increasing order.
  bool covers(std::uint64_t off) noexcept {
    while (at_ < n_ && spans_[at_].end <= off)
      ++at_;
    return at_ < n_ && spans_[at_].begin <= off;
  }

 private:
  struct span {
    std::uint64_t begin = 0, end = 0;
  };
  void add(std::uint64_t begin, std::uint64_t end) noexcept {
    if (begin < end) spans_[n_++] = {begin, end};
  }
  std::array<span, 2 * k_max_endpoints> spans_{};  // a claim that wraps makes two
  std::size_t n_ = 0;
  std::size_t at_ = 0;
};

}  // namespace ipcring::detail
