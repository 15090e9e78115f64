// producer: creates an spsc_ring by name and sends N sequence-numbered messages into it.
//
//   ./build/release/examples/ipcring-consumer --name demo --count 10000000 &
//   ./build/release/examples/ipcring-producer --name demo --count 10000000
// (or all of it: bash tools/demo.sh). Options: --capacity SLOTS (power of two, default 4096),
// --cpu K (pin), --replace (first remove a ring of that name that an earlier run left: its
// processes died, or its producer finished and nobody read it), --spin (spin while the ring is
// full instead of sleeping). The producer closes the ring when done, and on Ctrl-C (the consumer
// then drains what was sent). It fails if the consumer closed its side or died with messages
// unread, and removes the ring when it gives up on one that nobody ever read.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "demo_message.hpp"

namespace {

// After the last push: whether the consumer gave up or died with messages unread (a push
// succeeds while there is room, even after the consumer closed its side or died). Read through
// our own view: the consumer removes the ring's name when it stops. A consumer that has not
// come yet, or is still reading, is not a failure: the messages wait for it.
bool consumer_left_early(const ipcring::map_view& view, const std::string& name) {
  ipcring::ring_info info = ipcring::inspect(view.bytes(), name);
  if (info.used == 0) return false;
  // The look reads head before the closed flag: a consumer that stored its last head and then
  // closed between the two reads would look as if it left messages. close() stores head
  // before the flag, so a second look is exact.
  if (info.consumer_closed) info = ipcring::inspect(view.bytes(), name);
  if (info.used == 0) return false;
  const auto unread = static_cast<unsigned long long>(info.used);
  if (info.consumer_closed) {
    std::fprintf(stderr, "producer: the consumer closed its side with %llu messages unread\n",
                 unread);
    return true;
  }
  for (const auto& e : info.endpoints) {
    if (std::string_view(e.role) == "consumer" && !e.alive) {
      std::fprintf(stderr, "producer: the consumer (pid %u) died with %llu messages unread\n",
                   static_cast<unsigned>(e.pid), unread);
      return true;
    }
  }
  return false;
}

// Giving up: a ring that no consumer ever read and none is attached to would be left behind.
void remove_if_never_read(const ipcring::map_view& view, const std::string& name) {
  const ipcring::ring_info info = ipcring::inspect(view.bytes(), name);
  for (const auto& e : info.endpoints) {
    if (e.alive && std::string_view(e.role) == "consumer") return;
  }
  if (info.head == 0) ipcring::remove(name);
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
  if (demo::has_flag(argc, argv, "--replace")) demo::remove_left_over("producer", name);

  auto ring = ipcring::spsc_ring<demo::message>::create(name, capacity);
  const bool spin = demo::has_flag(argc, argv, "--spin");
  auto tx = ring.producer(spin ? ipcring::wait_policy::spinning() : ipcring::wait_policy{});
  ipcring::map_options look;
  look.prefault = false;  // the ring's pages are faulted in already, through `ring`
  const auto view = ipcring::map_view::open(name, look);  // to look at the ring at the end
  const demo::close_on_signal ctrl_c(tx.closer());        // Ctrl-C closes our side
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
      remove_if_never_read(view, name);
      return 3;
    }
    checksum += m.payload;
  }
  tx.close();  // the consumer drains what is left, then sees `closed`
  if (consumer_left_early(view, name)) return 3;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("producer: sent %llu messages in %.3f s (%.1f M msgs/s), checksum %016llx\n",
              static_cast<unsigned long long>(count), secs, static_cast<double>(count) / secs / 1e6,
              static_cast<unsigned long long>(checksum));
  return 0;
} catch (const ipcring::error& e) {
  std::fprintf(stderr, "producer: %s\n", e.what());
  if (e.code() == ipcring::errc::already_exists) {
    std::fprintf(stderr,
                 "producer: --replace removes it if an earlier run left it (its processes died, "
                 "or its producer finished and nobody attached); ipcring stat NAME shows who "
                 "uses it\n");
  }
  return 1;
}
