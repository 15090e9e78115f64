// producer: creates an spsc_ring by name and sends N sequence-numbered messages into it.
//
//   ./build/release/examples/ipcring-consumer --name demo --count 10000000 &
//   ./build/release/examples/ipcring-producer --name demo --count 10000000
// (or all of it: bash tools/demo.sh). Options: --capacity SLOTS (power of two, default 4096),
// --cpu K (pin), --replace (remove a stale segment of that name first), --spin (spin while the
// ring is full instead of sleeping). The producer closes the ring when done.
#include <chrono>
#include <cstdio>
#include <string>

#include "demo_message.hpp"

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts(
        "usage: ipcring-producer [--name NAME] [--count N] [--capacity SLOTS] [--cpu K] "
        "[--replace]");
    return 0;
  }
  const std::string name = demo::arg(argc, argv, "--name", "ipcring-demo");
  const auto count = std::strtoull(demo::arg(argc, argv, "--count", "10000000"), nullptr, 10);
  const auto capacity = std::strtoull(demo::arg(argc, argv, "--capacity", "4096"), nullptr, 10);
  demo::pin("producer", std::atoi(demo::arg(argc, argv, "--cpu", "-1")));
  if (demo::has_flag(argc, argv, "--replace")) ipcring::remove(name);

  auto ring = ipcring::spsc_ring<demo::message>::create(name, capacity);
  const bool spin = demo::has_flag(argc, argv, "--spin");
  auto tx = ring.producer(spin ? ipcring::wait_policy::spinning() : ipcring::wait_policy{});
  std::fprintf(stderr, "producer: created '%s' (%llu slots), sending %llu messages\n", name.c_str(),
               static_cast<unsigned long long>(capacity), static_cast<unsigned long long>(count));

  std::uint64_t checksum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    const demo::message m{seq, demo::mix(seq)};
    // Waits (spinning or asleep) while the ring is full.
    if (const auto r = tx.push(m, std::chrono::seconds(30)); r != ipcring::wait_result::ok) {
      std::fprintf(stderr, "producer: stopped after %llu messages: %s\n",
                   static_cast<unsigned long long>(seq), ipcring::to_string(r));
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
    std::fprintf(stderr, "producer: pass --replace to remove the old segment first\n");
  }
  return 1;
}
