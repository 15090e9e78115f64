// Writes the seed corpus of ring_fuzz: real segments of each kind, at the layout version this
// build writes, with messages in flight and at a wrap, prefixed by the kind byte ring_fuzz
// expects. CTest runs it before the fuzz tests (tests/fuzz/CMakeLists.txt), so the seeds never
// go stale when the layout changes:
//   make_corpus DIR          writes DIR/spsc, DIR/mpmc, DIR/spsc_msg, DIR/mpsc_msg, the same
//                            four as c_<kind> for the C API's path (bit 4 of the kind byte),
//                            c_spsc1 and c_mpmc24: slots of 1 and 24 bytes, C API only, and
//                            larger rings, where code that needs many slots runs: spsc256
//                            (the consumer frees a line of slots at a time), mpmc128 (a full
//                            producer waits for 4 lines), c_spsc1_1024
//   make_corpus --check DIR  fails unless those files in DIR (the kept corpus) are rings this
//                            build opens, and at least 3 in 4 files of DIR that begin as an
//                            ipcring segment are of this layout version: a kept corpus of an
//                            older layout tests nothing but the version check
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <system_error>
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

constexpr std::uint8_t k_c_api = 16;  // ring_fuzz opens the segment through the C API

const char* const k_seeds[] = {"spsc",    "mpmc",       "spsc_msg",    "mpsc_msg", "c_spsc",
                               "c_mpmc",  "c_spsc_msg", "c_mpsc_msg",  "c_spsc1",  "c_mpmc24",
                               "spsc256", "mpmc128",    "c_spsc1_1024"};

void save(const std::string& dir, const std::string& name, std::uint8_t kind, const buffer& b) {
  std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  if (f == nullptr || std::fwrite(&kind, 1, 1, f) != 1 ||
      std::fwrite(b.p, 1, b.size, f) != b.size || std::fclose(f) != 0) {
    std::fprintf(stderr, "make_corpus: cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}

// 0 if every seed in `dir` opens as the ring its kind byte names, else 1 (with the reasons).
int check(const std::string& dir) {
  int bad = 0;
  for (const char* name : k_seeds) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    if (bytes.size() < 2) {
      std::fprintf(stderr, "make_corpus: %s/%s is missing or empty\n", dir.c_str(), name);
      ++bad;
      continue;
    }
    buffer b(bytes.size() - 1);
    std::memcpy(b.p, bytes.data() + 1, b.size);
    try {
      const auto info = ipcring::inspect(b.span(), name);
      std::printf("make_corpus: %s/%s: %s ring, %llu of %llu used\n", dir.c_str(), name,
                  ipcring::to_string(info.kind), static_cast<unsigned long long>(info.used),
                  static_cast<unsigned long long>(info.capacity));
    } catch (const ipcring::error& e) {
      std::fprintf(stderr,
                   "make_corpus: %s/%s does not open: %s (regenerate the kept corpus: "
                   "make_corpus DIR, then merge; tests/fuzz/CMakeLists.txt)\n",
                   dir.c_str(), name, e.what());
      ++bad;
    }
  }
  // The other files: inputs the fuzzer kept. One whose layout_version differs is a mutation
  // that tests the version check; a quarter of them or more is a corpus left from another
  // layout (the kept one has about 2%).
  std::size_t segments = 0, other_version = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& e = *it;
    std::ifstream in(e.path(), std::ios::binary);
    char head[1 + 12] = {};
    if (!in.read(head, sizeof head)) continue;  // too short to be a segment
    u64 magic = 0;
    std::uint32_t version = 0;
    std::memcpy(&magic, head + 1, sizeof magic);
    std::memcpy(&version, head + 1 + 8, sizeof version);
    if (magic != ipcring::k_magic) continue;
    ++segments;
    other_version += version != ipcring::k_layout_version;
  }
  std::printf("make_corpus: %zu of %zu segments in %s are of another layout version\n",
              other_version, segments, dir.c_str());
  if (ec || segments == 0) {
    std::fprintf(stderr, "make_corpus: %s holds no ipcring segment%s%s\n", dir.c_str(),
                 ec ? ": " : "", ec ? ec.message().c_str() : "");
    ++bad;
  } else if (other_version * 4 >= segments) {
    std::fprintf(stderr,
                 "make_corpus: a quarter or more of %s is of another layout version than %u "
                 "(regenerate the kept corpus: tests/fuzz/CMakeLists.txt)\n",
                 dir.c_str(), static_cast<unsigned>(ipcring::k_layout_version));
    ++bad;
  }
  return bad == 0 ? 0 : 1;
}

// A fixed-slot ring of `cap` slots of T (16 by default), 11/16 of it in flight and wrapped.
template <template <class> class Ring, class T>
buffer fixed_ring(u64 cap = 16) {
  buffer b(Ring<T>::required_bytes(cap));
  auto ring = Ring<T>::create_in(b.span(), cap);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  for (u64 i = 0; i < cap * 14 / 16; ++i)
    (void)tx.try_push(T{});
  T v;
  for (u64 i = 0; i < cap * 9 / 16; ++i)
    (void)rx.try_pop(v);
  for (u64 i = 0; i < cap * 6 / 16; ++i)
    (void)tx.try_push(T{});  // wrapped
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--check") return check(argv[2]);
  const std::string dir = argc > 1 ? argv[1] : "corpus";
  {
    const buffer b = fixed_ring<ipcring::spsc_ring, u64>();
    save(dir, "spsc", 0, b);
    save(dir, "c_spsc", k_c_api, b);
  }
  {
    const buffer b = fixed_ring<ipcring::mpmc_ring, u64>();
    save(dir, "mpmc", 3, b);  // 3 % 3 == 0: the fixed-slot path
    save(dir, "c_mpmc", k_c_api, b);
  }
  save(dir, "c_spsc1", k_c_api, fixed_ring<ipcring::spsc_ring, std::uint8_t>());
  save(dir, "c_mpmc24", k_c_api, fixed_ring<ipcring::mpmc_ring, std::array<u64, 3>>());
  save(dir, "spsc256", 0, fixed_ring<ipcring::spsc_ring, u64>(256));
  save(dir, "mpmc128", 3, fixed_ring<ipcring::mpmc_ring, u64>(128));
  save(dir, "c_spsc1_1024", k_c_api, fixed_ring<ipcring::spsc_ring, std::uint8_t>(1024));
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
    save(dir, mp ? "c_mpsc_msg" : "c_spsc_msg", k_c_api, b);
  }
  return 0;
}
