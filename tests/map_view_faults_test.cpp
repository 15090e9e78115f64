// The map view's lock calls failing as a healthy machine never makes them fail, injected: the
// kernel could not allocate a lock (ENOLCK; on /dev/shm a transient failure, on a file NFS
// without its lock service). This binary is linked with GNU ld's --wrap=fcntl,--wrap=flock
// (tests/CMakeLists.txt), so every such call of the library's goes through the wrappers below.
// POSIX only.
#include "ipcring/map_view.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "support/test_support.hpp"

// fcntl64 too: a build with 64-bit file offsets (_FILE_OFFSET_BITS=64) calls fcntl by that name.
extern "C" {
int __real_fcntl(int fd, int cmd, ...);    // NOLINT(bugprone-reserved-identifier): GNU ld's names
int __real_fcntl64(int fd, int cmd, ...);  // NOLINT(bugprone-reserved-identifier)
int __real_flock(int fd, int operation);   // NOLINT(bugprone-reserved-identifier)
}

namespace {

// The OFD lock type whose requests fail with ENOLCK (F_RDLCK: taking a use lock; F_WRLCK: a
// remover's); -1: none.
std::atomic<int> g_failing_lock{-1};
// How many of those requests fail first with EAGAIN, as if another process held the lock.
std::atomic<int> g_held_first{0};
// Exclusive flocks (a creator's hold) fail with ENOLCK.
std::atomic<bool> g_failing_flock{false};

// Sets a failure for the life of the object.
struct inject {
  inject(int lock_type, bool flock, int held_first = 0) {
    g_held_first.store(held_first);
    g_failing_lock.store(lock_type);
    g_failing_flock.store(flock);
  }
  ~inject() {
    g_failing_lock.store(-1);
    g_failing_flock.store(false);
    g_held_first.store(0);
  }
  inject(const inject&) = delete;
  inject& operator=(const inject&) = delete;
};

}  // namespace

// True if this fcntl request is to fail (errno set).
static bool failing(int cmd, void* arg) {
  if (cmd != F_OFD_SETLK || static_cast<const struct flock*>(arg)->l_type != g_failing_lock.load())
    return false;
  errno = g_held_first.fetch_sub(1) > 0 ? EAGAIN : ENOLCK;
  return true;
}

// NOLINTNEXTLINE(bugprone-reserved-identifier): the name GNU ld's --wrap calls
extern "C" int __wrap_fcntl(int fd, int cmd, ...) {
  std::va_list ap;
  va_start(ap, cmd);
  void* const arg = va_arg(ap, void*);  // as glibc reads it: an int or a pointer, passed on
  va_end(ap);
  return failing(cmd, arg) ? -1 : __real_fcntl(fd, cmd, arg);
}

// NOLINTNEXTLINE(bugprone-reserved-identifier): the name GNU ld's --wrap calls
extern "C" int __wrap_fcntl64(int fd, int cmd, ...) {
  std::va_list ap;
  va_start(ap, cmd);
  void* const arg = va_arg(ap, void*);
  va_end(ap);
  return failing(cmd, arg) ? -1 : __real_fcntl64(fd, cmd, arg);
}

// NOLINTNEXTLINE(bugprone-reserved-identifier): the name GNU ld's --wrap calls
extern "C" int __wrap_flock(int fd, int operation) {
  if ((operation & LOCK_EX) != 0 && g_failing_flock.load()) {
    errno = ENOLCK;
    return -1;
  }
  return __real_flock(fd, operation);
}

namespace ipcring::test {
namespace {

const std::string k_no_locks = std::strerror(ENOLCK);

std::span<const std::byte> stamp() {
  static const char bytes[8] = {'S', 'T', 'A', 'M', 'P', '.', '.', '.'};
  return std::as_bytes(std::span(bytes));
}

// On /dev/shm, ENOLCK is no sign of a file system without locks: a view that took it for one
// would hold no use lock, and remove_if_unused() of any view would then remove the segment
// under it. The open fails instead, and a create undoes itself.
TEST(map_view_faults, a_use_lock_that_cannot_be_had_fails_an_open_and_undoes_a_create) {
  const segment_guard g(unique_name("-open")), g2(unique_name("-create"));
  const map_view made = map_view::create(g.name(), 4096);
  {
    const inject fail(F_RDLCK, false);
    const auto msg = expect_error(errc::system, [&] { (void)map_view::open(g.name()); });
    EXPECT_NE(msg.find("cannot take its use lock (fcntl: " + k_no_locks), std::string::npos) << msg;
    const auto msg2 = expect_error(errc::system, [&] { (void)map_view::create(g2.name(), 4096); });
    EXPECT_NE(msg2.find(k_no_locks), std::string::npos) << msg2;
  }
  EXPECT_NO_THROW((void)map_view::open(g.name()));
  expect_error(errc::not_found, [&] { (void)map_view::open(g2.name()); });  // not left behind
}

// A file where locks fail with ENOLCK is taken for one on a file system without them (NFS
// without its lock service): its views open, holding no use lock.
TEST(map_view_faults, a_file_whose_locks_fail_opens_without_its_use_lock) {
  const temp_file f("-file");
  const map_view made = map_view::create_file(f.path(), 4096, {}, stamp());
  const inject fail(F_RDLCK, true);
  std::optional<map_view> opened;
  EXPECT_NO_THROW(opened.emplace(map_view::open_file(f.path())));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->size(), 4096u);
  EXPECT_NO_THROW((void)map_view::create_file(f.path().string() + "-2", 4096, {}, stamp()));
  ipcring::remove_file(f.path().string() + "-2");
}

// A remover whose write lock fails for want of a lock (not because the segment is in use)
// keeps the segment and says why (errno). Having let go of its own use lock between tries (the
// first found the segment in use), it holds it again: without it, another remover could take
// the segment from under this view.
TEST(map_view_faults, a_remover_that_cannot_lock_keeps_the_segment_and_its_own_use_lock) {
  const segment_guard g(unique_name());
  map_view made = map_view::create(g.name(), 4096);
  std::optional<map_view> other(map_view::open(g.name()));
  {
    const inject fail(F_WRLCK, false, 1);
    errno = 0;
    EXPECT_FALSE(other->remove_if_unused());
    EXPECT_EQ(errno, ENOLCK);
  }
  EXPECT_NO_THROW((void)map_view::open(g.name()));  // still there
  errno = 0;
  EXPECT_FALSE(made.remove_if_unused());  // `other` holds its use lock again
  EXPECT_EQ(errno, EBUSY);
  other.reset();
  EXPECT_TRUE(made.remove_if_unused());
  expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); });
}

// A creator that cannot take its hold on a new named segment (flock, ENOLCK: transient there)
// fails the create and removes what it made: an observer's flock would otherwise succeed while
// the creator lives, and take the segment for abandoned.
TEST(map_view_faults, a_creator_that_cannot_hold_its_new_segment_fails_and_leaves_nothing) {
  const segment_guard g(unique_name());
  {
    const inject fail(-1, true);
    const auto msg =
        expect_error(errc::system, [&] { (void)map_view::create(g.name(), 4096, {}, stamp()); });
    EXPECT_NE(msg.find("cannot lock the new segment (flock: " + k_no_locks), std::string::npos)
        << msg;
    EXPECT_NO_THROW((void)map_view::create(g.name(), 4096));  // without a stamp: no hold
    ipcring::remove(g.name());
  }
  expect_error(errc::not_found, [&] { (void)map_view::open(g.name()); });
  EXPECT_NO_THROW((void)map_view::create(g.name(), 4096, {}, stamp()));
}

}  // namespace
}  // namespace ipcring::test
