// tools/cli/senders_lock.hpp: how the `ipcring send`s of one many-producer ring agree on who
// closes its producer side.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "opened_segment.hpp"

namespace ipcring::cli {

// Each send holds a shared flock on the segment's file from before it attaches until it has
// let go of its producer; then it asks for the lock exclusively, without waiting for a sender
// that streams: it gets it only if no other sender holds it (a sender that is only passing
// through, its attach failed, is given 100 ms), and then closes the side while it holds it. So no
// sender attaches between that look and the close (one that starts then waits for the lock, and its
// attach reopens the side: a new stream), and of senders that end together at least one closes
// (two may, one after the other: the second close changes nothing).
//
// The lock must be on the segment the send opened, not on whatever holds the name when it
// locks: a ring may be removed and a new one made under its name in between. So the file is
// opened first (opened_segment), the ring second (open_ring), and lock_if_same() then locks it
// only if the name still leads to that file.
class senders_lock {
 public:
  /// Opens the segment's file by name (nothing is locked yet). Call before opening the ring.
  explicit senders_lock(const std::string& name);
  ~senders_lock();
  senders_lock(const senders_lock&) = delete;
  senders_lock& operator=(const senders_lock&) = delete;

  /// After opening the ring: false if the name no longer leads to the file opened above (or
  /// to none, then or now): the ring opened may be another, and the caller opens both again.
  /// Else locks the file (shared) if it is a ready ring and returns true. Only a ready ring is
  /// locked: a ring being made is held exclusively by its creator until it is ready, and a
  /// shared lock taken first would make its creation fail. ipcring::error if the file cannot
  /// be opened for another reason than its absence (e.g. too many open files).
  bool lock_if_same();
  /// After lock_if_same() returned true: true if no other sender holds the lock, looking again
  /// for up to `patience` for one that is only passing through (a send whose attach failed
  /// holds it from before its attach until it exits); this one then holds it exclusively until
  /// it is destroyed.
  bool alone(std::chrono::milliseconds patience = std::chrono::milliseconds(100));
  /// After lock_if_same() returned true: how many live producers the segment opened has
  /// attached (of any program), counting endpoints that have not yet named their role (they
  /// may be producers on their way in), read from that segment, not from whatever holds the
  /// name now.
  /// ipcring::error if it cannot be mapped or does not read as a ring (inspect()).
  std::size_t live_producers() const;
  /// After lock_if_same() returned true: whether the segment opened has its producer side
  /// closed (by another producer of a many-producer ring). Errors as live_producers().
  bool producer_side_closed() const;

 private:
  bool take(int how);
  std::string who_;  // "send '<name>'", for messages
  opened_segment file_;
};

}  // namespace ipcring::cli
