// ipcring/msg_record.hpp: the record format of the message rings (msg_ring.hpp has the
// contract): [length:4][type:4][payload][pad to 8], the status of their hot-path calls, and
// the helpers that read and write a record's words.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace ipcring {

/// Record type reserved for padding (and aborted claims).
inline constexpr std::uint32_t k_padding_type = 0xFFFFFFFFu;
/// Bytes of a record header.
inline constexpr std::uint32_t k_record_header = 8;
/// The longest payload of a ring of `capacity` bytes: its largest record is capacity / 8.
constexpr std::uint64_t max_message_for(std::uint64_t capacity) noexcept {
  return capacity / 8 - k_record_header;
}
/// The consumer gives space back a 1/k_release_parts of the ring at a time (msg_ring.hpp).
inline constexpr std::uint64_t k_release_parts = 16;
static_assert(std::has_single_bit(k_release_parts) && k_release_parts >= 2 &&
                  1024 / k_release_parts >= 64,
              "a release covers a cache line or more (1 KiB rings included), and what the "
              "consumer holds plus the largest record with its padding (under capacity / 4) "
              "fit in the ring together");

/// Outcome of a message-ring hot-path call.
enum class msg_status : std::uint8_t {
  ok,
  full,          ///< not enough free space now
  empty,         ///< no message to read
  too_long,      ///< the message is longer than max_message()
  bad_type,      ///< the type is k_padding_type
  buffer_small,  ///< try_read: the buffer is too small; `size` says what is needed
  corrupted,     ///< a record (or, to an mpsc producer, the shared tail) is impossible
};
const char* to_string(msg_status s) noexcept;

namespace detail {
inline constexpr std::uint64_t align8(std::uint64_t n) noexcept {
  return (n + 7) & ~std::uint64_t{7};
}

inline std::atomic<std::int32_t>& length_at(std::byte* data, std::uint64_t index) noexcept {
  return *reinterpret_cast<std::atomic<std::int32_t>*>(data + index);
}
inline std::atomic<std::uint32_t>& type_at(std::byte* data, std::uint64_t index) noexcept {
  return *reinterpret_cast<std::atomic<std::uint32_t>*>(data + index + 4);
}
}  // namespace detail

}  // namespace ipcring
