// The C API's batch calls (ipcring/ipcring.h, "Batches"): many slots or messages a call, for
// callers whose every call crosses a language boundary. Fixed slots go through the same
// run-time-sized interfaces as single ones (c_api_internal.hpp); messages are handed to the C++
// producers 64 spans at a time.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <span>
#include <type_traits>

#include "c_api_internal.hpp"

namespace {

using namespace ipcring;
using namespace ipcring::c_api;

int wrong_operation(const char* call, const char* ring) noexcept {
  char text[96];
  std::snprintf(text, sizeof text, "%s on %s", call, ring);
  return fail(IPCRING_E_WRONG_OPERATION, text);
}

// What every fixed-slot batch call checks: a handle of a fixed-slot ring, slots unless the
// batch is empty, and a byte count that size_t holds.
template <class Endpoint>
int check_slot_batch(const Endpoint* e, const void* slots, std::size_t count,
                     const char* call) noexcept {
  if (e == nullptr) {
    return null_argument(std::is_same_v<Endpoint, ipcring_producer> ? "producer" : "consumer");
  }
  if (slots == nullptr && count != 0) return null_argument("slots");
  if (!e->fixed) return wrong_operation(call, "a message ring");
  if (count > SIZE_MAX / e->slot_size) {
    char text[128];
    std::snprintf(text, sizeof text, "%s: count=%zu slots of %u bytes is more than memory holds",
                  call, count, static_cast<unsigned>(e->slot_size));
    return fail(IPCRING_E_INVALID_ARGUMENT, text);
  }
  return IPCRING_OK;
}

// What every message batch call checks, before it writes any: a handle of a message ring, the
// array unless the batch is empty, and the data of every message that has a length.
int check_message_batch(const ipcring_producer* p, const ipcring_iovec* messages, std::size_t count,
                        const char* call) noexcept {
  if (p == nullptr) return null_argument("producer");
  if (messages == nullptr && count != 0) return null_argument("messages");
  if (!p->spsc_msg && !p->mpsc_msg) return wrong_operation(call, "a fixed-slot ring");
  for (std::size_t i = 0; i < count; ++i) {
    if (messages[i].data == nullptr && messages[i].length != 0) {
      char what[80];
      std::snprintf(what, sizeof what, "messages[%zu].data (length %zu)", i, messages[i].length);
      return null_argument(what);
    }
  }
  return IPCRING_OK;
}

// Up to 64 messages of a C batch, as the spans the C++ producers take.
class message_chunk {
 public:
  static constexpr std::size_t k_max = 64;
  message_chunk(const ipcring_iovec* m, std::size_t n) noexcept : n_(std::min(n, k_max)) {
    for (std::size_t i = 0; i < n_; ++i) {
      spans_[i] = {static_cast<const std::byte*>(m[i].data), m[i].length};
    }
  }
  std::span<const std::span<const std::byte>> spans() const noexcept { return {spans_.data(), n_}; }

 private:
  std::array<std::span<const std::byte>, k_max> spans_;
  std::size_t n_;
};

// Calls f with the producer of a message ring, whichever kind it is.
template <class F>
std::size_t with_msg(ipcring_producer* p, F&& f) noexcept {
  return p->spsc_msg ? f(*p->spsc_msg) : f(*p->mpsc_msg);
}

}  // namespace

// The C write_all: msg_producer::write_all over chunks of messages, with one deadline and one
// wait counted for the whole call (friend).
struct ipcring::c_api::batch_writer {
  template <bool M>
  static std::size_t write_all(msg_producer<M>& tx, std::uint32_t type,
                               std::span<const std::span<const std::byte>> messages,
                               detail::time_budget& time, bool& counted, wait_result& r,
                               msg_status& s) noexcept {
    return tx.write_all_within(type, messages, time, counted, r, s);
  }
};

// A C batch read: messages copied out by the C++ consumer a chunk of 64 results at a time,
// each chunk starting where the last one's messages end, at the next 8-byte offset. It reaches
// msg_consumer's chunked read (friend), so that a batch that empties the ring after a full chunk
// counts no empty event, as one C++ call would not.
struct ipcring::c_api::batch_reader {
  static int read(msg_consumer& rx, std::byte* base, std::size_t capacity,
                  ipcring_message* messages, std::size_t count, std::size_t* done) noexcept {
    std::size_t n = 0;
    std::size_t used = 0;  // bytes of buffer taken, up to the next 8-byte offset
    std::array<read_result, message_chunk::k_max> got;
    for (;;) {
      const std::size_t want = std::min(count - n, got.size());
      const std::span<std::byte> rest(base + used, capacity - used);  // used <= capacity here
      const std::size_t k = rx.read_some(rest, {got.data(), want}, n == 0);
      for (std::size_t i = 0; i < k; ++i, ++n) {
        messages[n] = {base + used, got[i].size, got[i].type};
        used += static_cast<std::size_t>(detail::align8(got[i].size));
      }
      if (k < want || n == count || used > capacity) break;
    }
    if (done != nullptr) *done = n;
    if (n != 0 || count == 0) return IPCRING_OK;
    if (got[0].status == msg_status::buffer_small)
      messages[0] = {nullptr, got[0].size, got[0].type};
    return from(got[0].status);
  }
};

extern "C" {

int ipcring_try_push_some(ipcring_producer* p, const void* slots, size_t count, size_t* done) {
  if (done != nullptr) *done = 0;
  if (const int e = check_slot_batch(p, slots, count, "try_push_some"); e != IPCRING_OK) return e;
  const std::size_t n = p->fixed->try_push_some(slots, count);
  if (done != nullptr) *done = n;
  return n == count ? IPCRING_OK : or_corrupted(IPCRING_FULL, *p->fixed);
}

int ipcring_push_all(ipcring_producer* p, const void* slots, size_t count, size_t* done,
                     int64_t timeout_ns) {
  if (done != nullptr) *done = 0;
  if (const int e = check_slot_batch(p, slots, count, "push_all"); e != IPCRING_OK) return e;
  const auto* from_bytes = static_cast<const std::byte*>(slots);
  time_budget time(timeout_ns);
  bool counted = false;  // one wait counted for the call
  std::size_t n = 0;
  int status = IPCRING_OK;
  for (;;) {
    n += p->fixed->try_push_some(from_bytes + n * p->slot_size, count - n);
    if (n == count) break;
    // Full: wait as push() does, within the call's one deadline and counted wait, and push
    // the next slot when there is room.
    const wait_result r = p->fixed->push_within(from_bytes + n * p->slot_size, time, counted);
    if (r != wait_result::ok) {
      status = or_corrupted(from(r), *p->fixed);
      break;
    }
    ++n;
  }
  if (done != nullptr) *done = n;
  return status;
}

int ipcring_try_pop_some(ipcring_consumer* c, void* slots, size_t count, size_t* done) {
  if (done != nullptr) *done = 0;
  if (const int e = check_slot_batch(c, slots, count, "try_pop_some"); e != IPCRING_OK) return e;
  const std::size_t n = c->fixed->try_pop_some(slots, count);
  if (done != nullptr) *done = n;
  return n != 0 || count == 0 ? IPCRING_OK : or_corrupted(IPCRING_EMPTY, *c->fixed);
}

int ipcring_pop_some(ipcring_consumer* c, void* slots, size_t count, size_t* done,
                     int64_t timeout_ns) {
  if (done != nullptr) *done = 0;
  if (const int e = check_slot_batch(c, slots, count, "pop_some"); e != IPCRING_OK) return e;
  if (count == 0) return IPCRING_OK;
  auto* to = static_cast<std::byte*>(slots);
  std::size_t n = c->fixed->try_pop_some(to, count);
  if (n == 0) {
    // Empty: wait as pop() does (it takes the first), then whatever came with it.
    const wait_result r = c->fixed->pop(to, to_timeout(timeout_ns));
    if (r != wait_result::ok) return or_corrupted(from(r), *c->fixed);
    n = 1 + c->fixed->try_pop_more(to + c->slot_size, count - 1);
  }
  if (done != nullptr) *done = n;
  return IPCRING_OK;
}

int ipcring_try_write_some(ipcring_producer* p, uint32_t type, const ipcring_iovec* messages,
                           size_t count, size_t* done) {
  if (done != nullptr) *done = 0;
  if (const int e = check_message_batch(p, messages, count, "try_write_some"); e != IPCRING_OK)
    return e;
  std::size_t n = 0;
  msg_status s = msg_status::ok;
  while (n < count) {
    message_chunk chunk(messages + n, count - n);
    const std::size_t w =
        with_msg(p, [&](auto& tx) { return tx.try_write_some(type, chunk.spans(), &s); });
    n += w;
    if (s != msg_status::ok || w == 0) break;  // ok: the call's size limit; more may fit
  }
  if (done != nullptr) *done = n;
  return n == count ? IPCRING_OK : from(s == msg_status::ok ? msg_status::full : s);
}

int ipcring_write_all(ipcring_producer* p, uint32_t type, const ipcring_iovec* messages,
                      size_t count, size_t* done, int64_t timeout_ns) {
  if (done != nullptr) *done = 0;
  if (const int e = check_message_batch(p, messages, count, "write_all"); e != IPCRING_OK) return e;
  time_budget time(timeout_ns);
  bool counted = false;  // one wait counted for the call
  std::size_t n = 0;
  int status = IPCRING_OK;
  while (n < count && status == IPCRING_OK) {  // a chunk of up to 64 messages at a time
    const message_chunk chunk(messages + n, count - n);
    wait_result r = wait_result::ok;
    msg_status s = msg_status::ok;
    const std::size_t w = with_msg(p, [&](auto& tx) {
      return c_api::batch_writer::write_all(tx, type, chunk.spans(), time, counted, r, s);
    });
    n += w;
    if (r != wait_result::ok) {
      status = from(r);
    } else if (s == msg_status::full) {  // cannot happen (msg_producer::write_all_within)
      status = fail(IPCRING_E_INTERNAL, "write_all: the ring took nothing and gave no reason");
    } else {
      status = from(s);
    }
  }
  if (done != nullptr) *done = n;
  return status;
}

int ipcring_try_read_some(ipcring_consumer* c, void* buffer, size_t capacity,
                          ipcring_message* messages, size_t count, size_t* done) {
  if (done != nullptr) *done = 0;
  if (c == nullptr) return null_argument("consumer");
  if (buffer == nullptr && capacity != 0) return null_argument("buffer");
  if (messages == nullptr && count != 0) return null_argument("messages");
  if (!c->msg) return wrong_operation("try_read_some", "a fixed-slot ring");
  return c_api::batch_reader::read(*c->msg, static_cast<std::byte*>(buffer), capacity, messages,
                                   count, done);
}

int ipcring_read_some(ipcring_consumer* c, void* buffer, size_t capacity, ipcring_message* messages,
                      size_t count, size_t* done, int64_t timeout_ns) {
  return read_waiting(c, timeout_ns, [&] {
    return ipcring_try_read_some(c, buffer, capacity, messages, count, done);
  });
}

}  // extern "C"
