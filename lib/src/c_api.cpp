// The C API (ipcring/ipcring.h) over the C++ rings.
//
// Fixed-slot rings are templates on the element type; C picks the slot size at run time. Each
// supported size N is instantiated once with a byte-array element, raw_slot<N>, and reached
// through a small virtual interface (fixed_ring, fixed_producer, fixed_consumer): one indirect
// call per operation, no allocation. Message rings need no such table.
//
// No exception leaves this file: every entry point runs inside guarded(), which turns an
// ipcring::error into the negated errc and keeps its message for ipcring_last_error().
#include "ipcring/ipcring.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include "c_api_internal.hpp"
#include "ipcring/inspect.hpp"
#include "ipcring/ipcring.hpp"
#include "open_retry.hpp"

namespace {
thread_local std::string t_last_error;
}  // namespace

namespace ipcring::c_api {

int fail(int status, const char* message) noexcept {
  try {
    t_last_error = message;
  } catch (...) {  // out of memory: keep no message rather than throw into C
    t_last_error.clear();
  }
  return status;
}
int fail(int status, const std::string& message) noexcept {
  return fail(status, message.c_str());
}

int null_argument(const char* what) noexcept {
  fail(IPCRING_E_NULL_ARGUMENT, "a required argument is NULL: ");
  try {
    t_last_error += what;
  } catch (...) {
  }
  return IPCRING_E_NULL_ARGUMENT;
}

// fixed_producer::push_within: a handle's blocking push (mpmc: its private push_within; spsc:
// its private wait for room, then a claim) with the deadline and the counted wait of the whole
// C batch, as its C++ push_all has them.
struct slot_pusher {
  template <class Slot>
  static wait_result push(mpmc_producer<Slot>& h, const Slot& s, detail::time_budget& time,
                          bool& counted) noexcept {
    return h.push_within(s, time, counted);
  }
  template <class Slot>
  static wait_result wait_room(spsc_producer<Slot>& h, detail::time_budget& time,
                               bool& counted) noexcept {
    return h.wait_room_within(time, counted);
  }
};

}  // namespace ipcring::c_api

namespace {

using namespace ipcring;
using namespace ipcring::c_api;

template <class F>
int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const error& e) {
    return fail(-static_cast<int>(e.value()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(IPCRING_E_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(IPCRING_E_INTERNAL, e.what());
  } catch (...) {
    return fail(IPCRING_E_INTERNAL, "unknown exception");
  }
}

wait_policy policy_for(ipcring_wait how) noexcept {
  switch (how) {
    case IPCRING_WAIT_SPIN:
      return wait_policy::spinning();
    case IPCRING_WAIT_YIELD:
      return wait_policy::yielding();
    default:  // IPCRING_WAIT_BLOCK, and any unknown value
      break;
  }
  return wait_policy::blocking();
}

// ---- fixed-slot rings at run-time slot sizes ----

constexpr std::size_t natural_align(std::size_t n) {
  return n % 8 == 0 ? 8 : n % 4 == 0 ? 4 : n % 2 == 0 ? 2 : 1;
}

template <std::size_t N>
struct alignas(natural_align(N)) raw_slot {
  std::byte bytes[N];
};

// The slot of an mpmc ring of raw_slot<n>: its elements are aligned to 8 or less, so the
// value sits after one 8-byte word (detail::mpmc_slot_layout). A ring whose elements are
// aligned wider has larger slots, which the C API does not carry.
constexpr std::uint64_t c_mpmc_slot_size(std::uint64_t n) {
  return (8 + n + 7) / 8 * 8;
}
static_assert(c_mpmc_slot_size(1) == detail::mpmc_slot_layout<raw_slot<1>>::size);
static_assert(c_mpmc_slot_size(24) == detail::mpmc_slot_layout<raw_slot<24>>::size);
static_assert(c_mpmc_slot_size(65536) == detail::mpmc_slot_layout<raw_slot<65536>>::size);

// The sizes ipcring.h promises.
constexpr auto k_slot_sizes = [] {
  std::array<std::size_t, 3 + 32 + 10> s{1, 2, 4};
  std::size_t i = 3;
  for (std::size_t n = 8; n <= 256; n += 8)
    s[i++] = n;
  for (std::size_t n : {384, 512, 768, 1024, 2048, 4096, 8192, 16384, 32768, 65536})
    s[i++] = n;
  return s;
}();

// spsc: zero-copy through claim/peek, so a slot is copied once.
template <class Slot>
struct spsc_fixed_producer final : fixed_producer {
  explicit spsc_fixed_producer(spsc_producer<Slot> handle) : h(std::move(handle)) {}
  bool try_push(const void* slot) noexcept override {
    const auto s = h.claim(1);
    if (s.empty()) return false;
    std::memcpy(s.data(), slot, sizeof(Slot));
    h.publish(1);
    return true;
  }
  std::size_t try_push_some(const void* slots, std::size_t n) noexcept override {
    const auto* from = static_cast<const std::byte*>(slots);
    std::size_t done = 0;
    while (done < n) {  // a claim stops at the wrap
      // After a part, claim again only if the ring has room: a claim that finds none counts
      // a full event, and a batch that took what fitted is not one (as the C++ batches).
      if (done != 0 && h.size_approx() == h.capacity()) break;
      const auto s = h.claim(n - done);
      if (s.empty()) break;
      std::memcpy(s.data(), from + done * sizeof(Slot), s.size_bytes());
      h.publish(s.size());
      done += s.size();
    }
    return done;
  }
  wait_result push(const void* slot, nanoseconds timeout) noexcept override {
    const wait_result r = h.wait_writable(1, timeout);
    if (r == wait_result::ok && !try_push(slot)) return wait_result::timeout;  // cannot happen
    return r;
  }
  wait_result push_within(const void* slot, detail::time_budget& time,
                          bool& counted) noexcept override {
    const wait_result r = slot_pusher::wait_room(h, time, counted);
    if (r == wait_result::ok && !try_push(slot)) return wait_result::timeout;  // cannot happen
    return r;
  }
  void shutdown() noexcept override { h.close(); }
  close_token closer() const noexcept override { return h.closer(); }
  void set_wait(const wait_policy& p) noexcept override { h.set_wait_policy(p); }
  std::uint32_t peer() const noexcept override { return peer_mask(h); }
  std::size_t recover() noexcept override { return 0; }  // a successor takes over
  bool corrupted() const noexcept override { return h.corrupted(); }
  spsc_producer<Slot> h;
};
template <class Slot>
struct spsc_fixed_consumer final : fixed_consumer {
  explicit spsc_fixed_consumer(spsc_consumer<Slot> handle) : h(std::move(handle)) {}
  bool try_pop(void* slot) noexcept override {
    const auto s = h.peek(1);
    if (s.empty()) return false;
    std::memcpy(slot, s.data(), sizeof(Slot));
    h.release(1);
    return true;
  }
  std::size_t try_pop_some(void* slots, std::size_t n) noexcept override {
    return take(slots, n, false);
  }
  std::size_t try_pop_more(void* slots, std::size_t n) noexcept override {
    return take(slots, n, true);
  }
  // Peeks again after a part (or, `known_first`, before the first) only if there is more: an
  // empty peek counts an empty event. The consumer freed what it read: with nothing known to
  // follow, release() defers nothing.
  std::size_t take(void* slots, std::size_t n, bool known_first) noexcept {
    auto* to = static_cast<std::byte*>(slots);
    std::size_t done = 0;
    while (done < n) {  // a peek stops at the wrap
      if ((done != 0 || known_first) && h.size_approx() == 0) break;
      const auto s = h.peek(n - done);
      if (s.empty()) break;
      std::memcpy(to + done * sizeof(Slot), s.data(), s.size_bytes());
      h.release(s.size());
      done += s.size();
    }
    return done;
  }
  wait_result pop(void* slot, nanoseconds timeout) noexcept override {
    // Waits first, as the C++ pop: this handle's own shutdown ends it at once (ipcring.h).
    const wait_result r = h.wait_readable(1, timeout);
    if (r == wait_result::ok && !try_pop(slot)) return wait_result::timeout;  // cannot happen
    return r;
  }
  void shutdown() noexcept override { h.close(); }
  close_token closer() const noexcept override { return h.closer(); }
  void set_wait(const wait_policy& p) noexcept override { h.set_wait_policy(p); }
  std::uint32_t peer() const noexcept override { return peer_mask(h); }
  std::size_t recover() noexcept override { return 0; }  // a successor takes over
  bool corrupted() const noexcept override { return h.corrupted(); }
  spsc_consumer<Slot> h;
};

// mpmc: through a local copy (the C buffer need not be aligned for Slot); batches through a
// local array of about 4 KiB (one slot, where a slot is larger).
template <class Slot>
constexpr std::size_t k_chunk_slots = sizeof(Slot) >= 4096 ? 1 : 4096 / sizeof(Slot);

template <class Slot>
struct mpmc_fixed_producer final : fixed_producer {
  explicit mpmc_fixed_producer(mpmc_producer<Slot> handle) : h(std::move(handle)) {}
  bool try_push(const void* slot) noexcept override {
    Slot s;
    std::memcpy(&s, slot, sizeof s);
    return h.try_push(s);
  }
  std::size_t try_push_some(const void* slots, std::size_t n) noexcept override {
    const auto* from = static_cast<const std::byte*>(slots);
    std::array<Slot, k_chunk_slots<Slot>> chunk;
    std::size_t done = 0;
    while (done < n) {
      const std::size_t k = std::min(chunk.size(), n - done);
      std::memcpy(chunk.data(), from + done * sizeof(Slot), k * sizeof(Slot));
      const std::size_t got = h.try_push_some(std::span<const Slot>(chunk.data(), k));
      done += got;
      if (got < k) break;
    }
    return done;
  }
  wait_result push(const void* slot, nanoseconds timeout) noexcept override {
    Slot s;
    std::memcpy(&s, slot, sizeof s);
    return h.push(s, timeout);
  }
  wait_result push_within(const void* slot, detail::time_budget& time,
                          bool& counted) noexcept override {
    Slot s;
    std::memcpy(&s, slot, sizeof s);
    return slot_pusher::push(h, s, time, counted);
  }
  void shutdown() noexcept override { h.close(); }
  close_token closer() const noexcept override { return h.closer(); }
  void set_wait(const wait_policy& p) noexcept override { h.set_wait_policy(p); }
  std::uint32_t peer() const noexcept override { return peer_mask(h); }
  std::size_t recover() noexcept override { return h.recover(); }
  bool corrupted() const noexcept override { return h.corrupted(); }
  mpmc_producer<Slot> h;
};
// GCC 12 with -fsanitize=thread cannot follow that `s` is written whenever try_pop / pop
// succeed (the copy happens inside mpmc_consumer's batch loop) and warns maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
template <class Slot>
struct mpmc_fixed_consumer final : fixed_consumer {
  explicit mpmc_fixed_consumer(mpmc_consumer<Slot> handle) : h(std::move(handle)) {}
  bool try_pop(void* slot) noexcept override {
    Slot s;
    if (!h.try_pop(s)) return false;
    std::memcpy(slot, &s, sizeof s);
    return true;
  }
  std::size_t try_pop_some(void* slots, std::size_t n) noexcept override {
    auto* to = static_cast<std::byte*>(slots);
    std::array<Slot, k_chunk_slots<Slot>> chunk;
    std::size_t done = 0;
    while (done < n) {
      // After a full chunk, look again only if a published message waits (an attempt that
      // finds nothing counts an empty event).
      if (done != 0 && !h.front_ready()) break;
      const std::size_t k = std::min(chunk.size(), n - done);
      const std::size_t got = h.try_pop_some(std::span<Slot>(chunk.data(), k));
      std::memcpy(to + done * sizeof(Slot), chunk.data(), got * sizeof(Slot));
      done += got;
      if (got < k) break;
    }
    return done;
  }
  std::size_t try_pop_more(void* slots, std::size_t n) noexcept override {
    // Only where a published message waits: an attempt that finds a claimed, unwritten ticket
    // would count an empty event the caller's one wait already counted.
    return h.front_ready() ? try_pop_some(slots, n) : 0;
  }
  wait_result pop(void* slot, nanoseconds timeout) noexcept override {
    Slot s;
    const wait_result r = h.pop(s, timeout);
    if (r == wait_result::ok) std::memcpy(slot, &s, sizeof s);
    return r;
  }
  void shutdown() noexcept override { h.close(); }
  close_token closer() const noexcept override { return h.closer(); }
  void set_wait(const wait_policy& p) noexcept override { h.set_wait_policy(p); }
  std::uint32_t peer() const noexcept override { return peer_mask(h); }
  std::size_t recover() noexcept override { return h.recover(); }
  bool corrupted() const noexcept override { return h.corrupted(); }
  mpmc_consumer<Slot> h;
};
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

template <class Ring, template <class> class Producer, template <class> class Consumer, class Slot>
struct typed_fixed_ring final : fixed_ring {
  explicit typed_fixed_ring(Ring r) : ring(std::move(r)) {}
  std::unique_ptr<fixed_producer> producer() const override {
    return std::make_unique<Producer<Slot>>(ring.producer());
  }
  std::unique_ptr<fixed_consumer> consumer() const override {
    return std::make_unique<Consumer<Slot>>(ring.consumer());
  }
  std::uint64_t capacity() const noexcept override { return ring.capacity(); }
  std::uint64_t size_approx() const noexcept override { return ring.size_approx(); }
  Ring ring;
};

template <class Slot>
std::unique_ptr<fixed_ring> make_fixed(bool create, ipcring_kind kind, const std::string& name,
                                       std::uint64_t capacity, const ring_options& opt) {
  if (kind == IPCRING_KIND_SPSC) {
    using ring_t = spsc_ring<Slot>;
    return std::make_unique<
        typed_fixed_ring<ring_t, spsc_fixed_producer, spsc_fixed_consumer, Slot>>(
        create ? ring_t::create(name, capacity, opt) : ring_t::open(name, opt));
  }
  using ring_t = mpmc_ring<Slot>;
  return std::make_unique<typed_fixed_ring<ring_t, mpmc_fixed_producer, mpmc_fixed_consumer, Slot>>(
      create ? ring_t::create(name, capacity, opt) : ring_t::open(name, opt));
}

template <std::size_t... I>
std::unique_ptr<fixed_ring> dispatch_fixed(std::index_sequence<I...>, std::uint32_t slot_size,
                                           bool create, ipcring_kind kind, const std::string& name,
                                           std::uint64_t capacity, const ring_options& opt) {
  std::unique_ptr<fixed_ring> r;
  // Exactly one size matches (the caller checked it is in the table).
  ((slot_size == k_slot_sizes[I]
        ? (void)(r = make_fixed<raw_slot<k_slot_sizes[I]>>(create, kind, name, capacity, opt))
        : void()),
   ...);
  return r;
}

bool supported_slot_size(std::uint32_t n) noexcept {
  for (std::size_t s : k_slot_sizes) {
    if (s == n) return true;
  }
  return false;
}

std::string supported_sizes_text() {
  return "1, 2, 4, a multiple of 8 up to 256, or 384, 512, 768, 1024, 2048, 4096, 8192, 16384, "
         "32768, 65536";
}

int unsupported_slot(const std::string& name, std::uint32_t slot_size) noexcept {
  try {
    return fail(IPCRING_E_UNSUPPORTED, "'" + name + "': slot_size=" + std::to_string(slot_size) +
                                           " is not carried by the C API; use " +
                                           supported_sizes_text());
  } catch (...) {
    return IPCRING_E_UNSUPPORTED;
  }
}

bool fixed_kind(ipcring_kind k) noexcept {
  return k == IPCRING_KIND_SPSC || k == IPCRING_KIND_MPMC;
}
bool msg_kind(ipcring_kind k) noexcept {
  return k == IPCRING_KIND_SPSC_MSG || k == IPCRING_KIND_MPSC_MSG;
}

}  // namespace

namespace {

// Builds a ring handle for `kind` (create or open).
std::unique_ptr<ipcring_ring> attach(bool create, ipcring_kind kind, const std::string& name,
                                     std::uint64_t capacity, std::uint32_t slot_size,
                                     const ring_options& opt) {
  auto r = std::make_unique<ipcring_ring>();
  r->kind = kind;
  if (fixed_kind(kind)) {
    r->fixed = dispatch_fixed(std::make_index_sequence<k_slot_sizes.size()>{}, slot_size, create,
                              kind, name, capacity, opt);
    r->slot_size = slot_size;
    r->capacity = r->fixed->capacity();
  } else if (kind == IPCRING_KIND_SPSC_MSG) {
    r->spsc_msg.emplace(create ? spsc_msg_ring::create(name, capacity, opt)
                               : spsc_msg_ring::open(name, opt));
    r->capacity = r->spsc_msg->capacity();
  } else {
    r->mpsc_msg.emplace(create ? mpsc_msg_ring::create(name, capacity, opt)
                               : mpsc_msg_ring::open(name, opt));
    r->capacity = r->mpsc_msg->capacity();
  }
  return r;
}

// The kind and slot size of an existing ring; waits (until `deadline`) for a creator that has
// not published `ready` yet, as open() does (detail::retry_open), and with `wait_for_name` for
// the name to appear: one deadline for both.
ring_info probe(const std::string& name, const ring_options& opt,
                std::chrono::steady_clock::time_point deadline, std::int64_t timeout_ns,
                bool wait_for_name) {
  const std::int64_t ms = timeout_ns / 1'000'000 + (timeout_ns % 1'000'000 != 0);
  detail::open_waits w;
  w.wait_for_name = wait_for_name;
  w.created_by = deadline;
  w.ready_for = nanoseconds::max();  // until `deadline`
  w.deadline = deadline;
  w.created_ms = w.ready_ms = ms;
  w.created_setting = "the timeout_ns of ipcring_open_wait or ipcring_open_ex";
  w.ready_setting = wait_for_name ? "the timeout_ns of ipcring_open_wait or ipcring_open_ex"
                                  : "ipcring_open_timeout's timeout_ns; ipcring_open waits 2 s";
  return detail::retry_open(
      w, [&](const auto&) { return detail::inspect_for("open", name, opt.map); });
}

constexpr std::uint32_t k_map_flags =
    IPCRING_FLAG_HUGE_PAGES | IPCRING_FLAG_LOCK_MEMORY | IPCRING_FLAG_NO_PREFAULT;

// The map_options `flags` ask for; IPCRING_E_INVALID_ARGUMENT for a bit outside `allowed`.
int map_flags(const char* call, const char* name, std::uint32_t flags, std::uint32_t allowed,
              map_options& m) {
  if ((flags & ~allowed) != 0) {
    char bits[16];
    std::snprintf(bits, sizeof bits, "0x%x", static_cast<unsigned>(flags & ~allowed));
    return fail(IPCRING_E_INVALID_ARGUMENT, std::string(call) + "('" + name + "'): flags " + bits +
                                                " are not IPCRING_FLAG_ values of " + call);
  }
  m.huge_pages = (flags & IPCRING_FLAG_HUGE_PAGES) != 0;
  m.lock_memory = (flags & IPCRING_FLAG_LOCK_MEMORY) != 0;
  m.prefault = (flags & IPCRING_FLAG_NO_PREFAULT) == 0;
  if ((flags & IPCRING_FLAG_GROUP_ACCESS) != 0) m.permissions = 0660;
  m.allow_foreign_owner = (flags & IPCRING_FLAG_ALLOW_FOREIGN_OWNER) != 0;
  return IPCRING_OK;
}

// ipcring_open_ex, and so ipcring_open_timeout and ipcring_open_wait.
int open_ring(const char* name, ipcring_kind kind, uint32_t slot_size, int64_t timeout_ns,
              std::uint32_t flags, ipcring_ring** out) {
  return guarded([&] {
    if (name == nullptr) return null_argument("name");
    if (out == nullptr) return null_argument("out");
    *out = nullptr;
    if (kind != IPCRING_KIND_ANY && !fixed_kind(kind) && !msg_kind(kind)) {
      return fail(IPCRING_E_INVALID_ARGUMENT, "ipcring_open('" + std::string(name) +
                                                  "'): kind=" + std::to_string(kind) +
                                                  " is not a ring kind (0-4)");
    }
    ring_options opt;
    opt.any_type = true;
    // The attach's options; the probe takes only what open_to_look keeps of them (the owner).
    if (const int e = map_flags(
            "ipcring_open_ex", name, flags,
            k_map_flags | IPCRING_FLAG_WAIT_FOR_CREATION | IPCRING_FLAG_ALLOW_FOREIGN_OWNER,
            opt.map);
        e != IPCRING_OK) {
      return e;
    }
    const bool wait_for_name = (flags & IPCRING_FLAG_WAIT_FOR_CREATION) != 0;
    // One deadline for the whole open: the probe's wait, then the attach's (ready by then).
    const auto deadline =
        detail::deadline_after(std::chrono::steady_clock::now(), to_timeout(timeout_ns));
    const ring_info info = probe(name, opt, deadline, timeout_ns, wait_for_name);
    const auto found = static_cast<ipcring_kind>(info.kind);
    if (kind != IPCRING_KIND_ANY && kind != found) {
      return fail(IPCRING_E_KIND_MISMATCH,
                  "ipcring_open('" + std::string(name) + "'): ring kind expected " +
                      to_string(static_cast<ring_kind>(kind)) + ", found " + to_string(info.kind));
    }
    std::uint32_t size = 0;
    if (fixed_kind(found)) {
      // The element is what C copies (an mpmc slot also holds a sequence word).
      size = info.elem_size;
      if (slot_size != 0 && slot_size != size) {
        return fail(IPCRING_E_TYPE_MISMATCH,
                    "ipcring_open('" + std::string(name) + "'): slot_size expected " +
                        std::to_string(slot_size) + ", found " + std::to_string(size));
      }
      if (!supported_slot_size(size)) return unsupported_slot(name, size);
      if (found == IPCRING_KIND_MPMC && info.slot_size != c_mpmc_slot_size(size)) {
        return fail(IPCRING_E_UNSUPPORTED,
                    "ipcring_open('" + std::string(name) + "'): its " + std::to_string(size) +
                        "-byte elements are aligned to more than 8 bytes (slots of " +
                        std::to_string(info.slot_size) + " bytes), which the C API does not carry");
      }
    } else if (slot_size != 0) {
      return fail(IPCRING_E_TYPE_MISMATCH,
                  "ipcring_open('" + std::string(name) + "'): slot_size expected " +
                      std::to_string(slot_size) + ", found a " + to_string(info.kind) +
                      " ring, which has no slots (pass 0)");
    }
    if (timeout_ns < 0) {
      opt.open_timeout = std::chrono::milliseconds::max();
    } else {
      const auto left = deadline - std::chrono::steady_clock::now();
      opt.open_timeout = std::max(std::chrono::milliseconds::zero(),
                                  std::chrono::ceil<std::chrono::milliseconds>(left));
    }
    // Removed between the probe and the attach: not_found, even for ipcring_open_wait (a ring
    // made again under the name may be of another kind than the one just checked).
    *out = attach(false, found, name, 0, size, opt).release();
    return static_cast<int>(IPCRING_OK);
  });
}

}  // namespace

extern "C" {

const char* ipcring_strerror(int status) {
  switch (status) {
    case IPCRING_OK:
      return "ok";
    case IPCRING_FULL:
      return "full";
    case IPCRING_EMPTY:
      return "empty";
    case IPCRING_TIMEOUT:
      return "timeout";
    case IPCRING_CLOSED:
      return "closed";
    case IPCRING_PEER_DEAD:
      return "peer_dead";
    case IPCRING_TOO_LONG:
      return "too_long";
    case IPCRING_BAD_TYPE:
      return "bad_type";
    case IPCRING_BUFFER_SMALL:
      return "buffer_small";
    case IPCRING_CORRUPTED:
      return "corrupted";
    case IPCRING_E_NULL_ARGUMENT:
      return "null_argument";
    case IPCRING_E_WRONG_OPERATION:
      return "wrong_operation";
    case IPCRING_E_UNSUPPORTED:
      return "unsupported";
    case IPCRING_E_NO_MEMORY:
      return "no_memory";
    case IPCRING_E_INTERNAL:
      return "internal";
    default:
      break;
  }
  if (status <= IPCRING_E_INVALID_NAME && status >= IPCRING_E_TOO_MANY_ENDPOINTS) {
    return to_string(static_cast<errc>(-status));
  }
  return "unknown";
}

const char* ipcring_last_error(void) {
  return t_last_error.c_str();
}

uint32_t ipcring_layout_version(void) {
  return k_layout_version;
}

int ipcring_create(const char* name, ipcring_kind kind, uint64_t capacity, uint32_t slot_size,
                   const char* type_name, ipcring_ring** out) {
  return ipcring_create_ex(name, kind, capacity, slot_size, type_name, 0, out);
}

int ipcring_create_ex(const char* name, ipcring_kind kind, uint64_t capacity, uint32_t slot_size,
                      const char* type_name, uint32_t flags, ipcring_ring** out) {
  return guarded([&] {
    if (name == nullptr) return null_argument("name");
    if (out == nullptr) return null_argument("out");
    *out = nullptr;
    ring_options opt;
    if (const int e = map_flags("ipcring_create_ex", name, flags,
                                k_map_flags | IPCRING_FLAG_GROUP_ACCESS, opt.map);
        e != IPCRING_OK) {
      return e;
    }
    if (!fixed_kind(kind) && !msg_kind(kind)) {
      return fail(IPCRING_E_INVALID_ARGUMENT, "ipcring_create('" + std::string(name) +
                                                  "'): kind=" + std::to_string(kind) +
                                                  " is not a ring kind (1-4)");
    }
    if (msg_kind(kind) && slot_size != 0) {
      return fail(IPCRING_E_INVALID_ARGUMENT,
                  "ipcring_create('" + std::string(name) +
                      "'): message rings have no slot size; pass 0, not " +
                      std::to_string(slot_size));
    }
    if (fixed_kind(kind) && !supported_slot_size(slot_size))
      return unsupported_slot(name, slot_size);
    if (type_name != nullptr && *type_name == '\0') type_name = nullptr;  // "": none given
    if (msg_kind(kind) && type_name != nullptr && std::string_view(type_name) != "bytes") {
      return fail(IPCRING_E_INVALID_ARGUMENT,
                  "ipcring_create('" + std::string(name) + "'): type_name='" + type_name +
                      "': a message ring records \"bytes\" (each message carries its own "
                      "uint32 type); pass NULL");
    }
    std::string type;
    if (type_name != nullptr) {
      type = type_name;
    } else if (fixed_kind(kind)) {
      type = "bytes<" + std::to_string(slot_size) + ">";
    }
    if (fixed_kind(kind)) opt.type_name = type;
    *out = attach(true, kind, name, capacity, slot_size, opt).release();
    return static_cast<int>(IPCRING_OK);
  });
}

int ipcring_open(const char* name, ipcring_kind kind, uint32_t slot_size, ipcring_ring** out) {
  const std::chrono::nanoseconds wait = ring_options{}.open_timeout;
  return ipcring_open_timeout(name, kind, slot_size, wait.count(), out);
}

int ipcring_open_timeout(const char* name, ipcring_kind kind, uint32_t slot_size,
                         int64_t timeout_ns, ipcring_ring** out) {
  return open_ring(name, kind, slot_size, timeout_ns, 0, out);
}

int ipcring_open_wait(const char* name, ipcring_kind kind, uint32_t slot_size, int64_t timeout_ns,
                      ipcring_ring** out) {
  return open_ring(name, kind, slot_size, timeout_ns, IPCRING_FLAG_WAIT_FOR_CREATION, out);
}

int ipcring_open_ex(const char* name, ipcring_kind kind, uint32_t slot_size, int64_t timeout_ns,
                    uint32_t flags, ipcring_ring** out) {
  return open_ring(name, kind, slot_size, timeout_ns, flags, out);
}

void ipcring_close(ipcring_ring* ring) {
  delete ring;
}

int ipcring_remove(const char* name) {
  return guarded([&] {
    if (name == nullptr) return null_argument("name");
    validate_name(name);
#ifdef _WIN32
    return fail(IPCRING_E_NOT_FOUND, "'" + std::string(name) +
                                         "': nothing to remove on Windows, where a named "
                                         "mapping goes with its last handle");
#else
    errno = 0;
    if (!ipcring::remove(name)) {
      // remove() leaves the unlink's errno: a segment this user may not delete (another
      // user's, in the sticky /dev/shm) is not one that is missing.
      const int e = errno;
      if (e == ENOENT) return fail(IPCRING_E_NOT_FOUND, "'" + std::string(name) + "' not found");
      return fail(e == EACCES || e == EPERM ? IPCRING_E_PERMISSION_DENIED : IPCRING_E_SYSTEM,
                  "'" + std::string(name) + "' not removed: " + std::strerror(e));
    }
#endif
    return static_cast<int>(IPCRING_OK);
  });
}

int ipcring_remove_if_stale(const char* name, int* removed) {
  if (removed != nullptr) *removed = 0;
  return guarded([&] {
    if (name == nullptr) return null_argument("name");
    validate_name(name);
    if (ipcring::remove_if_stale(name) && removed != nullptr) *removed = 1;
    return static_cast<int>(IPCRING_OK);
  });
}

ipcring_kind ipcring_ring_kind(const ipcring_ring* ring) {
  return ring == nullptr ? IPCRING_KIND_ANY : ring->kind;
}
uint64_t ipcring_capacity(const ipcring_ring* ring) {
  return ring == nullptr ? 0 : ring->capacity;
}
uint32_t ipcring_slot_size(const ipcring_ring* ring) {
  return ring == nullptr ? 0 : ring->slot_size;
}
uint64_t ipcring_max_message(const ipcring_ring* ring) {
  return ring == nullptr || !msg_kind(ring->kind) ? 0 : max_message_for(ring->capacity);
}

uint64_t ipcring_size_approx(const ipcring_ring* ring) {
  if (ring == nullptr) return 0;
  if (ring->fixed) return ring->fixed->size_approx();
  return ring->spsc_msg ? ring->spsc_msg->size_approx() : ring->mpsc_msg->size_approx();
}

int ipcring_producer_attach(const ipcring_ring* ring, ipcring_producer** out) {
  return guarded([&] {
    if (ring == nullptr) return null_argument("ring");
    if (out == nullptr) return null_argument("out");
    *out = nullptr;
    auto p = std::make_unique<ipcring_producer>();
    if (ring->fixed) p->fixed = ring->fixed->producer();
    p->slot_size = ring->slot_size;
    if (ring->spsc_msg) p->spsc_msg.emplace(ring->spsc_msg->producer());
    if (ring->mpsc_msg) p->mpsc_msg.emplace(ring->mpsc_msg->producer());
    p->closer = p->fixed      ? p->fixed->closer()
                : p->spsc_msg ? p->spsc_msg->closer()
                              : p->mpsc_msg->closer();
    *out = p.release();
    return static_cast<int>(IPCRING_OK);
  });
}

int ipcring_consumer_attach(const ipcring_ring* ring, ipcring_consumer** out) {
  return guarded([&] {
    if (ring == nullptr) return null_argument("ring");
    if (out == nullptr) return null_argument("out");
    *out = nullptr;
    auto c = std::make_unique<ipcring_consumer>();
    if (ring->fixed) c->fixed = ring->fixed->consumer();
    c->slot_size = ring->slot_size;
    if (ring->spsc_msg) c->msg.emplace(ring->spsc_msg->consumer());
    if (ring->mpsc_msg) c->msg.emplace(ring->mpsc_msg->consumer());
    c->closer = c->fixed ? c->fixed->closer() : c->msg->closer();
    *out = c.release();
    return static_cast<int>(IPCRING_OK);
  });
}

void ipcring_producer_free(ipcring_producer* p) {
  delete p;
}
void ipcring_consumer_free(ipcring_consumer* c) {
  delete c;
}

void ipcring_producer_shutdown(ipcring_producer* p) {
  if (p == nullptr) return;
  if (p->fixed) p->fixed->shutdown();
  if (p->spsc_msg) p->spsc_msg->close();
  if (p->mpsc_msg) p->mpsc_msg->close();
}
void ipcring_consumer_shutdown(ipcring_consumer* c) {
  if (c == nullptr) return;
  if (c->fixed) c->fixed->shutdown();
  if (c->msg) c->msg->close();
}

int ipcring_producer_peer(const ipcring_producer* p, uint32_t* state) {
  if (state != nullptr) *state = 0;
  if (p == nullptr) return null_argument("producer");
  if (state == nullptr) return null_argument("state");
  if (p->fixed) *state = p->fixed->peer();
  if (p->spsc_msg) *state = peer_mask(*p->spsc_msg);
  if (p->mpsc_msg) *state = peer_mask(*p->mpsc_msg);
  return IPCRING_OK;
}
int ipcring_consumer_peer(const ipcring_consumer* c, uint32_t* state) {
  if (state != nullptr) *state = 0;
  if (c == nullptr) return null_argument("consumer");
  if (state == nullptr) return null_argument("state");
  if (c->fixed) *state = c->fixed->peer();
  if (c->msg) *state = peer_mask(*c->msg);
  return IPCRING_OK;
}

void ipcring_producer_interrupt(const ipcring_producer* p) {
  if (p != nullptr) p->closer.close();  // async-signal-safe (close_token)
}
void ipcring_consumer_interrupt(const ipcring_consumer* c) {
  if (c != nullptr) c->closer.close();
}

void ipcring_producer_set_wait(ipcring_producer* p, ipcring_wait how) {
  if (p == nullptr) return;
  const wait_policy w = policy_for(how);
  if (p->fixed) p->fixed->set_wait(w);
  if (p->spsc_msg) p->spsc_msg->set_wait_policy(w);
  if (p->mpsc_msg) p->mpsc_msg->set_wait_policy(w);
}
void ipcring_consumer_set_wait(ipcring_consumer* c, ipcring_wait how) {
  if (c == nullptr) return;
  const wait_policy w = policy_for(how);
  if (c->fixed) c->fixed->set_wait(w);
  if (c->msg) c->msg->set_wait_policy(w);
}

int ipcring_producer_recover(ipcring_producer* p, size_t* repaired) {
  if (repaired != nullptr) *repaired = 0;
  if (p == nullptr) return null_argument("producer");
  // mpsc_msg producers cannot repair: a dead producer's record sits at the consumer's read
  // position, and only the consumer may turn it into padding.
  const std::size_t n = p->fixed ? p->fixed->recover() : 0;
  if (repaired != nullptr) *repaired = n;
  return IPCRING_OK;
}
int ipcring_consumer_recover(ipcring_consumer* c, size_t* repaired) {
  if (repaired != nullptr) *repaired = 0;
  if (c == nullptr) return null_argument("consumer");
  const std::size_t n = c->fixed ? c->fixed->recover() : c->msg ? c->msg->recover() : 0;
  if (repaired != nullptr) *repaired = n;
  return IPCRING_OK;
}

// ---- fixed-slot operations (hot path: no allocation, no exception) ----

int ipcring_try_push(ipcring_producer* p, const void* slot) {
  if (p == nullptr || slot == nullptr) return null_argument(p == nullptr ? "producer" : "slot");
  if (!p->fixed) return fail(IPCRING_E_WRONG_OPERATION, "try_push on a message ring");
  return p->fixed->try_push(slot) ? IPCRING_OK : or_corrupted(IPCRING_FULL, *p->fixed);
}

int ipcring_push(ipcring_producer* p, const void* slot, int64_t timeout_ns) {
  if (p == nullptr || slot == nullptr) return null_argument(p == nullptr ? "producer" : "slot");
  if (!p->fixed) return fail(IPCRING_E_WRONG_OPERATION, "push on a message ring");
  return or_corrupted(from(p->fixed->push(slot, to_timeout(timeout_ns))), *p->fixed);
}

int ipcring_try_pop(ipcring_consumer* c, void* slot) {
  if (c == nullptr || slot == nullptr) return null_argument(c == nullptr ? "consumer" : "slot");
  if (!c->fixed) return fail(IPCRING_E_WRONG_OPERATION, "try_pop on a message ring");
  return c->fixed->try_pop(slot) ? IPCRING_OK : or_corrupted(IPCRING_EMPTY, *c->fixed);
}

int ipcring_pop(ipcring_consumer* c, void* slot, int64_t timeout_ns) {
  if (c == nullptr || slot == nullptr) return null_argument(c == nullptr ? "consumer" : "slot");
  if (!c->fixed) return fail(IPCRING_E_WRONG_OPERATION, "pop on a message ring");
  return or_corrupted(from(c->fixed->pop(slot, to_timeout(timeout_ns))), *c->fixed);
}

// ---- message operations ----

int ipcring_try_write(ipcring_producer* p, uint32_t type, const void* data, size_t length) {
  if (p == nullptr) return null_argument("producer");
  if (data == nullptr && length != 0) return null_argument("data");
  const std::span<const std::byte> bytes(static_cast<const std::byte*>(data), length);
  if (p->spsc_msg) return from(p->spsc_msg->try_write(type, bytes));
  if (p->mpsc_msg) return from(p->mpsc_msg->try_write(type, bytes));
  return fail(IPCRING_E_WRONG_OPERATION, "try_write on a fixed-slot ring");
}

int ipcring_write(ipcring_producer* p, uint32_t type, const void* data, size_t length,
                  int64_t timeout_ns) {
  if (p == nullptr) return null_argument("producer");
  if (data == nullptr && length != 0) return null_argument("data");
  const std::span<const std::byte> bytes(static_cast<const std::byte*>(data), length);
  msg_status s = msg_status::ok;
  wait_result r{};
  if (p->spsc_msg) {
    r = p->spsc_msg->write(type, bytes, to_timeout(timeout_ns), &s);
  } else if (p->mpsc_msg) {
    r = p->mpsc_msg->write(type, bytes, to_timeout(timeout_ns), &s);
  } else {
    return fail(IPCRING_E_WRONG_OPERATION, "write on a fixed-slot ring");
  }
  return r == wait_result::ok ? from(s) : from(r);
}

int ipcring_try_read(ipcring_consumer* c, void* buffer, size_t capacity, uint32_t* type,
                     size_t* length) {
  if (c == nullptr) return null_argument("consumer");
  if (buffer == nullptr && capacity != 0) return null_argument("buffer");
  if (!c->msg) return fail(IPCRING_E_WRONG_OPERATION, "try_read on a fixed-slot ring");
  const read_result r = c->msg->try_read({static_cast<std::byte*>(buffer), capacity});
  if (type != nullptr) *type = r.type;
  if (length != nullptr) *length = r.size;
  return from(r.status);
}

int ipcring_read(ipcring_consumer* c, void* buffer, size_t capacity, uint32_t* type, size_t* length,
                 int64_t timeout_ns) {
  if (c == nullptr) return null_argument("consumer");
  if (buffer == nullptr && capacity != 0) return null_argument("buffer");
  if (!c->msg) return fail(IPCRING_E_WRONG_OPERATION, "read on a fixed-slot ring");
  // As the C++ single blocking calls (pop, write): this handle's own shutdown ends a single
  // read at once (ipcring.h).
  // One look (no wait), which also says closed once the producers closed and the ring is
  // drained.
  if (c->msg->wait_readable(nanoseconds::zero()) == wait_result::closed) {
    if (type != nullptr) *type = 0;  // as every other outcome sets them
    if (length != nullptr) *length = 0;
    return IPCRING_CLOSED;
  }
  return read_waiting(c, timeout_ns,
                      [&] { return ipcring_try_read(c, buffer, capacity, type, length); });
}

}  // extern "C"
