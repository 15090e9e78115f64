// `ipcring watch NAME`: one line per interval with the rates of both sides (deltas of the
// ring's counters) and the fill level.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <utility>

#include "commands.hpp"
#include "segment_probe.hpp"
#include "text_format.hpp"

namespace ipcring::cli {
namespace {

using steady = std::chrono::steady_clock;

ring_info look(const std::string& name) {
  segment_probe p = probe_segment(name);
  require_ring(p);
  return std::move(*p.info);
}

// Per second, from two readings of a counter (0 if it went back: the ring was recreated).
double rate(std::uint64_t before, std::uint64_t after, double seconds) {
  return after >= before ? static_cast<double>(after - before) / seconds : 0.0;
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
  ring_info before = look(o.name);
  steady::time_point t0 = steady::now();
  steady::time_point next = t0;
  for (std::uint64_t n = 0; !o.count || n < *o.count; ++n) {
    next += interval;
    std::this_thread::sleep_until(next);
    ring_info now = look(o.name);
    const steady::time_point t1 = steady::now();
    const double s = std::chrono::duration<double>(t1 - t0).count();
    std::cout << local_time() << "  " << printable(o.name) << "  write "
              << si(rate(before.producer.messages, now.producer.messages, s)) << " msg/s "
              << si(rate(before.producer.bytes, now.producer.bytes, s)) << "B/s  read "
              << si(rate(before.consumer.messages, now.consumer.messages, s)) << " msg/s "
              << si(rate(before.consumer.bytes, now.consumer.bytes, s)) << "B/s  fill "
              << fill_text(now.used, now.capacity) << std::endl;  // flushed: one line per tick
    if (!std::cout) {  // a full disk, a closed pipe: nobody sees the lines, stop
      throw failure(exit_code::error, std::string("writing standard output: ") +
                                          (errno != 0 ? std::strerror(errno) : "failed"));
    }
    before = std::move(now);
    t0 = t1;
  }
  return exit_code::ok;
}

}  // namespace ipcring::cli
