// `ipcring watch NAME`: one line per interval with the rates of both sides (deltas of the
// ring's counters) and the fill level.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "commands.hpp"
#include "opened_segment.hpp"
#include "segment_probe.hpp"
#include "text_format.hpp"

namespace ipcring::cli {
namespace {

using steady = std::chrono::steady_clock;

// Opens the ring's file, then looks at the ring by name (the probe's checks and messages: not
// found, not a ring), until the name still leads to the file opened: the samples that follow
// are read from that file, so a ring made under the name later is told apart (see
// opened_segment).
ring_info look(const std::string& name, std::optional<opened_segment>& file) {
  return open_with_file(name, "watch", file, [&] {
    segment_probe p = probe_segment(name);
    require_ring(p);
    return std::move(*p.info);
  });
}

// Per second, from two readings of a counter (0 if it went back, or no time passed).
double rate(std::uint64_t before, std::uint64_t after, double seconds) {
  return after >= before && seconds > 0 ? static_cast<double>(after - before) / seconds : 0.0;
}

std::string local_time() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

exit_code run_watch(const watch_options& o) {
  // Bounded: below a millisecond it would spin reading the segment, and past a million
  // seconds the conversion to the clock's nanoseconds would overflow.
  if (!(o.interval >= 0.001 && o.interval <= 1e6)) {
    throw failure(exit_code::usage, "--interval must be a number of seconds from 0.001 to 1000000");
  }
  const auto interval =
      std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.interval));
  const std::string who = "watch '" + o.name + "'";
  std::optional<opened_segment> file;
  ring_info before = look(o.name, file);
  steady::time_point t0 = steady::now();
  steady::time_point next = t0;
  for (std::uint64_t n = 0; !o.count || n < *o.count; ++n) {
    next += interval;
    std::this_thread::sleep_until(next);
    // Removed (the probe then ends the watch: not found), or another ring made under the name:
    // its counters are not this one's, and a rate across the two would be garbage.
    const bool replaced = !file->same_ready_ring(who);
    ring_info now = replaced ? look(o.name, file) : file->read(who);
    const steady::time_point t1 = steady::now();
    const double s = std::chrono::duration<double>(t1 - t0).count();
    errno = 0;  // a stream need not set it: an older value would name another failure
    std::cout << local_time() << "  " << printable(o.name);
    if (replaced) {
      std::cout << "  replaced by another ring: rates start again  fill "
                << fill_text(now.used, now.capacity) << std::endl;
    } else {
      std::cout << "  write " << si(rate(before.producer.messages, now.producer.messages, s))
                << " msg/s " << si(rate(before.producer.bytes, now.producer.bytes, s))
                << "B/s  read " << si(rate(before.consumer.messages, now.consumer.messages, s))
                << " msg/s " << si(rate(before.consumer.bytes, now.consumer.bytes, s))
                << "B/s  fill " << fill_text(now.used, now.capacity)
                << std::endl;  // flushed: one line per tick
    }
    if (!std::cout) {  // a full disk, a closed pipe: nobody sees the lines, stop
      throw failure(exit_code::error, std::string("writing standard output: ") +
                                          (errno != 0 ? std::strerror(errno) : "failed"));
    }
    if (!replaced) {
      // A count read low (a look that caught an endpoint's counts on their way to the totals)
      // is not a baseline: the next rate would add them twice.
      now.producer.messages = std::max(now.producer.messages, before.producer.messages);
      now.producer.bytes = std::max(now.producer.bytes, before.producer.bytes);
      now.consumer.messages = std::max(now.consumer.messages, before.consumer.messages);
      now.consumer.bytes = std::max(now.consumer.bytes, before.consumer.bytes);
    }
    before = std::move(now);
    t0 = t1;
    // After a pause (Ctrl-Z, an output nobody read for a while) the next line comes an
    // interval from now, not at once for every tick missed.
    if (next < t1) next = t1;
  }
  return exit_code::ok;
}

}  // namespace ipcring::cli
