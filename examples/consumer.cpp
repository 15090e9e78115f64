// consumer: opens an spsc_ring by name (waiting for its producer to create it), receives N
// messages, checks that they arrive in order and intact, prints count, rate and checksum, and
// removes the segment.
//
//   ./build/release/examples/ipcring-consumer --name demo --count 10000000 &
//   ./build/release/examples/ipcring-producer --name demo --count 10000000
// By default the consumer sleeps while the ring is empty (blocking pop); --spin makes it spin.
// Options: --cpu K (pin), --wait-ms MS (how long to wait for the ring to appear, default 10000).
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "demo_message.hpp"

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts(
        "usage: ipcring-consumer [--name NAME] [--count N] [--cpu K] [--wait-ms MS] [--spin]");
    return 0;
  }
  const std::string name = demo::arg(argc, argv, "--name", "ipcring-demo");
  const auto count = std::strtoull(demo::arg(argc, argv, "--count", "10000000"), nullptr, 10);
  const auto wait_ms = std::strtoull(demo::arg(argc, argv, "--wait-ms", "10000"), nullptr, 10);
  demo::pin("consumer", std::atoi(demo::arg(argc, argv, "--cpu", "-1")));

  // The producer creates the ring; until then open() fails with not_found.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  auto ring = [&] {
    for (;;) {
      try {
        return ipcring::spsc_ring<demo::message>::open(name);
      } catch (const ipcring::error& e) {
        if (e.code() != ipcring::errc::not_found || std::chrono::steady_clock::now() > give_up) {
          throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }();
  const bool spin = demo::has_flag(argc, argv, "--spin");
  auto rx = ring.consumer(spin ? ipcring::wait_policy::spinning() : ipcring::wait_policy{});

  std::uint64_t checksum = 0;
  std::uint64_t expect = 0;
  std::chrono::steady_clock::time_point t0;
  while (expect < count) {
    demo::message m;
    // Waits (spinning or asleep) for the next message; ends early if the producer closed the
    // ring or died, or sent nothing for 30 s.
    if (const auto r = rx.pop(m, std::chrono::seconds(30)); r != ipcring::wait_result::ok) {
      std::fprintf(stderr, "consumer: stopped after %llu of %llu messages: %s\n",
                   static_cast<unsigned long long>(expect), static_cast<unsigned long long>(count),
                   ipcring::to_string(r));
      return 3;
    }
    if (expect == 0) t0 = std::chrono::steady_clock::now();
    if (m.seq != expect || m.payload != demo::mix(m.seq)) {
      std::fprintf(stderr, "consumer: message %llu is wrong (seq %llu, payload %016llx)\n",
                   static_cast<unsigned long long>(expect), static_cast<unsigned long long>(m.seq),
                   static_cast<unsigned long long>(m.payload));
      return 2;
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
  ipcring::remove(name);
  return 0;
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "consumer: %s\n", e.what());
  return 1;
}
