// consumer: opens an spsc_ring by name (waiting for its producer to create it), receives N
// messages, checks that they arrive in order and intact, prints count, rate and checksum, and
// removes the segment.
//
//   ./build/release/examples/ipcring-consumer --name demo --count 10000000 &
//   ./build/release/examples/ipcring-producer --name demo --count 10000000
// By default the consumer sleeps while the ring is empty (blocking pop); --spin makes it spin.
// Options: --cpu K (pin), --wait-ms MS (how long to wait for the ring to appear, default 10000).
// A ring of that name that an earlier run left (every process that attached to it died) is not
// read: the consumer waits, up to --wait-ms, for a producer to replace it (--replace). However
// the consumer ends (done, a wrong message, the producer gone, Ctrl-C), it closes its side and
// removes the segment: a producer still sending stops with `closed` once the ring is full, and
// one that finishes after that reports the messages left unread.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "demo_message.hpp"

namespace {

// True if `name` is a ring an earlier run left behind: every process that attached to it died
// (a ring whose producer finished and left is not: its messages are there to read).
bool left_over(const std::string& name) {
  return ipcring::inspect(name).stale();
}

}  // namespace

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts(
        "usage: ipcring-consumer [--name NAME] [--count N] [--cpu K] [--wait-ms MS] [--spin]");
    return 0;
  }
  const std::string name = demo::arg(argc, argv, "--name", "ipcring-demo");
  const auto count = static_cast<std::uint64_t>(demo::number(
      "consumer", argc, argv, "--count", 10000000, 1, std::numeric_limits<long long>::max()));
  const auto wait_ms = demo::number("consumer", argc, argv, "--wait-ms", 10000, 0, 86400000);
  demo::pin("consumer",
            static_cast<int>(demo::number("consumer", argc, argv, "--cpu", -1, -1, 1023)));

  // The producer creates the ring: open() waits for it (wait_for_creation) up to --wait-ms.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  // One an earlier run left is not ours: we wait for the producer to replace it.
  bool said = false;
  const auto no_ring = [&] {
    return ipcring::error(ipcring::errc::not_found,
                          "no ring '" + name + "' from a live producer within --wait-ms");
  };
  auto ring = [&] {
    for (;;) {
      ipcring::ring_options o;
      o.wait_for_creation = std::max(
          std::chrono::milliseconds(1),  // 0 would not wait at all
          std::chrono::ceil<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now()));
      std::optional<ipcring::spsc_ring<demo::message>> r;
      try {
        r.emplace(ipcring::spsc_ring<demo::message>::open(name, o));
      } catch (const ipcring::error& e) {
        if (e.code() != ipcring::errc::not_found) throw;
        throw no_ring();  // --wait-ms, not wait_for_creation, is what the user can raise
      }
      if (!left_over(name)) return std::move(*r);
      if (!said) {
        std::fprintf(stderr,
                     "consumer: '%s' is left over from an earlier run whose processes died; "
                     "waiting for a producer started with --replace (or ipcring rm %s)\n",
                     name.c_str(), name.c_str());
        said = true;
      }
      if (std::chrono::steady_clock::now() > give_up) throw no_ring();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }();
  const bool spin = demo::has_flag(argc, argv, "--spin");
  auto rx = ring.consumer(spin ? ipcring::wait_policy::spinning() : ipcring::wait_policy{});
  const demo::close_on_signal ctrl_c(rx.closer());  // Ctrl-C closes our side
  // From here on every way out closes our side and removes the segment.
  const auto finish = [&](int code) {
    rx.close();
    ipcring::remove(name);
    return code;
  };

  std::uint64_t checksum = 0;
  std::uint64_t expect = 0;
  std::chrono::steady_clock::time_point t0;
  while (expect < count) {
    demo::message m;
    // Waits (spinning or asleep) for the next message; ends early if the producer closed the
    // ring or died, or sent nothing for 30 s, or on Ctrl-C (our own side closed).
    if (const auto r = rx.pop(m, std::chrono::seconds(30)); r != ipcring::wait_result::ok) {
      std::fprintf(stderr, "consumer: stopped after %llu of %llu messages: %s\n",
                   static_cast<unsigned long long>(expect), static_cast<unsigned long long>(count),
                   ipcring::to_string(r));
      return finish(3);
    }
    if (expect == 0) t0 = std::chrono::steady_clock::now();
    if (m.seq != expect || m.payload != demo::mix(m.seq)) {
      std::fprintf(stderr, "consumer: message %llu is wrong (seq %llu, payload %016llx)\n",
                   static_cast<unsigned long long>(expect), static_cast<unsigned long long>(m.seq),
                   static_cast<unsigned long long>(m.payload));
      if (expect == 0 && m.payload == demo::mix(m.seq)) {
        std::fprintf(stderr,
                     "consumer: an intact message, but not the first: the ring holds what an "
                     "earlier run left (remove it, or start the producer with --replace)\n");
      }
      return finish(2);
    }
    checksum += m.payload;
    ++expect;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "consumer: received %llu messages in order in %.3f s (%.1f M msgs/s), "
      "checksum %016llx\n",
      static_cast<unsigned long long>(count), secs, static_cast<double>(count) / secs / 1e6,
      static_cast<unsigned long long>(checksum));
  return finish(0);
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "consumer: %s\n", e.what());
  return 1;
}
