// The message rings' test fixture on heap memory, and helpers the msg_ring tests share.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ipcring/msg_ring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {

inline std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s));
}
inline std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

template <class Ring>
struct fixture {
  explicit fixture(std::uint64_t cap)
      : mem(Ring::required_bytes(cap)), ring(Ring::create_in(mem.span(), cap)) {}
  ring_control& ctl() { return *reinterpret_cast<ring_control*>(mem.span().data() + 128); }
  std::byte* data() { return mem.span().data() + 128 + sizeof(registry_control); }
  void set_position(std::uint64_t pos) {  // an empty ring at byte position `pos` (8-aligned)
    ctl().tail.store(pos);
    ctl().head.store(pos);
  }
  // The single producer's role as a holder killed would leave it: naming a process that is gone.
  void kill_producer() { ctl().producer_owner.store(k_dead_owner); }
  heap_bytes mem;
  Ring ring;
};

// The message rings' typed tests run on both kinds.
template <class Ring>
class msg_rings : public ::testing::Test {};
using msg_ring_types = ::testing::Types<spsc_msg_ring, mpsc_msg_ring>;

// Every message read, as text (a message of another type as "type N").
inline std::vector<std::string> read_all(msg_consumer& rx, std::uint32_t want_type = 4) {
  std::vector<std::string> got;
  rx.read([&](std::uint32_t t, std::span<const std::byte> m) {
    got.push_back(t == want_type ? text_of(m) : "type " + std::to_string(t));
  });
  return got;
}

// Writes a 16-byte record at 0 and reads it: the consumer then holds it (read, not yet zeroed
// or freed), as a sixteenth of a 1 KiB ring is 64 bytes.
template <class Fixture, class Producer>
void hold_one_record(Fixture& f, Producer& tx, msg_consumer& rx) {
  ASSERT_EQ(tx.try_write(1, bytes_of("12345678")), msg_status::ok);
  std::byte buf[16];
  ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);
  ASSERT_EQ(f.ctl().head.load(), 0u);
}

}  // namespace ipcring::test
