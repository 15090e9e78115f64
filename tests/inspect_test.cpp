// Looking at rings from outside, detecting stale ones, and refusing segments others control.
#include "ipcring/inspect.hpp"

#include <gtest/gtest.h>
#ifndef _WIN32
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#endif

#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ipcring/detail/role.hpp"
#include "ipcring/ipcring.h"
#include "ipcring/ipcring.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using u64 = std::uint64_t;

TEST(inspect, reports_kind_capacity_fill_and_endpoints) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 16);
  auto tx = ring.producer();
  ASSERT_TRUE(tx.try_push(1));
  ASSERT_TRUE(tx.try_push(2));
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.kind, ring_kind::spsc);
  EXPECT_EQ(info.capacity, 16u);
  EXPECT_EQ(info.slot_size, 8u);
  EXPECT_EQ(info.type_name, "uint64");
  EXPECT_EQ(info.used, 2u);
  ASSERT_EQ(info.endpoints.size(), 1u);
  EXPECT_EQ(info.endpoints[0].pid, detail::current_pid());
  EXPECT_STREQ(info.endpoints[0].role, "producer");
  EXPECT_TRUE(info.endpoints[0].alive);
  EXPECT_FALSE(info.stale());
}

// tail - head more than a ring's worth (a corrupt index, or a racy read) shows as full, not
// as empty, also a gap of 2^63 or more (it showed as empty); head past tail by less than a
// ring's worth (a racy read) as empty.
TEST(inspect, a_fill_beyond_the_capacity_is_clamped_to_full) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 16);
  const map_view view = map_view::open(g.name());
  auto& c = *reinterpret_cast<ring_control*>(view.data() + k_control_offset);
  c.tail.store(0x100000);
  EXPECT_EQ(inspect(g.name()).used, 16u);
  c.head.store(0x100001);
  EXPECT_EQ(inspect(g.name()).used, 0u);
  c.head.store(0x100000 - (std::uint64_t{1} << 63) - 1);
  EXPECT_EQ(inspect(g.name()).used, 16u);
  c.tail.store(0);
  c.head.store(0);
}

TEST(inspect, lists_registered_endpoints_of_an_mpmc_ring) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 16);
  auto a = ring.producer();
  auto b = ring.producer();
  auto c = ring.consumer();
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.kind, ring_kind::mpmc);
  ASSERT_EQ(info.endpoints.size(), 3u);
  int producers = 0;
  int consumers = 0;
  for (const endpoint_info& e : info.endpoints) {
    producers += std::string_view(e.role) == "producer";
    consumers += std::string_view(e.role) == "consumer";
    EXPECT_TRUE(e.alive);
    EXPECT_EQ(e.pid, detail::identity_pid(detail::self_identity()));
    EXPECT_FALSE(e.claiming);
  }
  EXPECT_EQ(producers, 2);
  EXPECT_EQ(consumers, 1);
}

// register_endpoint() names the owner first, then the role: a record caught between the two
// (or holding garbage) is shown as registering, and its counts go to neither side. Before, it
// showed as a consumer, with whatever counts it held.
TEST(inspect, a_record_without_a_role_is_registering_and_counts_for_neither_side) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 16);
  const map_view view = map_view::open(g.name());
  auto& reg = *reinterpret_cast<registry_control*>(view.data() + k_control_offset);
  auto& r = reg.endpoints[5];
  r.owner.store(detail::self_identity());  // as register_endpoint's CAS, the role not yet named
  r.stats.stalls.store(7);
  r.stats.waits.store(3);
  ring_info info = inspect(g.name());
  ASSERT_EQ(info.endpoints.size(), 1u);
  EXPECT_STREQ(info.endpoints[0].role, "registering");
  EXPECT_EQ(info.producer.stalls + info.consumer.stalls, 0u);
  EXPECT_EQ(info.producer.waits + info.consumer.waits, 0u);
  r.role.store(99);  // garbage
  info = inspect(g.name());
  ASSERT_EQ(info.endpoints.size(), 1u);
  EXPECT_STREQ(info.endpoints[0].role, "registering");
  EXPECT_EQ(info.producer.stalls + info.consumer.stalls, 0u);
  r.role.store(static_cast<std::uint32_t>(endpoint_role::producer));
  info = inspect(g.name());
  EXPECT_STREQ(info.endpoints[0].role, "producer");
  EXPECT_EQ(info.producer.stalls, 7u);
  // A holder killed while it left (its role named none, its owner not yet freed) or took the
  // record: nobody will finish either, so it is not shown registering ("registering, dead").
  r.role.store(0);
  r.owner.store(k_dead_owner);
  info = inspect(g.name());
  ASSERT_EQ(info.endpoints.size(), 1u);
  EXPECT_STREQ(info.endpoints[0].role, "none");
  EXPECT_FALSE(info.endpoints[0].alive);
  EXPECT_EQ(info.producer.stalls + info.consumer.stalls, 0u);
  EXPECT_TRUE(info.stale());
  r.owner.store(0);  // let the ring's own endpoints alone
  r.role.store(0);
  r.stats.stalls.store(0);
  r.stats.waits.store(0);
}

TEST(counters, spsc_counts_messages_bytes_full_empty_and_waits) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 4);
  auto tx = ring.producer(wait_policy::spinning());
  auto rx = ring.consumer(wait_policy::spinning());
  u64 v = 0;
  EXPECT_FALSE(rx.try_pop(v));  // an empty event at head 0
  EXPECT_FALSE(rx.try_pop(v));  // the same event: a retry is not counted again
  const u64 batch[3] = {1, 2, 3};
  ASSERT_TRUE(tx.try_push_all(batch));
  ASSERT_TRUE(tx.try_push(4));
  EXPECT_FALSE(tx.try_push(5));                                               // a full event
  EXPECT_TRUE(tx.claim(2).empty());                                           // the same one
  EXPECT_EQ(tx.push(5, std::chrono::milliseconds(0)), wait_result::timeout);  // a look, no wait
  EXPECT_EQ(tx.push(5, std::chrono::milliseconds(1)), wait_result::timeout);  // one wait
  ASSERT_TRUE(rx.try_pop(v));
  u64 out[3];
  EXPECT_EQ(rx.try_pop_some(out), 3u);
  EXPECT_EQ(rx.try_pop_some(out), 0u);  // an empty event at head 4
  EXPECT_EQ(rx.pop(v, std::chrono::milliseconds(0)), wait_result::timeout);  // a look, no wait
  EXPECT_EQ(rx.pop(v, std::chrono::milliseconds(1)), wait_result::timeout);
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.producer.messages, 4u);  // fixed-slot rings: from tail and head
  EXPECT_EQ(info.producer.bytes, 32u);
  EXPECT_EQ(info.producer.stalls, 1u);
  EXPECT_EQ(info.producer.waits, 1u);
  EXPECT_EQ(info.consumer.messages, 4u);
  EXPECT_EQ(info.consumer.bytes, 32u);
  EXPECT_EQ(info.consumer.stalls, 2u);
  EXPECT_EQ(info.consumer.waits, 1u);
}

TEST(counters, survive_a_role_changing_hands) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 8);
  {
    auto tx = ring.producer();
    ASSERT_TRUE(tx.try_push(1));
  }
  auto tx = ring.producer();
  ASSERT_TRUE(tx.try_push(2));
  EXPECT_EQ(inspect(g.name()).producer.messages, 2u);
}

TEST(counters, mpmc_endpoints_count_in_their_records_and_fold_into_totals_when_gone) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 16);
  auto a = ring.producer();
  auto c = ring.consumer();
  {
    auto b = ring.producer();
    ASSERT_TRUE(a.try_push(1));
    ASSERT_TRUE(b.try_push(2));
    ASSERT_TRUE(b.try_push(3));
    EXPECT_EQ(inspect(g.name()).producer.messages, 3u);
  }  // b unregisters: its 2 move to the totals
  EXPECT_EQ(inspect(g.name()).producer.messages, 3u);
  auto b2 = ring.producer();  // may reuse b's record: it starts from zero
  ASSERT_TRUE(b2.try_push(4));
  u64 v = 0;
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(c.try_pop(v));
  EXPECT_FALSE(c.try_pop(v));
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.producer.messages, 4u);
  EXPECT_EQ(info.producer.bytes, 32u);
  EXPECT_EQ(info.consumer.messages, 4u);
  EXPECT_EQ(info.consumer.stalls, 1u);
}

// What an mpmc endpoint counted in its record (a producer's full events and waits) moves to
// the side's totals when it leaves: inspect shows the same before and after. The test above
// cannot tell, as fixed-slot rings take their message counts from tail and head.
TEST(counters, mpmc_stalls_and_waits_survive_the_endpoint_that_counted_them) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 2);
  auto c = ring.consumer(wait_policy::spinning());
  ring_info during;
  {
    auto b = ring.producer(wait_policy::spinning());
    ASSERT_TRUE(b.try_push(1));
    ASSERT_TRUE(b.try_push(2));
    EXPECT_FALSE(b.try_push(3));                                               // full
    EXPECT_EQ(b.push(3, std::chrono::milliseconds(1)), wait_result::timeout);  // waits
    during = inspect(g.name());
    EXPECT_GE(during.producer.stalls, 1u);
    EXPECT_GE(during.producer.waits, 1u);
  }
  const ring_info after = inspect(g.name());
  EXPECT_EQ(after.producer.stalls, during.producer.stalls);
  EXPECT_EQ(after.producer.waits, during.producer.waits);
  auto b2 = ring.producer();  // may take b's record: it starts from zero, the totals stay
  const ring_info again = inspect(g.name());
  EXPECT_EQ(again.producer.stalls, during.producer.stalls);
  EXPECT_EQ(again.producer.waits, during.producer.waits);
}

// The same for a message ring's producers, whose message and byte counts live in their records
// alone (no tail to take them from).
TEST(counters, mpsc_msg_messages_survive_the_producer_that_wrote_them) {
  segment_guard g(unique_name());
  auto ring = mpsc_msg_ring::create(g.name(), 1024);
  const std::byte m[3]{};
  {
    auto tx = ring.producer();
    for (int i = 0; i < 4; ++i)
      ASSERT_EQ(tx.try_write(1, m), msg_status::ok);
    EXPECT_EQ(inspect(g.name()).producer.messages, 4u);
  }
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.producer.messages, 4u);
  EXPECT_EQ(info.producer.bytes, 12u);
}

TEST(counters, message_rings_count_payload_bytes) {
  segment_guard g(unique_name());
  auto ring = mpsc_msg_ring::create(g.name(), 1024);
  auto tx = ring.producer();
  auto rx = ring.consumer();
  const std::byte hello[5]{};
  ASSERT_EQ(tx.try_write(1, hello), msg_status::ok);
  ASSERT_EQ(tx.try_write(1, std::span(hello).first(2)), msg_status::ok);
  auto aborted = tx.try_claim(1, 100);
  aborted.abort();  // not a message
  EXPECT_EQ(tx.try_write(1, std::vector<std::byte>(121)), msg_status::too_long);
  std::size_t seen = 0;
  EXPECT_EQ(rx.read([&](std::uint32_t, std::span<const std::byte> m) { seen += m.size(); }), 2u);
  EXPECT_EQ(seen, 7u);
  std::byte buf[16];
  EXPECT_EQ(rx.try_read(buf).status, msg_status::empty);
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.producer.messages, 2u);
  EXPECT_EQ(info.producer.bytes, 7u);
  EXPECT_EQ(info.consumer.messages, 2u);
  EXPECT_EQ(info.consumer.bytes, 7u);
  EXPECT_EQ(info.consumer.stalls, 1u);
}

// The C batch read takes the C++ consumer's results 64 at a time: a batch that empties the ring
// at such a boundary is still one call, and counts no empty event.
TEST(counters, a_c_batch_read_that_empties_the_ring_is_not_a_stall) {
  segment_guard g(unique_name());
  ipcring_ring* ring = nullptr;
  ASSERT_EQ(ipcring_create(g.c_str(), IPCRING_KIND_SPSC_MSG, 1 << 16, 0, nullptr, &ring),
            IPCRING_OK);
  const c_endpoints c(ring);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  ipcring_producer* const tx = c.tx;
  ipcring_consumer* const rx = c.rx;
  std::vector<std::byte> buffer(4096);
  std::vector<ipcring_message> got(200);
  u64 total = 0;
  for (const std::size_t n : {63, 64, 128}) {
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_EQ(ipcring_try_write(tx, 1, "x", 1), IPCRING_OK);
    std::size_t done = 0;
    ASSERT_EQ(
        ipcring_try_read_some(rx, buffer.data(), buffer.size(), got.data(), got.size(), &done),
        IPCRING_OK);
    EXPECT_EQ(done, n);
    total += n;
    EXPECT_EQ(inspect(g.name()).consumer.stalls, 0u) << n << " messages";
  }
  std::size_t done = 0;
  EXPECT_EQ(ipcring_try_read_some(rx, buffer.data(), buffer.size(), got.data(), got.size(), &done),
            IPCRING_EMPTY);
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.consumer.stalls, 1u);
  EXPECT_EQ(info.consumer.messages, total);
}

// inspect() on a copy of the first bytes: as on the whole segment, and refused (not read past)
// with fewer bytes than it needs.
TEST(inspect, reads_a_copy_of_the_first_bytes_of_a_segment) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 64);
  auto tx = ring.producer();
  ASSERT_TRUE(tx.try_push(1));
  const map_view view = map_view::open(g.name());
  std::vector<std::byte> first(view.data(), view.data() + k_inspect_bytes);
  const ring_info info = inspect(first, view.size(), g.name());
  EXPECT_EQ(info.capacity, 64u);
  EXPECT_EQ(info.tail, 1u);
  EXPECT_EQ(info.endpoints.size(), 1u);
  const ring_info through = inspect(view, g.name());
  EXPECT_EQ(through.tail, 1u);
  first.resize(k_inspect_bytes - 8);
  expect_error(errc::invalid_argument, [&] { (void)inspect(first, view.size(), g.name()); });
}

#ifndef _WIN32
// A segment shrunk by another process (ftruncate) after the view was made: a look through the
// mapping raised SIGBUS where the pages went (ls, stat, watch, a supervisor's remove_if_stale
// died with it). Through the descriptor it reads what is left and, judged by the size the
// segment has now, says it is too small for its header, as a look by name does. (Before, the
// view's look read zeros past the new end and listed one endpoint of two, without a word.)
TEST(inspect, a_segment_shrunk_under_a_view_is_reported_not_faulted_on) {
  segment_guard g(unique_name());
  auto ring = mpmc_ring<u64>::create(g.name(), 1024);
  const map_view view = map_view::open(g.name());
  auto& reg = *reinterpret_cast<registry_control*>(view.data() + k_control_offset);
  for (const std::size_t i : {0, 30}) {  // two producers, as written by hand (no handle writes)
    reg.endpoints[i].owner.store(detail::self_identity());
    reg.endpoints[i].role.store(static_cast<std::uint32_t>(endpoint_role::producer));
  }
  ASSERT_EQ(inspect(view, g.name()).endpoints.size(), 2u);
  const int fd = ::shm_open(("/" + g.name()).c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 2048), 0);  // the header, the control block, records 0-7 stay
  ::close(fd);
  const std::string through = expect_error(errc::too_small, [&] { (void)inspect(view, g.name()); });
  EXPECT_NE(through.find("2048"), std::string::npos) << through;
  EXPECT_NE(through.find(g.name()), std::string::npos) << through;
  const std::string msg = expect_error(errc::too_small, [&] { (void)inspect(g.name()); });
  EXPECT_NE(msg.find(g.name()), std::string::npos) << msg;
  EXPECT_FALSE(remove_if_stale(g.name()));  // returns (too small: kept) instead of faulting
}
#endif

#ifndef _WIN32  // POSIX only: a ring outlives its processes (on Windows it goes with them)
TEST(inspect, ring_whose_processes_all_died_is_stale_and_removable) {
  segment_guard g(unique_name());
  std::optional<spsc_ring<u64>> ring = spsc_ring<u64>::create(g.name(), 16);
  child_process holder([&] {
    auto tx = spsc_ring<u64>::open(g.name()).producer();
    auto rx = spsc_ring<u64>::open(g.name()).consumer();
    ::pause();
    return 0;
  });
  // Wait until the child holds both roles (at most 30 s: a slow or sanitized start).
  for (int i = 0; i < 30000 && inspect(g.name()).endpoints.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(inspect(g.name()).endpoints.size(), 2u);
  EXPECT_FALSE(inspect(g.name()).stale());
  EXPECT_FALSE(remove_if_stale(g.name()));  // live: kept
  int removed = -1;                         // the C API's, likewise
  EXPECT_EQ(ipcring_remove_if_stale(g.c_str(), &removed), IPCRING_OK);
  EXPECT_EQ(removed, 0);
  holder.kill(SIGKILL);
  ASSERT_EQ(holder.exit_code(), 1000 + SIGKILL);
  EXPECT_TRUE(inspect(g.name()).stale());
  // Stale, but open in a process (this one, which holds no role): kept. The owner words are a
  // snapshot; such a process may be about to take a dead holder's role over.
  EXPECT_FALSE(remove_if_stale(g.name()));
  ring.reset();
  // Likewise a process that has it open and is taking a role over meanwhile.
  pipe_signal opened;
  child_process taker([&] {
    auto r = spsc_ring<u64>::open(g.name());
    opened.notify();
    ::pause();
    return 0;
  });
  ASSERT_TRUE(opened.wait());
  EXPECT_FALSE(remove_if_stale(g.name()));
  taker.kill(SIGKILL);
  ASSERT_EQ(taker.exit_code(), 1000 + SIGKILL);
  EXPECT_EQ(ipcring_remove_if_stale(g.c_str(), &removed), IPCRING_OK);  // the C API's
  EXPECT_EQ(removed, 1);
  expect_error(errc::not_found, [&] { (void)inspect(g.name()); });
  EXPECT_EQ(ipcring_remove_if_stale(g.c_str(), &removed), IPCRING_OK);  // gone: kept, as none
  EXPECT_EQ(removed, 0);
  EXPECT_EQ(ipcring_remove_if_stale("bad/name", &removed), IPCRING_E_INVALID_NAME);
  EXPECT_EQ(ipcring_remove_if_stale(nullptr, nullptr), IPCRING_E_NULL_ARGUMENT);
}

// A decision made by looking at one segment removes that segment only: a ring another process
// created under the name since (after removing the stale one itself) is kept.
TEST(inspect, a_view_removes_its_own_segment_not_one_created_under_the_name_since) {
  segment_guard g(unique_name());
  (void)spsc_ring<u64>::create(g.name(), 16);
  const map_view first = map_view::open(g.name());
  ASSERT_TRUE(remove(g.name()));
  (void)spsc_ring<u64>::create(g.name(), 32);  // the name's new segment
  EXPECT_FALSE(first.remove_if_still_named());
  EXPECT_EQ(inspect(g.name()).capacity, 32u);
  const map_view second = map_view::open(g.name());
  EXPECT_TRUE(second.remove_if_still_named());
  expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); });
}

TEST(inspect, a_ring_nobody_attached_to_is_not_stale) {
  segment_guard g(unique_name());
  { auto ring = spsc_ring<u64>::create(g.name(), 16); }
  EXPECT_FALSE(inspect(g.name()).stale());
  EXPECT_FALSE(remove_if_stale(g.name()));
}

#endif

// What a creator writes first (docs/layout.md, "Creation protocol"): the header's first 16
// bytes, not ready.
struct creation_stamp {
  u64 magic = k_magic;
  std::uint32_t layout_version = k_layout_version;
  std::uint32_t init_state = 0;
};

std::span<const std::byte> bytes_of(const creation_stamp& s) {
  return std::as_bytes(std::span(&s, 1));
}

ring_options waiting(std::chrono::milliseconds timeout) {
  ring_options o;
  o.open_timeout = timeout;
  return o;
}

// While `creator` holds a ring being made, `holder` (an opener's view of it) sees it held and
// an open waits for it (`open(ring_options)`: 50 ms, then not_ready saying how long); once the
// creator lets go of it without publishing `ready` (here its view closes, as when its process
// dies), an open given `patience` fails at once, saying so, and `holder` sees it gone.
template <class Open>
void expect_open_learns_the_creator_let_go(std::optional<map_view>& creator, const map_view& holder,
                                           Open&& open, std::chrono::milliseconds patience) {
  EXPECT_FALSE(holder.creator_gone());
  EXPECT_FALSE(abandoned_in_creation(holder));
  EXPECT_FALSE(holder.creator_gone());  // a look takes nothing it keeps
  const std::string waited =
      expect_error(errc::not_ready, [&] { open(waiting(std::chrono::milliseconds(50))); });
  EXPECT_NE(waited.find("after waiting 50 ms"), std::string::npos) << waited;
  std::thread let_go([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    creator.reset();
  });
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = expect_error(errc::not_ready, [&] { open(waiting(patience)); });
  let_go.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(msg.find("let go of it"), std::string::npos) << msg;
  EXPECT_TRUE(holder.creator_gone());
  EXPECT_TRUE(abandoned_in_creation(holder));
}

// A named ring: the open fails at once even when it would wait for ever, through C++ and C. On
// Windows too, where the opener's view keeps the mapping and the stamp says the creator holds
// its event (as create_shm's does there): before, with no hold to look at, such an open waited
// for ever.
TEST(inspect, an_open_learns_at_once_that_the_creator_let_go) {
  segment_guard g(unique_name());
  std::optional<map_view> creator = map_view::create(
      g.name(), 1 << 20, {}, bytes_of(creation_stamp{k_magic, k_layout_version, k_init_held}));
  const map_view holder = map_view::open(g.name());  // keeps the mapping (Windows)
  expect_open_learns_the_creator_let_go(
      creator, holder, [&](const ring_options& o) { (void)spsc_ring<u64>::open(g.name(), o); },
      std::chrono::milliseconds::max());
  ipcring_ring* c_ring = nullptr;  // C, with a timeout of for ever
  EXPECT_EQ(ipcring_open_timeout(g.c_str(), IPCRING_KIND_ANY, 0, -1, &c_ring), IPCRING_E_NOT_READY);
  EXPECT_EQ(c_ring, nullptr);
  // A stamp of 0 is judged by the creator's lock on POSIX; on Windows it says no event is held
  // (a creator of an earlier release): waited for until the deadline, not judged.
  const segment_guard g0(unique_name());
  creator = map_view::create(g0.name(), 1 << 20, {}, bytes_of(creation_stamp{}));
  const map_view holder0 = map_view::open(g0.name());
  creator.reset();
#ifdef _WIN32
  EXPECT_FALSE(abandoned_in_creation(holder0));
#else
  EXPECT_TRUE(abandoned_in_creation(holder0));
#endif
  // A whole creation lets go of it as well, and is not abandoned.
  const segment_guard g2(unique_name());
  auto ring = spsc_ring<u64>::create(g2.name(), 16);
  const map_view v2 = map_view::open(g2.name());
  EXPECT_TRUE(v2.creator_gone());
  EXPECT_FALSE(abandoned_in_creation(v2));
}

// A ring in a file alike, on Windows too, where its creator holds a lock on one byte of the file
// (a named event is seen within one session only, and a file may be shared across sessions):
// before, a Windows opener waited out its timeout, and one with no time limit for ever.
TEST(inspect, a_file_open_learns_at_once_that_the_creator_let_go) {
  const temp_file path_file("-held");
  const auto& path = path_file.path();
  (void)remove_file(path);
  {
    std::optional<map_view> creator = map_view::create_file(
        path, 1 << 20, {}, bytes_of(creation_stamp{k_magic, k_layout_version, k_init_held}));
    const map_view holder = map_view::open_file(path);
    // Not for ever (the named ring's test above covers that): a hold nobody can see fails
    // after 20 s, saying it waited, rather than hanging the test.
    expect_open_learns_the_creator_let_go(
        creator, holder, [&](const ring_options& o) { (void)spsc_ring<u64>::open_file(path, o); },
        std::chrono::seconds(20));
  }
  EXPECT_TRUE(remove_file(path));
  {
    // A whole creation lets go of it as well, and is not abandoned.
    auto ring = spsc_ring<u64>::create_file(path, 64);
    const map_view v = map_view::open_file(path);
    EXPECT_TRUE(v.creator_gone());
    EXPECT_FALSE(abandoned_in_creation(v));
    EXPECT_NO_THROW((void)spsc_ring<u64>::open_file(path, waiting(std::chrono::milliseconds(50))));
  }
  EXPECT_TRUE(remove_file(path));
}

#ifndef _WIN32  // POSIX only: a ring outlives its processes (on Windows it goes with them)
// A creator that died after its stamp and before `ready` (here: it made the segment as
// spsc_ring::create does, then exited) left a ring that never will be ready: opening it fails
// at once, inspect says why, and remove_if_stale removes it.
TEST(inspect, a_ring_whose_creator_died_while_making_it_is_refused_at_once_and_removable) {
  segment_guard g(unique_name());
  child_process creator([&] {
    (void)map_view::create(g.name(), 1 << 20, {}, bytes_of(creation_stamp{}));
    return 0;
  });
  ASSERT_EQ(creator.exit_code(), 0);
  EXPECT_TRUE(abandoned_in_creation(map_view::open(g.name())));
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = expect_error(errc::not_ready, [&] {
    (void)spsc_ring<u64>::open(g.name(), waiting(std::chrono::seconds(30)));
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(msg.find("let go of it"), std::string::npos) << msg;
  EXPECT_NE(msg.find("open '" + g.name() + "'"), std::string::npos) << msg;
  EXPECT_NE(expect_error(errc::not_ready, [&] { (void)inspect(g.name()); }).find("let go of it"),
            std::string::npos);
  ipcring_ring* c_ring = nullptr;  // the C open too, at once
  EXPECT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_ANY, 0, &c_ring), IPCRING_E_NOT_READY);
  EXPECT_TRUE(remove_if_stale(g.name()));
  expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); });
}

// A ring in a file alike: its creator holds the file until `ready`; one that died before
// leaves a file that open_file refuses at once, and a live one's is waited for.
TEST(inspect, a_file_ring_whose_creator_died_while_making_it_is_refused_at_once) {
  const temp_file path_file("-file");
  const auto& path = path_file.path();
  remove_file(path);
  {
    std::optional<map_view> creator =
        map_view::create_file(path, 1 << 20, {}, bytes_of(creation_stamp{}));
    EXPECT_FALSE(abandoned_in_creation(map_view::open_file(path)));
    const std::string msg = expect_error(errc::not_ready, [&] {
      (void)spsc_ring<u64>::open_file(path, waiting(std::chrono::milliseconds(50)));
    });
    EXPECT_NE(msg.find("after waiting 50 ms"), std::string::npos) << msg;
  }
  EXPECT_TRUE(remove_file(path));
  child_process creator([&] {
    (void)map_view::create_file(path, 1 << 20, {}, bytes_of(creation_stamp{}));
    return 0;
  });
  ASSERT_EQ(creator.exit_code(), 0);
  EXPECT_TRUE(abandoned_in_creation(map_view::open_file(path)));
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = expect_error(errc::not_ready, [&] {
    (void)spsc_ring<u64>::open_file(path, waiting(std::chrono::seconds(30)));
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(msg.find("let go of it"), std::string::npos) << msg;
  EXPECT_TRUE(remove_file(path));
  auto ring = spsc_ring<u64>::create_file(path, 64);  // a whole creation lets go of it
  EXPECT_FALSE(abandoned_in_creation(map_view::open_file(path)));
  EXPECT_TRUE(map_view::open_file(path).creator_gone());
  EXPECT_NO_THROW((void)spsc_ring<u64>::open_file(path, waiting(std::chrono::milliseconds(50))));
  EXPECT_TRUE(remove_file(path));
}

// While its creator holds it, a ring being made is waited for, as before, and kept; once the
// creator lets go of it without publishing `ready`, it is abandoned.
TEST(inspect, a_ring_still_being_made_is_waited_for_and_kept) {
  segment_guard g(unique_name());
  std::optional<map_view> creator =
      map_view::create(g.name(), 1 << 20, {}, bytes_of(creation_stamp{}));
  EXPECT_FALSE(abandoned_in_creation(map_view::open(g.name())));
  const std::string msg = expect_error(errc::not_ready, [&] {
    (void)spsc_ring<u64>::open(g.name(), waiting(std::chrono::milliseconds(50)));
  });
  EXPECT_NE(msg.find("after waiting 50 ms"), std::string::npos) << msg;
  EXPECT_FALSE(remove_if_stale(g.name()));
  creator.reset();
  EXPECT_TRUE(abandoned_in_creation(map_view::open(g.name())));
  EXPECT_TRUE(remove_if_stale(g.name()));
}

// A header field another process changes while inspect reads it is used with the value that
// was checked: type_name_len read a second time made the copy of the name reach past the
// mapping (a SIGBUS, or ASan's report).
TEST(inspect, a_header_field_changed_while_it_is_read_is_used_as_checked) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 1024);
  pipe_signal started;
  child_process hostile([&] {
    const map_view v = map_view::open(g.name());
    auto* len = reinterpret_cast<volatile std::uint32_t*>(v.data() +
                                                          offsetof(segment_header, type_name_len));
    started.notify();
    for (;;) {
      *len = 5;
      *len = 0x40000000u;
    }
    return 0;
  });
  ASSERT_TRUE(started.wait());
  int refused = 0;
  for (int i = 0; i < 5000; ++i) {
    try {
      EXPECT_LE(inspect(g.name()).type_name.size(), k_type_name_max);
    } catch (const error& e) {
      ASSERT_EQ(e.value(), errc::corrupted) << e.what();
      ++refused;
    }
    EXPECT_FALSE(remove_if_stale(g.name()));
  }
  EXPECT_GT(refused, 0);  // the field did change under the reads
}

// A ring's creator lets go of its segment once `ready` is out, while it goes on using the
// ring: the hold is an flock, which others (the CLI's senders_lock) take shared on the same
// file, and must not wait for a live creator's ring.
TEST(inspect, a_creator_holds_its_segment_only_until_ready) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 16);
  auto rx = ring.consumer();
  EXPECT_TRUE(map_view::open(g.name()).creator_gone());
  const int fd = ::shm_open(("/" + g.name()).c_str(), O_RDONLY | O_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_SH | LOCK_NB), 0) << std::strerror(errno);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0) << std::strerror(errno);
  ::close(fd);
  EXPECT_FALSE(abandoned_in_creation(map_view::open(g.name())));
}

// Only this layout's stamp, not ready, is a ring in the making: a segment of zeros (another
// program's, or a creator that died before its stamp), an older creator's header and a ready
// one are not abandoned, and remove_if_stale keeps them.
TEST(inspect, only_this_layouts_unready_stamp_is_abandoned) {
  creation_stamp older;
  older.layout_version = k_layout_version - 1;
  creation_stamp ready;
  ready.init_state = k_init_ready;
  creation_stamp foreign;
  foreign.magic = 0x4e4f544152494e47ull;
  const std::pair<const char*, std::span<const std::byte>> cases[] = {
      {"zeros", {}},
      {"an older layout", bytes_of(older)},
      {"ready", bytes_of(ready)},
      {"foreign magic", bytes_of(foreign)},
  };
  for (const auto& [what, stamp] : cases) {
    SCOPED_TRACE(what);
    segment_guard g(unique_name());
    { (void)map_view::create(g.name(), 1 << 20, {}, stamp); }
    const map_view v = map_view::open(g.name());
    EXPECT_TRUE(v.creator_gone());
    EXPECT_FALSE(abandoned_in_creation(v));
    EXPECT_FALSE(remove_if_stale(g.name()));
    EXPECT_NO_THROW((void)map_view::open(g.name()));
  }
}

// The real thing: a creator killed while it reserves and pre-faults a large ring. Its stamp is
// written before that work, so a kill that lands after the segment has its size finds the
// stamp, not ready, in nearly every attempt; one in which the creator got further is tried again.
TEST(inspect, a_creator_killed_while_making_a_large_ring_leaves_it_removable) {
  int abandoned = 0;
  for (int attempt = 0; attempt < 5 && abandoned == 0; ++attempt) {
    segment_guard g(unique_name());
    child_process creator([&] {
      auto ring = spsc_ring<u64>::create(g.name(), std::size_t{1} << 25);  // 256 MiB
      ::pause();
      return 0;
    });
    // Killed once the stamp is there (a first word not zero): before it, the segment would
    // not be told from another program's, and a loaded machine can hold the creator between
    // sizing the segment and stamping it for longer than this loop's step.
    const std::string path = "/dev/shm/" + g.name();
    const auto stamped = [&] {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      std::uint64_t magic = 0;
      const bool yes =
          fd >= 0 && ::pread(fd, &magic, sizeof magic, 0) == sizeof magic && magic != 0;
      if (fd >= 0) ::close(fd);
      return yes;
    };
    for (int i = 0; i < 300000 && !stamped(); ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    creator.kill(SIGKILL);
    ASSERT_EQ(creator.exit_code(), 1000 + SIGKILL);
    std::optional<map_view> v = map_view::open(g.name(), [] {
      map_options o;
      o.prefault = false;
      return o;
    }());
    creation_stamp h{0, 0, 0};
    v->peek(0, std::as_writable_bytes(std::span(&h, 1)));
    if (h.init_state == k_init_ready || h.magic == 0) continue;  // too late, or too early
    ++abandoned;
    EXPECT_TRUE(abandoned_in_creation(*v));
    EXPECT_FALSE(remove_if_stale(g.name()));  // open here: kept
    v.reset();
    EXPECT_TRUE(remove_if_stale(g.name()));
    expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); });
  }
  EXPECT_EQ(abandoned, 1) << "no attempt killed the creator between its stamp and 'ready'";
}

#endif

TEST(inspect, foreign_segments_fail_with_a_clear_error) {
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), 4096);
  expect_error(errc::not_ready, [&] { (void)inspect(g.name()); });  // all zero: not finished
  std::memcpy(v.data(), "NOTARING", 8);
  expect_error(errc::bad_magic, [&] { (void)inspect(g.name()); });
}

// The C open looks at a ring through inspect before it attaches: its errors say "open", which
// is what its caller asked for (before, they began "inspect '...'").
TEST(inspect, the_c_open_names_itself_in_what_it_refuses) {
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), 4096);
  std::memcpy(v.data(), "NOTARING", 8);
  ipcring_ring* ring = nullptr;
  EXPECT_EQ(ipcring_open(g.name().c_str(), IPCRING_KIND_ANY, 0, &ring), IPCRING_E_BAD_MAGIC);
  const std::string msg = ipcring_last_error();
  EXPECT_EQ(msg.find("inspect"), std::string::npos) << msg;
  EXPECT_NE(msg.find("open '" + g.name() + "': not an ipcring segment"), std::string::npos) << msg;
  EXPECT_EQ(ring, nullptr);
}

// An empty type name given to the C create is no name: the ring records "bytes<N>", as for
// NULL (before, the library's own spelling of its internal slot type, which depends on the
// compiler that built it).
TEST(inspect, the_c_create_takes_an_empty_type_name_as_none) {
  segment_guard g(unique_name());
  ipcring_ring* ring = nullptr;
  ASSERT_EQ(ipcring_create(g.name().c_str(), IPCRING_KIND_SPSC, 16, 8, "", &ring), IPCRING_OK);
  EXPECT_EQ(inspect(g.name()).type_name, "bytes<8>");
  ipcring_close(ring);
  segment_guard m(unique_name());
  ASSERT_EQ(ipcring_create(m.name().c_str(), IPCRING_KIND_MPSC_MSG, 1024, 0, "", &ring), IPCRING_OK)
      << ipcring_last_error();
  EXPECT_EQ(inspect(m.name()).type_name, "bytes");
  ipcring_close(ring);
}

// A C batch that takes what is there is not a full or empty event, as in C++: one part, or
// two across the wrap, and no stall counted; a batch that finds nothing counts one.
TEST(inspect, c_batches_that_take_what_is_there_count_no_stall) {
  segment_guard g(unique_name());
  ipcring_ring* ring = nullptr;
  ASSERT_EQ(ipcring_create(g.name().c_str(), IPCRING_KIND_SPSC, 16, 8, "", &ring), IPCRING_OK);
  const c_endpoints c(ring);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  ipcring_producer* const tx = c.tx;
  ipcring_consumer* const rx = c.rx;
  std::array<u64, 64> in{}, out{};
  std::iota(in.begin(), in.end(), 0);
  std::size_t done = 0;
  for (int lap = 0; lap < 3; ++lap) {  // 10 at a time: parts across the wrap from lap 2 on
    ASSERT_EQ(ipcring_try_push_some(tx, in.data(), 10, &done), IPCRING_OK);
    ASSERT_EQ(done, 10u);
    ASSERT_EQ(ipcring_try_pop_some(rx, out.data(), 64, &done), IPCRING_OK);  // takes 10
    ASSERT_EQ(done, 10u);
    EXPECT_EQ(out[9], 9u);
  }
  ASSERT_EQ(ipcring_try_push_some(tx, in.data(), 64, &done), IPCRING_FULL);  // 16 fit
  ASSERT_EQ(done, 16u);
  ring_info info = inspect(g.name());
  EXPECT_EQ(info.producer.stalls, 0u);
  EXPECT_EQ(info.consumer.stalls, 0u);
  ASSERT_EQ(ipcring_try_pop_some(rx, out.data(), 64, &done), IPCRING_OK);
  ASSERT_EQ(done, 16u);
  ASSERT_EQ(ipcring_try_pop_some(rx, out.data(), 64, &done), IPCRING_EMPTY);
  info = inspect(g.name());
  EXPECT_EQ(info.producer.stalls, 0u);
  EXPECT_EQ(info.consumer.stalls, 1u);  // the batch that found nothing
}

// inspect shows a ring only where an open would accept its geometry: each impossible field is
// refused by name (before, stat and ls showed "capacity 0" and fill computed from garbage).
TEST(inspect, an_impossible_header_field_is_named) {
  struct poke {
    const char* field;
    void (*apply)(segment_header&);
  };
  const poke pokes[] = {
      {"capacity=0", [](segment_header& h) { h.capacity = 0; }},
      {"capacity=9223372036854775808", [](segment_header& h) { h.capacity = u64{1} << 63; }},
      {"total_size expected 68719477744", [](segment_header& h) { h.slot_size = 0xffffffff; }},
      {"data_offset", [](segment_header& h) { h.data_offset += 128; }},
      {"total_size", [](segment_header& h) { h.total_size += 8; }},
      {"kind=9", [](segment_header& h) { h.kind = 9; }},
      {"slot_align=3", [](segment_header& h) { h.slot_align = 3; }},
      {"type_name_len=64", [](segment_header& h) { h.type_name_len = 64; }},
      // The element fields: byte counts are multiplied by elem_size (a forged 0 showed no
      // traffic; 2^32 - 1, 4 GiB a message).
      {"elem_size=0", [](segment_header& h) { h.elem_size = 0; }},
      {"elem_size expected 8, found 4294967295",
       [](segment_header& h) { h.elem_size = 0xffffffff; }},
      {"elem_align=3", [](segment_header& h) { h.elem_align = 3; }},
      {"elem_align expected 8, found 4", [](segment_header& h) { h.elem_align = 4; }},
  };
  for (const poke& p : pokes) {
    heap_bytes mem(spsc_ring<u64>::required_bytes(16));
    (void)spsc_ring<u64>::create_in(mem.span(), 16);
    EXPECT_NO_THROW((void)inspect(mem.span(), "x"));
    p.apply(*reinterpret_cast<segment_header*>(mem.span().data()));
    const auto msg = expect_error(errc::corrupted, [&] { (void)inspect(mem.span(), "x"); });
    EXPECT_NE(msg.find(p.field), std::string::npos) << msg;
  }
  heap_bytes mem(spsc_ring<u64>::required_bytes(16));
  (void)spsc_ring<u64>::create_in(mem.span(), 16);
  expect_error(errc::too_small,
               [&] { (void)inspect(mem.span().first(mem.span().size() - 8), "x"); });
}

// The element fields of each kind, as its rings write them: an mpmc slot follows from the
// element (mpmc_slot_size), a message ring's are fixed.
TEST(inspect, element_fields_no_ring_of_its_kind_writes_are_corrupted) {
  {
    heap_bytes mem(mpmc_ring<u64>::required_bytes(16));
    (void)mpmc_ring<u64>::create_in(mem.span(), 16);
    const ring_info info = inspect(mem.span(), "x");
    EXPECT_EQ(info.elem_size, 8u);
    EXPECT_EQ(info.slot_size, 16u);
    auto& h = *reinterpret_cast<segment_header*>(mem.span().data());
    h.elem_size = 16;  // would need 24-byte slots
    const auto msg = expect_error(errc::corrupted, [&] { (void)inspect(mem.span(), "x"); });
    EXPECT_NE(msg.find("describe no mpmc ring: slot_size expected 24, found 16"), std::string::npos)
        << msg;
    h.elem_size = 8;
    h.elem_align = 16;  // would need 16-aligned, 32-byte slots
    const auto msg2 = expect_error(errc::corrupted, [&] { (void)inspect(mem.span(), "x"); });
    EXPECT_NE(msg2.find("slot_size expected 32, found 16; slot_align expected 16, found 8"),
              std::string::npos)
        << msg2;
  }
  for (const bool single : {true, false}) {
    heap_bytes mem(spsc_msg_ring::required_bytes(1024));
    if (single) {
      (void)spsc_msg_ring::create_in(mem.span(), 1024);
    } else {
      (void)mpsc_msg_ring::create_in(mem.span(), 1024);
    }
    EXPECT_NO_THROW((void)inspect(mem.span(), "x"));
    reinterpret_cast<segment_header*>(mem.span().data())->elem_size = 2;
    const auto msg = expect_error(errc::corrupted, [&] { (void)inspect(mem.span(), "x"); });
    EXPECT_NE(msg.find("_msg ring: elem_size expected 1, found 2"), std::string::npos) << msg;
  }
}

TEST(inspect, a_small_foreign_segment_is_foreign_before_it_is_small) {
  segment_guard g(unique_name());
  auto v = map_view::create(g.name(), 64);
  std::memcpy(v.data(), "NOTARING", 8);
  expect_error(errc::bad_magic, [&] { (void)inspect(g.name()); });
  std::memcpy(v.data(), "\0\0\0\0\0\0\0\0", 8);  // could be a ring still being created
  // Through a span of 64 bytes: Windows maps whole pages, so the named view is 4096 bytes there.
  const std::span<const std::byte> small(v.data(), 64);
  const auto msg = expect_error(errc::too_small, [&] { (void)inspect(small, g.name()); });
  EXPECT_NE(msg.find("64 bytes, less than a ring's header and control block ("), std::string::npos)
      << msg;
}

#ifndef _WIN32  // POSIX owner and mode checks (Windows: the security descriptor)
TEST(access, segment_owned_by_another_user_is_refused_unless_allowed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a segment to another user";
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 16);
  ASSERT_EQ(::chown(("/dev/shm/" + g.name()).c_str(), 12345, 12345), 0);
  const auto msg =
      expect_error(errc::permission_denied, [&] { (void)spsc_ring<u64>::open(g.name()); });
  EXPECT_NE(msg.find("owned by uid 12345"), std::string::npos) << msg;
  ring_options o;
  o.map.allow_foreign_owner = true;
  EXPECT_NO_THROW((void)spsc_ring<u64>::open(g.name(), o));
}

TEST(access, world_writable_segment_is_refused_unless_allowed) {
  segment_guard g(unique_name());
  auto ring = spsc_ring<u64>::create(g.name(), 16);
  ASSERT_EQ(::chmod(("/dev/shm/" + g.name()).c_str(), 0666), 0);
  const auto msg =
      expect_error(errc::permission_denied, [&] { (void)spsc_ring<u64>::open(g.name()); });
  EXPECT_NE(msg.find("writable by every user (mode 0666)"), std::string::npos) << msg;
  ring_options o;
  o.map.allow_world_writable = true;
  EXPECT_NO_THROW((void)spsc_ring<u64>::open(g.name(), o));
}
#endif

}  // namespace
}  // namespace ipcring::test
