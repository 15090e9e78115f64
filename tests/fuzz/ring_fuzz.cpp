// libFuzzer target: the input is the content of a ring segment, as a hostile or buggy process
// could have written it. Looking at it, opening it and using it must never read or write
// outside the bytes, hang or crash: every call either works or reports an error / "corrupted" /
// nothing to do. The first byte picks the ring kind (its value mod 3), whether the fixed-slot
// rings are opened with the element type the header names (bit 2, as the C API opens them),
// whether a hostile peer writes the segment between the calls (bit 3), and whether the C API
// opens it by name instead (bit 4: any kind, with the slot size the header names); the rest
// are the segment bytes.
//
// The segment is copied into a buffer of exactly the size its header asks for (total_size,
// when the input holds that much), so AddressSanitizer sees a read past the ring, not slack
// of a longer input; every span the rings hand out is checked against the data area. Through
// the C API the bytes are a named segment in /dev/shm instead, of that size (a read past it
// within its last page is not seen there); every message a read copies out is checked against
// the caller's buffer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipcring/ipcring.h"
#include "ipcring/ipcring.hpp"

namespace {

using u64 = std::uint64_t;

struct aligned_copy {
  aligned_copy(const std::uint8_t* data, std::size_t size)
      : n(size),
        p(static_cast<std::byte*>(
            ::operator new (std::max<std::size_t>(size, 1), std::align_val_t{4096}))) {
    std::memcpy(p, data, size);
  }
  ~aligned_copy() { ::operator delete (p, std::align_val_t{4096}); }
  aligned_copy(const aligned_copy&) = delete;
  aligned_copy& operator=(const aligned_copy&) = delete;
  std::span<std::byte> span() const { return {p, n}; }
  std::size_t n;
  std::byte* p;
};

// How many of the input's bytes the ring is: total_size from the header when the input holds
// that much (the rest would be slack a ring never uses), else all of them.
std::size_t ring_bytes(const std::uint8_t* data, std::size_t size) {
  u64 total = 0;
  constexpr std::size_t at = offsetof(ipcring::segment_header, total_size);
  if (size < at + sizeof total) return size;
  std::memcpy(&total, data + at, sizeof total);
  return total >= sizeof(ipcring::segment_header) && total <= size ? static_cast<std::size_t>(total)
                                                                   : size;
}

// Fails the run: a call broke its contract (`what` says how).
[[noreturn]] void fail(const char* what, u64 got, u64 limit) {
  std::fprintf(stderr, "ring_fuzz: %s: %llu, more than %llu\n", what,
               static_cast<unsigned long long>(got), static_cast<unsigned long long>(limit));
  std::abort();
}
void expect_at_most(const char* what, u64 got, u64 limit) {
  if (got > limit) fail(what, got, limit);
}

// A span a ring handed out must lie in the segment's data area (after the header and control
// blocks): anything else is a read or write the ring had no business making.
void expect_in_data(std::span<const std::byte> seg, const void* p, std::size_t bytes) {
  if (bytes == 0) return;
  u64 data_offset = 0;
  std::memcpy(&data_offset, seg.data() + offsetof(ipcring::segment_header, data_offset),
              sizeof data_offset);
  const auto* b = static_cast<const std::byte*>(p);
  if (b < seg.data() + data_offset || b + bytes > seg.data() + seg.size()) {
    std::fprintf(stderr, "ring_fuzz: a span of %zu bytes at offset %td is outside the data area\n",
                 bytes, b - seg.data());
    std::abort();
  }
}

// A hostile or buggy peer that writes the segment while the rings use it: between calls it
// stores a word at an 8-byte aligned offset past the header, chosen (with the value) by a
// generator seeded from the input, so a run repeats. The values lean towards what breaks
// rings: small numbers, a neighbour's value plus or minus a little, negative lengths.
class hostile_peer {
 public:
  hostile_peer(std::span<std::byte> seg, const std::uint8_t* data, std::size_t size)
      : seg_(seg), state_(0x9e3779b97f4a7c15ull ^ size) {
    for (std::size_t i = 0; i < size; ++i)
      state_ = (state_ ^ data[i]) * 0x100000001b3ull;
  }
  void poke() noexcept {
    constexpr std::size_t first = sizeof(ipcring::segment_header);
    if (seg_.size() < first + 8) return;
    // Half of the writes go to the control blocks (indices, wait words, endpoint records:
    // between the header and data_offset, as the header says now), the other half anywhere.
    const std::size_t words = (seg_.size() - first) / 8;
    u64 data_offset = 0;
    std::memcpy(&data_offset, seg_.data() + offsetof(ipcring::segment_header, data_offset),
                sizeof data_offset);
    const std::size_t control_words =
        data_offset > first + 8 && data_offset <= seg_.size() ? (data_offset - first) / 8 : words;
    std::byte* at =
        seg_.data() + first + 8 * (next() % ((next() & 1) != 0 ? control_words : words));
    u64 v = 0;
    std::memcpy(&v, at, sizeof v);
    switch (next() % 5) {
      case 0:
        v = next() % 64;
        break;  // a small number
      case 1:
        v += next() % 17 - 8;
        break;  // the old value, a little off
      case 2:
        v = next();
        break;  // anything
      case 3:
        v = (v & ~u64{0xffffffff}) | 0xfffffff8u;
        break;  // a negative 32-bit length
      default:
        v ^= u64{1} << (next() % 64);
        break;  // one bit flipped
    }
    std::memcpy(at, &v, sizeof v);
  }

 private:
  u64 next() noexcept {  // splitmix64
    u64 z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::span<std::byte> seg_;
  u64 state_;
};

ipcring::ring_options fast_open(bool any_type) {
  ipcring::ring_options o;
  o.open_timeout = std::chrono::milliseconds(0);  // never wait for `ready`
  o.any_type = any_type;
  return o;
}

template <class Fn>
void guarded(Fn&& fn) {
  try {
    fn();
  } catch (const ipcring::error&) {
    // a clear setup error is a correct answer to a corrupt segment
  }
}

void fixed_rings(std::span<std::byte> seg, bool any_type, hostile_peer* peer) {
  const auto poke = [&] {
    if (peer != nullptr) peer->poke();
  };
  guarded([&] {
    auto ring = ipcring::spsc_ring<u64>::open_in(seg, fast_open(any_type));
    guarded([&] {
      auto rx = ring.consumer(ipcring::wait_policy::spinning());
      u64 v = 0;
      u64 batch[5];
      for (int i = 0; i < 8; ++i) {
        (void)rx.try_pop(v);
        poke();
      }
      expect_at_most("spsc try_pop_some", rx.try_pop_some(batch), 5);
      poke();
      (void)rx.try_pop_all(std::span(batch).first(3));
      poke();
      auto p = rx.peek(7);
      expect_at_most("spsc peek", p.size(), 7);
      expect_in_data(seg, p.data(), p.size_bytes());
      poke();
      for (const u64& x : p)
        v ^= x;
      rx.release(p.size());
      poke();
      (void)rx.pop(v, std::chrono::nanoseconds(1));
    });
    guarded([&] {
      auto tx = ring.producer(ipcring::wait_policy::spinning());
      for (u64 i = 0; i < 8; ++i) {
        (void)tx.try_push(i);
        poke();
      }
      const u64 batch[5] = {1, 2, 3, 4, 5};
      expect_at_most("spsc try_push_some", tx.try_push_some(batch), 5);
      poke();
      (void)tx.try_push_all(std::span(batch).first(3));
      poke();
      auto c = tx.claim(5);
      expect_at_most("spsc claim", c.size(), 5);
      expect_in_data(seg, c.data(), c.size_bytes());
      poke();
      for (u64& x : c)
        x = 1;
      tx.publish(c.size());
    });
  });
  guarded([&] {
    auto ring = ipcring::mpmc_ring<u64>::open_in(seg, fast_open(any_type));
    guarded([&] {
      auto rx = ring.consumer(ipcring::wait_policy::spinning());
      (void)rx.recover();  // dead endpoints' claims, as the records name them
      u64 v = 0;
      u64 batch[5];
      for (int i = 0; i < 8; ++i) {
        (void)rx.try_pop(v);
        poke();
      }
      expect_at_most("mpmc try_pop_some", rx.try_pop_some(batch), 5);
      poke();
      (void)rx.try_pop_all(std::span(batch).first(3));  // skipped tickets, as found
      poke();
      (void)rx.pop(v, std::chrono::nanoseconds(1));
      poke();
      (void)rx.recover();
    });
    guarded([&] {
      auto tx = ring.producer(ipcring::wait_policy::spinning());
      (void)tx.recover();
      for (u64 i = 0; i < 8; ++i) {
        (void)tx.try_push(i);
        poke();
      }
      const u64 batch[5] = {1, 2, 3, 4, 5};
      expect_at_most("mpmc try_push_some", tx.try_push_some(batch), 5);
      poke();
      (void)tx.try_push_all(std::span(batch).first(3));
      poke();
    });
  });
}

template <class Ring>
void msg_ring(std::span<std::byte> seg, hostile_peer* peer) {
  const auto poke = [&] {
    if (peer != nullptr) peer->poke();
  };
  guarded([&] {
    auto ring = Ring::open_in(seg, fast_open(false));
    guarded([&] {
      auto rx = ring.consumer(ipcring::wait_policy::spinning());
      (void)rx.recover();  // mpsc_msg: pads dead producers' claims, as the records name them
      u64 sum = 0;
      rx.read(
          [&](std::uint32_t t, std::span<const std::byte> m) {
            expect_in_data(seg, m.data(), m.size());
            sum += t;
            for (std::byte b : m)
              sum += static_cast<u64>(b);  // touch every byte handed out
          },
          64);
      poke();
      std::vector<std::byte> buf(64);  // exactly: a copy past it is a heap overflow
      const ipcring::read_result one = rx.try_read(buf);
      if (one.status == ipcring::msg_status::ok) expect_at_most("try_read size", one.size, 64);
      poke();
      std::vector<std::byte> many(256);
      ipcring::read_result out[8];
      const std::size_t got = rx.try_read_some(many, out);
      expect_at_most("try_read_some", got, 8);
      u64 at = 0;  // each message at the next 8-byte offset: all of them inside `many`
      for (std::size_t i = 0; i < got; ++i) {
        expect_at_most("try_read_some offset + size", at + out[i].size, many.size());
        at = (at + out[i].size + 7) & ~u64{7};
      }
      poke();
      ipcring::wait_result w = ipcring::wait_result::ok;
      (void)rx.read_wait(
          [&](std::uint32_t, std::span<const std::byte> m) {
            expect_in_data(seg, m.data(), m.size());
          },
          4, std::chrono::nanoseconds(1), &w);
      poke();
      (void)rx.recover();
    });
    guarded([&] {
      auto tx = ring.producer(ipcring::wait_policy::spinning());
      const std::byte m[40]{};
      for (int i = 0; i < 8; ++i) {
        (void)tx.try_write(1, std::span(m).first(static_cast<std::size_t>(i * 5)));
        poke();
      }
      const std::span<const std::byte> batch[3] = {std::span(m).first(8), std::span(m).first(0),
                                                   std::span(m)};
      (void)tx.try_write_some(2, batch);
      poke();
      auto a = tx.try_claim(4, 16);
      expect_in_data(seg, a.bytes().data(), a.bytes().size());
      poke();
      a.abort();  // padding over the reservation, where it still holds
      poke();
      auto c = tx.try_claim(3, 24);
      expect_in_data(seg, c.bytes().data(), c.bytes().size());
      poke();
      if (!c.bytes().empty()) std::memset(c.bytes().data(), 7, c.bytes().size());
      c.commit();
      poke();
      auto d = tx.try_claim(3, 40);  // committed shorter: the rest of it padding
      expect_in_data(seg, d.bytes().data(), d.bytes().size());
      poke();
      if (!d.bytes().empty()) std::memset(d.bytes().data(), 9, 5);
      d.commit(5);
    });
  });
}

// Fails the run when a message a C read reported lies outside the caller's buffer.
void expect_in_buffer(const void* buffer, std::size_t capacity, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(buffer);
  const auto* m = static_cast<const std::byte*>(p);
  if (n > capacity || (n != 0 && (m < b || m + n > b + capacity))) {
    std::fprintf(stderr,
                 "ring_fuzz: a C read reported %zu bytes at offset %td of a %zu-byte buffer\n", n,
                 m - b, capacity);
    std::abort();
  }
}

// The C API's whole path for one segment: ipcring_open_timeout by name (any kind, the slot size the
// header names: the raw slot sizes the C API carries, as far as a ring of them fits in an
// input of -max_len bytes, 16 KiB in ctest, so not the largest), then each side's single and
// batch calls (c_api.cpp, c_api_batch.cpp), the hostile peer writing between them.
void c_api(const std::byte* bytes, std::size_t n, bool hostile, const std::uint8_t* data,
           std::size_t size) {
  const std::string name = "ipcring-fuzz-" + std::to_string(::getpid());
  const std::string path = "/" + name;
  // A leftover of a killed run with this pid is this process's name: remove it first.
  ::shm_unlink(path.c_str());
  const int fd = ::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {  // the machine's fault, not the library's: this input skips the C API
    std::perror("ring_fuzz: shm_open (the C API's path is skipped)");
    return;
  }
  void* map = ::ftruncate(fd, static_cast<off_t>(n)) == 0
                  ? ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
  ::close(fd);
  if (map == MAP_FAILED) {
    ::shm_unlink(path.c_str());
    std::perror("ring_fuzz: sizing or mapping the segment (the C API's path is skipped)");
    return;
  }
  std::memcpy(map, bytes, n);
  const std::span<std::byte> seg(static_cast<std::byte*>(map), n);
  hostile_peer peer(seg, data, size);
  const auto poke = [&] {
    if (hostile) peer.poke();
  };
  ipcring_ring* ring = nullptr;
  // No wait for a segment that reads as not ready or too small (a creator still making it, for
  // ipcring_open, which waits up to 2 s for one): nothing here would change it.
  const int opened = ipcring_open_timeout(name.c_str(), IPCRING_KIND_ANY, 0, 0, &ring);
  if (opened == IPCRING_OK) {
    // Every buffer is exactly as large as the call is told (a heap block of its own): a copy
    // past it is a heap overflow AddressSanitizer reports.
    const std::size_t slot = ipcring_slot_size(ring);
    const auto bytes_of = [](std::size_t k) { return std::vector<std::byte>(k, std::byte{5}); };
    ipcring_message got[8];
    std::size_t done = 0;
    std::uint32_t type = 0;
    std::size_t length = 0;
    ipcring_consumer* rx = nullptr;
    if (ipcring_consumer_attach(ring, &rx) == IPCRING_OK) {
      ipcring_consumer_set_wait(rx, IPCRING_WAIT_SPIN);
      (void)ipcring_consumer_recover(rx, &done);
      poke();
      if (slot != 0) {
        for (int i = 0; i < 4; ++i) {
          auto one = bytes_of(slot);
          (void)ipcring_try_pop(rx, one.data());
          poke();
        }
        auto five = bytes_of(5 * slot);
        if (ipcring_try_pop_some(rx, five.data(), 5, &done) == IPCRING_OK) {
          expect_at_most("ipcring_try_pop_some", done, 5);
        }
        poke();
        auto three = bytes_of(3 * slot);
        if (ipcring_pop_some(rx, three.data(), 3, &done, 1) == IPCRING_OK) {
          expect_at_most("ipcring_pop_some", done, 3);
        }
        poke();
        auto one = bytes_of(slot);
        (void)ipcring_pop(rx, one.data(), 1);
      } else {
        for (int i = 0; i < 4; ++i) {
          const std::size_t cap = 16 * static_cast<std::size_t>(i);  // 0: too small for any
          auto buf = bytes_of(cap);
          if (ipcring_try_read(rx, buf.data(), cap, &type, &length) == IPCRING_OK) {
            expect_in_buffer(buf.data(), cap, buf.data(), length);
          }
          poke();
        }
        const std::size_t cap = 300;
        auto buf = bytes_of(cap);
        if (ipcring_try_read_some(rx, buf.data(), cap, got, 8, &done) == IPCRING_OK) {
          expect_at_most("ipcring_try_read_some", done, 8);
          for (std::size_t i = 0; i < done; ++i)
            expect_in_buffer(buf.data(), cap, got[i].data, got[i].length);
        }
        poke();
        if (ipcring_read_some(rx, buf.data(), cap, got, 3, &done, 1) == IPCRING_OK) {
          expect_at_most("ipcring_read_some", done, 3);
          for (std::size_t i = 0; i < done; ++i)
            expect_in_buffer(buf.data(), cap, got[i].data, got[i].length);
        }
        poke();
        auto small = bytes_of(64);
        if (ipcring_read(rx, small.data(), 64, &type, &length, 1) == IPCRING_OK) {
          expect_in_buffer(small.data(), 64, small.data(), length);
        }
      }
      poke();
      ipcring_consumer_shutdown(rx);
      ipcring_consumer_free(rx);
    }
    ipcring_producer* tx = nullptr;
    if (ipcring_producer_attach(ring, &tx) == IPCRING_OK) {
      ipcring_producer_set_wait(tx, IPCRING_WAIT_SPIN);
      (void)ipcring_producer_recover(tx, &done);
      poke();
      if (slot != 0) {
        for (int i = 0; i < 4; ++i) {
          const auto one = bytes_of(slot);
          (void)ipcring_try_push(tx, one.data());
          poke();
        }
        const auto five = bytes_of(5 * slot);
        if (ipcring_try_push_some(tx, five.data(), 5, &done) == IPCRING_OK) {
          expect_at_most("ipcring_try_push_some", done, 5);
        }
        poke();
        const auto three = bytes_of(3 * slot);
        if (ipcring_push_all(tx, three.data(), 3, &done, 1) == IPCRING_OK) {
          expect_at_most("ipcring_push_all", done, 3);
        }
        poke();
        const auto one = bytes_of(slot);
        (void)ipcring_push(tx, one.data(), 1);
      } else {
        for (int i = 0; i < 4; ++i) {
          const auto m = bytes_of(24 * static_cast<std::size_t>(i));
          (void)ipcring_try_write(tx, 1, m.data(), m.size());
          poke();
        }
        const auto a = bytes_of(8);
        const auto b = bytes_of(100);
        const ipcring_iovec batch[3] = {{a.data(), 8}, {nullptr, 0}, {b.data(), 100}};
        if (ipcring_try_write_some(tx, 2, batch, 3, &done) == IPCRING_OK) {
          expect_at_most("ipcring_try_write_some", done, 3);
        }
        poke();
        if (ipcring_write_all(tx, 3, batch, 3, &done, 1) == IPCRING_OK) {
          expect_at_most("ipcring_write_all", done, 3);
        }
        poke();
        const auto m = bytes_of(40);
        (void)ipcring_write(tx, 4, m.data(), 40, 1);
      }
      ipcring_producer_shutdown(tx);
      ipcring_producer_free(tx);
    }
    ipcring_close(ring);
  }
  // A supervisor's look at it by name (through the descriptor) once the ring is closed (a
  // view this process kept would hold its use lock, and the look would wait 50 ms for it to
  // go), judged by the made-up processes its records name and by what the calls above left
  // there: it may remove the name, which the mapping outlives. (A check that aborts above
  // leaves the name behind; the next run of this pid removes it first.)
  (void)ipcring::remove_if_stale(name);
  ::shm_unlink(path.c_str());
  ::munmap(map, n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  aligned_copy seg(data + 1, ring_bytes(data + 1, size - 1));
  // What tools and the C API's open read first: the header and control blocks, any kind; also
  // as the command-line tool reads them (its first bytes, and the segment's size beside them,
  // which another process may have changed: here a quarter less).
  const auto looked = [](const ipcring::ring_info& info) {
    expect_at_most("inspect used", info.used, info.capacity);
    // the records, and the two role words of the control block
    expect_at_most("inspect endpoints", info.endpoints.size(), ipcring::k_max_endpoints + 2);
  };
  guarded([&] { looked(ipcring::inspect(seg.span(), "fuzz")); });
  const auto first = seg.span().first(std::min(seg.span().size(), ipcring::k_inspect_bytes));
  guarded([&] { looked(ipcring::inspect(first, seg.span().size(), "fuzz")); });
  guarded([&] { looked(ipcring::inspect(first, seg.span().size() * 3 / 4, "fuzz")); });
  hostile_peer peer(seg.span(), data, size);
  hostile_peer* writes = (data[0] & 8) != 0 ? &peer : nullptr;
  if ((data[0] & 16) != 0) {
    c_api(seg.span().data(), seg.span().size(), writes != nullptr, data, size);
    return 0;
  }
  switch (data[0] % 3) {
    case 0:
      fixed_rings(seg.span(), (data[0] & 4) != 0, writes);
      break;
    case 1:
      msg_ring<ipcring::spsc_msg_ring>(seg.span(), writes);
      break;
    default:
      msg_ring<ipcring::mpsc_msg_ring>(seg.span(), writes);
      break;
  }
  return 0;
}
