// What the C API's files share (c_api.cpp: handles, setup and single operations;
// c_api_batch.cpp: batches): the handle structs behind ipcring.h's opaque types, the
// interfaces that carry fixed slots of a size chosen at run time, status mapping, errors.
// Internal to lib/src.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ipcring/ipcring.h"
#include "ipcring/ipcring.hpp"

namespace ipcring::c_api {

using std::chrono::nanoseconds;

/// Records `message` as this thread's last error (ipcring_last_error) and returns `status`.
int fail(int status, const char* message) noexcept;
int fail(int status, const std::string& message) noexcept;
/// IPCRING_E_NULL_ARGUMENT, naming `what`.
int null_argument(const char* what) noexcept;

inline nanoseconds to_timeout(std::int64_t ns) noexcept {
  return ns < 0 ? nanoseconds::max() : nanoseconds(ns);
}

// A blocking call's time: detail::time_budget of a C timeout (negative: no limit).
class time_budget : public detail::time_budget {
 public:
  explicit time_budget(std::int64_t ns) noexcept : detail::time_budget(to_timeout(ns)) {}
};

inline int from(wait_result r) noexcept {
  switch (r) {
    case wait_result::ok:
      return IPCRING_OK;
    case wait_result::timeout:
      return IPCRING_TIMEOUT;
    case wait_result::closed:
      return IPCRING_CLOSED;
    case wait_result::peer_dead:
      return IPCRING_PEER_DEAD;
  }
  return IPCRING_E_INTERNAL;
}

inline int from(msg_status s) noexcept {
  switch (s) {
    case msg_status::ok:
      return IPCRING_OK;
    case msg_status::full:
      return IPCRING_FULL;
    case msg_status::empty:
      return IPCRING_EMPTY;
    case msg_status::too_long:
      return IPCRING_TOO_LONG;
    case msg_status::bad_type:
      return IPCRING_BAD_TYPE;
    case msg_status::buffer_small:
      return IPCRING_BUFFER_SMALL;
    case msg_status::corrupted:
      return IPCRING_CORRUPTED;
  }
  return IPCRING_E_INTERNAL;
}

// Batches take and give slots back to back, at any alignment.
struct fixed_producer {
  virtual ~fixed_producer() = default;
  virtual bool try_push(const void* slot) noexcept = 0;
  virtual std::size_t try_push_some(const void* slots, std::size_t n) noexcept = 0;
  virtual wait_result push(const void* slot, nanoseconds timeout) noexcept = 0;
  /// push() for a batch that found the ring full (ipcring_push_all): its waits share one
  /// deadline, `time`, and count one wait for the call, `counted` (as detail::retry_until's).
  virtual wait_result push_within(const void* slot, detail::time_budget& time,
                                  bool& counted) noexcept = 0;
  virtual void shutdown() noexcept = 0;
  virtual close_token closer() const noexcept = 0;
  virtual void set_wait(const wait_policy& p) noexcept = 0;
  /// ipcring_producer_peer's mask: the handle's peer_closed() and, where it has one, peer_dead().
  virtual std::uint32_t peer() const noexcept = 0;
  /// Repairs what endpoints that died mid-claim left (mpmc); 0 where there is nothing to repair.
  virtual std::size_t recover() noexcept = 0;
  /// The handle read an impossible index (spsc_producer::corrupted()); false for mpmc, whose
  /// endpoints refuse impossible counters at attach and keep no such flag after.
  virtual bool corrupted() const noexcept = 0;
};
struct fixed_consumer {
  virtual ~fixed_consumer() = default;
  virtual bool try_pop(void* slot) noexcept = 0;
  virtual std::size_t try_pop_some(void* slots, std::size_t n) noexcept = 0;
  /// As try_pop_some, for what follows a slot pop() just took: where the ring says no message
  /// follows it returns 0 without looking, so finding none is not counted as an empty event.
  /// (spsc: exact. mpmc: only where the oldest ticket holds a published message, not skipped;
  /// one another consumer takes meanwhile is still looked at and counted.)
  virtual std::size_t try_pop_more(void* slots, std::size_t n) noexcept = 0;
  virtual wait_result pop(void* slot, nanoseconds timeout) noexcept = 0;
  virtual void shutdown() noexcept = 0;
  virtual close_token closer() const noexcept = 0;
  virtual void set_wait(const wait_policy& p) noexcept = 0;
  /// As fixed_producer::peer().
  virtual std::uint32_t peer() const noexcept = 0;
  /// Repairs what endpoints that died mid-claim left (mpmc); 0 where there is nothing to repair.
  virtual std::size_t recover() noexcept = 0;
  /// As fixed_producer::corrupted().
  virtual bool corrupted() const noexcept = 0;
};
// ipcring_*_peer's mask of what a handle says of its peer (peer_dead() where it has one).
template <class Handle>
std::uint32_t peer_mask(const Handle& h) noexcept {
  std::uint32_t m = 0;
  if (h.peer_closed()) m |= IPCRING_PEER_IS_CLOSED;
  if constexpr (requires { h.peer_dead(); }) {
    if (h.peer_dead()) m |= IPCRING_PEER_IS_DEAD;
  }
  return m;
}
// A fixed-slot handle that read an impossible index says so from then on where it would say
// full, empty or timeout (spsc_ring's corrupted(), which it keeps; its waits end at once while
// the index it reads is impossible).
template <class Handle>
int or_corrupted(int status, const Handle& h) noexcept {
  const bool would_wait =
      status == IPCRING_FULL || status == IPCRING_EMPTY || status == IPCRING_TIMEOUT;
  return would_wait && h.corrupted() ? IPCRING_CORRUPTED : status;
}
struct fixed_ring {
  virtual ~fixed_ring() = default;
  virtual std::unique_ptr<fixed_producer> producer() const = 0;
  virtual std::unique_ptr<fixed_consumer> consumer() const = 0;
  virtual std::uint64_t capacity() const noexcept = 0;
  virtual std::uint64_t size_approx() const noexcept = 0;
};

// A blocking read of a message ring: `try_once()` (an ipcring_try_read* call) until it finds
// something other than IPCRING_EMPTY, waiting between tries, within timeout_ns.
template <class TryOnce>
int read_waiting(ipcring_consumer* c, std::int64_t timeout_ns, TryOnce&& try_once) noexcept;

}  // namespace ipcring::c_api

struct ipcring_ring {
  ipcring_kind kind = IPCRING_KIND_ANY;
  std::uint32_t slot_size = 0;
  std::uint64_t capacity = 0;
  std::unique_ptr<ipcring::c_api::fixed_ring> fixed;
  std::optional<ipcring::spsc_msg_ring> spsc_msg;
  std::optional<ipcring::mpsc_msg_ring> mpsc_msg;
};

struct ipcring_producer {
  std::unique_ptr<ipcring::c_api::fixed_producer> fixed;
  std::uint32_t slot_size = 0;
  std::optional<ipcring::msg_producer<false>> spsc_msg;
  std::optional<ipcring::msg_producer<true>> mpsc_msg;
  ipcring::close_token closer;  // the handle's, taken at attach: ipcring_producer_interrupt
};

struct ipcring_consumer {
  std::unique_ptr<ipcring::c_api::fixed_consumer> fixed;
  std::uint32_t slot_size = 0;
  std::optional<ipcring::msg_consumer> msg;
  ipcring::close_token closer;  // the handle's, taken at attach: ipcring_consumer_interrupt
};

template <class TryOnce>
int ipcring::c_api::read_waiting(ipcring_consumer* c, std::int64_t timeout_ns,
                                 TryOnce&& try_once) noexcept {
  time_budget time(timeout_ns);
  for (;;) {
    const int s = try_once();
    if (s != IPCRING_EMPTY) return s;  // argument errors too: past here c is a message consumer
    // Out of time, wait_readable still looks once; what it found is read once more, then the
    // call ends: records that turn out to hold nothing to deliver (padding, which a producer
    // may write as fast as this side skips it) cannot keep it past its deadline.
    const nanoseconds left = time.left();
    const bool last = left == nanoseconds::zero();
    const wait_result r = c->msg->wait_readable(left);
    if (r != wait_result::ok) return from(r);
    if (last) {
      const int again = try_once();
      return again != IPCRING_EMPTY ? again : IPCRING_TIMEOUT;
    }
  }
}
