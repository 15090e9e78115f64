// Unit tests of the command-line tool's parts that take untrusted text: printable() (segment
// names, which any local user can choose, on a terminal) and the JSON reader (the benchmark
// program's output, for `ipcring bench`); and of the lock by which sends agree on who closes
// (senders_lock), in orders of events that the commands cannot be made to meet on purpose.
// The commands themselves: cli_test.sh.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "cli/json_reader.hpp"
#include "cli/json_writer.hpp"
#include "cli/senders_lock.hpp"
#include "cli/text_format.hpp"
#include "ipcring/detail/role.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/map_view.hpp"
#include "ipcring/mpmc_ring.hpp"

namespace ipcring::cli {
namespace {

TEST(printable, escapes_control_characters_and_what_is_not_utf8) {
  EXPECT_EQ(printable("plain-name_1.2"), "plain-name_1.2");
  EXPECT_EQ(printable("a\x1b[7mINV\nfake"), "a\\x1B[7mINV\\x0Afake");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("del\x7f"), "del\\x7F");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("\xc3"), "\\xC3");                             // cut short
  EXPECT_EQ(printable("\xc0\xaf"), "\\xC0\\xAF");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xED\\xA0\\x80");           // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // past U+10FFFF
  // Well-formed, but controls: C1 (U+009B is CSI to xterm, in UTF-8 too), bidi overrides
  EXPECT_EQ(printable("\xc2\x9b[7m"), "\\xC2\\x9B[7m");
  EXPECT_EQ(printable("\xc2\x80\xc2\x9f\xc2\xa0"), "\\xC2\\x80\\xC2\\x9F\xc2\xa0");  // NBSP stays
  EXPECT_EQ(printable("a\xe2\x80\xae"
                      "b"),
            "a\\xE2\\x80\\xAEb");  // U+202E
  EXPECT_EQ(printable("\xe2\x81\xa6\xe2\x81\xa9"),
            "\\xE2\\x81\\xA6\\xE2\\x81\\xA9");  // U+2066, U+2069
  EXPECT_EQ(printable("\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xaa"),
            "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xaa");  // U+2029, U+202F, U+206A: text
}

TEST(text_table, prints_every_cell_printable) {
  text_table t;
  t.add({"NAME", "STATE"});
  t.add({"x\nfake  row", "live"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(), "NAME            STATE\nx\\x0Afake  row  live\n");
}

double number_of(const std::string& text) {
  const json_value v = parse_json(text);
  EXPECT_EQ(v.kind, json_value::type::number) << text;
  return v.number;
}

TEST(json_reader, reads_numbers_as_json_writes_them) {
  EXPECT_EQ(number_of("0"), 0.0);
  EXPECT_EQ(number_of("-12.5e2"), -1250.0);
  EXPECT_EQ(number_of("1E+3"), 1000.0);
}

TEST(json_reader, out_of_range_numbers_are_infinite_or_zero) {
  EXPECT_TRUE(std::isinf(number_of("1e999")));
  EXPECT_GT(number_of("1e999"), 0);
  EXPECT_LT(number_of("-1e999"), 0);
  EXPECT_EQ(number_of("1e-999"), 0.0);
}

// Google Benchmark writes counters that are not finite so (the cv of a counter that is 0 in
// every repetition is NaN): its report must still read.
TEST(json_reader, reads_google_benchmarks_words_for_numbers_that_are_not_finite) {
  EXPECT_TRUE(std::isnan(number_of("NaN")));
  EXPECT_TRUE(std::isnan(number_of("-NaN")));
  EXPECT_EQ(number_of("Infinity"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(number_of("-Infinity"), -std::numeric_limits<double>::infinity());
  const json_value v = parse_json(R"({"cv": NaN, "n": 1})");
  ASSERT_NE(v.find("n"), nullptr);
  EXPECT_EQ(v.find("n")->number, 1.0);
}

// Names and type names come from anybody: JSON written for a person's terminal escapes what a
// terminal acts on (C0, DEL, C1 in UTF-8), bidi overrides and isolates, and U+2028/U+2029;
// other UTF-8 is copied, bytes that are not UTF-8 become U+FFFD.
TEST(json_writer, escapes_controls_overrides_and_separators) {
  std::string out;
  append_json_string(out,
                     "a\x1b[2J\xc2\x9b\xe2\x80\xae\xe2\x81\xa6\xe2\x80\xa8\x7f\xc3\xa9\xff\"\\");
  EXPECT_EQ(out, R"("a\u001b[2J\u009b\u202e\u2066\u2028\u007f)"
                 "\xc3\xa9"
                 R"(\ufffd\"\\")");
}

TEST(json_reader, refuses_what_json_does_not_allow) {
  for (const char* bad : {"nan", "inf", "-inf", "01", "1.", ".5", "+1", "1e", "1e+", "-", "0x10"}) {
    EXPECT_THROW((void)parse_json(bad), std::runtime_error) << bad;
  }
}

// A segment with just the header words senders_lock reads: init_state ready or not.
class segment_file {
 public:
  segment_file(const std::string& name, bool ready) : name_(name) {
    const int fd = ::shm_open(("/" + name).c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << name;
    if (fd < 0) return;
    const std::uint32_t words[4] = {0, 0, 0, ready ? k_init_ready : 0u};
    EXPECT_EQ(::ftruncate(fd, 4096), 0);
    EXPECT_EQ(::pwrite(fd, words, sizeof words, 0), static_cast<ssize_t>(sizeof words));
    ::close(fd);
  }
  ~segment_file() { ::shm_unlink(("/" + name_).c_str()); }
  segment_file(const segment_file&) = delete;
  segment_file& operator=(const segment_file&) = delete;

  /// True if another open file description of the segment can take the lock exclusively now.
  bool lockable_exclusively() const {
    const int fd = ::shm_open(("/" + name_).c_str(), O_RDONLY | O_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    const bool ok = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);
    return ok;
  }

 private:
  std::string name_;
};

std::string unique_name(const char* what) {
  return std::string("ipcring-cli-unit-") + what + "-" + std::to_string(::getpid());
}

TEST(senders_lock, locks_the_ring_it_opened_shared_and_only_a_lone_sender_exclusively) {
  const std::string name = unique_name("same");
  const segment_file ring(name, true);
  senders_lock a(name);
  std::optional<senders_lock> b(std::in_place, name);
  ASSERT_TRUE(a.lock_if_same());
  ASSERT_TRUE(b->lock_if_same());
  EXPECT_FALSE(ring.lockable_exclusively());
  EXPECT_FALSE(a.alone());  // b holds it
  b.reset();
  EXPECT_TRUE(a.alone());
  EXPECT_FALSE(ring.lockable_exclusively());  // a holds it exclusively now
}

// A send whose attach failed (too many endpoints) held the lock from before its attach until it
// exited: a send ending meanwhile took it for a stream, and neither closed the side. The lone
// sender now looks again for 100 ms.
TEST(senders_lock, a_sender_only_passing_through_does_not_keep_the_last_one_from_closing) {
  const std::string name = unique_name("passing");
  const segment_file ring(name, true);
  senders_lock a(name);
  std::optional<senders_lock> b(std::in_place, name);
  ASSERT_TRUE(a.lock_if_same());
  ASSERT_TRUE(b->lock_if_same());
  std::thread passing([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    b.reset();  // b's attach failed: it lets go, and exits
  });
  EXPECT_TRUE(a.alone(std::chrono::seconds(10)));  // however slowly the machine runs b
  passing.join();
  EXPECT_FALSE(ring.lockable_exclusively());  // a holds it exclusively
}

TEST(senders_lock, a_ring_replaced_under_its_name_after_the_file_was_opened_is_not_locked) {
  const std::string name = unique_name("replaced");
  std::optional<segment_file> first(std::in_place, name, true);
  senders_lock lock(name);
  first.reset();  // removed, and a new ring made under the name: open_ring() would open it
  const segment_file second(name, true);
  EXPECT_FALSE(lock.lock_if_same());
  EXPECT_TRUE(second.lockable_exclusively());  // the new ring was left alone
}

TEST(senders_lock, a_ring_made_after_the_file_was_looked_for_is_not_locked) {
  const std::string name = unique_name("later");
  senders_lock lock(name);  // no such segment yet
  const segment_file ring(name, true);
  EXPECT_FALSE(lock.lock_if_same());
  EXPECT_TRUE(ring.lockable_exclusively());
}

TEST(senders_lock, a_ring_removed_before_the_look_is_not_taken_for_the_one_opened) {
  const std::string name = unique_name("removed");
  std::optional<segment_file> ring(std::in_place, name, true);
  senders_lock lock(name);
  ring.reset();  // gone: the send opens again, and fails with not_found there
  EXPECT_FALSE(lock.lock_if_same());
}

TEST(senders_lock, a_ring_still_being_made_is_not_locked) {
  const std::string name = unique_name("unready");
  const segment_file ring(name, false);
  senders_lock lock(name);
  EXPECT_FALSE(lock.lock_if_same());  // open_ring() returns ready rings only: this is another
  EXPECT_TRUE(ring.lockable_exclusively());
}

TEST(senders_lock, reads_the_producers_of_the_ring_it_opened_not_of_one_made_since) {
  const std::string name = unique_name("count");
  ipcring::remove(name);
  auto first = mpmc_ring<std::uint64_t>::create(name, 64);
  auto p = first.producer();
  senders_lock lock(name);
  ASSERT_TRUE(lock.lock_if_same());
  EXPECT_EQ(lock.live_producers(), 1u);
  {
    const auto q = first.producer();
    const auto c = first.consumer();  // not a producer
    EXPECT_EQ(lock.live_producers(), 2u);
  }
  // The ring removed and a new one made under its name, with two producers of its own: the
  // send opened the first, which has one.
  ASSERT_TRUE(ipcring::remove(name));
  auto second = mpmc_ring<std::uint64_t>::create(name, 64);
  auto a = second.producer();
  const auto b = second.producer();
  EXPECT_EQ(lock.live_producers(), 1u);
  // Which producer side closed (what a send that found it closed says): the first ring's.
  EXPECT_FALSE(lock.producer_side_closed());
  a.close();
  EXPECT_FALSE(lock.producer_side_closed());
  p.close();
  EXPECT_TRUE(lock.producer_side_closed());
  ipcring::remove(name);
}

// An endpoint caught between taking its record and naming its role may be a producer on its
// way in: a send counts it, and leaves the side open. Before, it was not counted, and the last
// send closed the side under it.
TEST(senders_lock, counts_an_endpoint_that_has_not_yet_named_its_role) {
  const std::string name = unique_name("registering");
  ipcring::remove(name);
  auto ring = mpmc_ring<std::uint64_t>::create(name, 64);
  senders_lock lock(name);
  ASSERT_TRUE(lock.lock_if_same());
  EXPECT_EQ(lock.live_producers(), 0u);
  const map_view view = map_view::open(name);
  auto& reg = *reinterpret_cast<registry_control*>(view.data() + k_control_offset);
  auto& r = reg.endpoints[3];
  r.owner.store(detail::self_identity());  // as register_endpoint's CAS, the role not yet named
  EXPECT_EQ(lock.live_producers(), 1u);
  r.role.store(static_cast<std::uint32_t>(endpoint_role::consumer));
  EXPECT_EQ(lock.live_producers(), 0u);
  r.owner.store(0);
  r.role.store(0);
  // A record a consumer held and left: taken again, it reads as registering, not as the
  // consumer it held (release kept the old role, and the side was closed under a producer).
  { const auto rx = ring.consumer(); }
  auto& first = reg.endpoints[0];  // the first free record: the one the consumer held
  EXPECT_EQ(first.role.load(), 0u);
  first.owner.store(detail::self_identity());
  EXPECT_EQ(lock.live_producers(), 1u);
  first.owner.store(0);
  ipcring::remove(name);
}

}  // namespace
}  // namespace ipcring::cli
