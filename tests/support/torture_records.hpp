// What the torture tests (torture_test.cpp, torture_peers_test.cpp) share: the message they
// send, checkable on delivery, its encoding as a variable-length record, and the wait policy
// and role claim of the processes they kill and restart.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <thread>

#include "ipcring/error.hpp"
#include "ipcring/wait.hpp"

namespace ipcring::test::torture {

using namespace std::chrono_literals;
using u64 = std::uint64_t;

constexpr u64 k_golden = 0x9e3779b97f4a7c15ull;
constexpr u64 k_batch = 8;  // the most a message ring's producer writes with one call
constexpr std::size_t k_msg_ring_bytes = std::size_t{1} << 14;  // the message rings' size
// What a killed message ring consumer delivers again beyond its batch in progress: the records
// it read since its last head store, fewer than a sixteenth of the ring (its records are 24 B
// or more).
constexpr u64 k_msg_held = k_msg_ring_bytes / 16 / 24 + 1;

// A message: check = seq ^ k_golden, so that a torn or stale one shows.
struct message {
  u64 seq;
  u64 check;
};

inline wait_policy quick_recovery() {
  wait_policy p;
  p.liveness_interval = 10ms;
  return p;
}

// The seed of a torture run's kill schedule: IPCRING_TORTURE_SEED if set (to replay a failed
// run), a fresh one otherwise, so that runs try other moments; printed either way.
inline std::uint32_t kill_seed() {
  const char* env = std::getenv("IPCRING_TORTURE_SEED");
  const auto seed = env != nullptr ? static_cast<std::uint32_t>(std::strtoul(env, nullptr, 10))
                                   : std::random_device{}();
  std::printf("[ torture ] kill schedule seed %u (IPCRING_TORTURE_SEED=%u replays it)\n", seed,
              seed);
  std::fflush(stdout);  // before the children fork, or each would print it again on exit
  return seed;
}

// Waits (30 s at most) until `count` says `n` processes have taken their role, restarts
// included: a kill before would land in a start-up, or on a process that already gave up.
inline bool registered(const std::atomic<u64>& count, u64 n) {
  for (const auto end = std::chrono::steady_clock::now() + 30s; count.load() < n;) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Retries a role claim while a killed holder is still being reaped.
template <class F>
auto claim(F&& f) {
  for (int i = 0;; ++i) {
    try {
      return f();
    } catch (const error& e) {
      if (e.code() != errc::busy || i > 5000) throw;
      std::this_thread::sleep_for(1ms);
    }
  }
}

// A message ring's record for m: [message][extra][extra bytes derived from seq], so that its
// length says itself. `nonce` varies the lengths from one producer process to the next.
inline std::span<const std::byte> encode_record(std::span<std::byte> buf, const message& m,
                                                u64 nonce) {
  const auto extra = static_cast<std::uint8_t>((m.seq + nonce) % 200);
  const std::size_t len = sizeof m + 1 + extra;
  std::memcpy(buf.data(), &m, sizeof m);
  buf[sizeof m] = static_cast<std::byte>(extra);
  for (std::size_t b = sizeof m + 1; b < len; ++b)
    buf[b] = static_cast<std::byte>(m.seq + b);
  return buf.first(len);
}

// The message a record carries; one whose check fails (m.check == 0) where it is not intact.
inline message decode_record(std::span<const std::byte> in) {
  message m{};
  if (in.size() < sizeof m) return message{0, 0};
  std::memcpy(&m, in.data(), sizeof m);
  bool intact =
      in.size() > sizeof m && in.size() == sizeof m + 1 + static_cast<std::size_t>(in[sizeof m]);
  for (std::size_t b = sizeof m + 1; intact && b < in.size(); ++b)
    intact = in[b] == static_cast<std::byte>(m.seq + b);
  if (!intact) m.check = 0;
  return m;
}
}  // namespace ipcring::test::torture
