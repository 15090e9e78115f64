// `ipcring send` and `ipcring recv`: lines of text in and out of a ring, one message each.
//
// Both move data through big buffers (stdio_buffers.hpp) and call the ring once per message
// without waiting while there is room (send) or data (recv); only then do they block, and recv
// writes out what it collected before it does, so a slow stream is still printed promptly.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "c_handles.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "opened_segment.hpp"
#include "ring_kinds.hpp"
#include "senders_lock.hpp"
#include "stdio_buffers.hpp"
#include "text_format.hpp"

namespace ipcring::cli {
namespace {

using steady = std::chrono::steady_clock;

constexpr std::uint32_t k_reserved_type = 0xFFFFFFFFu;  // the rings' padding records

std::string quoted(const std::string& name) {
  return "'" + name + "'";
}

// A send that cannot go on: the status of the write that failed. `lock`: the senders' lock of
// a many-producer ring, null for a single-producer one.
[[noreturn]] void send_failed(int status, const std::string& name, std::uint64_t line,
                              const senders_lock* lock) {
  const std::string sent = "; " + std::to_string(line - 1) + " line(s) before it were sent";
  switch (status) {
    case IPCRING_CLOSED: {
      // Which side: a many-producer ring's producer side is closed by any of its producers
      // (read from the segment opened: the name may lead to another ring by now); a
      // single-producer ring's only by this one.
      bool producers = false;
      try {
        producers = lock != nullptr && lock->producer_side_closed();
      } catch (const error&) {  // unreadable: say what is sure
      }
      throw failure(exit_code::error, quoted(name) +
                                          (producers ? ": another producer closed the producer side"
                                                     : ": the consumer side closed") +
                                          " at line " + std::to_string(line) + sent);
    }
    case IPCRING_PEER_DEAD:
      throw failure(exit_code::error, quoted(name) + ": the consumer process died at line " +
                                          std::to_string(line) + sent);
    default:
      throw_status(status, "send to " + quoted(name) + " at line " + std::to_string(line));
  }
}

// A signal (catch_interrupts) stops a send between lines: what was sent stays sent, and the
// producer side stays open, as after an error.
void stop_if_interrupted(const std::string& name, std::uint64_t line) {
  if (const int sig = interrupted(); sig != 0) {
    throw failure(static_cast<exit_code>(128 + sig),
                  quoted(name) + ": stopped by signal " + std::to_string(sig) + " at line " +
                      std::to_string(line) + "; " + std::to_string(line == 0 ? 0 : line - 1) +
                      " line(s) before it were sent, and the producer side stays open");
  }
}

// "line N is 123 bytes" or, for a line line_reader cut, "line N is more than 99 bytes".
std::string line_too_long(const std::string& name, const line_reader& in, std::size_t size,
                          std::size_t limit, const char* what) {
  const std::uint64_t n = in.line_number();
  return quoted(name) + ": line " + std::to_string(n) + " is " +
         (in.cut() ? "more than " + std::to_string(limit) : std::to_string(size)) +
         " bytes, longer than " + what + " (" + std::to_string(limit) +
         " bytes); nothing of it was sent, and " + std::to_string(n - 1) +
         " line(s) before it were";
}

// A blocking call (ipcring_write, ipcring_push) in slices, so that a signal caught by
// catch_interrupts() is seen while the ring stays full.
template <class Call>
int blocking_send(Call&& call, const std::string& name, std::uint64_t line) {
  constexpr std::int64_t k_slice = 250'000'000;
  for (;;) {
    const int s = call(k_slice);
    if (s != IPCRING_TIMEOUT) return s;
    stop_if_interrupted(name, line);
  }
}

void send_messages(ipcring_producer* tx, const std::string& name, std::uint64_t max_message,
                   std::uint32_t type, line_reader& in, const senders_lock* lock) {
  std::string_view line;
  while (in.next(line)) {
    stop_if_interrupted(name, in.line_number());
    if (line.size() > max_message) {
      throw failure(exit_code::error, line_too_long(name, in, line.size(), max_message,
                                                    "the ring's longest message"));
    }
    // Returns at once while there is room.
    const int s = blocking_send(
        [&](std::int64_t ns) { return ipcring_write(tx, type, line.data(), line.size(), ns); },
        name, in.line_number());
    if (s != IPCRING_OK) send_failed(s, name, in.line_number(), lock);
  }
}

void send_slots(ipcring_producer* tx, const std::string& name, std::uint32_t slot_size,
                line_reader& in, const senders_lock* lock) {
  std::vector<char> slot(slot_size);
  std::string_view line;
  while (in.next(line)) {
    stop_if_interrupted(name, in.line_number());
    if (line.size() > slot_size) {
      throw failure(exit_code::error, line_too_long(name, in, line.size(), slot_size, "a slot"));
    }
    // A slot's text ends at its first NUL (recv): a line holding one would arrive cut short.
    if (line.find('\0') != std::string_view::npos) {
      const std::uint64_t n = in.line_number();
      throw failure(exit_code::error,
                    quoted(name) + ": line " + std::to_string(n) +
                        " holds a NUL byte, which ends a fixed-size slot's text (use a message "
                        "ring, kind bytes or bytes-mp, for any bytes); nothing of it was sent, "
                        "and " +
                        std::to_string(n - 1) + " line(s) before it were");
    }
    std::memcpy(slot.data(), line.data(), line.size());
    std::memset(slot.data() + line.size(), 0, slot_size - line.size());
    const int s = blocking_send(  // blocks while the ring is full
        [&](std::int64_t ns) { return ipcring_push(tx, slot.data(), ns); }, name, in.line_number());
    if (s != IPCRING_OK) send_failed(s, name, in.line_number(), lock);
  }
}

// Why a receive ended early: an exception, after what was received has been written out.
[[noreturn]] void recv_failed(int status, const std::string& name, std::uint64_t received,
                              double timeout) {
  const std::string got = " (" + std::to_string(received) + " message(s) received)";
  switch (status) {
    case IPCRING_TIMEOUT: {
      char s[32];
      std::snprintf(s, sizeof s, "%g", timeout);
      throw failure(exit_code::timeout, quoted(name) + ": no message within " + s + " s" + got);
    }
    case IPCRING_PEER_DEAD:
      throw failure(exit_code::error, quoted(name) + ": the producer process died" + got);
    case IPCRING_CORRUPTED:
      throw failure(
          exit_code::incompatible,
          quoted(name) + ": the ring holds an impossible record; it stops delivering" + got);
    default:
      throw_status(status, "receive from " + quoted(name) + got);
  }
}

struct recv_loop {
  ipcring_consumer* rx;
  const recv_options& o;
  std::int64_t timeout_ns;  // -1: forever
  // Set while the producer side has been closed since before recv started, on a ring that was
  // empty then: that close ended an earlier stream, read to its end. recv waits for the next
  // stream (a new producer reopens the side) instead of ending at once.
  bool earlier_close = false;
  steady::time_point start = steady::now();
  std::uint64_t received = 0;

  // A status of our own: a signal stopped the wait.
  static constexpr int k_interrupted = -1000;

  bool more() const noexcept { return (!o.count || received < *o.count) && interrupted() == 0; }

  // Calls `wait(slice_ns)` (a blocking read or pop) until it returns other than a timeout, the
  // user's timeout passes, or a signal arrives. Slices are longer than the library's 100 ms
  // liveness interval, so a dead producer is still noticed while waiting.
  template <class Wait>
  int blocking(Wait&& wait) {
    constexpr std::int64_t k_slice = 250'000'000;
    const steady::time_point begin = steady::now();
    const auto waited = [&] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - begin).count();
    };
    for (;;) {
      const std::int64_t slice =
          timeout_ns < 0 ? k_slice : std::clamp<std::int64_t>(timeout_ns - waited(), 0, k_slice);
      const int s = wait(slice);
      if (s != IPCRING_TIMEOUT) return s;
      if (interrupted() != 0) return k_interrupted;
      if (timeout_ns >= 0 && waited() >= timeout_ns) return IPCRING_TIMEOUT;
    }
  }

  // IPCRING_CLOSED: true if recv is done; false to look again (an earlier stream's close).
  bool closed() {
    if (!earlier_close || received != 0) return true;
    if (timeout_ns >= 0 && steady::now() - start >= std::chrono::nanoseconds(timeout_ns)) {
      recv_failed(IPCRING_TIMEOUT, o.name, received, o.timeout.value_or(0));
    }
    // The blocking read returns at once while the side stays closed: poll until a producer
    // attaches (it reopens the side, and the blocking read waits again) or data is there.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return false;
  }

  // Messages: each is read straight into the free part of the output buffer, then gets its
  // '\n'. One that does not fit stays in the ring until the buffer is written out (or grown).
  void messages(out_buffer& out) {
    constexpr std::size_t k_min_room = 4096;
    while (more()) {
      if (out.space_size() < k_min_room) out.flush();
      std::size_t len = 0;
      int s = ipcring_try_read(rx, out.space(), out.space_size() - 1, nullptr, &len);
      if (s == IPCRING_EMPTY) {
        out.flush();  // whoever reads our output gets it before we wait
        s = blocking([&](std::int64_t ns) {
          return ipcring_read(rx, out.space(), out.space_size() - 1, nullptr, &len, ns);
        });
      }
      if (s == IPCRING_BUFFER_SMALL) {  // `len` is the size of the message
        char* dst = out.reserve(len + 1);
        s = ipcring_try_read(rx, dst, len, nullptr, &len);
      }
      if (s == IPCRING_CLOSED) {  // the producer side closed and the ring is drained
        if (closed()) return;
        continue;
      }
      if (s == k_interrupted) return;
      if (s != IPCRING_OK) {
        out.flush();
        recv_failed(s, o.name, received, o.timeout.value_or(0));
      }
      out.space()[len] = '\n';
      out.commit(len + 1);
      ++received;
    }
  }

  // Fixed slots: each is popped into the output buffer; the line ends at its first NUL.
  void slots(std::uint32_t slot_size, out_buffer& out) {
    while (more()) {
      char* dst = out.reserve(slot_size + 1);
      int s = ipcring_try_pop(rx, dst);
      if (s == IPCRING_EMPTY) {
        out.flush();
        dst = out.reserve(slot_size + 1);
        s = blocking([&](std::int64_t ns) { return ipcring_pop(rx, dst, ns); });
      }
      if (s == IPCRING_CLOSED) {
        if (closed()) return;
        continue;
      }
      if (s == k_interrupted) return;
      if (s != IPCRING_OK) {
        out.flush();
        recv_failed(s, o.name, received, o.timeout.value_or(0));
      }
      const void* nul = std::memchr(dst, 0, slot_size);
      const std::size_t len =
          nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - dst) : slot_size;
      dst[len] = '\n';
      out.commit(len + 1);
      ++received;
    }
  }
};

// At the end of the input: closes the producer side and lets go of `tx`. A single-producer
// ring's side is closed through `tx`, which holds the role (letting go first would let a new
// send take it and find a closer in its way). A many-producer ring's stays open while another
// send, or another program's producer, is attached (closing is for every producer at once,
// and theirs would fail from then on): `tx` goes first so that a send holding the lock
// exclusively knows that no other send holds a record (senders_lock), and the side is then
// closed through a producer attached for that alone. `lock`: the senders' lock of a
// many-producer ring, null for a single-producer one.
void close_producer_side(producer_ptr& tx, const ipcring_ring& ring, const std::string& name,
                         senders_lock* lock) {
  if (lock == nullptr) {  // a single-producer ring: this send holds the role, and closes
    ipcring_producer_shutdown(tx.get());
    tx.reset();
    return;
  }
  tx.reset();
  const auto stays_open = [&](const std::string& why) {
    std::cerr << "ipcring send: "
              << printable(quoted(name) + ": the producer side stays open: " + why) << '\n';
  };
  if (!lock->alone()) {
    // alone() gives up at a signal too: that is no other send, and ends as a signal does.
    if (const int sig = interrupted(); sig != 0) {
      throw failure(static_cast<exit_code>(128 + sig),
                    quoted(name) + ": stopped by signal " + std::to_string(sig) +
                        " after the last line was sent; the producer side stays open");
    }
    return stays_open("another send is attached");
  }
  std::size_t others = 0;  // count the others, on the segment opened
  try {
    others = lock->live_producers();
  } catch (const error& e) {
    return stays_open(e.what());
  }
  if (others != 0) {
    return stays_open(std::to_string(others) + " other producer(s) attached or attaching");
  }
  ipcring_producer* closer = nullptr;
  if (ipcring_producer_attach(&ring, &closer) != IPCRING_OK) {
    return stays_open(std::string("no producer could attach to close it (") + ipcring_last_error() +
                      ")");
  }
  ipcring_producer_shutdown(closer);
  ipcring_producer_free(closer);
}

std::int64_t to_nanoseconds(const std::optional<double>& seconds,
                            const char* option = "--timeout") {
  if (!seconds) return -1;
  if (!(*seconds >= 0) || !std::isfinite(*seconds)) {
    throw failure(exit_code::usage,
                  std::string(option) + " must be a number of seconds, 0 or more");
  }
  const double ns = *seconds * 1e9;
  return ns >= 9e18 ? -1 : static_cast<std::int64_t>(std::llround(ns));  // ~285 years: forever
}

// --wait-for-ring: the ring waited for (held until the command has opened it), or none.
ring_ptr wait_if_asked(const std::string& name, const std::optional<double>& seconds,
                       std::uint32_t flags) {
  if (!seconds) return {};
  return wait_for_ring(name, *seconds, to_nanoseconds(seconds, "--wait-for-ring"), flags);
}

// --allow-foreign-owner as the C API's open flag.
std::uint32_t open_flags(bool allow_foreign_owner) noexcept {
  return allow_foreign_owner ? IPCRING_FLAG_ALLOW_FOREIGN_OWNER : 0;
}

}  // namespace

exit_code run_send(const send_options& o) {
  if (o.type && *o.type == k_reserved_type) {
    throw failure(exit_code::usage, "--type 4294967295 is reserved (padding records)");
  }
  const std::uint32_t flags = open_flags(o.allow_foreign_owner);
  ring_ptr waited = wait_if_asked(o.name, o.wait_for_ring, flags);  // held until opened below
  // Before attaching: see senders_lock. Only where several producers may be attached: of a
  // single-producer ring the role decides (a second send fails with busy), and a send whose
  // attach fails would otherwise hold the lock for a moment, and the last real send would
  // not close.
  std::optional<senders_lock> lock;
  ring_ptr ring;
  std::uint32_t kind = 0;
  for (int attempt = 1;; ++attempt) {
    lock.emplace(o.name);
    ring = open_ring(o.name, {}, flags);
    kind = static_cast<std::uint32_t>(ipcring_ring_kind(ring.get()));
    if (is_fixed_slot(kind) && o.type) {  // before the lock: a send that fails takes none
      throw failure(exit_code::usage, quoted(o.name) + " is a " + std::string(kind_name(kind)) +
                                          " ring: its slots carry no message type (--type)");
    }
    if (kind != IPCRING_KIND_MPMC && kind != IPCRING_KIND_MPSC_MSG) {
      lock.reset();
      break;
    }
    if (lock->lock_if_same()) break;
    if (attempt == 100) {
      throw failure(exit_code::error, quoted(o.name) +
                                          ": the ring under this name kept being replaced while "
                                          "send opened it (100 times); nothing was sent");
    }
  }
  waited.reset();
  const bool fixed = is_fixed_slot(kind);
  // Ctrl-C, SIGTERM, SIGHUP: stop between lines, let go of the producer role (a dead holder
  // would read as a crash to the receiver), and leave the side open, as after an error.
  catch_interrupts();
  producer_ptr tx = attach_producer(*ring, o.name);
  const std::size_t limit = fixed ? ipcring_slot_size(ring.get())
                                  : static_cast<std::size_t>(ipcring_max_message(ring.get()));
  line_reader in(STDIN_FILENO, limit);
  senders_lock* const held = lock ? &*lock : nullptr;  // many-producer rings only
  if (fixed) {
    send_slots(tx.get(), o.name, ipcring_slot_size(ring.get()), in, held);
  } else {
    send_messages(tx.get(), o.name, ipcring_max_message(ring.get()), o.type.value_or(0), in, held);
  }
  stop_if_interrupted(o.name, in.line_number() + 1);  // the input ended, or a signal stopped it
  // At the end of the input only: after an error the side stays open, so a receiver does not
  // take a partial stream for a complete one.
  if (!o.keep_open) close_producer_side(tx, *ring, o.name, held);
  return exit_code::ok;
}

exit_code run_recv(const recv_options& o) {
  const std::int64_t timeout_ns = to_nanoseconds(o.timeout);  // a usage error before any wait
  const std::uint32_t flags = open_flags(o.allow_foreign_owner);
  ring_ptr waited = wait_if_asked(o.name, o.wait_for_ring, flags);  // held until opened below
  recv_loop loop{nullptr, o, timeout_ns};                           // --timeout counts from here
  catch_interrupts();  // messages taken from the ring are written out before exiting
  ignore_sigpipe();    // a reader that goes away ends recv with a message, the role let go
  // The state at the start is read from the ring opened, not by name again: the name may be
  // removed, or given to another ring, by then (see opened_segment).
  const std::string who = "recv " + quoted(o.name);
  std::optional<opened_segment> file;
  const ring_ptr ring =
      open_with_file(o.name, "recv", file, [&] { return open_ring(o.name, o.timeout, flags); });
  waited.reset();
  const consumer_ptr rx = attach_consumer(*ring, o.name);
  loop.rx = rx.get();
  // After attaching: nothing read yet, and no earlier consumer can change what is there.
  const ring_info at_start = file->read(who);
  loop.earlier_close = at_start.producer_closed && at_start.used == 0;
  const auto kind = static_cast<std::uint32_t>(ipcring_ring_kind(ring.get()));
  out_buffer out(STDOUT_FILENO);
  if (is_fixed_slot(kind)) {
    loop.slots(ipcring_slot_size(ring.get()), out);
  } else {
    loop.messages(out);
  }
  out.flush();
  if (const int sig = interrupted(); sig != 0) {
    throw failure(static_cast<exit_code>(128 + sig),
                  quoted(o.name) + ": stopped by signal " + std::to_string(sig) + " after " +
                      std::to_string(loop.received) + " message(s), all of them written out");
  }
  return exit_code::ok;
}

}  // namespace ipcring::cli
