// Writes the seed corpus of ring_fuzz: real segments of each kind, with messages in flight and
// at a wrap, prefixed by the kind byte ring_fuzz expects. Run from tests/fuzz:
//   g++ -std=c++20 -I../../lib/include make_corpus.cpp ../../build/release/libipcring.a -o /tmp/mc
//   /tmp/mc corpus
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "ipcring/ipcring.hpp"

namespace {

using u64 = std::uint64_t;

struct buffer {
  explicit buffer(std::size_t n)
      : size(n), p(static_cast<std::byte*>(::operator new (n, std::align_val_t{4096}))) {
    std::memset(p, 0, n);
  }
  ~buffer() { ::operator delete (p, std::align_val_t{4096}); }
  std::span<std::byte> span() const { return {p, size}; }
  std::size_t size;
  std::byte* p;
};

void save(const std::string& dir, const std::string& name, std::uint8_t kind, const buffer& b) {
  std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  std::fwrite(&kind, 1, 1, f);
  std::fwrite(b.p, 1, b.size, f);
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "corpus";
  {
    buffer b(ipcring::spsc_ring<u64>::required_bytes(16));
    auto ring = ipcring::spsc_ring<u64>::create_in(b.span(), 16);
    {
      auto tx = ring.producer();
      auto rx = ring.consumer();
      for (u64 i = 0; i < 14; ++i)
        (void)tx.try_push(i);
      u64 v;
      for (int i = 0; i < 9; ++i)
        (void)rx.try_pop(v);
      for (u64 i = 0; i < 6; ++i)
        (void)tx.try_push(i);  // wrapped
    }
    save(dir, "spsc", 0, b);
  }
  {
    buffer b(ipcring::mpmc_ring<u64>::required_bytes(16));
    auto ring = ipcring::mpmc_ring<u64>::create_in(b.span(), 16);
    {
      auto tx = ring.producer();
      auto rx = ring.consumer();
      for (u64 i = 0; i < 14; ++i)
        (void)tx.try_push(i);
      u64 v;
      for (int i = 0; i < 9; ++i)
        (void)rx.try_pop(v);
      for (u64 i = 0; i < 6; ++i)
        (void)tx.try_push(i);
    }
    save(dir, "mpmc", 3, b);  // 3 % 3 == 0: the fixed-slot path
  }
  for (int mp = 0; mp < 2; ++mp) {
    const u64 cap = 1024;
    buffer b(mp ? ipcring::mpsc_msg_ring::required_bytes(cap)
                : ipcring::spsc_msg_ring::required_bytes(cap));
    auto fill = [&](auto ring) {
      auto tx = ring.producer();
      auto rx = ring.consumer();
      const std::string m(90, 'x');
      for (int i = 0; i < 10; ++i)
        (void)tx.try_write(1, std::as_bytes(std::span(m)));
      rx.read([](auto, auto) {}, 8);
      for (int i = 0; i < 7; ++i)
        (void)tx.try_write(2, std::as_bytes(std::span(m)));  // wraps
    };
    if (mp) {
      fill(ipcring::mpsc_msg_ring::create_in(b.span(), cap));
    } else {
      fill(ipcring::spsc_msg_ring::create_in(b.span(), cap));
    }
    save(dir, mp ? "mpsc_msg" : "spsc_msg", static_cast<std::uint8_t>(mp ? 2 : 1), b);
  }
  return 0;
}
