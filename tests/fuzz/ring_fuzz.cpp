// libFuzzer target: the input is the content of a ring segment, as a hostile or buggy process
// could have written it. Opening it and using it must never read or write outside the bytes,
// hang or crash: every call either works or reports an error / "corrupted" / nothing to do.
// The first byte picks the ring kind; the rest are the segment bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>

#include "ipcring/ipcring.hpp"

namespace {

using u64 = std::uint64_t;

struct aligned_copy {
  aligned_copy(const std::uint8_t* data, std::size_t size)
      : n(size), p(static_cast<std::byte*>(::operator new (size + 1, std::align_val_t{4096}))) {
    std::memcpy(p, data, size);
  }
  ~aligned_copy() { ::operator delete (p, std::align_val_t{4096}); }
  std::span<std::byte> span() const { return {p, n}; }
  std::size_t n;
  std::byte* p;
};

ipcring::ring_options fast_open() {
  ipcring::ring_options o;
  o.open_timeout = std::chrono::milliseconds(0);  // never wait for `ready`
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

void fixed_rings(std::span<std::byte> seg) {
  guarded([&] {
    auto ring = ipcring::spsc_ring<u64>::open_in(seg, fast_open());
    guarded([&] {
      auto rx = ring.consumer(ipcring::wait_policy::spinning());
      u64 v = 0;
      u64 batch[5];
      for (int i = 0; i < 8; ++i)
        (void)rx.try_pop(v);
      (void)rx.try_pop_some(batch);
      auto p = rx.peek(7);
      for (const u64& x : p)
        v ^= x;
      rx.release(p.size());
      (void)rx.pop(v, std::chrono::nanoseconds(1));
    });
    guarded([&] {
      auto tx = ring.producer(ipcring::wait_policy::spinning());
      for (u64 i = 0; i < 8; ++i)
        (void)tx.try_push(i);
      auto c = tx.claim(5);
      for (u64& x : c)
        x = 1;
      tx.publish(c.size());
    });
  });
  guarded([&] {
    auto ring = ipcring::mpmc_ring<u64>::open_in(seg, fast_open());
    guarded([&] {
      auto rx = ring.consumer(ipcring::wait_policy::spinning());
      u64 v = 0;
      u64 batch[5];
      for (int i = 0; i < 8; ++i)
        (void)rx.try_pop(v);
      (void)rx.try_pop_some(batch);
    });
    guarded([&] {
      auto tx = ring.producer(ipcring::wait_policy::spinning());
      for (u64 i = 0; i < 8; ++i)
        (void)tx.try_push(i);
    });
  });
}

template <class Ring>
void msg_ring(std::span<std::byte> seg) {
  guarded([&] {
    auto ring = Ring::open_in(seg, fast_open());
    guarded([&] {
      auto rx = ring.consumer(ipcring::wait_policy::spinning());
      u64 sum = 0;
      rx.read(
          [&](std::uint32_t t, std::span<const std::byte> m) {
            sum += t;
            for (std::byte b : m)
              sum += static_cast<u64>(b);  // touch every byte handed out
          },
          64);
      std::byte buf[64];
      (void)rx.try_read(buf);
    });
    guarded([&] {
      auto tx = ring.producer(ipcring::wait_policy::spinning());
      const std::byte m[40]{};
      for (int i = 0; i < 8; ++i)
        (void)tx.try_write(1, std::span(m).first(static_cast<std::size_t>(i * 5)));
    });
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  aligned_copy seg(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fixed_rings(seg.span());
      break;
    case 1:
      msg_ring<ipcring::spsc_msg_ring>(seg.span());
      break;
    default:
      msg_ring<ipcring::mpsc_msg_ring>(seg.span());
      break;
  }
  return 0;
}
