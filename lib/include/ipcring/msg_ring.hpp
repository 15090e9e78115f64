// ipcring/msg_ring.hpp: rings of variable-length messages (records) between processes.
//
//   spsc_msg_ring   one producer, one consumer
//   mpsc_msg_ring   many producers (up to 64 endpoints), one consumer
//
//   auto ring = ipcring::spsc_msg_ring::create("log", 1 << 20);   // capacity in bytes
//   auto tx = ring.producer();
//   auto st = tx.try_write(7, std::as_bytes(std::span(line)));    // copy in: ok, full...
//   auto c = tx.try_claim(7, n);  /* fill c.bytes() */  c.commit();  // or abort(): zero-copy
//   // or commit(k): the first k bytes, for a message whose length is known once written
//   auto rx = ipcring::spsc_msg_ring::open("log").consumer();
//   rx.read([](std::uint32_t type, std::span<const std::byte> m) { ... }, 64);  // in place
//
// Records: [length:4][type:4][payload][pad to 8]; length counts header + payload (not the
// padding); 0 = not written yet, negative = claimed by a producer (multi-producer only),
// positive = committed, stored last with release. At the wrap a padding record (type
// k_padding_type) fills the rest of the buffer, so every message is contiguous; an aborted
// claim, and the unused end of a claim committed shorter, are padding too. The consumer
// zeroes what it consumed before giving the space back, so the next lap starts from zeros.
//
// Space comes back a sixteenth of the ring at a time (k_release_parts): the consumer zeroes
// and stores head when its read position leaves the sixteenth that holds the last head it
// stored, when it stops at a record another producer claimed and has not committed (mpsc_msg:
// that producer may itself be waiting for space), before a blocking wait that finds nothing,
// and when it closes, is assigned over or is destroyed. Zeroing each record and storing head as
// soon as it was read wrote to the line the producer was filling, and to the head line that a
// producer waiting for space polls: 8 B single writes ran 8.7x faster and 64 B ones 9.6x
// faster between far cores without it (docs/tuning.md, "Message rings: releasing a sixteenth
// of the ring at a time"). Fewer than capacity / 16 bytes of read records wait to be freed,
// and a producer never waits for them once the consumer has read all that is committed: the
// largest record (capacity / 8 bytes, max_message() + 8) and its padding at the wrap take
// less than capacity / 4. A consumer killed with some is succeeded by one that delivers them
// again (at-least-once, as for a consumer killed inside read()): at most its last batch and
// what it held.
//
// Contract
//   * Messages are 0 .. max_message() bytes, max_message() = capacity / 8 - 8. Longer ones are
//     rejected (msg_status::too_long), never truncated. Types are any uint32 except
//     k_padding_type.
//   * Hot-path calls are noexcept, never allocate, and make no syscall but the wake of a
//     sleeping peer. An mpsc_msg consumer whose releases found sleeping producers also
//     sweeps, once every 4,096 such releases, for producers that died asleep and takes their
//     counts back (no allocation; the liveness of each record that names a sleeper).
//   * A consumer never reads outside the data area: every length read from the segment is
//     checked (msg_status::corrupted otherwise, and the ring stops delivering). A producer
//     checks the positions it reads when they say there is no room: tail behind head or more
//     than a lap ahead is msg_status::corrupted, not a ring full for ever.
//
// Where the code is: the record format in msg_record.hpp, the producer side (msg_producer,
// msg_claim) in msg_producer.hpp, the consumer side (msg_consumer) in msg_consumer.hpp, their
// out-of-line parts (the consumer's release and recovery, setup) in lib/src/msg_ring.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "ipcring/detail/segment.hpp"
#include "ipcring/msg_consumer.hpp"
#include "ipcring/msg_producer.hpp"
#include "ipcring/msg_record.hpp"
#include "ipcring/ring_options.hpp"
#include "ipcring/wait.hpp"

namespace ipcring {

/// A ring of variable-length messages with one producer and one consumer.
class spsc_msg_ring {
 public:
  /// `capacity`: bytes of the data area, a power of two, from 1024 to 2^33.
  static spsc_msg_ring create(std::string_view name, std::uint64_t capacity,
                              const ring_options& opt = {});
  static spsc_msg_ring open(std::string_view name, const ring_options& opt = {});
  /// As create/open, in a regular file the user names.
  static spsc_msg_ring create_file(const std::filesystem::path& path, std::uint64_t capacity,
                                   const ring_options& opt = {});
  static spsc_msg_ring open_file(const std::filesystem::path& path, const ring_options& opt = {});
  static spsc_msg_ring create_in(std::span<std::byte> bytes, std::uint64_t capacity);
  static spsc_msg_ring open_in(std::span<std::byte> bytes, const ring_options& opt = {});
  static std::uint64_t required_bytes(std::uint64_t capacity);

  /// Claims the producer role (errc::busy while a live process holds it).
  msg_producer<false> producer(const wait_policy& wait = {}) const { return {seg_, wait}; }
  /// Claims the consumer role (errc::busy while a live process holds it).
  msg_consumer consumer(const wait_policy& wait = {}) const { return {seg_, wait}; }
  std::uint64_t capacity() const noexcept { return seg_->spec.capacity; }
  /// The longest message a producer writes: capacity() / 8 - 8 bytes.
  std::uint64_t max_message() const noexcept { return max_message_for(capacity()); }
  /// Racy observer: bytes in use at some instant during the call (records with their headers
  /// and padding), in [0, capacity]. Counts records read but not yet given back (under
  /// capacity/16 bytes: the consumer releases space in sixteenths of the ring), and
  /// reservations still being written (mpsc_msg; an spsc_msg producer publishes its tail at
  /// commit).
  std::uint64_t size_approx() const noexcept { return detail::used_approx(*seg_, capacity()); }
  const std::string& name() const noexcept { return seg_->name; }

 private:
  explicit spsc_msg_ring(detail::attachment_ptr seg) : seg_(std::move(seg)) {}
  detail::attachment_ref seg_;
};

/// A ring of variable-length messages with many producers (each handle one of the 64
/// endpoint records) and one consumer. Each producer's messages arrive in its order.
class mpsc_msg_ring {
 public:
  static mpsc_msg_ring create(std::string_view name, std::uint64_t capacity,
                              const ring_options& opt = {});
  static mpsc_msg_ring open(std::string_view name, const ring_options& opt = {});
  /// As create/open, in a regular file the user names.
  static mpsc_msg_ring create_file(const std::filesystem::path& path, std::uint64_t capacity,
                                   const ring_options& opt = {});
  static mpsc_msg_ring open_file(const std::filesystem::path& path, const ring_options& opt = {});
  static mpsc_msg_ring create_in(std::span<std::byte> bytes, std::uint64_t capacity);
  static mpsc_msg_ring open_in(std::span<std::byte> bytes, const ring_options& opt = {});
  static std::uint64_t required_bytes(std::uint64_t capacity);

  /// Registers a producer endpoint (errc::too_many_endpoints when 64 are held).
  msg_producer<true> producer(const wait_policy& wait = {}) const { return {seg_, wait}; }
  /// Claims the consumer role (errc::busy while a live process holds it).
  msg_consumer consumer(const wait_policy& wait = {}) const { return {seg_, wait}; }
  std::uint64_t capacity() const noexcept { return seg_->spec.capacity; }
  /// The longest message a producer writes: capacity() / 8 - 8 bytes.
  std::uint64_t max_message() const noexcept { return max_message_for(capacity()); }
  /// Racy observer: bytes in use at some instant during the call (records with their headers
  /// and padding), in [0, capacity]. Counts records read but not yet given back (under
  /// capacity/16 bytes: the consumer releases space in sixteenths of the ring), and
  /// reservations still being written (mpsc_msg; an spsc_msg producer publishes its tail at
  /// commit).
  std::uint64_t size_approx() const noexcept { return detail::used_approx(*seg_, capacity()); }
  const std::string& name() const noexcept { return seg_->name; }

 private:
  explicit mpsc_msg_ring(detail::attachment_ptr seg) : seg_(std::move(seg)) {}
  detail::attachment_ref seg_;
};

}  // namespace ipcring
