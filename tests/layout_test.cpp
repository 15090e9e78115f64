// Header validation: every way an open can find a segment that is not what it expects.
#include "ipcring/layout.hpp"

#include <gtest/gtest.h>
#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "ipcring/inspect.hpp"
#include "ipcring/ipcring.h"
#include "ipcring/spsc_ring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

struct quote {
  std::uint64_t id;
  double price;
};
struct wide_quote {
  std::uint64_t id;
  double price;
  double size;
};
struct other_quote {  // same size and alignment as quote, different name
  std::uint64_t id;
  double price;
};

segment_header& header_of(map_view& v) {
  return *reinterpret_cast<segment_header*>(v.data());
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(layout, header_fields_are_written_by_create) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<quote>::create(g.name(), 64);
  auto v = map_view::open(g.name());
  const auto& h = header_of(v);
  EXPECT_EQ(std::memcmp(v.data(), "IPCRING", 8), 0);  // the bytes, as docs/layout.md says
  EXPECT_EQ(h.layout_version, k_layout_version);
  EXPECT_EQ(h.init_state.load(), k_init_ready);
  EXPECT_EQ(h.kind, static_cast<std::uint32_t>(ring_kind::spsc));
  EXPECT_EQ(h.capacity, 64u);
  EXPECT_EQ(h.slot_size, sizeof(quote));
  EXPECT_EQ(h.slot_align, alignof(quote));
  EXPECT_EQ(h.elem_size, sizeof(quote));
  EXPECT_EQ(h.elem_align, alignof(quote));
  EXPECT_EQ(h.data_offset, 1024u);
  EXPECT_EQ(h.total_size, 1024u + 64 * sizeof(quote));
  EXPECT_EQ(std::string(h.type_name, h.type_name_len), std::string(type_tag<quote>::name));
  EXPECT_TRUE(contains(std::string(h.type_name), "quote")) << h.type_name;
}

TEST(layout, arithmetic_types_have_portable_names) {
  EXPECT_EQ(type_tag<std::uint64_t>::name, "uint64");
  EXPECT_EQ(type_tag<std::int32_t>::name, "int32");
  EXPECT_EQ(type_tag<double>::name, "float64");
  EXPECT_EQ(type_tag<char>::name, "char8");
}

template <class K, class V>
struct kv {
  K key;
  V value;
};

template <char C>
struct tagged {
  int v;
};

// The compiler's spelling of a type may hold ']' or ';': the whole of it is the name, so two
// types that differ after it (same size and alignment) do not open each other's rings.
TEST(layout, type_names_with_brackets_are_whole) {
  EXPECT_TRUE(contains(std::string(type_tag<tagged<';'>>::name), "';'>"))
      << type_tag<tagged<';'>>::name;
  EXPECT_NE(type_tag<tagged<';'>>::name, type_tag<tagged<','>>::name);
  const std::string name(type_tag<kv<char[8], int>>::name);
  EXPECT_TRUE(contains(name, "int>")) << name;
  EXPECT_NE(name, std::string(type_tag<kv<char[8], float>>::name));
  using four = int[4];
  EXPECT_TRUE(contains(std::string(type_tag<four>::name), "4]")) << type_tag<four>::name;
  segment_guard g(unique_name());
  using as_int = kv<char[8], int>;
  using as_float = kv<char[8], float>;
  auto ring = spsc_ring<as_int>::create(g.name(), 8);
  const auto msg = expect_error(errc::type_mismatch, [&] { spsc_ring<as_float>::open(g.name()); });
  EXPECT_TRUE(contains(msg, "type_name expected")) << msg;
}

TEST(layout, open_with_other_element_size_names_both) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<quote>::create(g.name(), 64);
  const auto msg =
      expect_error(errc::type_mismatch, [&] { spsc_ring<wide_quote>::open(g.name()); });
  EXPECT_TRUE(contains(msg, g.name())) << msg;
  EXPECT_TRUE(contains(msg, "elem_size expected 24, found 16")) << msg;
}

TEST(layout, open_with_other_type_name_of_same_size_fails) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<quote>::create(g.name(), 64);
  const auto msg =
      expect_error(errc::type_mismatch, [&] { spsc_ring<other_quote>::open(g.name()); });
  EXPECT_TRUE(contains(msg, "type_name expected")) << msg;
  EXPECT_TRUE(contains(msg, "other_quote")) << msg;
}

// any_type takes the element's alignment from the header, but only where the slots still land
// aligned for the opener's type: 2048-byte slots of alignment 8 (as a C ring makes them) lie
// at 1024 mod 2048, and an alignas(2048) type there is refused. Alignments the slots meet are
// accepted, a wider one recorded included.
TEST(layout, any_type_refuses_slots_not_aligned_for_the_openers_type) {
  struct alignas(8) bytes2k {  // as the C API's 2048-byte slots
    std::byte b[2048];
  };
  struct alignas(2048) aligned2k {
    std::byte b[2048];
  };
  struct alignas(64) aligned64 {
    std::byte b[64];
  };
  ring_options any;
  any.any_type = true;
  {
    heap_bytes mem(spsc_ring<bytes2k>::required_bytes(4), 4096);
    auto made = spsc_ring<bytes2k>::create_in(mem.span(), 4);
    const auto msg =
        expect_error(errc::type_mismatch, [&] { spsc_ring<aligned2k>::open_in(mem.span(), any); });
    EXPECT_TRUE(contains(msg, "not aligned to the 2048 bytes")) << msg;
    using bytes_2048 = std::array<std::byte, 2048>;
    EXPECT_NO_THROW(spsc_ring<bytes_2048>::open_in(mem.span(), any));
  }
  {
    heap_bytes mem(spsc_ring<aligned64>::required_bytes(4), 4096);
    auto made = spsc_ring<aligned64>::create_in(mem.span(), 4);
    auto opened = spsc_ring<std::array<std::byte, 64>>::open_in(mem.span(), any);
    auto tx = made.producer();
    auto rx = opened.consumer();
    aligned64 m{};
    m.b[63] = std::byte{7};
    ASSERT_TRUE(tx.try_push(m));
    std::array<std::byte, 64> got{};
    ASSERT_TRUE(rx.try_pop(got));
    EXPECT_EQ(got[63], std::byte{7});
  }
}

TEST(layout, type_name_option_overrides_the_default) {
  segment_guard g(unique_name());
  ring_options o;
  o.type_name = "md.quote/v1";
  auto ring = spsc_ring<quote>::create(g.name(), 64, o);
  EXPECT_NO_THROW(spsc_ring<other_quote>::open(g.name(), o));  // same name, same size: accepted
  const auto msg = expect_error(errc::type_mismatch, [&] { spsc_ring<quote>::open(g.name()); });
  EXPECT_TRUE(contains(msg, "found 'md.quote/v1'")) << msg;
}

TEST(layout, long_type_names_are_hashed_consistently) {
  const std::string a(100, 'a');
  std::string b = a;
  b[0] = 'b';
  EXPECT_EQ(stored_type_name(a).size(), k_type_name_max);
  EXPECT_EQ(stored_type_name(a), stored_type_name(a));
  EXPECT_NE(stored_type_name(a), stored_type_name(b));  // differs only outside the kept tail
  EXPECT_EQ(stored_type_name("short"), "short");
}

TEST(layout, open_with_other_layout_version_fails) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<quote>::create(g.name(), 64);
  auto v = map_view::open(g.name());
  header_of(v).layout_version = k_layout_version + 1;
  const auto msg = expect_error(errc::version_mismatch, [&] { spsc_ring<quote>::open(g.name()); });
  EXPECT_TRUE(contains(msg, "expected " + std::to_string(k_layout_version) + ", found " +
                                std::to_string(k_layout_version + 1)))
      << msg;
}

TEST(layout, open_with_other_kind_fails) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<quote>::create(g.name(), 64);
  auto v = map_view::open(g.name());
  header_of(v).kind = 77;
  const auto msg = expect_error(errc::kind_mismatch, [&] { spsc_ring<quote>::open(g.name()); });
  EXPECT_TRUE(contains(msg, "expected spsc (1), found unknown (77)")) << msg;
}

TEST(layout, foreign_segment_fails_at_once_with_bad_magic) {
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), 4096);
  std::memcpy(v.data(), "NOTARING", 8);
  ring_options o;
  o.open_timeout = std::chrono::seconds(30);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg =
      expect_error(errc::bad_magic, [&] { spsc_ring<quote>::open(g.name(), o); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // did not wait 30 s
  // What was found instead: "NOTARING" as one word (little-endian x86: "GNIRATON")
  std::uint64_t word = 0;
  std::memcpy(&word, "NOTARING", 8);
  char found[40];
  std::snprintf(found, sizeof found, "found 0x%016llx", static_cast<unsigned long long>(word));
  EXPECT_NE(msg.find(found), std::string::npos) << msg;
}

TEST(layout, creator_that_never_finished_makes_open_fail_in_bounded_time) {
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), 4096);  // all zero: a creator that died before `ready`
  ring_options o;
  o.open_timeout = std::chrono::milliseconds(200);
  const auto t0 = std::chrono::steady_clock::now();
  const auto msg = expect_error(errc::not_ready, [&] { spsc_ring<quote>::open(g.name(), o); });
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(200));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_TRUE(contains(msg, "no header yet")) << msg;
  EXPECT_TRUE(contains(msg, "after waiting 200 ms")) << msg;
  EXPECT_FALSE(contains(msg, "not_ready after")) << msg;  // the code is said once, at the end
}

// A creator that wrote the magic and died before `ready`: the wait ends at the deadline, and
// the message says how long it waited and what to do once.
TEST(layout, creator_that_died_before_ready_makes_open_fail_saying_so_once) {
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), spsc_ring<quote>::required_bytes(64));
  reinterpret_cast<segment_header*>(v.data())->magic.store(k_magic);
  ring_options o;
  o.open_timeout = std::chrono::milliseconds(100);
  auto count = [](const std::string& s, const std::string& part) {
    std::size_t n = 0;
    for (auto at = s.find(part); at != std::string::npos; at = s.find(part, at + 1))
      ++n;
    return n;
  };
  for (const bool named : {true, false}) {
    const auto msg = expect_error(errc::not_ready, [&] {
      if (named) {
        (void)spsc_ring<quote>::open(g.name(), o);
      } else {
        (void)spsc_ring<quote>::open_in(v.bytes(), o);
      }
    });
    EXPECT_TRUE(contains(msg, "has not published 'ready'")) << msg;
    EXPECT_EQ(count(msg, "after waiting 100 ms"), 1u) << msg;
    EXPECT_EQ(count(msg, "remove it"), 1u) << msg;
  }
}

#ifndef _WIN32  // POSIX only: a Windows mapping is sized when it is created
TEST(layout, creator_that_never_sized_the_segment_makes_open_fail_in_bounded_time) {
  segment_guard g(unique_name());
  const int fd = ::shm_open(("/" + g.name()).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);  // size 0: died between shm_open and ftruncate
  ring_options o;
  o.open_timeout = std::chrono::milliseconds(100);
  const auto t0 = std::chrono::steady_clock::now();
  expect_error(errc::not_ready, [&] { spsc_ring<quote>::open(g.name(), o); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// Bytes of /dev/shm the segment holds (a sparse file holds only the pages written or faulted).
std::uint64_t allocated_bytes(const std::string& name) {
  struct stat st {};
  if (::stat(("/dev/shm/" + name).c_str(), &st) != 0) return ~std::uint64_t{0};
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

// An open faults in only what a checked header says is the ring: a large foreign file is
// refused without allocating it (on a full /dev/shm, faulting it would be a SIGBUS), and an
// oversized segment keeps its unused tail unallocated.
TEST(layout, open_faults_in_only_the_ring_the_header_describes) {
  segment_guard g(unique_name());
  const std::uint64_t big = std::uint64_t{256} << 20;
  const int fd = ::shm_open(("/" + g.name()).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(big)), 0);
  ASSERT_EQ(::pwrite(fd, "NOTARING", 8, 0), 8);
  ::close(fd);
  expect_error(errc::bad_magic, [&] { spsc_ring<quote>::open(g.name()); });
  EXPECT_LT(allocated_bytes(g.name()), std::uint64_t{1} << 20);

  ASSERT_TRUE(ipcring::remove(g.name()));
  (void)spsc_ring<quote>::create(g.name(), 64);
  const std::uint64_t ring = allocated_bytes(g.name());
  ASSERT_LT(ring, std::uint64_t{1} << 20);
  ASSERT_EQ(::truncate(("/dev/shm/" + g.name()).c_str(), static_cast<off_t>(big)), 0);
  ring_options o;
  o.map.lock_memory = true;  // locking faults in what it locks: the ring alone
  auto opened = spsc_ring<quote>::open(g.name(), o);
  auto tx = opened.producer();
  EXPECT_TRUE(tx.try_push(quote{}));
  EXPECT_EQ(allocated_bytes(g.name()), ring);
}

// Bytes of this process's mappings of segment `name` that are in its page tables (Rss in
// /proc/self/smaps): what pre-faulting fills in.
std::uint64_t mapped_bytes(const std::string& name) {
  std::FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return 0;
  char line[512];
  bool ours = false;
  std::uint64_t total = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long kib = 0;
    // A mapping's first line starts with its address (lower-case hex), its fields with a
    // capital ("Rss:").
    if (std::isdigit(static_cast<unsigned char>(line[0])) || (line[0] >= 'a' && line[0] <= 'f')) {
      ours = std::strstr(line, ("/dev/shm/" + name + "\n").c_str()) != nullptr;
    } else if (ours && std::sscanf(line, "Rss: %llu kB", &kib) == 1) {
      total += kib * 1024;
    }
  }
  std::fclose(f);
  return total;
}

// The C API's flags reach the mapping: no pre-faulting (a 32 MiB ring's pages stay out of the
// page tables), locking (VmLck grows), huge pages (where offered, a segment of whole huge
// pages).
TEST(layout, the_c_flags_reach_the_mapping) {
  segment_guard g(unique_name());
  const std::uint64_t big = std::uint64_t{32} << 20;  // fits a container's 64 MiB /dev/shm
  ipcring_ring* r = nullptr;
  ASSERT_EQ(ipcring_create_ex(g.c_str(), IPCRING_KIND_SPSC_MSG, big, 0, nullptr,
                              IPCRING_FLAG_NO_PREFAULT, &r),
            IPCRING_OK)
      << ipcring_last_error();
  EXPECT_LT(mapped_bytes(g.name()), std::uint64_t{8} << 20);  // a huge page or so, at most
  ipcring_ring* o = nullptr;
  ASSERT_EQ(ipcring_open_ex(g.c_str(), IPCRING_KIND_ANY, 0, 0, IPCRING_FLAG_NO_PREFAULT, &o),
            IPCRING_OK)
      << ipcring_last_error();
  EXPECT_LT(mapped_bytes(g.name()), std::uint64_t{8} << 20);  // a huge page or so, at most
  ipcring_ring* prefaulted = nullptr;
  ASSERT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_ANY, 0, &prefaulted), IPCRING_OK);
  EXPECT_GE(mapped_bytes(g.name()), big);  // the default pre-faults
  ipcring_close(prefaulted);
  ipcring_close(o);
  ipcring_close(r);
  ASSERT_TRUE(ipcring::remove(g.name()));

  const std::size_t before = locked_kib();
  const int locked = ipcring_create_ex(g.c_str(), IPCRING_KIND_SPSC, 1 << 16, 16, nullptr,
                                       IPCRING_FLAG_LOCK_MEMORY, &r);
  if (locked == IPCRING_OK) {
    ipcring_ring* second = nullptr;  // an opener locks its own mapping
    const int again =
        ipcring_open_ex(g.c_str(), IPCRING_KIND_SPSC, 16, 0, IPCRING_FLAG_LOCK_MEMORY, &second);
    if (again == IPCRING_OK) {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // their mlock: a no-op
      EXPECT_GE(locked_kib(), before + 2048) << "VmLck did not grow by two mappings of 1 MiB";
#endif
      ipcring_close(second);
    } else {  // a limit between the two
      EXPECT_EQ(again, IPCRING_E_SYSTEM);
      EXPECT_TRUE(contains(ipcring_last_error(), "RLIMIT_MEMLOCK")) << ipcring_last_error();
    }
    ipcring_close(r);
  } else {
    EXPECT_EQ(locked, IPCRING_E_SYSTEM);
    EXPECT_TRUE(contains(ipcring_last_error(), "RLIMIT_MEMLOCK")) << ipcring_last_error();
  }
  (void)before;
  ipcring::remove(g.name());

  ASSERT_EQ(
      ipcring_create_ex(g.c_str(), IPCRING_KIND_SPSC, 64, 8, nullptr, IPCRING_FLAG_HUGE_PAGES, &r),
      IPCRING_OK)
      << ipcring_last_error();
  struct stat st {};
  ASSERT_EQ(::stat(("/dev/shm/" + g.name()).c_str(), &st), 0);
  const std::size_t page = huge_page_size();
  if (page != 0 && page <= (std::size_t{32} << 20)) {
    EXPECT_EQ(static_cast<std::size_t>(st.st_size) % page, 0u) << st.st_size;
  } else {
    EXPECT_LT(static_cast<std::size_t>(st.st_size), std::size_t{1} << 20) << huge_page_support();
  }
  ipcring_close(r);
}

// A segment sized but never written (another program's, or a creator killed before its header)
// is looked at through its handle: opening and inspecting it allocate none of it. Touching the
// first page through the mapping would, and on a full /dev/shm that read is a SIGBUS.
TEST(layout, a_segment_never_written_is_judged_without_allocating_a_page) {
  segment_guard g(unique_name());
  const int fd = ::shm_open(("/" + g.name()).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
  ::close(fd);
  ring_options o;
  o.open_timeout = std::chrono::milliseconds(20);
  const auto msg = expect_error(errc::not_ready, [&] { spsc_ring<quote>::open(g.name(), o); });
  EXPECT_TRUE(contains(msg, "first word is zero")) << msg;
  expect_error(errc::not_ready, [&] { (void)inspect(g.name()); });
  EXPECT_EQ(allocated_bytes(g.name()), 0u);
}

#endif

TEST(layout, open_waits_for_a_creator_that_finishes_in_time) {
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), spsc_ring<quote>::required_bytes(64));
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)spsc_ring<quote>::create_in(v.bytes(), 64);  // publishes ready into the segment
  });
  EXPECT_NO_THROW(spsc_ring<quote>::open(g.name()));
  late.join();
}

// The C API's open with a bound of its own: ipcring_open waits up to 2 s, as open() does by
// default; ipcring_open_timeout waits as long as it is told, not at all for 0.
TEST(layout, the_c_open_waits_for_a_live_creator_as_long_as_it_is_told) {
  using clock = std::chrono::steady_clock;
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), spsc_ring<std::uint64_t>::required_bytes(64));
  ipcring_ring* r = nullptr;
  auto t0 = clock::now();
  EXPECT_EQ(ipcring_open_timeout(g.c_str(), IPCRING_KIND_ANY, 0, 0, &r), IPCRING_E_NOT_READY);
  EXPECT_LT(clock::now() - t0, std::chrono::milliseconds(1500));  // not ipcring_open's 2 s
  EXPECT_TRUE(contains(ipcring_last_error(), g.name())) << ipcring_last_error();
  t0 = clock::now();
  EXPECT_EQ(ipcring_open_timeout(g.c_str(), IPCRING_KIND_SPSC, 8, 150'000'000, &r),
            IPCRING_E_NOT_READY);
  EXPECT_GE(clock::now() - t0, std::chrono::milliseconds(150));
  EXPECT_TRUE(contains(ipcring_last_error(), "after waiting 150 ms")) << ipcring_last_error();
  EXPECT_EQ(r, nullptr);
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)spsc_ring<std::uint64_t>::create_in(v.bytes(), 64);  // publishes ready
  });
  EXPECT_EQ(ipcring_open_timeout(g.c_str(), IPCRING_KIND_SPSC, 8, -1, &r), IPCRING_OK)  // for ever
      << ipcring_last_error();
  late.join();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(ipcring_slot_size(r), 8u);
  ipcring_close(r);
}

// ring_options::wait_for_creation: open() looks for the name until it is there, and says how
// long it looked when it gives up; 0, the default, fails at once as before.
TEST(layout, open_waits_for_the_name_as_long_as_it_is_told) {
  using clock = std::chrono::steady_clock;
  segment_guard g(unique_name());
  auto t0 = clock::now();
  const auto at_once = expect_error(errc::not_found, [&] { spsc_ring<quote>::open(g.name()); });
  EXPECT_LT(clock::now() - t0, std::chrono::milliseconds(1000));
  EXPECT_FALSE(contains(at_once, "after waiting")) << at_once;
  ring_options o;
  o.wait_for_creation = std::chrono::milliseconds(150);
  t0 = clock::now();
  const auto msg = expect_error(errc::not_found, [&] { spsc_ring<quote>::open(g.name(), o); });
  EXPECT_GE(clock::now() - t0, std::chrono::milliseconds(150));
  EXPECT_TRUE(contains(msg, "after waiting 150 ms for it to be created")) << msg;
  EXPECT_TRUE(contains(msg, "ring_options::wait_for_creation")) << msg;
  EXPECT_TRUE(contains(msg, g.name())) << msg;

  o.wait_for_creation = std::chrono::milliseconds::max();  // for ever: a creator 50 ms late
  std::optional<spsc_ring<quote>> made;  // held: on Windows the ring goes with its last handle
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    made.emplace(spsc_ring<quote>::create(g.name(), 64));
    (void)made->producer().try_push(quote{7, 1.5});
  });
  std::optional<spsc_ring<quote>> opened;
  EXPECT_NO_THROW(opened.emplace(spsc_ring<quote>::open(g.name(), o)));
  late.join();
  ASSERT_TRUE(opened.has_value());
  quote q{};
  auto rx = opened->consumer();
  EXPECT_EQ(rx.pop(q, std::chrono::seconds(10)), wait_result::ok);  // the producer's, if not yet
  EXPECT_EQ(q.id, 7u);
}

// A name that appears holding the wrong ring fails at once, not after the wait.
TEST(layout, a_wait_for_the_name_still_refuses_a_wrong_ring_at_once) {
  using clock = std::chrono::steady_clock;
  segment_guard g(unique_name());
  auto other = spsc_ring<std::uint32_t>::create(g.name(), 64);
  ring_options o;
  o.wait_for_creation = std::chrono::seconds(30);
  const auto t0 = clock::now();
  expect_error(errc::type_mismatch, [&] { spsc_ring<quote>::open(g.name(), o); });
  EXPECT_LT(clock::now() - t0, std::chrono::seconds(5));
  ipcring_ring* r = nullptr;
  EXPECT_EQ(ipcring_open_wait(g.c_str(), IPCRING_KIND_MPMC, 0, 30'000'000'000, &r),
            IPCRING_E_KIND_MISMATCH);
  EXPECT_LT(clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(r, nullptr);
}

TEST(layout, open_file_waits_for_the_file_to_be_created) {
  temp_file f("-ring");
  ring_options o;
  o.wait_for_creation = std::chrono::milliseconds(20);
  const auto msg = expect_error(errc::not_found, [&] { spsc_ring<quote>::open_file(f.path(), o); });
  EXPECT_TRUE(contains(msg, "after waiting 20 ms for it to be created")) << msg;
  o.wait_for_creation = std::chrono::seconds(30);
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)spsc_ring<quote>::create_file(f.path(), 64);  // a file outlives its handles
  });
  EXPECT_NO_THROW(spsc_ring<quote>::open_file(f.path(), o));
  late.join();
}

// ipcring_open_wait: ipcring_open_timeout that also waits for the name; ipcring_open and
// ipcring_open_timeout still fail at once for a missing one.
TEST(layout, the_c_open_wait_waits_for_the_name_within_its_timeout) {
  using clock = std::chrono::steady_clock;
  segment_guard g(unique_name());
  ipcring_ring* r = nullptr;
  auto t0 = clock::now();
  EXPECT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_ANY, 0, &r), IPCRING_E_NOT_FOUND);
  EXPECT_EQ(ipcring_open_timeout(g.c_str(), IPCRING_KIND_ANY, 0, 2'000'000'000, &r),
            IPCRING_E_NOT_FOUND);
  EXPECT_LT(clock::now() - t0, std::chrono::milliseconds(1000));
  EXPECT_EQ(ipcring_open_wait(g.c_str(), IPCRING_KIND_ANY, 0, 0, &r), IPCRING_E_NOT_FOUND);
  t0 = clock::now();
  EXPECT_EQ(ipcring_open_wait(g.c_str(), IPCRING_KIND_SPSC, 8, 150'000'000, &r),
            IPCRING_E_NOT_FOUND);
  EXPECT_GE(clock::now() - t0, std::chrono::milliseconds(150));
  EXPECT_TRUE(contains(ipcring_last_error(), "after waiting 150 ms for it to be created"))
      << ipcring_last_error();
  EXPECT_TRUE(contains(ipcring_last_error(), "ipcring_open_wait")) << ipcring_last_error();
  EXPECT_EQ(r, nullptr);

  std::optional<spsc_ring<std::uint64_t>> made;  // held: on Windows too
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    made.emplace(spsc_ring<std::uint64_t>::create(g.name(), 64));
  });
  EXPECT_EQ(ipcring_open_wait(g.c_str(), IPCRING_KIND_SPSC, 8, -1, &r), IPCRING_OK)  // for ever
      << ipcring_last_error();
  late.join();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(ipcring_slot_size(r), 8u);
  ipcring_close(r);
}

TEST(layout, segment_smaller_than_its_header_claims_fails) {
  segment_guard big(unique_name("-big"));
  segment_guard small(unique_name("-small"));
  auto ring = spsc_ring<quote>::create(big.name(), 1024);
  auto src = map_view::open(big.name());
  auto dst = map_view::create(small.name(), 4096);  // header says 1024 + 16 KiB
  std::memcpy(dst.data(), src.data(), 1024);
  const auto msg = expect_error(errc::too_small, [&] { spsc_ring<quote>::open(small.name()); });
  EXPECT_TRUE(contains(msg, "header claims " + std::to_string(1024 + 1024 * sizeof(quote)))) << msg;
}

TEST(layout, segment_smaller_than_a_header_fails) {
  heap_bytes mem(256);
  const auto msg =
      expect_error(errc::too_small, [&] { spsc_ring<quote>::open_in(mem.span().first(64)); });
  EXPECT_TRUE(contains(msg, "smaller than the 128-byte header")) << msg;
}

TEST(layout, impossible_capacity_in_header_is_corrupted) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<quote>::create(g.name(), 64);
  auto v = map_view::open(g.name());
  header_of(v).capacity = 100;
  expect_error(errc::corrupted, [&] { spsc_ring<quote>::open(g.name()); });
  header_of(v).capacity = 0;
  expect_error(errc::corrupted, [&] { spsc_ring<quote>::open(g.name()); });
  header_of(v).capacity = std::uint64_t{1} << 62;
  expect_error(errc::corrupted, [&] { spsc_ring<quote>::open(g.name()); });
  header_of(v).capacity = 64;
  header_of(v).data_offset = 4;
  expect_error(errc::corrupted, [&] { spsc_ring<quote>::open(g.name()); });
  header_of(v).data_offset = 1024;
  header_of(v).total_size = 1;
  expect_error(errc::corrupted, [&] { spsc_ring<quote>::open(g.name()); });
  header_of(v).total_size = 1024 + 64 * sizeof(quote);
  header_of(v).type_name_len = 200;
  expect_error(errc::corrupted, [&] { spsc_ring<quote>::open(g.name()); });
  header_of(v).type_name_len = static_cast<std::uint32_t>(type_tag<quote>::name.size());
  EXPECT_NO_THROW(spsc_ring<quote>::open(g.name()));  // restored: opens again
}

TEST(layout, bad_capacity_is_rejected_before_anything_is_created) {
  segment_guard g(unique_name());
  const auto msg =
      expect_error(errc::invalid_argument, [&] { spsc_ring<quote>::create(g.name(), 1000); });
  EXPECT_TRUE(contains(msg, "capacity=1000 must be a power of two")) << msg;
  EXPECT_TRUE(contains(msg, g.name())) << msg;
  expect_error(errc::invalid_argument, [&] { spsc_ring<quote>::create(g.name(), 0); });
  expect_error(errc::invalid_argument,
               [&] { spsc_ring<quote>::create(g.name(), std::uint64_t{1} << 60); });
  expect_error(errc::not_found, [&] { map_view::open(g.name()); });
}

TEST(layout, huge_open_timeout_does_not_overflow) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<quote>::create(g.name(), 64);
  ring_options o;
  o.open_timeout = std::chrono::milliseconds::max();
  EXPECT_NO_THROW(spsc_ring<quote>::open(g.name(), o));
}

TEST(layout, ring_memory_must_be_aligned_for_the_element) {
  struct alignas(256) big {
    std::uint8_t b[256];
  };
  heap_bytes mem(spsc_ring<big>::required_bytes(4) + 256, 256);  // so +128 is not 256-aligned
  const auto msg = expect_error(errc::invalid_argument, [&] {
    (void)spsc_ring<big>::create_in(mem.span().subspan(128), 4);  // 128- but not 256-aligned
  });
  EXPECT_TRUE(contains(msg, "aligned to 256 bytes")) << msg;
  auto ring = spsc_ring<std::uint64_t>::create_in(mem.span(), 4);
  expect_error(errc::invalid_argument,
               [&] { (void)spsc_ring<std::uint64_t>::open_in(mem.span().subspan(8)); });
}

#ifndef _WIN32  // POSIX only: RLIMIT_FSIZE stands in for a full file system
TEST(layout, file_system_without_room_gives_no_space) {
  const temp_file path_file("-full");
  const auto& path = path_file.path();
  remove_file(path);
  // A child whose file-size limit is 64 KiB stands in for a full file system.
  child_process child([&] {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{64 * 1024, 64 * 1024};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return 3;
    try {
      (void)spsc_ring<quote>::create_file(path, 1 << 16);  // 1 MiB of slots
    } catch (const error& e) {
      const bool named = std::string(e.what()).find(path.string()) != std::string::npos;
      return e.code() == errc::no_space && named && !std::filesystem::exists(path) ? 0 : 2;
    }
    return 1;
  });
  EXPECT_EQ(child.exit_code(), 0);
  remove_file(path);
}

#endif

TEST(layout, file_backed_ring_reopens) {
  const temp_file path_file("-ring");
  const auto& path = path_file.path();
  remove_file(path);
  {
    auto ring = spsc_ring<std::uint64_t>::create_file(path, 16);
    auto tx = ring.producer();
    ASSERT_TRUE(tx.try_push(42));
  }
  {
    auto ring = spsc_ring<std::uint64_t>::open_file(path);
    auto rx = ring.consumer();
    std::uint64_t v = 0;
    ASSERT_TRUE(rx.try_pop(v));
    EXPECT_EQ(v, 42u);
    expect_error(errc::type_mismatch, [&] { spsc_ring<std::uint32_t>::open_file(path); });
  }
  EXPECT_TRUE(remove_file(path));
}

}  // namespace
}  // namespace ipcring::test
