// Deterministic tests of the message rings on heap memory: in-place reads, lengths 0..max,
// wrap-around at every offset (positions set directly), claims, aborts, batches, waits, bad
// input. What a dead producer or a corrupt segment leaves: msg_ring_recovery_test.cpp.
#include "ipcring/msg_ring.hpp"

#include <gtest/gtest.h>

#include "ipcring/inspect.hpp"
#include "ipcring/ipcring.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/msg_ring_fixture.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;
using clock_type = std::chrono::steady_clock;

TYPED_TEST_SUITE(msg_rings, msg_ring_types);

TYPED_TEST(msg_rings, messages_are_read_in_place_in_order) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  EXPECT_EQ(tx.try_write(1, bytes_of("hello")), msg_status::ok);
  EXPECT_EQ(tx.try_write(2, {}), msg_status::ok);  // zero-length message
  EXPECT_EQ(tx.try_write(3, bytes_of("world!")), msg_status::ok);
  std::vector<std::pair<std::uint32_t, std::string>> got;
  EXPECT_EQ(rx.read([&](std::uint32_t t, std::span<const std::byte> m) {
    got.emplace_back(t, text_of(m));
  }),
            3u);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(1u, std::string("hello")));
  EXPECT_EQ(got[1], std::make_pair(2u, std::string()));
  EXPECT_EQ(got[2], std::make_pair(3u, std::string("world!")));
  EXPECT_EQ(rx.read([](auto, auto) {}), 0u);
  rx.close();  // frees the 40 bytes read, held until the read position leaves a sixteenth
  for (std::size_t i = 0; i < 1024; ++i)
    ASSERT_EQ(f.data()[i], std::byte{0}) << i;  // zeroed
}

// A handler that returns bool controls the read: false leaves its message for the next read
// (handed over again, then read), and a read that declines its first message is not a stall.
TYPED_TEST(msg_rings, a_handler_returning_false_leaves_its_message_for_the_next_read) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  for (const char* m : {"one", "two", "three"})
    ASSERT_EQ(tx.try_write(4, bytes_of(m)), msg_status::ok);
  std::vector<std::string> seen;
  const auto until = [&](const std::string& stop) {
    return [&seen, stop](std::uint32_t, std::span<const std::byte> m) {
      seen.push_back(text_of(m));
      return seen.back() != stop;
    };
  };
  EXPECT_EQ(rx.read(until("two")), 1u);  // "one" read, "two" declined
  EXPECT_EQ(rx.read(until("two")), 0u);  // "two" again, declined again
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "two", "two"}));
  EXPECT_EQ(inspect(f.mem.span(), "mem").consumer.stalls, 0u);
  EXPECT_EQ(inspect(f.mem.span(), "mem").consumer.messages, 1u);
  EXPECT_EQ(read_all(rx), (std::vector<std::string>{"two", "three"}));
  EXPECT_EQ(rx.read(until("none")), 0u);  // empty: a stall, as for any handler
  EXPECT_EQ(inspect(f.mem.span(), "mem").consumer.stalls, 1u);
}

// A ring in a regular file: a second open of the file reads what the first wrote; the longest
// message is the ring's max_message(), as its producer says. (Between processes, on POSIX:
// msg_ring_ipc_test.)
TYPED_TEST(msg_rings, a_ring_in_a_file_is_opened_by_its_path) {
  const temp_file file("-msg");
  auto ring = TypeParam::create_file(file.path(), 4096);
  EXPECT_EQ(ring.max_message(), 4096u / 8 - 8);
  expect_error(errc::already_exists, [&] { (void)TypeParam::create_file(file.path(), 4096); });
  auto tx = ring.producer();
  EXPECT_EQ(tx.max_message(), ring.max_message());
  const std::vector<std::byte> longest(ring.max_message(), std::byte{7});
  EXPECT_EQ(tx.try_write(5, longest), msg_status::ok);
  EXPECT_EQ(tx.try_write(6, bytes_of("in a file")), msg_status::ok);
  auto again = TypeParam::open_file(file.path());
  EXPECT_EQ(again.capacity(), 4096u);
  auto rx = again.consumer();
  std::vector<std::pair<std::uint32_t, std::size_t>> got;
  std::string last;
  EXPECT_EQ(rx.read([&](std::uint32_t t, std::span<const std::byte> m) {
    got.emplace_back(t, m.size());
    last = text_of(m);
  }),
            2u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(5u, longest.size()));
  EXPECT_EQ(got[1].first, 6u);
  EXPECT_EQ(last, "in a file");
}

// A holder killed while it slept leaves its announcement (`sleepers`) raised: a successor in a
// role that is the only one to sleep on its block takes it back, or every publish would pay a
// wake, a syscall, for the life of the segment. (mpsc_msg producers share theirs.)
TYPED_TEST(msg_rings, a_holder_that_died_asleep_costs_its_successor_no_wakes) {
  constexpr bool single_producer = std::is_same_v<TypeParam, spsc_msg_ring>;
  fixture<TypeParam> f(1024);
  f.ctl().data_wait.sleepers.store(1);
  f.ctl().space_wait.sleepers.store(single_producer ? 1 : 0);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const u64 data_seq = f.ctl().data_wait.seq.load(), space_seq = f.ctl().space_wait.seq.load();
  std::array<std::byte, 64> buf{};
  for (int i = 0; i < 200; ++i) {  // 200 x 16 bytes: three laps, a release every sixteenth
    ASSERT_EQ(tx.try_write(1, bytes_of("12345678")), msg_status::ok);
    ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);
  }
  EXPECT_EQ(f.ctl().data_wait.seq.load(), data_seq);  // no wake: nobody sleeps
  EXPECT_EQ(f.ctl().space_wait.seq.load(), space_seq);
  EXPECT_EQ(f.ctl().data_wait.sleepers.load(), 0u);
  EXPECT_EQ(f.ctl().space_wait.sleepers.load(), 0u);
}

// A claim its producer ended (a write meanwhile, the producer moved) publishes nothing, and
// its commit() says so; a claim that committed is empty.
TYPED_TEST(msg_rings, a_claim_ended_by_its_producer_commits_nothing) {
  fixture<TypeParam> f(1024);
  auto rx = f.ring.consumer();
  std::vector<std::string> got;
  const auto read_all = [&] {
    rx.read([&](std::uint32_t, std::span<const std::byte> m) { got.push_back(text_of(m)); });
  };
  auto tx = f.ring.producer();
  auto c = tx.try_claim(1, 5);
  ASSERT_TRUE(c);
  EXPECT_EQ(tx.try_write(2, bytes_of("other")), msg_status::ok);  // ends the claim
  EXPECT_FALSE(c.commit());
  EXPECT_FALSE(c);
  auto d = tx.try_claim(3, 5);  // a claim that moves keeps working
  auto moved = std::move(d);
  EXPECT_FALSE(d);  // NOLINT(bugprone-use-after-move): what is tested
  std::memcpy(moved.bytes().data(), "claim", 5);
  EXPECT_TRUE(moved.commit());
  EXPECT_FALSE(moved);
  EXPECT_TRUE(moved.bytes().empty());
  EXPECT_FALSE(moved.commit());
  auto e = tx.try_claim(4, 5);
  ASSERT_TRUE(e);
  auto tx2 = std::move(tx);  // ends e; tx, moved from, lives on until e is let go of
  EXPECT_FALSE(e.commit());
  EXPECT_EQ(tx2.try_write(5, bytes_of("after")), msg_status::ok);
  read_all();
  EXPECT_EQ(got, (std::vector<std::string>{"other", "claim", "after"}));
}

#ifndef _WIN32
// A child that inherited a producer with an open claim across fork() leaves the claim alone:
// letting go of the claim wrote padding into the parent's record (its commit() then said
// true, and the consumer read nothing), and assigning the producer over kept the claim's
// position, then wrote padding there in the ring it was assigned.
TYPED_TEST(msg_rings, a_forked_child_leaves_its_parents_claim_alone) {
  const segment_guard g(unique_name("-a")), g2(unique_name("-b"));
  auto ring = TypeParam::create(g.name(), 1024);
  auto ring2 = TypeParam::create(g2.name(), 1024);
  auto tx = ring.producer();
  auto c = tx.try_claim(1, 5);
  ASSERT_TRUE(c);
  std::memcpy(c.bytes().data(), "hello", 5);
  child_process child([&] {
    { const auto dropped = std::move(c); }
    tx = ring2.producer();
    return tx.try_write(2, bytes_of("x")) == msg_status::ok ? 0 : 1;
  });
  EXPECT_EQ(child.exit_code(), 0);
  EXPECT_TRUE(c.commit());
  std::vector<std::pair<std::uint32_t, std::string>> got;
  const auto keep = [&](std::uint32_t t, std::span<const std::byte> m) {
    got.emplace_back(t, text_of(m));
  };
  auto rx = ring.consumer();
  rx.read(keep);
  auto rx2 = ring2.consumer();
  rx2.read(keep);
  EXPECT_FALSE(rx2.corrupted());
  EXPECT_EQ(got, (std::vector<std::pair<std::uint32_t, std::string>>{{1, "hello"}, {2, "x"}}));
}
#endif

// A timeout longer than nanoseconds can hold waits without end, as spsc's and mpmc's do: it
// was converted to nanoseconds and overflowed, to a timeout at once.
TYPED_TEST(msg_rings, a_timeout_too_long_for_nanoseconds_waits_until_the_other_side_closes) {
  using namespace std::chrono;
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const auto close_later = [](auto& side) {
    return std::thread([&side] {
      std::this_thread::sleep_for(milliseconds(50));
      side.close();
    });
  };
  EXPECT_EQ(rx.wait_readable(seconds(0)), wait_result::timeout);
  {
    const auto start = steady_clock::now();
    std::thread closer = close_later(tx);
    wait_result r = wait_result::ok;
    EXPECT_EQ(rx.read_wait([](auto, auto) {}, SIZE_MAX, hours::max(), &r), 0u);
    EXPECT_EQ(r, wait_result::closed);
    EXPECT_EQ(rx.wait_readable(duration<double>(1e300)), wait_result::closed);
    EXPECT_GE(steady_clock::now() - start, milliseconds(40));
    closer.join();
  }
  fixture<TypeParam> g(1024);  // a full ring, for the writes
  auto tx2 = g.ring.producer();
  auto rx2 = g.ring.consumer();
  const std::string line(100, 'x');  // max_message() is 120 here
  while (tx2.try_write(1, bytes_of(line)) == msg_status::ok) {
  }
  const auto start = steady_clock::now();
  std::thread closer = close_later(rx2);
  msg_status s = msg_status::ok;
  EXPECT_EQ(tx2.write(1, bytes_of(line), hours::max(), &s), wait_result::closed);
  EXPECT_EQ(s, msg_status::full);
  EXPECT_GE(steady_clock::now() - start, milliseconds(40));
  const std::span<const std::byte> one[] = {bytes_of(line)};
  wait_result r = wait_result::ok;
  EXPECT_EQ(tx2.write_some(1, one, duration<double>(1e300), &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
  closer.join();
}

// mpsc_msg producers share space_wait: a producer killed asleep is taken back by name (its
// record's `asleep`) when another registers.
TEST(mpsc_msg_ring, the_count_of_a_producer_killed_asleep_is_taken_back) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  auto& dead = reg.endpoints[7];
  dead.owner.store(k_dead_owner);
  dead.role.store(static_cast<std::uint32_t>(endpoint_role::producer));
  dead.asleep.store(k_dead_owner);
  f.ctl().space_wait.sleepers.store(1);
  auto tx = f.ring.producer();
  EXPECT_EQ(f.ctl().space_wait.sleepers.load(), 0u);
  EXPECT_EQ(dead.asleep.load(), 0u);
}

// 64 producers killed mid-claim hold every record: a new producer is refused with the reason
// and the way out, and the consumer's recovery hands the records back.
TEST(mpsc_msg_ring, a_table_of_producers_killed_mid_claim_is_refused_until_the_consumer_recovers) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  auto rx = f.ring.consumer();
  for (auto& r : reg.endpoints) {
    r.owner.store(k_dead_owner);
    r.role.store(static_cast<std::uint32_t>(endpoint_role::producer));
    r.claim_count.store(16);
    r.claim_first.store(1);  // a claim at 0 named but never made: tail is still 0
  }
  const auto msg = expect_error(errc::too_many_endpoints, [&] { (void)f.ring.producer(); });
  EXPECT_NE(msg.find("0 by live processes, 64 by dead ones"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the consumer's recover()"), std::string::npos) << msg;
  EXPECT_EQ(rx.recover(), 0u);  // nothing to repair, only records to hand back
  auto tx = f.ring.producer();
  ASSERT_EQ(tx.try_write(1, bytes_of("back")), msg_status::ok);
  std::array<std::byte, 64> buf{};
  EXPECT_EQ(rx.try_read(buf).status, msg_status::ok);
}

// A producer killed asleep after the others attached: nobody registers, nobody recovers, and
// the consumer only reads. Its releases take the dead producer's count back themselves, after
// 4,096 of them paid a wake.
TEST(mpsc_msg_ring, a_reading_consumer_takes_back_the_count_of_a_producer_that_died_asleep) {
  fixture<mpsc_msg_ring> f(1024);
  auto& reg = *reinterpret_cast<registry_control*>(f.mem.span().data() + 128);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto& dead = reg.endpoints[9];
  dead.owner.store(k_dead_owner);
  dead.role.store(static_cast<std::uint32_t>(endpoint_role::producer));
  dead.asleep.store(k_dead_owner);
  f.ctl().space_wait.sleepers.store(1);
  std::array<std::byte, 64> buf{};
  // 1024-byte ring, a release every 64 bytes: four 16-byte records per release
  const auto hand_over = [&](int releases) {
    for (int i = 0; i < releases * 4; ++i) {
      ASSERT_EQ(tx.try_write(1, bytes_of("12345678")), msg_status::ok);
      ASSERT_EQ(rx.try_read(buf).status, msg_status::ok);
    }
  };
  hand_over(4000);
  EXPECT_EQ(f.ctl().space_wait.sleepers.load(), 1u);  // not yet: the sweep is rare
  hand_over(100);
  EXPECT_EQ(f.ctl().space_wait.sleepers.load(), 0u);
  EXPECT_EQ(dead.asleep.load(), 0u);
  const u64 seq = f.ctl().space_wait.seq.load();
  hand_over(100);
  EXPECT_EQ(f.ctl().space_wait.seq.load(), seq);  // no wake any more: nobody sleeps
}

using batch_t = std::vector<std::span<const std::byte>>;

TYPED_TEST(msg_rings, a_batch_is_written_in_order_as_records_of_its_type) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::string a = "hello", c = "world!";
  msg_status s = msg_status::full;
  EXPECT_EQ(tx.try_write_some(4, batch_t{bytes_of(a), {}, bytes_of(c)}, &s), 3u);
  EXPECT_EQ(s, msg_status::ok);
  EXPECT_EQ(f.ctl().tail.load(), 16u + 8u + 16u);  // three records, each padded to 8 bytes
  EXPECT_EQ(read_all(rx), (std::vector<std::string>{"hello", "", "world!"}));
  EXPECT_EQ(tx.try_write_some(4, batch_t{}, &s), 0u);  // nothing to write: nothing wrong
  EXPECT_EQ(s, msg_status::ok);
}

TYPED_TEST(msg_rings, a_batch_stops_at_a_message_too_long_and_refuses_the_padding_type) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::string a = "first", c = "never";
  const std::vector<std::byte> big(tx.max_message() + 1);
  msg_status s = msg_status::ok;
  EXPECT_EQ(tx.try_write_some(4, batch_t{bytes_of(a), big, bytes_of(c)}, &s), 1u);
  EXPECT_EQ(s, msg_status::too_long);  // the one after the count
  EXPECT_EQ(tx.try_write_some(4, batch_t{big}, &s), 0u);
  EXPECT_EQ(s, msg_status::too_long);
  EXPECT_EQ(tx.try_write_some(k_padding_type, batch_t{bytes_of(a)}, &s), 0u);
  EXPECT_EQ(s, msg_status::bad_type);
  EXPECT_EQ(read_all(rx), (std::vector<std::string>{"first"}));
}

// One reservation takes at most capacity / 8 bytes of records (128 in a 1 KiB ring: eight
// 16-byte records); the rest goes in the next call.
TYPED_TEST(msg_rings, a_batch_takes_at_most_an_eighth_of_the_ring_per_call) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  std::vector<std::string> texts;
  for (int i = 0; i < 10; ++i)
    texts.push_back("msg-" + std::to_string(i) + "...");  // 8 bytes: 16-byte records
  batch_t all;
  for (const auto& t : texts)
    all.push_back(bytes_of(t));
  msg_status s = msg_status::full;
  ASSERT_EQ(tx.try_write_some(4, all, &s), 8u);
  EXPECT_EQ(s, msg_status::ok);
  ASSERT_EQ(tx.try_write_some(4, std::span(all).subspan(8), &s), 2u);
  EXPECT_EQ(read_all(rx), texts);
  // The largest message alone is a whole reservation.
  const std::vector<std::byte> largest(tx.max_message(), std::byte{9});
  EXPECT_EQ(tx.try_write_some(4, batch_t{largest, largest}, &s), 1u);
  EXPECT_EQ(s, msg_status::ok);
}

// A batch that finds too little room writes the messages that fit and says full; one that
// finds none writes nothing.
TYPED_TEST(msg_rings, a_batch_writes_what_fits_and_says_full) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::string eight = "12345678";  // 16-byte records
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(tx.try_write(1, bytes_of(eight)), msg_status::ok);  // 960 of 1024 bytes
  const batch_t six(6, bytes_of(eight));
  msg_status s = msg_status::ok;
  EXPECT_EQ(tx.try_write_some(4, six, &s), 4u);  // 64 bytes free: four records
  EXPECT_EQ(s, msg_status::full);
  EXPECT_EQ(tx.try_write_some(4, six, &s), 0u);
  EXPECT_EQ(s, msg_status::full);
  EXPECT_EQ(f.ctl().tail.load(), 1024u);
  EXPECT_EQ(rx.read([](auto, auto) {}), 64u);
  EXPECT_EQ(rx.wait_readable(1ms), wait_result::timeout);  // frees what it read
  EXPECT_EQ(tx.try_write_some(4, six, &s), 6u);
  EXPECT_EQ(s, msg_status::ok);
  EXPECT_EQ(read_all(rx), std::vector<std::string>(6, eight));
}

// At every position: a batch that does not fit before the end of the buffer starts after a
// padding record, one that does is written in place, and every message reads back intact.
TYPED_TEST(msg_rings, a_batch_wraps_at_every_offset) {
  const std::vector<std::string> texts = {"", "a", "0123456789abc", std::string(30, 'x'), "z"};
  batch_t batch;
  u64 bytes = 0;
  for (const auto& t : texts) {
    batch.push_back(bytes_of(t));
    bytes += detail::align8(k_record_header + t.size());
  }
  for (u64 pos = 0; pos < 1024; pos += 8) {
    SCOPED_TRACE(pos);
    fixture<TypeParam> f(1024);
    f.set_position(3 * 1024 + pos);
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    msg_status s = msg_status::full;
    ASSERT_EQ(tx.try_write_some(4, batch, &s), texts.size());
    EXPECT_EQ(s, msg_status::ok);
    const u64 before_wrap = 1024 - pos;
    EXPECT_EQ(f.ctl().tail.load(),
              3 * 1024 + pos + (before_wrap < bytes ? before_wrap : 0) + bytes);
    ASSERT_EQ(read_all(rx), texts);
    EXPECT_FALSE(rx.corrupted());
  }
}

TYPED_TEST(msg_rings, a_blocking_batch_waits_for_room_for_its_first_message) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::string eight = "12345678";
  for (int i = 0; i < 64; ++i)
    ASSERT_EQ(tx.try_write(1, bytes_of(eight)), msg_status::ok);  // full
  wait_result r = wait_result::ok;
  msg_status s = msg_status::ok;
  EXPECT_EQ(tx.write_some(4, batch_t{bytes_of(eight)}, 2ms, &r, &s), 0u);
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_EQ(s, msg_status::full);
  EXPECT_EQ(rx.read([](auto, auto) {}), 64u);
  EXPECT_EQ(rx.wait_readable(1ms), wait_result::timeout);  // frees what it read
  EXPECT_EQ(tx.write_some(4, batch_t{bytes_of(eight), bytes_of(eight)}, 1s, &r, &s), 2u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(s, msg_status::ok);
  const std::vector<std::byte> big(tx.max_message() + 1);
  EXPECT_EQ(tx.write_some(4, batch_t{big}, 1s, &r, &s), 0u);  // refused at once, not waited
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(s, msg_status::too_long);
}

// Space comes back a sixteenth of the ring at a time (the contract in msg_ring.hpp): reading
// 16-byte records one by one stores head when the read position leaves the sixteenth of the
// last head stored; what is held is freed by a blocking wait and by the handle's end, and never
// keeps the largest message out.
TYPED_TEST(msg_rings, space_comes_back_a_sixteenth_of_the_ring_at_a_time) {
  for (const u64 cap : {u64{1024}, u64{4096}}) {
    SCOPED_TRACE(cap);
    const u64 part = cap / 16;  // 64 and 256 bytes: 4 and 16 records
    fixture<TypeParam> f(cap);
    auto tx = f.ring.producer();
    std::optional rx(f.ring.consumer());
    const std::string eight = "12345678";  // 8 + 8 bytes of header: a 16-byte record
    const u64 records = part / 16 + 1;
    for (u64 i = 0; i < records; ++i)
      ASSERT_EQ(tx.try_write(1, bytes_of(eight)), msg_status::ok);
    std::byte buf[16];
    for (u64 read = 1; read <= records; ++read) {
      ASSERT_EQ(rx->try_read(buf).status, msg_status::ok);
      // Stored when the read position reached `part`, not before or after.
      EXPECT_EQ(f.ctl().head.load(), read * 16 >= part ? part : 0u) << read;
    }
    for (std::size_t i = 0; i < part; ++i)
      ASSERT_EQ(f.data()[i], std::byte{0}) << i;             // the part given back is zeroed
    EXPECT_NE(f.data()[part], std::byte{0});                 // the last record is not, yet
    EXPECT_EQ(rx->try_read(buf).status, msg_status::empty);  // a failed poll keeps it
    EXPECT_EQ(f.ctl().head.load(), part);
    // The producer can still write the largest message, with 16 bytes held.
    const std::vector<std::byte> big(cap / 8 - 8, std::byte{7});
    ASSERT_EQ(tx.try_write(2, big), msg_status::ok);
    std::vector<std::byte> out(big.size());
    ASSERT_EQ(rx->try_read(out).status, msg_status::ok);
    EXPECT_EQ(out, big);
    // A blocking wait that finds nothing frees what was read before it waits.
    ASSERT_EQ(tx.try_write(1, bytes_of(eight)), msg_status::ok);
    ASSERT_EQ(rx->try_read(buf).status, msg_status::ok);
    EXPECT_NE(f.ctl().head.load(), f.ctl().tail.load());
    EXPECT_EQ(rx->wait_readable(1ms), wait_result::timeout);
    EXPECT_EQ(f.ctl().head.load(), f.ctl().tail.load());
    // So does the end of the handle.
    ASSERT_EQ(tx.try_write(1, bytes_of(eight)), msg_status::ok);
    ASSERT_EQ(rx->try_read(buf).status, msg_status::ok);
    EXPECT_NE(f.ctl().head.load(), f.ctl().tail.load());
    rx.reset();
    EXPECT_EQ(f.ctl().head.load(), f.ctl().tail.load());
    for (std::size_t i = 0; i < cap; ++i)
      ASSERT_EQ(f.data()[i], std::byte{0}) << i;
  }
}

// One lap counts from the head stored, not from the read position: a read() that starts with
// a record held (read, not yet zeroed) stops before it comes round to it again.
TYPED_TEST(msg_rings, a_held_record_is_never_read_again_a_lap_later) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::string eight = "12345678";
  hold_one_record(f, tx, rx);
  u64 written = 0;
  while (tx.try_write(2, bytes_of(eight)) == msg_status::ok)
    ++written;
  ASSERT_EQ(written, 1024u / 16 - 1);  // up to one lap from the head stored
  u64 got = 0;
  EXPECT_EQ(rx.read([&](std::uint32_t type, std::span<const std::byte> m) {
    EXPECT_EQ(type, 2u);  // never the held record (type 1) again
    EXPECT_EQ(text_of(m), eight);
    ++got;
  }),
            written);
  EXPECT_EQ(got, written);
  EXPECT_FALSE(rx.corrupted());
}

// Held records and a write at the wrap: a consumer holding most of the last sixteenth before
// the wrap (56 of its 64 bytes) leaves room for a maximal record with its padding, and the
// release that crosses the wrap zeroes both sides of it.
TYPED_TEST(msg_rings, held_space_never_keeps_the_largest_record_out) {
  fixture<TypeParam> f(1024);
  f.set_position(1024 - 64);  // an empty ring at 960, the last sixteenth of the lap
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  std::byte none[1];
  for (int i = 0; i < 7; ++i)  // 8-byte records (headers only) up to 1016
    ASSERT_EQ(tx.try_write(1, {}), msg_status::ok);
  for (int i = 0; i < 7; ++i)
    ASSERT_EQ(rx.try_read(none).status, msg_status::ok);
  EXPECT_EQ(f.ctl().head.load(), 960u);  // 56 bytes held
  // At 1016 a maximal record (120 + 8 bytes) needs 8 bytes of padding first.
  const std::vector<std::byte> big(1024 / 8 - 8, std::byte{3});
  ASSERT_EQ(tx.try_write(2, big), msg_status::ok);
  std::vector<std::byte> out(big.size());
  const read_result r = rx.try_read(out);
  ASSERT_EQ(r.status, msg_status::ok);
  EXPECT_EQ(r.type, 2u);
  EXPECT_EQ(out, big);
  EXPECT_EQ(f.ctl().head.load(), 1024u + 128u);  // left the sixteenth: all freed
  for (std::size_t i = 0; i < 1024; ++i)
    ASSERT_EQ(f.data()[i], std::byte{0}) << i;
}

TYPED_TEST(msg_rings, read_stops_at_max_messages) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(tx.try_write(7, bytes_of("x")), msg_status::ok);
  EXPECT_EQ(rx.read([](auto, auto) {}, 2), 2u);
  EXPECT_EQ(rx.read([](auto, auto) {}, 10), 3u);
}

TYPED_TEST(msg_rings, too_long_and_reserved_type_are_rejected_not_truncated) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  EXPECT_EQ(tx.max_message(), 1024u / 8 - 8);
  const std::string max(tx.max_message(), 'm');
  EXPECT_EQ(tx.try_write(1, bytes_of(max)), msg_status::ok);
  EXPECT_EQ(tx.try_write(1, bytes_of(max + "!")), msg_status::too_long);
  EXPECT_EQ(tx.try_write(k_padding_type, bytes_of("x")), msg_status::bad_type);
  auto rx = f.ring.consumer();
  std::string got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got = text_of(m); }), 1u);
  EXPECT_EQ(got, max);
}

TYPED_TEST(msg_rings, fills_up_and_frees_space_after_reads) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  const std::string m(56, 'a');  // 64-byte records: 16 fit
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(tx.try_write(1, bytes_of(m)), msg_status::ok) << i;
  EXPECT_EQ(tx.try_write(1, bytes_of(m)), msg_status::full);
  EXPECT_EQ(rx.read([](auto, auto) {}, 1), 1u);
  EXPECT_EQ(tx.try_write(1, bytes_of(m)), msg_status::ok);
}

TYPED_TEST(msg_rings, wraps_with_padding_at_every_offset) {
  for (u64 start = 0; start < 1024; start += 8) {
    fixture<TypeParam> f(1024);
    f.set_position(start + 1024 * 5);  // a later lap, any offset
    auto tx = f.ring.producer();
    auto rx = f.ring.consumer();
    // Three 100-byte messages: one of them meets the end of the buffer somewhere.
    u64 written = 0, read = 0;
    for (int round = 0; round < 20; ++round) {
      std::string m(100, static_cast<char>('a' + round % 26));
      ASSERT_EQ(tx.try_write(static_cast<std::uint32_t>(round), bytes_of(m)), msg_status::ok)
          << "start " << start << " round " << round;
      ++written;
      read += rx.read([&](std::uint32_t t, std::span<const std::byte> b) {
        EXPECT_EQ(t, static_cast<std::uint32_t>(round));
        EXPECT_EQ(text_of(b), m);  // contiguous even across the wrap
      });
    }
    EXPECT_EQ(read, written);
  }
}

TYPED_TEST(msg_rings, claim_commit_and_abort) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  {
    auto c = tx.try_claim(5, 3);
    ASSERT_TRUE(c);
    std::memcpy(c.bytes().data(), "abc", 3);
    EXPECT_EQ(rx.read([](auto, auto) {}), 0u);  // not committed yet: invisible
    c.commit();
  }
  {
    auto c = tx.try_claim(6, 10);
    ASSERT_TRUE(c);
    c.abort();  // becomes padding
  }
  { auto c = tx.try_claim(7, 4); }  // destroyed open: aborted too
  ASSERT_EQ(tx.try_write(8, bytes_of("end")), msg_status::ok);
  std::vector<std::uint32_t> types;
  EXPECT_EQ(rx.read([&](std::uint32_t t, auto) { types.push_back(t); }), 2u);
  EXPECT_EQ(types, (std::vector<std::uint32_t>{5, 8}));
  auto bad = tx.try_claim(1, 5000);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.status(), msg_status::too_long);
}

// commit(used): the message is the first `used` bytes; the rest of the claim is padding the
// consumer skips (a claim of 100 bytes takes 112 of the ring; a 10-byte message 24, padding 88).
TYPED_TEST(msg_rings, a_claim_committed_shorter_publishes_what_was_filled) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  {
    auto c = tx.try_claim(5, 100);
    ASSERT_TRUE(c);
    std::memcpy(c.bytes().data(), "ten bytes!", 10);
    EXPECT_TRUE(c.commit(10));
    EXPECT_FALSE(c.commit(10));  // once
  }
  EXPECT_EQ(f.ctl().tail.load(), 112u);          // the whole claim's space is taken
  EXPECT_EQ(f.data()[24 + 4], std::byte{0xff});  // a padding record after the 24 bytes kept
  {
    auto c = tx.try_claim(6, 12);  // 20 bytes: 24 with or without the 4 unused
    ASSERT_TRUE(c);
    std::memcpy(c.bytes().data(), "eight...", 8);
    EXPECT_TRUE(c.commit(8));
  }
  {
    auto c = tx.try_claim(7, 16);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c.commit(0));  // an empty message
  }
  {
    auto c = tx.try_claim(8, 4);
    ASSERT_TRUE(c);
    std::memcpy(c.bytes().data(), "four", 4);
    EXPECT_TRUE(c.commit(1000));  // more than claimed: all of it
  }
  ASSERT_EQ(tx.try_write(9, bytes_of("end")), msg_status::ok);
  std::vector<std::pair<std::uint32_t, std::string>> got;
  EXPECT_EQ(rx.read([&](std::uint32_t t, auto m) { got.emplace_back(t, text_of(m)); }), 5u);
  EXPECT_EQ(got, (std::vector<std::pair<std::uint32_t, std::string>>{
                     {5, "ten bytes!"}, {6, "eight..."}, {7, ""}, {8, "four"}, {9, "end"}}));
  const auto info = inspect(f.mem.span(), "mem");
  EXPECT_EQ(info.producer.messages, 5u);
  EXPECT_EQ(info.producer.bytes, 10u + 8 + 0 + 4 + 3);  // what was published, not claimed
  EXPECT_EQ(info.consumer.bytes, 10u + 8 + 0 + 4 + 3);
  EXPECT_FALSE(rx.corrupted());
}

// The padding after a message committed shorter wakes no wait by itself: a read of one
// message at a time gets one each call, then a timeout, never 0 with ok.
TYPED_TEST(msg_rings, padding_after_a_shorter_commit_wakes_no_wait) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  for (int i = 0; i < 3; ++i) {
    auto c = tx.try_claim(4, 64);
    ASSERT_TRUE(c);
    std::memcpy(c.bytes().data(), "abc", 3);
    ASSERT_TRUE(c.commit(3));
  }
  std::size_t got = 0;
  for (int i = 0; i < 3; ++i) {
    wait_result r = wait_result::timeout;
    EXPECT_EQ(rx.read_wait([&](auto, auto m) { got += m.size(); }, 1, 0ms, &r), 1u);
    EXPECT_EQ(r, wait_result::ok);
  }
  EXPECT_EQ(got, 9u);
  wait_result r = wait_result::ok;
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 1, 0ms, &r), 0u);
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_EQ(rx.wait_readable(0ms), wait_result::timeout);
}

// Padding committed while the consumer waits (an aborted claim) does not end the wait, and
// is freed: the wait times out with the ring's positions level.
TYPED_TEST(msg_rings, padding_committed_during_a_wait_is_passed_and_freed) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  std::thread aborter([&] {
    std::this_thread::sleep_for(20ms);  // well inside the wait, even on a loaded machine
    auto c = tx.try_claim(4, 40);
    EXPECT_TRUE(c);
    c.abort();
  });
  wait_result r = wait_result::ok;
  const auto t0 = clock_type::now();
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 1, 2s, &r), 0u);
  aborter.join();
  EXPECT_EQ(r, wait_result::timeout);
  EXPECT_GE(clock_type::now() - t0, 2s);
  EXPECT_EQ(f.ctl().head.load(), f.ctl().tail.load());
  EXPECT_EQ(f.ctl().tail.load(), 48u);
}

// A side closed here still uses what there is (as every batch): a closed consumer reads what
// the ring holds, then says closed; a closed producer writes where there is room, and says
// closed where it would wait.
TYPED_TEST(msg_rings, a_closed_side_says_closed_where_it_would_wait) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  ASSERT_EQ(tx.try_write(4, bytes_of("kept")), msg_status::ok);
  rx.close();
  wait_result r = wait_result::timeout;
  std::vector<std::string> got;
  EXPECT_EQ(rx.read_wait([&](auto, auto m) { got.push_back(text_of(m)); }, 8, 1s, &r), 1u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(got, std::vector<std::string>{"kept"});
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 8, 1s, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
  tx.close();
  const std::string room = "room";
  const std::vector<std::span<const std::byte>> one = {bytes_of(room)};
  msg_status s = msg_status::full;
  EXPECT_EQ(tx.write_some(4, one, 1s, &r, &s), 1u);
  EXPECT_EQ(r, wait_result::ok);
  const std::string big(100, 'b');  // 112-byte records: 9 fill what is left
  std::size_t n = 0;
  while (tx.try_write(4, bytes_of(big)) == msg_status::ok)
    ++n;
  EXPECT_GE(n, 7u);
  const std::vector<std::span<const std::byte>> more = {bytes_of(big)};
  const auto t0 = clock_type::now();
  EXPECT_EQ(tx.write_some(4, more, 10s, &r, &s), 0u);
  EXPECT_EQ(r, wait_result::closed);
  EXPECT_LT(clock_type::now() - t0, 5s);
}

// Many laps of claims of every size committed shorter, with a consumer in another thread:
// every message arrives whole and in order, the padding never read as a message.
TYPED_TEST(msg_rings, claims_committed_shorter_keep_order_across_laps) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  constexpr std::uint64_t k_messages = 20'000 / k_sanitizer_scale;
  std::atomic<bool> refused{false};  // a claim or commit the producer did not expect
  std::atomic<bool> stop{false};     // the consumer gave up: the producer must not wait on
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < k_messages && !stop; ++i) {
      const std::size_t claimed = 8 + i % 113;  // up to 120: the ring's max_message()
      const std::size_t used = i % (claimed + 1);
      for (;;) {
        auto c = tx.try_claim(4, claimed);
        if (!c && c.status() == msg_status::full) {
          if (stop) break;
          std::this_thread::yield();
          continue;
        }
        for (std::size_t b = 0; c && b < used; ++b)
          c.bytes()[b] = static_cast<std::byte>(i + b);
        if (!c.commit(used)) refused = true;
        break;
      }
    }
  });
  std::uint64_t next = 0;
  bool ok = true;
  const auto give_up = clock_type::now() + 60s;  // a message lost fails, not hangs, the test
  while (next < k_messages && ok && !refused && !rx.corrupted() && clock_type::now() < give_up) {
    rx.read([&](std::uint32_t type, std::span<const std::byte> m) {
      const std::size_t claimed = 8 + next % 113;
      ok = ok && type == 4 && m.size() == next % (claimed + 1);
      for (std::size_t b = 0; ok && b < m.size(); ++b)
        ok = m[b] == static_cast<std::byte>(next + b);
      ++next;
    });
  }
  stop = true;
  producer.join();
  EXPECT_FALSE(rx.corrupted());
  EXPECT_FALSE(refused);
  EXPECT_TRUE(ok) << "message " << next - 1;
  EXPECT_EQ(next, k_messages);
}

// Each side's look at the other: closed when it closed; the consumer sees a dead spsc_msg
// producer as dead, an mpsc_msg consumer never (many producers).
TYPED_TEST(msg_rings, each_side_sees_whether_the_other_closed_or_died) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  EXPECT_FALSE(tx.peer_closed());
  EXPECT_FALSE(rx.peer_closed());
  EXPECT_FALSE(tx.peer_dead());
  EXPECT_FALSE(rx.peer_dead());
  rx.close();
  EXPECT_TRUE(tx.peer_closed());
  tx.close();
  EXPECT_TRUE(rx.peer_closed());
  f.kill_producer();
  EXPECT_EQ(rx.peer_dead(), (std::is_same_v<TypeParam, spsc_msg_ring>));
  f.ctl().consumer_owner.store(k_dead_owner);
  EXPECT_TRUE(tx.peer_dead());
}

TYPED_TEST(msg_rings, a_claim_ended_by_a_newer_one_does_nothing_afterwards) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto c1 = tx.try_claim(1, 4);
  ASSERT_TRUE(c1);
  auto c2 = tx.try_claim(2, 3);  // ends c1 (it becomes padding)
  ASSERT_TRUE(c2);
  c1.commit();  // stale: must not commit c2 half-written
  EXPECT_EQ(rx.read([](auto, auto) {}), 0u);
  std::memcpy(c2.bytes().data(), "two", 3);
  c2.commit();
  std::vector<std::string> got;
  EXPECT_EQ(rx.read([&](auto, auto m) { got.push_back(text_of(m)); }), 1u);
  EXPECT_EQ(got, std::vector<std::string>{"two"});
}

TYPED_TEST(msg_rings, an_abandoned_claim_becomes_padding_for_the_next_producer) {
  fixture<TypeParam> f(1024);
  auto rx = f.ring.consumer();
  {
    auto tx = f.ring.producer();
    auto c = tx.try_claim(1, 8);
    ASSERT_TRUE(c);
    c = {};  // dropped without commit: aborted
  }
  auto tx = f.ring.producer();
  ASSERT_EQ(tx.try_write(5, bytes_of("next")), msg_status::ok);
  std::vector<std::uint32_t> types;
  EXPECT_EQ(rx.read([&](std::uint32_t t, auto) { types.push_back(t); }), 1u);
  EXPECT_EQ(types, std::vector<std::uint32_t>{5});
}

// The consumer is the only writer of head, so a value there it did not store came from another
// process, even one that looks possible: head moved back a lap on an empty ring shows the
// producer a full one. Before, the consumer waited for records and the producer for room, for
// ever, neither corrupted().
TYPED_TEST(msg_rings, a_read_position_moved_by_another_process_is_reported) {
  fixture<TypeParam> f(1024);
  f.set_position(2048);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(tx.try_write(4, bytes_of("abc")), msg_status::ok);
  EXPECT_EQ(read_all(rx).size(), 4u);
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(rx.try_read(buf).status, msg_status::empty);
  EXPECT_EQ(rx.wait_readable(std::chrono::milliseconds(1)), wait_result::timeout);  // frees
  EXPECT_FALSE(rx.corrupted());
  f.ctl().head.store(f.ctl().head.load() - 1024);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(rx.wait_readable(std::chrono::seconds(30)), wait_result::ok);  // at once: to report
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(rx.corrupted());
  EXPECT_EQ(rx.try_read(buf).status, msg_status::corrupted);
}

TYPED_TEST(msg_rings, try_read_copies_or_reports_the_needed_size) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  std::array<std::byte, 4> small{};
  EXPECT_EQ(rx.try_read(small).status, msg_status::empty);
  ASSERT_EQ(tx.try_write(9, bytes_of("0123456789")), msg_status::ok);
  auto r = rx.try_read(small);
  EXPECT_EQ(r.status, msg_status::buffer_small);
  EXPECT_EQ(r.size, 10u);
  std::array<std::byte, 16> big{};
  r = rx.try_read(big);
  EXPECT_EQ(r.status, msg_status::ok);
  EXPECT_EQ(r.type, 9u);
  EXPECT_EQ(text_of(std::span(big).first(r.size)), "0123456789");
}

TYPED_TEST(msg_rings, try_read_some_copies_at_8_byte_offsets_until_one_does_not_fit) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  auto& stats = f.ctl().consumer_stats;
  std::array<read_result, 8> out{};
  std::array<std::byte, 26> buf{};  // not a multiple of 8: offset 24 leaves 2 bytes
  EXPECT_EQ(rx.try_read_some(buf, out), 0u);
  EXPECT_EQ(out[0].status, msg_status::empty);
  EXPECT_EQ(stats.stalls.load(), 1u);
  for (const std::string m : {"abc", "", "0123456789", "xyz", "", "q"}) {
    ASSERT_EQ(tx.try_write(2, bytes_of(m)), msg_status::ok);
  }
  // "abc" at 0, "" at 8, "0123456789" at 8 (18 bytes left); "xyz" needs 3 at 24.
  ASSERT_EQ(rx.try_read_some(buf, out), 3u);
  EXPECT_EQ(text_of(std::span(buf).first(3)), "abc");
  EXPECT_EQ(text_of(std::span(buf).subspan(8, 10)), "0123456789");
  EXPECT_EQ(out[0].size, 3u);
  EXPECT_EQ(out[1].size, 0u);
  EXPECT_EQ(out[2].size, 10u);
  EXPECT_EQ(out[2].type, 2u);
  EXPECT_EQ(out[3].status, msg_status::buffer_small);  // why it stopped: "xyz" stays
  EXPECT_EQ(out[3].size, 3u);
  // The rest, then the ring is empty: a batch that drained it is not a stall.
  ASSERT_EQ(rx.try_read_some(buf, out), 3u);
  EXPECT_EQ(text_of(std::span(buf).first(3)), "xyz");
  EXPECT_EQ(text_of(std::span(buf).subspan(8, 1)), "q");
  EXPECT_EQ(out[3].status, msg_status::empty);
  EXPECT_EQ(stats.messages.load(), 6u);
  EXPECT_EQ(stats.bytes.load(), 17u);
  EXPECT_EQ(stats.stalls.load(), 1u);
  // An empty message fits at the very end of the buffer; a full `out` stops the batch.
  std::array<std::byte, 16> exact{};
  for (const std::string m : {"12345678", "abcdefgh", "", "next"}) {
    ASSERT_EQ(tx.try_write(3, bytes_of(m)), msg_status::ok);
  }
  ASSERT_EQ(rx.try_read_some(exact, std::span(out).first(3)), 3u);
  EXPECT_EQ(text_of(exact), "12345678abcdefgh");
  EXPECT_EQ(out[2].size, 0u);
  EXPECT_EQ(rx.try_read_some(exact, {}), 0u);  // no room for a result: takes nothing
  // A message that runs past the buffer's last 8-byte offset ends the batch, even before an
  // empty one.
  ASSERT_EQ(tx.try_write(3, bytes_of("")), msg_status::ok);
  ASSERT_EQ(rx.try_read_some(std::span(buf).first(4), out), 1u);  // "next" fills 4 of 4
  EXPECT_EQ(out[1].status, msg_status::buffer_small);
  EXPECT_EQ(out[1].size, 0u);
  ASSERT_EQ(rx.try_read_some(std::span(buf).first(4), out), 1u);  // the empty one
  EXPECT_EQ(out[0].size, 0u);
  EXPECT_EQ(out[1].status, msg_status::empty);
  EXPECT_EQ(stats.stalls.load(), 1u);
}

TYPED_TEST(msg_rings, corrupt_lengths_are_reported_and_never_read_out_of_bounds) {
  fixture<TypeParam> f(1024);
  f.set_position(1016);                           // 8 bytes before the end
  detail::length_at(f.data(), 1016).store(4000);  // a record claiming to run past the end
  auto rx = f.ring.consumer();
  EXPECT_EQ(rx.read([](auto, auto) { ADD_FAILURE() << "delivered a corrupt record"; }), 0u);
  EXPECT_TRUE(rx.corrupted());
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(rx.try_read(buf).status, msg_status::corrupted);
  EXPECT_EQ(rx.wait_readable(10ms), wait_result::ok);  // reports instead of sleeping
}

TYPED_TEST(msg_rings, a_record_reaching_past_one_lap_is_corrupt) {
  fixture<TypeParam> f(1024);
  f.set_position(1008);  // head 16 bytes before the end
  detail::type_at(f.data(), 1008).store(1);
  detail::length_at(f.data(), 1008).store(16);  // valid: 8 payload bytes up to the end
  detail::type_at(f.data(), 0).store(1);
  detail::length_at(f.data(), 0).store(1024);  // fits the buffer, but overlaps the first record
  auto rx = f.ring.consumer();
  std::size_t delivered = 0;
  EXPECT_EQ(rx.read([&](auto, auto m) { delivered += m.size(); }), 1u);
  EXPECT_EQ(delivered, 8u);
  EXPECT_TRUE(rx.corrupted());
  std::array<std::byte, 2048> buf{};
  EXPECT_EQ(rx.try_read(buf).status, msg_status::corrupted);
}

TYPED_TEST(msg_rings, a_record_longer_than_a_producer_writes_is_corrupt) {
  fixture<TypeParam> f(1024);
  detail::type_at(f.data(), 0).store(1);
  detail::length_at(f.data(), 0).store(200);  // fits the buffer, but over capacity / 8 = 128
  auto rx = f.ring.consumer();
  EXPECT_EQ(rx.read([](auto, auto) { ADD_FAILURE() << "delivered an overlong record"; }), 0u);
  EXPECT_TRUE(rx.corrupted());
  std::array<std::byte, 256> buf{};
  EXPECT_EQ(rx.try_read(buf).status, msg_status::corrupted);
}

TYPED_TEST(msg_rings, blocking_read_sees_close_after_draining) {
  fixture<TypeParam> f(1024);
  auto tx = f.ring.producer();
  auto rx = f.ring.consumer();
  wait_result r = wait_result::ok;
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 10, 20ms, &r), 0u);
  EXPECT_EQ(r, wait_result::timeout);
  ASSERT_EQ(tx.write(1, bytes_of("a")), wait_result::ok);
  tx.close();
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 10, 1s, &r), 1u);
  EXPECT_EQ(r, wait_result::ok);
  EXPECT_EQ(rx.read_wait([](auto, auto) {}, 10, 1s, &r), 0u);
  EXPECT_EQ(r, wait_result::closed);
}

TEST(msg_ring, capacity_above_2_pow_33_is_refused) {
  heap_bytes mem(1 << 16);
  const auto msg = expect_error(errc::invalid_argument,
                                [&] { (void)mpsc_msg_ring::create_in(mem.span(), u64{1} << 34); });
  EXPECT_NE(msg.find("2^33"), std::string::npos) << msg;
}

TEST(msg_ring, capacity_must_be_a_power_of_two_of_at_least_1k) {
  heap_bytes mem(1 << 16);
  expect_error(errc::invalid_argument, [&] { (void)spsc_msg_ring::create_in(mem.span(), 512); });
  expect_error(errc::invalid_argument, [&] { (void)mpsc_msg_ring::create_in(mem.span(), 3000); });
  auto ring = spsc_msg_ring::create_in(mem.span(), 1024);
  expect_error(errc::kind_mismatch, [&] { (void)mpsc_msg_ring::open_in(mem.span()); });
  expect_error(errc::busy, [&] {
    auto a = ring.producer();
    (void)ring.producer();
  });
}

TEST(msg_ring, open_refuses_a_header_capacity_below_the_minimum) {
  heap_bytes mem(1 << 16);
  auto ring = spsc_msg_ring::create_in(mem.span(), 1024);
  auto& h = *reinterpret_cast<segment_header*>(mem.span().data());
  h.capacity = 64;  // self-consistent, but max_message() would wrap around
  h.total_size = h.data_offset + 64;
  const auto msg = expect_error(errc::corrupted, [&] { (void)spsc_msg_ring::open_in(mem.span()); });
  EXPECT_NE(msg.find("minimum of 1024"), std::string::npos) << msg;
}

// A producer attaching to a busy mpsc_msg ring reads tail, then head: meanwhile another
// producer may write past that tail and the consumer read and release it, so head passes the
// tail it read. That used to be refused as "tail, head are inconsistent" (corrupted).
TEST(msg_ring_threads, an_mpsc_producer_attaches_while_head_runs_past_the_tail_it_read) {
  heap_bytes mem(mpsc_msg_ring::required_bytes(1024));
  auto ring = mpsc_msg_ring::create_in(mem.span(), 1024);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto tx = ring.producer();
    while (!stop.load(std::memory_order_relaxed))
      (void)tx.try_write(1, bytes_of("tick"));
  });
  std::thread reader([&] {
    auto rx = ring.consumer();
    // read_wait frees what was read each time it finds the ring empty: head moves often
    while (!stop.load(std::memory_order_relaxed))
      rx.read_wait([](auto, auto) {}, 64, 1ms);
  });
  u64 attached = 0;
  std::string refused;
  const auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until && refused.empty()) {
    try {
      auto tx = ring.producer();
      ++attached;
    } catch (const error& e) {
      refused = e.what();
    }
  }
  stop = true;
  writer.join();
  reader.join();
  EXPECT_EQ(refused, "") << "after " << attached << " attaches";
  EXPECT_GT(attached, 0u);
}

// Multi-producer interleaving and random lengths with checksums, single writes, aborted claims
// and batches (threads: the TSan target).
TEST(msg_ring_threads, random_lengths_from_three_producers_arrive_intact) {
  const u64 per_producer = 200'000 / k_sanitizer_scale;
  heap_bytes mem(mpsc_msg_ring::required_bytes(1 << 16));
  auto ring = mpsc_msg_ring::create_in(mem.span(), 1 << 16);
  std::vector<std::thread> producers;
  for (std::uint32_t p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      auto tx = ring.producer(wait_policy::yielding());
      std::vector<std::byte> buf(tx.max_message());
      std::vector<std::vector<std::byte>> more(4, std::vector<std::byte>(tx.max_message()));
      std::uint64_t x = p + 1;
      for (u64 i = 0; i < per_producer; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const std::size_t len = (x >> 33) % (tx.max_message() + 1);
        // payload: [seq:8][bytes...], each byte derived from seq, so torn data shows
        for (std::size_t b = 0; b < len; ++b)
          buf[b] = static_cast<std::byte>((i * 31 + b) & 0xff);
        if (len >= 8) std::memcpy(buf.data(), &i, 8);
        if (p == 1 && i % 97 == 0) {  // some aborted claims in the mix
          auto c = tx.try_claim(p, len);
          c.abort();
        }
        if (p == 2) {  // batches of up to 4: messages i, i + 1, ... of lengths len, len / 2, ...
          const std::size_t k = std::min<u64>(1 + i % 4, per_producer - i);
          std::vector<std::span<const std::byte>> batch;
          for (std::size_t j = 0; j < k; ++j) {
            const u64 seq = i + j;
            const std::size_t n = len >> j;
            for (std::size_t b = 0; b < n; ++b)
              more[j][b] = static_cast<std::byte>((seq * 31 + b) & 0xff);
            if (n >= 8) std::memcpy(more[j].data(), &seq, 8);
            batch.push_back(std::span(more[j]).first(n));
          }
          std::size_t n = 0;
          while ((n = tx.write_some(p, batch, std::chrono::seconds(10))) == 0) {
          }
          i += n - 1;
          continue;
        }
        while (tx.write(p, std::span(buf).first(len), std::chrono::seconds(10)) !=
               wait_result::ok) {
        }
      }
    });
  }
  auto rx = ring.consumer(wait_policy::yielding());
  std::vector<u64> count(3, 0);
  u64 bad = 0;
  while (count[0] + count[1] + count[2] < 3 * per_producer) {
    rx.read_wait(
        [&](std::uint32_t p, std::span<const std::byte> m) {
          if (p >= 3) {
            ++bad;
            return;
          }
          const u64 i = count[p]++;
          for (std::size_t b = 8; b < m.size(); ++b) {
            if (m[b] != static_cast<std::byte>((i * 31 + b) & 0xff)) {
              ++bad;
              break;
            }
          }
          u64 seq = i;
          if (m.size() >= 8) std::memcpy(&seq, m.data(), 8);
          if (seq != i) ++bad;  // each producer's messages in its order
        },
        SIZE_MAX, std::chrono::seconds(10));
    ASSERT_FALSE(rx.corrupted());  // a corrupt ring would read as ready forever
  }
  for (auto& t : producers)
    t.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_FALSE(rx.corrupted());
}

// The C API's blocking reads end by their deadline however fast records that hold nothing to
// deliver come: padding, here from a producer that aborts every claim, each of which leaves a
// record the consumer finds, skips, and finds the next of (the wait said "readable", the read
// found nothing). Before, the read went round for as long as they came.
TEST(msg_ring, c_blocking_reads_end_by_their_deadline_while_only_padding_comes) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 1024);
  auto tx = ring.producer();
  ipcring_ring* c_ring = nullptr;
  ASSERT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_SPSC_MSG, 0, &c_ring), IPCRING_OK);
  ipcring_consumer* rx = nullptr;
  ASSERT_EQ(ipcring_consumer_attach(c_ring, &rx), IPCRING_OK);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> aborted{0};
  std::thread padder([&] {
    while (!stop.load()) {
      auto claim = tx.try_claim(1, 8);
      if (claim) {
        claim.abort();
        aborted.fetch_add(1);
      }
    }
  });
  while (aborted.load() == 0)  // then the ring holds padding, more as the reads skip it
    std::this_thread::yield();
  char buf[64];
  std::uint32_t type = 0;
  std::size_t length = 0, done = 0;
  ipcring_message m[4];
  for (const std::int64_t timeout_ns : {std::int64_t{0}, std::int64_t{20'000'000}}) {
    SCOPED_TRACE(timeout_ns);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ipcring_read(rx, buf, sizeof buf, &type, &length, timeout_ns), IPCRING_TIMEOUT);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(ipcring_read_some(rx, buf, sizeof buf, m, 4, &done, timeout_ns), IPCRING_TIMEOUT);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }
  stop.store(true);
  padder.join();
  ipcring_consumer_free(rx);
  ipcring_close(c_ring);
}

// A zero timeout does not wait (ipcring.h): the C API's blocking reads and batch writes given
// 0 look once and report a timeout, counting no wait. Before, their budget started a clock
// read after the one it was measured from, and the 20-50 ns between them became a wait of
// 128 spins that the consumer's or producer's `waits` counted.
TEST(msg_ring, c_calls_with_a_zero_timeout_do_not_wait) {
  segment_guard g(unique_name());
  auto ring = spsc_msg_ring::create(g.name(), 1024);
  ipcring_ring* c_ring = nullptr;
  ASSERT_EQ(ipcring_open(g.c_str(), IPCRING_KIND_SPSC_MSG, 0, &c_ring), IPCRING_OK);
  const c_endpoints c(c_ring);
  ASSERT_TRUE(c.attached()) << ipcring_last_error();
  char buf[64];
  std::uint32_t type = 0;
  std::size_t length = 0, done = 0;
  ipcring_message m[4];
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(ipcring_read(c.rx, buf, sizeof buf, &type, &length, 0), IPCRING_TIMEOUT);
    EXPECT_EQ(ipcring_read_some(c.rx, buf, sizeof buf, m, 4, &done, 0), IPCRING_TIMEOUT);
  }
  const char big[100] = {};
  while (ipcring_try_write(c.tx, 1, big, sizeof big) == IPCRING_OK) {
  }
  const ipcring_iovec batch[2] = {{big, sizeof big}, {big, sizeof big}};
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(ipcring_write_all(c.tx, 2, batch, 2, &done, 0), IPCRING_TIMEOUT);
    EXPECT_EQ(done, 0u);
  }
  const ring_info info = inspect(g.name());
  EXPECT_EQ(info.consumer.waits, 0u);
  EXPECT_EQ(info.producer.waits, 0u);
  EXPECT_GE(info.consumer.stalls, 1u);  // the calls did look (once per position, counted)
}

}  // namespace
}  // namespace ipcring::test
