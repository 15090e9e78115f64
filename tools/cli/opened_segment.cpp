#include "opened_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>

#include "ipcring/error.hpp"
#include "ipcring/layout.hpp"

namespace ipcring::cli {
namespace {

int open_segment(const std::string& name) {
  return ::shm_open(("/" + name).c_str(), O_RDONLY | O_CLOEXEC, 0);
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
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    throw error(errc::system, who + ": mapping the segment it opened: " + std::strerror(errno));
  }
  struct unmap {
    void* p;
    std::size_t n;
    ~unmap() { ::munmap(p, n); }
  } const mapping{p, size};
  return inspect({static_cast<const std::byte*>(p), size}, name_);
}

}  // namespace ipcring::cli
