// `ipcring send` and `ipcring recv`: lines of text in and out of a ring, one message each.
//
// Both move data through big buffers (stdio_buffers.hpp) and call the ring once per message
// without waiting while there is room (send) or data (recv); only then do they block, and recv
// writes out what it collected before it does, so a slow stream is still printed promptly.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "c_handles.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "ring_kinds.hpp"
#include "segment_probe.hpp"
#include "stdio_buffers.hpp"

namespace ipcring::cli {
namespace {

using steady = std::chrono::steady_clock;

constexpr std::uint32_t k_reserved_type = 0xFFFFFFFFu;  // the rings' padding records

std::string quoted(const std::string& name) {
  return "'" + name + "'";
}

// A send that cannot go on: the status of the write that failed.
[[noreturn]] void send_failed(int status, const std::string& name, std::uint64_t line) {
  const std::string sent = "; " + std::to_string(line - 1) + " line(s) before it were sent";
  switch (status) {
    case IPCRING_CLOSED: {
      // Which side: a multi-producer ring's producer side is closed by any of its producers.
      bool producers = false;
      try {
        producers = inspect(name, viewing_options()).producer_closed;
      } catch (const error&) {  // gone meanwhile: say what is sure
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

void send_messages(ipcring_producer* tx, const std::string& name, std::uint64_t max_message,
                   std::uint32_t type, line_reader& in) {
  std::string_view line;
  while (in.next(line)) {
    // Blocks while the ring is full (and returns at once while there is room).
    const int s = ipcring_write(tx, type, line.data(), line.size(), -1);
    if (s == IPCRING_OK) continue;
    if (s == IPCRING_TOO_LONG) {
      throw failure(exit_code::error, quoted(name) + ": line " + std::to_string(in.line_number()) +
                                          " is " + std::to_string(line.size()) +
                                          " bytes, longer than the ring's longest "
                                          "message (" +
                                          std::to_string(max_message) +
                                          " bytes); nothing of it was "
                                          "sent, and " +
                                          std::to_string(in.line_number() - 1) +
                                          " line(s) before it were");
    }
    send_failed(s, name, in.line_number());
  }
}

void send_slots(ipcring_producer* tx, const std::string& name, std::uint32_t slot_size,
                line_reader& in) {
  std::vector<char> slot(slot_size);
  std::string_view line;
  while (in.next(line)) {
    if (line.size() > slot_size) {
      throw failure(exit_code::error,
                    quoted(name) + ": line " + std::to_string(in.line_number()) + " is " +
                        std::to_string(line.size()) + " bytes, longer than a slot (" +
                        std::to_string(slot_size) + " bytes); nothing of it was sent, and " +
                        std::to_string(in.line_number() - 1) + " line(s) before it were");
    }
    std::memcpy(slot.data(), line.data(), line.size());
    std::memset(slot.data() + line.size(), 0, slot_size - line.size());
    const int s = ipcring_push(tx, slot.data(), -1);  // blocks while the ring is full
    if (s != IPCRING_OK) send_failed(s, name, in.line_number());
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

// Closes the producer side, unless other producers of a multi-producer ring are still
// attached: closing is for every producer at once, and theirs would fail from then on.
void close_producer_side(ipcring_producer* tx, const std::string& name, std::uint32_t kind) {
  if (kind == IPCRING_KIND_MPMC || kind == IPCRING_KIND_MPSC_MSG) {
    std::size_t others = 0;
    try {
      for (const auto& e : inspect(name, viewing_options()).endpoints) {
        const bool producer = std::string_view(e.role) == "producer";
        if (producer && e.alive && e.pid != static_cast<std::uint32_t>(::getpid())) ++others;
      }
    } catch (const error&) {  // removed meanwhile: nobody is left to tell
      return;
    }
    if (others != 0) {
      std::cerr << "ipcring send: " << quoted(name) << ": the producer side stays open: " << others
                << " other producer(s) attached\n";
      return;
    }
  }
  ipcring_producer_shutdown(tx);
}

std::int64_t to_nanoseconds(const std::optional<double>& seconds) {
  if (!seconds) return -1;
  if (!(*seconds >= 0) || !std::isfinite(*seconds)) {
    throw failure(exit_code::usage, "--timeout must be a number of seconds, 0 or more");
  }
  const double ns = *seconds * 1e9;
  return ns >= 9e18 ? -1 : static_cast<std::int64_t>(std::llround(ns));  // ~285 years: forever
}

}  // namespace

exit_code run_send(const send_options& o) {
  if (o.type && *o.type == k_reserved_type) {
    throw failure(exit_code::usage, "--type 4294967295 is reserved (padding records)");
  }
  const ring_ptr ring = open_ring(o.name);
  const auto kind = static_cast<std::uint32_t>(ipcring_ring_kind(ring.get()));
  const bool fixed = is_fixed_slot(kind);
  if (fixed && o.type) {
    throw failure(exit_code::usage, quoted(o.name) + " is a " + std::string(kind_name(kind)) +
                                        " ring: its slots carry no message type (--type)");
  }
  const producer_ptr tx = attach_producer(*ring, o.name);
  line_reader in(STDIN_FILENO);
  if (fixed) {
    send_slots(tx.get(), o.name, ipcring_slot_size(ring.get()), in);
  } else {
    send_messages(tx.get(), o.name, ipcring_max_message(ring.get()), o.type.value_or(0), in);
  }
  // At the end of the input only: after an error the side stays open, so a receiver does not
  // take a partial stream for a complete one.
  if (!o.keep_open) close_producer_side(tx.get(), o.name, kind);
  return exit_code::ok;
}

exit_code run_recv(const recv_options& o) {
  recv_loop loop{nullptr, o, to_nanoseconds(o.timeout)};
  catch_interrupts();  // messages taken from the ring are written out before exiting
  const ring_ptr ring = open_ring(o.name);
  const consumer_ptr rx = attach_consumer(*ring, o.name);
  loop.rx = rx.get();
  // After attaching: nothing read yet, and no earlier consumer can change what is there.
  const ring_info at_start = inspect(o.name, viewing_options());
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
