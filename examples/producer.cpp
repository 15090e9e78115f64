// producer: creates an spsc_ring by name and sends N sequence-numbered messages into it.
//
//   ./build/release/examples/ipcring-consumer --name demo --count 10000000 &
//   ./build/release/examples/ipcring-producer --name demo --count 10000000
// (or all of it: bash tools/demo.sh). Options: --capacity SLOTS (power of two, default 4096),
// --cpu K (pin), --replace (first remove a segment of that name that no live process is
// attached to, left by an earlier run), --spin (spin while the ring is full instead of sleeping).
// The producer closes the ring when done, and on Ctrl-C (the consumer then drains what was sent).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "demo_message.hpp"

namespace {
ipcring::close_token stop;  // Ctrl-C closes the producer side: close() is async-signal-safe
extern "C" void on_signal(int) {
  stop.close();
}
}  // namespace

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts(
        "usage: ipcring-producer [--name NAME] [--count N] [--capacity SLOTS] [--cpu K] "
        "[--replace] [--spin]");
    return 0;
  }
  const std::string name = demo::arg(argc, argv, "--name", "ipcring-demo");
  const auto count = static_cast<std::uint64_t>(demo::number(
      "producer", argc, argv, "--count", 10000000, 1, std::numeric_limits<long long>::max()));
  const auto capacity = static_cast<std::uint64_t>(
      demo::number("producer", argc, argv, "--capacity", 4096, 1, 1LL << 32));
  demo::pin("producer",
            static_cast<int>(demo::number("producer", argc, argv, "--cpu", -1, -1, 1023)));
  if (demo::has_flag(argc, argv, "--replace")) demo::remove_unused("producer", name);

  auto ring = ipcring::spsc_ring<demo::message>::create(name, capacity);
  const bool spin = demo::has_flag(argc, argv, "--spin");
  auto tx = ring.producer(spin ? ipcring::wait_policy::spinning() : ipcring::wait_policy{});
  stop = tx.closer();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "producer: created '%s' (%llu slots), sending %llu messages\n", name.c_str(),
               static_cast<unsigned long long>(capacity), static_cast<unsigned long long>(count));

  std::uint64_t checksum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    const demo::message m{seq, demo::mix(seq)};
    // Waits (spinning or asleep) while the ring is full; ends if the consumer closed its side
    // or died, or took nothing for 30 s, or on Ctrl-C (our own side closed).
    if (const auto r = tx.push(m, std::chrono::seconds(30)); r != ipcring::wait_result::ok) {
      std::fprintf(stderr, "producer: stopped after %llu messages: %s\n",
                   static_cast<unsigned long long>(seq), ipcring::to_string(r));
      tx.close();
      return 3;
    }
    checksum += m.payload;
  }
  tx.close();  // the consumer drains what is left, then sees `closed`
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("producer: sent %llu messages in %.3f s (%.1f M msgs/s), checksum %016llx\n",
              static_cast<unsigned long long>(count), secs, static_cast<double>(count) / secs / 1e6,
              static_cast<unsigned long long>(checksum));
  return 0;
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "producer: %s\n", e.what());
  if (e.code() == ipcring::errc::already_exists) {
    std::fprintf(stderr,
                 "producer: --replace removes it if no live process is attached to it (ipcring "
                 "stat NAME shows who is)\n");
  }
  return 1;
}
