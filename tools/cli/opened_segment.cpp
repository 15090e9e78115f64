#include "opened_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ipcring/error.hpp"
#include "ipcring/layout.hpp"

namespace ipcring::cli {
namespace {

// Read-only, and without blocking: a FIFO under the name (any user may make one in
// /dev/shm) would hold a plain read-only open until a writer came, for ever. Anything but a
// regular file is no segment, and counts as absent here (ENOENT): the ring's open, which the
// command makes next, says what it is.
int open_segment(const std::string& name) {
  const int fd = ::shm_open(("/" + name).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct stat st {};
  const bool known = ::fstat(fd, &st) == 0;
  if (known && S_ISREG(st.st_mode)) return fd;
  const int err = known ? ENOENT : errno;  // not a file, or fstat's failure
  ::close(fd);
  errno = err;
  return -1;
}

}  // namespace

opened_segment::opened_segment(const std::string& name)
    : name_(name), fd_(open_segment(name)), open_errno_(fd_ < 0 ? errno : 0) {}

opened_segment::~opened_segment() {
  if (fd_ >= 0) ::close(fd_);
}

bool opened_segment::same_ready_ring(const std::string& who) const {
  const int now = open_segment(name_);
  const int now_errno = now < 0 ? errno : 0;
  for (const int err : {open_errno_, now_errno}) {
    if (err != 0 && err != ENOENT) {
      if (now >= 0) ::close(now);
      throw error(
          err == EACCES ? errc::permission_denied : errc::system,
          who + ": opening the segment to check that it is the ring opened: " + std::strerror(err));
    }
  }
  if (now < 0 || fd_ < 0) {  // absent then or now: the ring opened may be another, or gone
    if (now >= 0) ::close(now);
    return false;
  }
  struct stat a {};
  struct stat b {};
  const bool same = ::fstat(fd_, &a) == 0 && ::fstat(now, &b) == 0 && a.st_dev == b.st_dev &&
                    a.st_ino == b.st_ino;
  ::close(now);
  if (!same) return false;
  std::uint32_t words[4] = {};  // magic (2 words), layout_version, init_state
  // The ring open_ring() returned is ready: a file that is not is another.
  return ::pread(fd_, words, sizeof words, 0) == static_cast<ssize_t>(sizeof words) &&
         words[3] == k_init_ready;
}

ring_info opened_segment::read(const std::string& who) const {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
    throw error(errc::system, who + ": the segment it opened cannot be read: " +
                                  std::strerror(fd_ < 0 ? open_errno_ : errno));
  }
  if (st.st_size <= 0) throw error(errc::too_small, who + ": the segment it opened is empty");
  // Read, not mapped: a segment its owner shrank meanwhile would raise SIGBUS in a mapping.
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::vector<std::uint64_t> words((std::min<std::uint64_t>(size, k_inspect_bytes) + 7) / 8);
  const auto bytes = std::as_writable_bytes(std::span(words));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd_, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw error(errc::system, who + ": reading the segment it opened: " + std::strerror(errno));
    if (n == 0) break;  // shrunk meanwhile: the rest stays zero
    got += static_cast<std::size_t>(n);
  }
  // Judged by the size the segment has after the copy, as inspect(view) judges one: shrunk
  // meanwhile, it is too small for its header, not a ring whose records read zero.
  struct stat now {};
  if (::fstat(fd_, &now) != 0) {
    throw error(errc::system,
                who + ": the segment it opened cannot be read: " + std::strerror(errno));
  }
  const std::uint64_t judged =
      std::min(size, static_cast<std::uint64_t>(std::max<off_t>(now.st_size, 0)));
  return inspect(bytes.first(std::min<std::uint64_t>(size, k_inspect_bytes)), judged, name_);
}

}  // namespace ipcring::cli
