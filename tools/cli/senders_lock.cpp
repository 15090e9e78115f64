#include "senders_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "interrupt.hpp"
#include "ipcring/error.hpp"
#include "ipcring/inspect.hpp"
#include "ipcring/layout.hpp"

namespace ipcring::cli {
namespace {

int open_segment(const std::string& name) {
  return ::shm_open(("/" + name).c_str(), O_RDONLY | O_CLOEXEC, 0);
}

}  // namespace

senders_lock::senders_lock(const std::string& name)
    : name_(name), fd_(open_segment(name)), open_errno_(fd_ < 0 ? errno : 0) {}

senders_lock::~senders_lock() {
  if (fd_ >= 0) ::close(fd_);
}

bool senders_lock::lock_if_same() {
  const int now = open_segment(name_);
  const int now_errno = now < 0 ? errno : 0;
  for (const int err : {open_errno_, now_errno}) {
    if (err != 0 && err != ENOENT) {
      if (now >= 0) ::close(now);
      throw error(err == EACCES ? errc::permission_denied : errc::system,
                  "send '" + name_ + "': opening the segment to lock it: " + std::strerror(err));
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
  if (::pread(fd_, words, sizeof words, 0) != static_cast<ssize_t>(sizeof words) ||
      words[3] != k_init_ready) {
    return false;  // the ring open_ring() returned is ready: this file is another
  }
  // Waits only while another send closes the side. Interrupts are caught only later: a signal
  // here ends the process, before it attached.
  (void)take(LOCK_SH);
  return true;
}

bool senders_lock::alone() {
  if (fd_ < 0) return true;
  (void)::flock(fd_, LOCK_UN);
  return take(LOCK_EX | LOCK_NB);
}

ring_info senders_lock::read_opened() const {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
    throw error(errc::system, "send '" + name_ + "': the segment it opened cannot be read: " +
                                  std::strerror(fd_ < 0 ? open_errno_ : errno));
  }
  if (st.st_size <= 0) {
    throw error(errc::too_small, "send '" + name_ + "': the segment it opened is empty");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    throw error(errc::system,
                "send '" + name_ + "': mapping the segment it opened: " + std::strerror(errno));
  }
  struct unmap {
    void* p;
    std::size_t n;
    ~unmap() { ::munmap(p, n); }
  } const mapping{p, size};
  return inspect({static_cast<const std::byte*>(p), size}, name_);
}

std::size_t senders_lock::live_producers() const {
  std::size_t n = 0;
  for (const auto& e : read_opened().endpoints) {
    if (std::string_view(e.role) == "producer" && e.alive) ++n;
  }
  return n;
}

bool senders_lock::producer_side_closed() const {
  return read_opened().producer_closed;
}

bool senders_lock::take(int how) {
  int r;
  do {
    r = ::flock(fd_, how);
  } while (r != 0 && errno == EINTR && interrupted() == 0);
  return r == 0;
}

}  // namespace ipcring::cli
