#include "ipcring/map_view.hpp"

#include "ipcring/spsc_ring.hpp"

#include <gtest/gtest.h>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#endif

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "support/test_support.hpp"

namespace ipcring::test {
namespace {

TEST(map_view, create_then_open_share_bytes) {
  segment_guard g(unique_name());
  auto a = map_view::create(g.name(), 10000);
  EXPECT_GE(a.size(), 10000u);
  EXPECT_EQ(a.name(), g.name());
  auto b = map_view::open(g.name());
  EXPECT_EQ(a.size(), b.size());
  std::memcpy(a.data() + 5000, "hello", 5);
  EXPECT_EQ(std::memcmp(b.data() + 5000, "hello", 5), 0);
  EXPECT_NE(a.data(), b.data());  // two views of one segment
}

TEST(map_view, new_segment_is_zero_filled) {
  segment_guard g(unique_name());
  auto a = map_view::create(g.name(), 3 * 4096 + 1);
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(a.data()[i], std::byte{0}) << i;
}

TEST(map_view, create_fails_when_name_exists) {
  segment_guard g(unique_name());
  auto a = map_view::create(g.name(), 4096);
  const auto msg = expect_error(errc::already_exists, [&] { map_view::create(g.name(), 4096); });
  EXPECT_NE(msg.find(g.name()), std::string::npos) << msg;
}

TEST(map_view, open_fails_when_name_is_absent) {
  segment_guard g(unique_name());
  const auto msg = expect_error(errc::not_found, [&] { map_view::open(g.name()); });
  EXPECT_NE(msg.find(g.name()), std::string::npos) << msg;
}

#ifdef _WIN32
// Windows: a named mapping lives while some process has it open. remove() has nothing to do.
TEST(map_view, remove_has_nothing_to_delete_and_the_last_view_takes_the_segment) {
  segment_guard g(unique_name());
  {
    auto a = map_view::create(g.name(), 4096);
    std::memcpy(a.data(), "kept", 4);
    EXPECT_FALSE(ipcring::remove(g.name()));  // never removes, never throws
    auto b = map_view::open(g.name());        // still there while a view is open
    EXPECT_EQ(std::memcmp(b.data(), "kept", 4), 0);
  }
  expect_error(errc::not_found, [&] { map_view::open(g.name()); });
  EXPECT_FALSE(ipcring::remove(""));
}
#else
TEST(map_view, remove_reports_whether_it_removed) {
  segment_guard g(unique_name());
  EXPECT_FALSE(ipcring::remove(g.name()));
  { auto a = map_view::create(g.name(), 4096); }
  EXPECT_TRUE(ipcring::remove(g.name()));
  errno = 0;
  EXPECT_FALSE(ipcring::remove(g.name()));
  EXPECT_EQ(errno, ENOENT);           // errno says why
  EXPECT_FALSE(ipcring::remove(""));  // invalid names: false, no throw
  EXPECT_FALSE(ipcring::remove("a/b"));
  EXPECT_EQ(errno, EINVAL);
}

// A segment this user may not delete (another user's, in the sticky /dev/shm) is kept, and
// the C API says so rather than "not found".
TEST(map_view, remove_by_a_user_who_may_not_delete_it_says_so) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to remove as another user";
  struct stat dir {};
  ASSERT_EQ(::stat("/dev/shm", &dir), 0);
  if ((dir.st_mode & S_ISVTX) == 0) GTEST_SKIP() << "/dev/shm is not sticky here";
  segment_guard g(unique_name());
  auto a = map_view::create(g.name(), 4096);
  child_process child([&] {
    if (::setgid(12345) != 0 || ::setuid(12345) != 0) return 10;
    errno = 0;
    if (ipcring::remove(g.name())) return 11;
    if (errno != EPERM && errno != EACCES) return 12;
    if (ipcring_remove(g.name().c_str()) != IPCRING_E_PERMISSION_DENIED) return 13;
    if (std::string(ipcring_last_error()).find("not removed") == std::string::npos) return 14;
    return 0;
  });
  const int rc = child.exit_code();
  if (rc == 10)
    GTEST_SKIP() << "root here cannot become another user (no CAP_SETUID, or uid 12345 unmapped)";
  EXPECT_EQ(rc, 0);
  EXPECT_NO_THROW((void)map_view::open(g.name()));  // still there
}

TEST(map_view, destructor_unmaps_but_never_removes) {
  segment_guard g(unique_name());
  {
    auto a = map_view::create(g.name(), 4096);
    std::memcpy(a.data(), "kept", 4);
  }
  auto b = map_view::open(g.name());
  EXPECT_EQ(std::memcmp(b.data(), "kept", 4), 0);
}

TEST(map_view, mapping_outlives_remove) {
  segment_guard g(unique_name());
  auto a = map_view::create(g.name(), 4096);
  ASSERT_TRUE(ipcring::remove(g.name()));
  std::memcpy(a.data(), "still", 5);  // must not fault
  EXPECT_EQ(std::memcmp(a.data(), "still", 5), 0);
  expect_error(errc::not_found, [&] { map_view::open(g.name()); });
}

#endif

TEST(map_view, moved_from_view_is_empty) {
  segment_guard g(unique_name());
  auto a = map_view::create(g.name(), 4096);
  std::byte* p = a.data();
  map_view b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.size(), 0u);
  // Its queries answer as for an empty view, without faulting (they did, on POSIX).
  std::array<std::byte, 8> out;
  out.fill(std::byte{7});
  a.peek(0, out);
  EXPECT_EQ(out[0], std::byte{0});
  EXPECT_EQ(out[7], std::byte{0});
  EXPECT_FALSE(a.remove_if_still_named());
  EXPECT_FALSE(a.creator_gone());
  EXPECT_NE(b.data(), nullptr);  // and the view it moved to still names the segment
}

#ifndef _WIN32  // POSIX permission bits (Windows: the mapping's security descriptor)
mode_t shm_mode(const std::string& name) {
  struct stat st {};
  EXPECT_EQ(::stat(("/dev/shm/" + name).c_str(), &st), 0) << name;
  return st.st_mode & 0777;
}

TEST(map_view, default_permissions_are_0600) {
  segment_guard g(unique_name());
  const mode_t old = ::umask(0);  // the permissions must not depend on the umask either
  auto a = map_view::create(g.name(), 4096);
  ::umask(old);
  EXPECT_EQ(shm_mode(g.name()), 0600u);
}

TEST(map_view, permissions_option_widens_them) {
  segment_guard g(unique_name());
  map_options o;
  o.permissions = 0660;
  auto a = map_view::create(g.name(), 4096, o);
  EXPECT_EQ(shm_mode(g.name()), 0660u);
}

// An empty segment anyone could write is refused for what it is, at once: it was waited for
// as one whose creator had yet to size it, and refused as not ready after the open timeout.
TEST(map_view, an_empty_segment_writable_by_every_user_is_refused_at_once) {
  segment_guard g(unique_name());
  const int fd = ::shm_open(("/" + g.name()).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fchmod(fd, 0666), 0);
  ::close(fd);
  const std::string msg = expect_error(errc::permission_denied, [&] { map_view::open(g.name()); });
  EXPECT_NE(msg.find("writable by every user"), std::string::npos) << msg;
}

// A FIFO under a segment's name (any user may make one in /dev/shm), or at a file's path, is
// no segment: refused for what it is, at once, not waited for as a segment not yet sized.
TEST(map_view, a_fifo_is_refused_for_what_it_is_at_once) {
  segment_guard g(unique_name());
  ASSERT_EQ(::mkfifo(("/dev/shm/" + g.name()).c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::string msg = expect_error(errc::bad_magic, [&] { map_view::open(g.name()); });
  EXPECT_NE(msg.find("not a regular file (a FIFO)"), std::string::npos) << msg;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  const temp_file path_file("-fifo");
  ASSERT_EQ(::mkfifo(path_file.path().c_str(), 0600), 0);
  msg = expect_error(errc::bad_magic, [&] { map_view::open_file(path_file.path()); });
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
}

TEST(map_view, an_empty_file_writable_by_every_user_is_refused_at_once) {
  const temp_file path_file("-empty");
  const auto& path = path_file.path();
  remove_file(path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fchmod(fd, 0666), 0);
  ::close(fd);
  const std::string msg = expect_error(errc::permission_denied, [&] { map_view::open_file(path); });
  EXPECT_NE(msg.find("writable by every user"), std::string::npos) << msg;
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);  // ours and empty: not yet sized
  expect_error(errc::not_ready, [&] { map_view::open_file(path); });
  remove_file(path);
}

// Every descriptor a file-backed view keeps is closed on exec: a program this one starts does
// not inherit write access to the ring (Boost opened the file to map without O_CLOEXEC).
TEST(map_view, a_file_view_keeps_no_descriptor_across_exec) {
  const temp_file path_file("-cloexec");
  const auto& path = path_file.path();
  remove_file(path);
  {
    const auto a = map_view::create_file(path, 8192);
    const auto b = map_view::open_file(path);
    int found = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      // the kernel's path is canonical; the temporary folder's name may not be
      if (std::filesystem::read_symlink(e.path(), ec) != std::filesystem::canonical(path)) continue;
      const int fd = std::stoi(e.path().filename().string());
      ++found;
      EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "descriptor " << fd;
    }
    EXPECT_GE(found, 2);  // one per view at least
  }
  remove_file(path);
}

// remove_if_unused() removes a segment only while no other view has it open: one in this
// process, or in another; once they close (or their process dies), it removes it.
TEST(map_view, remove_if_unused_keeps_a_segment_another_view_has_open) {
  segment_guard g(unique_name());
  const map_view mine = map_view::create(g.name(), 4096);
  {
    const map_view other = map_view::open(g.name());
    errno = 0;
    EXPECT_FALSE(mine.remove_if_unused());
    EXPECT_EQ(errno, EBUSY);
  }
  pipe_signal opened;
  child_process holder([&] {
    const map_view v = map_view::open(g.name());
    opened.notify();
    ::pause();
    return 0;
  });
  ASSERT_TRUE(opened.wait());
  EXPECT_FALSE(mine.remove_if_unused());
  EXPECT_NO_THROW((void)map_view::open(g.name()));  // kept
  holder.kill(SIGKILL);
  ASSERT_EQ(holder.exit_code(), 1000 + SIGKILL);
  EXPECT_TRUE(mine.remove_if_unused());
  expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); });
}

// Two removers at once (two supervisors cleaning up): one removes the segment, the other finds
// it gone. Each holding its own view's lock, they refused each other, and neither removed it.
TEST(map_view, of_two_removers_at_once_one_removes) {
  for (int round = 0; round < 20; ++round) {
    segment_guard g(unique_name());
    { (void)map_view::create(g.name(), 4096); }
    const map_view a = map_view::open(g.name());
    const map_view b = map_view::open(g.name());
    std::atomic<int> ready{0};
    bool removed_a = false;
    bool removed_b = false;
    std::thread other([&] {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      removed_b = b.remove_if_unused();
    });
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    removed_a = a.remove_if_unused();
    other.join();
    EXPECT_NE(removed_a, removed_b) << "round " << round;
    expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); });
  }
}

// An open that gets its use lock only after a remover held it exclusively, and removed the
// name meanwhile, fails with not_found: it would otherwise map a segment no one else can find
// (a producer writing into it, a new consumer creating another under the name). Here the
// remover is played by hand: a write lock on byte 0, then the unlink, then the release.
TEST(map_view, an_open_that_waited_for_a_remover_fails_if_the_name_went) {
  segment_guard g(unique_name());
  { (void)map_view::create(g.name(), 4096); }
  const int fd = ::open(("/dev/shm/" + g.name()).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct flock exclusive {};
  exclusive.l_type = F_WRLCK;
  exclusive.l_whence = SEEK_SET;
  exclusive.l_len = 1;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &exclusive), 0) << std::strerror(errno);
  std::string msg;
  std::thread opener(
      [&] { msg = expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); }); });
  // The opener has the segment open (and waits for the lock) once this process holds two
  // descriptors of it.
  const auto descriptors_of_it = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      n += std::filesystem::read_symlink(e.path(), ec).string() == "/dev/shm/" + g.name();
    }
    return n;
  };
  for (int i = 0; i < 30000 && descriptors_of_it() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(descriptors_of_it(), 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // and is past its size check
  ASSERT_TRUE(remove(g.name()));
  struct flock release = exclusive;
  release.l_type = F_UNLCK;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &release), 0);
  opener.join();
  EXPECT_NE(msg.find("removed while this process opened it"), std::string::npos) << msg;
  // Held for too long, it is busy, not a hang.
  { (void)map_view::create(g.name(), 4096); }
  const int fd2 = ::open(("/dev/shm/" + g.name()).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd2, 0);
  ASSERT_EQ(::fcntl(fd2, F_OFD_SETLK, &exclusive), 0) << std::strerror(errno);
  const auto start = std::chrono::steady_clock::now();
  const std::string busy = expect_error(errc::busy, [&] { (void)map_view::open(g.name()); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_NE(busy.find(g.name()), std::string::npos) << busy;
  ::close(fd2);
  ::close(fd);
}

#endif

TEST(map_view, invalid_names_are_rejected) {
  for (const std::string& bad :
       {std::string(), std::string("a/b"), std::string("a\\b"), std::string("/lead"),
        std::string("."), std::string(".."), std::string(256, 'x'), std::string("nul\0in", 6)}) {
    const auto msg = expect_error(errc::invalid_name, [&] { map_view::create(bad, 4096); });
    EXPECT_NE(msg.find("segment name"), std::string::npos) << msg;
    expect_error(errc::invalid_name, [&] { map_view::open(bad); });
  }
  // The whole name reaches the message, a NUL in it as \x00, and the rule after it.
  const auto nul = expect_error(errc::invalid_name, [] { map_view::create({"ab\0c", 4}, 4096); });
  EXPECT_NE(nul.find("'ab\\x00c'"), std::string::npos) << nul;
  EXPECT_NE(nul.find("must not contain NUL"), std::string::npos) << nul;
  // shm_open's leading '/': the message says the name without it.
  const auto lead = expect_error(errc::invalid_name, [] { validate_name("/quotes"); });
  EXPECT_NE(lead.find("without shm_open's leading '/': 'quotes'"), std::string::npos) << lead;
  const auto inner = expect_error(errc::invalid_name, [] { validate_name("a/b"); });
  EXPECT_EQ(inner.find("leading"), std::string::npos) << inner;
  for (const char* no_hint : {"/..", "/a\\b", "/a/b", "/"}) {  // what follows is no name either
    const auto m = expect_error(errc::invalid_name, [&] { validate_name(no_hint); });
    EXPECT_EQ(m.find("leading"), std::string::npos) << m;
  }
  const auto msg = expect_error(errc::invalid_name, [] { validate_name(std::string(300, 'y')); });
  EXPECT_NE(msg.find("300"), std::string::npos) << msg;
  EXPECT_NE(msg.find("255"), std::string::npos) << msg;
}

TEST(map_view, longest_valid_name_works) {
  std::string name = unique_name();  // unique first, so two checkouts running at once differ
  name.resize(k_max_name_length, 'n');
  segment_guard g(name);
  std::optional<map_view> v;  // held: on Windows the segment goes with its last view
  EXPECT_NO_THROW(v.emplace(map_view::create(g.name(), 4096)));
  EXPECT_NO_THROW(map_view::open(g.name()));
}

TEST(map_view, zero_size_is_rejected) {
  segment_guard g(unique_name());
  expect_error(errc::invalid_argument, [&] { map_view::create(g.name(), 0); });
  expect_error(errc::not_found, [&] { map_view::open(g.name()); });  // nothing left behind
}

// A path with characters outside ASCII: POSIX takes its bytes as they are; Windows refuses it
// (its narrow calls would read the UTF-8 bytes in the ANSI code page: another file's name,
// which a failed create then deleted).
TEST(map_view, a_file_path_outside_ascii_works_or_is_refused_on_windows) {
  const auto path = std::filesystem::temp_directory_path() /
                    (std::filesystem::path(unique_name("-file")).u8string() + u8"-\u00e9");
  remove_file(path);
#ifdef _WIN32
  expect_error(errc::invalid_name, [&] { map_view::create_file(path, 4096); });
  expect_error(errc::invalid_name, [&] { map_view::open_file(path); });
  EXPECT_FALSE(std::filesystem::exists(path));
#else
  {
    auto a = map_view::create_file(path, 4096);
    std::memcpy(a.data(), "e", 1);
    EXPECT_EQ(*map_view::open_file(path).data(), std::byte{'e'});
  }
  EXPECT_TRUE(remove_file(path));
#endif
}

TEST(map_view, file_backed_create_open_remove) {
  const temp_file path_file("-file");
  const auto& path = path_file.path();
  remove_file(path);
  {
    auto a = map_view::create_file(path, 8192);
    EXPECT_EQ(a.size(), 8192u);
    std::memcpy(a.data() + 100, "file", 4);
    auto b = map_view::open_file(path);
    EXPECT_EQ(std::memcmp(b.data() + 100, "file", 4), 0);
#ifndef _WIN32
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
#endif
    expect_error(errc::already_exists, [&] { map_view::create_file(path, 8192); });
  }
  EXPECT_TRUE(std::filesystem::exists(path));  // unmapping never removes, on any platform
  EXPECT_TRUE(remove_file(path));
  EXPECT_FALSE(remove_file(path));
  expect_error(errc::not_found, [&] { map_view::open_file(path); });
}

TEST(map_view, a_stamp_is_written_first_and_must_fit) {
  segment_guard g(unique_name());
  const char stamp[] = "first bytes";
  const auto bytes = std::as_bytes(std::span(stamp));
  auto a = map_view::create(g.name(), 8192, {}, bytes);
  EXPECT_EQ(std::memcmp(map_view::open(g.name()).data(), stamp, sizeof stamp), 0);
  EXPECT_EQ(a.data()[sizeof stamp], std::byte{0});  // the rest is zero-filled
  segment_guard g2(unique_name("-small"));
  const auto msg = expect_error(errc::invalid_argument,
                                [&] { map_view::create(g2.name(), sizeof stamp - 1, {}, bytes); });
  EXPECT_NE(msg.find("stamp"), std::string::npos) << msg;
  expect_error(errc::not_found, [&] { map_view::open(g2.name()); });
}

#ifndef _WIN32
// A view created with a stamp holds the segment (an flock on its description) until it ends
// the creation or closes; a process forked from the creator shares that hold. Other views only
// look, and a view created without a stamp holds nothing. Files alike.
constexpr char k_stamp_text[] = "stamp";
const auto k_stamp = std::as_bytes(std::span(k_stamp_text));

TEST(map_view, a_view_created_without_a_stamp_holds_nothing) {
  segment_guard g(unique_name());
  const map_view creator = map_view::create(g.name(), 4096);
  EXPECT_TRUE(map_view::open(g.name()).creator_gone());
}

TEST(map_view, creator_gone_once_the_creating_view_and_its_forks_let_go) {
  segment_guard g(unique_name());
  std::optional<map_view> creator = map_view::create(g.name(), 4096, {}, k_stamp);
  const map_view other = map_view::open(g.name());
  EXPECT_FALSE(creator->creator_gone());  // it does not ask about itself
  EXPECT_FALSE(other.creator_gone());
  EXPECT_FALSE(other.creator_gone());  // a look takes nothing that outlives it
  pipe_signal forked;
  child_process fork_of_creator([&] {
    forked.notify();
    ::pause();
    return 0;
  });
  ASSERT_TRUE(forked.wait());
  creator.reset();
  EXPECT_FALSE(other.creator_gone());  // the fork still holds the creator's description
  fork_of_creator.kill(SIGKILL);
  ASSERT_EQ(fork_of_creator.exit_code(), 1000 + SIGKILL);
  EXPECT_TRUE(other.creator_gone());
  EXPECT_TRUE(map_view::open(g.name()).creator_gone());
}

TEST(map_view, creator_gone_once_it_ends_creation) {
  segment_guard g(unique_name());
  map_view creator = map_view::create(g.name(), 4096, {}, k_stamp);
  const map_view other = map_view::open(g.name());
  EXPECT_FALSE(other.creator_gone());
  creator.end_creation();
  EXPECT_TRUE(other.creator_gone());
  creator.end_creation();  // once is enough; other views have nothing to end
  const_cast<map_view&>(other).end_creation();
  EXPECT_TRUE(other.creator_gone());
}

TEST(map_view, creator_gone_when_the_creating_process_dies) {
  segment_guard g(unique_name());
  child_process creator([&] {
    auto v = map_view::create(g.name(), 4096, {}, k_stamp);
    ::pause();
    return 0;
  });
  std::optional<map_view> v;
  for (int i = 0; i < 30000 && !v; ++i) {
    try {
      v = map_view::open(g.name());
    } catch (const error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->creator_gone());
  creator.kill(SIGKILL);
  ASSERT_EQ(creator.exit_code(), 1000 + SIGKILL);
  EXPECT_TRUE(v->creator_gone());
}

TEST(map_view, a_file_created_with_a_stamp_is_held_until_it_ends_creation) {
  const temp_file path_file("-file");
  const auto& path = path_file.path();
  const temp_file plain_file("-plain");
  const auto& plain = plain_file.path();
  remove_file(path);
  remove_file(plain);
  {
    map_view creator = map_view::create_file(path, 4096, {}, k_stamp);
    const map_view other = map_view::open_file(path);
    EXPECT_EQ(std::memcmp(other.data(), k_stamp.data(), k_stamp.size()), 0);
    EXPECT_FALSE(creator.creator_gone());  // it does not ask about itself
    EXPECT_FALSE(other.creator_gone());
    creator.end_creation();
    EXPECT_TRUE(other.creator_gone());
    const map_view unstamped = map_view::create_file(plain, 4096);
    EXPECT_TRUE(map_view::open_file(plain).creator_gone());  // it holds nothing
  }
  EXPECT_TRUE(remove_file(path));
  EXPECT_TRUE(remove_file(plain));
}
#endif

}  // namespace
}  // namespace ipcring::test

namespace ipcring::test {
namespace {

#ifdef _WIN32
TEST(map_view, lock_memory_locks_the_mapping_or_names_the_working_set) {
  segment_guard g(unique_name());
  try {
    map_options o;
    o.lock_memory = true;
    auto v = map_view::create(g.name(), 64 << 10, o);
    v.data()[0] = std::byte{1};
  } catch (const error& e) {
    EXPECT_EQ(e.value(), errc::system);
    EXPECT_NE(std::string(e.what()).find("working set"), std::string::npos) << e.what();
  }
}
#else
TEST(map_view, lock_memory_locks_the_mapping_or_names_the_limit) {
  segment_guard g(unique_name());
  const std::size_t before = locked_kib();
  try {
    map_options o;
    o.lock_memory = true;
    auto v = map_view::create(g.name(), 1 << 20, o);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // The ASan and TSan runtimes replace mlock with a no-op: VmLck cannot grow in them.
    (void)before;
#else
    EXPECT_GE(locked_kib(), before + 1024) << "VmLck did not grow by the mapping's 1 MiB";
#endif
  } catch (const error& e) {
    EXPECT_EQ(e.value(), errc::system);
    EXPECT_NE(std::string(e.what()).find("RLIMIT_MEMLOCK"), std::string::npos) << e.what();
  }
}

#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// Takes away what lets this process lock memory: CAP_IPC_LOCK (which root has, and which makes
// mlock ignore the limit) and RLIMIT_MEMLOCK. For a forked child only: neither comes back.
bool forbid_mlock() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  const auto bit = 1u << CAP_IPC_LOCK;  // capabilities 0-31 are in the first word
  data[0].effective &= ~bit;
  data[0].permitted &= ~bit;
  data[0].inheritable &= ~bit;
  if (::syscall(SYS_capset, &hdr, data) != 0) return false;
  const rlimit none{0, 0};
  return ::setrlimit(RLIMIT_MEMLOCK, &none) == 0;
}

// A refused mlock fails the create, names the limit, and leaves no segment or file behind: a
// second create of the same name succeeds, and an open finds nothing. (The sanitizers' runtimes
// make mlock a no-op, so this runs in the plain build only.)
TEST(map_view, a_refused_lock_memory_leaves_nothing_behind) {
  segment_guard g(unique_name());
  const temp_file path_file("-mlock");
  const auto& path = path_file.path();
  remove_file(path);
  child_process child([&] {
    if (!forbid_mlock()) return 10;
    map_options o;
    o.lock_memory = true;
    const auto refused = [](const error& e) {
      return e.code() == errc::system &&
             std::string(e.what()).find("RLIMIT_MEMLOCK is 0") != std::string::npos;
    };
    try {
      map_view::create(g.name(), 1 << 20, o);
      return 11;  // locked although the limit is 0
    } catch (const error& e) {
      if (!refused(e)) {
        std::fprintf(stderr, "create: %s\n", e.what());
        return 12;
      }
    }
    try {
      map_view::create_file(path, 1 << 20, o);
      return 13;
    } catch (const error& e) {
      if (!refused(e)) {
        std::fprintf(stderr, "create_file: %s\n", e.what());
        return 14;
      }
    }
    return 0;
  });
  const int rc = child.exit_code();
  if (rc == 10) GTEST_SKIP() << "this system refuses to drop CAP_IPC_LOCK or RLIMIT_MEMLOCK";
  ASSERT_EQ(rc, 0);
  expect_error(errc::not_found, [&] { map_view::open(g.name()); });
  EXPECT_FALSE(std::filesystem::exists(path)) << path;
  auto again = map_view::create(g.name(), 1 << 20);  // the name is free again
  EXPECT_EQ(again.size(), std::size_t{1} << 20);
}
#endif

#endif

// Huge pages are asked for, never required: where huge_page_support() says they are offered, a
// segment of whole huge pages gets them (in the creator's and an opener's mapping); where it
// gives a reason, the mapping keeps normal pages and huge_page_size() is 0.
TEST(map_view, huge_pages_where_offered_and_a_reason_where_not) {
  segment_guard g(unique_name());
  map_options o;
  o.huge_pages = true;
  auto v = map_view::create(g.name(), 4 << 20, o);
  v.data()[0] = std::byte{1};
  auto w = map_view::open(g.name(), o);
  EXPECT_EQ(w.data()[0], std::byte{1});
  const std::string why = huge_page_support();
  const std::size_t page = huge_page_size();
  if (why.empty()) {
    EXPECT_GE(page, 4096u);
    EXPECT_EQ(page & (page - 1), 0u) << page;
  } else {
    EXPECT_EQ(page, 0u) << why;
    EXPECT_TRUE(why.find("/dev/shm") != std::string::npos ||
                why.find("shmem_enabled") != std::string::npos ||
                why.find("SeLockMemoryPrivilege") != std::string::npos)
        << why;
  }
  const std::size_t huge = huge_page_bytes(g.name());  // both mappings: 8 MiB if all huge
  if (why.empty()) {
#ifdef __linux__
    EXPECT_GE(huge, 2 * page) << "huge pages offered, yet none mapped";
#endif
  } else {
    EXPECT_EQ(huge, 0u) << why;
  }
}

#if defined(__linux__)
// Where /dev/shm is no mount of its own but a directory in another (as in some containers),
// huge_page_support() names the mount that holds it. A child, in a mount namespace of its own
// whose mounts are private (so that nothing it does reaches the machine's), takes the mounts
// off /dev/shm and asks.
TEST(map_view, huge_page_support_names_the_mount_that_holds_a_plain_dev_shm) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  child_process child([&] {
    ::close(fds[0]);
    if (::unshare(CLONE_NEWNS) != 0) return 10;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 10;
    while (::umount2("/dev/shm", MNT_DETACH) == 0) {
    }
    struct stat shm {
    }, dev{};
    if (::stat("/dev/shm", &shm) != 0 || ::stat("/dev", &dev) != 0) return 12;
    if (shm.st_dev != dev.st_dev) return 10;  // still a mount (a locked one, in a container)
    const std::string why = huge_page_support();
    return ::write(fds[1], why.data(), why.size()) == static_cast<ssize_t>(why.size()) ? 0 : 11;
  });
  ::close(fds[1]);
  std::string why;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    why.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  const int rc = child.exit_code();
  if (rc == 10) GTEST_SKIP() << "cannot unmount /dev/shm in a mount namespace of its own here";
  if (rc == 12) GTEST_SKIP() << "no /dev/shm here";
  ASSERT_EQ(rc, 0);
  if (why.find("/dev/shm is a directory") == std::string::npos &&
      (why.empty() || why.find("shmem_enabled") != std::string::npos ||
       why.find("MADV_POPULATE_WRITE") != std::string::npos)) {
    GTEST_SKIP() << "the kernel's settings decide before the mount here: '" << why << "'";
  }
  EXPECT_NE(why.find("/dev/shm is a directory in the mount at /"), std::string::npos) << why;
}
#endif

// A huge page covers a whole aligned huge page of the segment: a ring that asks for them gets
// a segment of whole huge pages where they are offered (its own size where they are not).
TEST(map_view, a_ring_asking_for_huge_pages_spans_whole_huge_pages) {
  segment_guard g(unique_name());
  ring_options o;
  o.map.huge_pages = true;
  auto ring = spsc_ring<std::uint64_t>::create(g.name(), 64, o);  // a few KiB of slots
  auto opened = spsc_ring<std::uint64_t>::open(g.name(), o);      // an opener accepts it
  const std::size_t size = map_view::open(g.name()).size();
  const std::size_t page = huge_page_size();
  if (page != 0) {
    EXPECT_EQ(size % page, 0u) << size;
    EXPECT_GE(size, page);
  } else {
    EXPECT_LT(size, std::size_t{64} << 10) << huge_page_support();
  }
  auto p = ring.producer();
  auto c = opened.consumer();
  ASSERT_TRUE(p.try_push(42));
  std::uint64_t v = 0;
  ASSERT_TRUE(c.try_pop(v));
  EXPECT_EQ(v, 42u);
#ifdef __linux__
  if (page != 0) {
    // A ring of several huge pages gets every one of them, the first too: its creator writes
    // the creation stamp between populating the first huge page and the rest.
    segment_guard g2(unique_name());
    auto big = spsc_ring<std::uint64_t>::create(g2.name(), std::size_t{1} << 19, o);  // 4 MiB
    const std::size_t big_size = map_view::open(g2.name()).size();
    EXPECT_GE(big_size, 2 * page);
    EXPECT_EQ(huge_page_bytes(g2.name()), big_size) << "the creator's mapping, all of it";
  }
#endif
}

}  // namespace
}  // namespace ipcring::test
