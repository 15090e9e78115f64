// The map-view layer on POSIX: shared-memory objects (shm_open, /dev/shm/<name> on Linux) and
// mapped files, through Boost.Interprocess. windows/map_view.cpp is the Windows counterpart;
// huge_pages.cpp says what /dev/shm offers of huge pages and populates a mapping with them.
#include "ipcring/map_view.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>
#include <variant>

#include "../map_view_internal.hpp"
#include "huge_pages.hpp"
#include "ipcring/error.hpp"

// remove() unlinks "/<name>" itself: the name shared_memory_object gives shm_open where it
// uses POSIX shared memory objects, not a file-based emulation of them.
#if !defined(BOOST_INTERPROCESS_POSIX_SHARED_MEMORY_OBJECTS) ||         \
    defined(BOOST_INTERPROCESS_FILESYSTEM_BASED_POSIX_SHARED_MEMORY) || \
    defined(BOOST_INTERPROCESS_RUNTIME_FILESYSTEM_BASED_POSIX_SHARED_MEMORY)
#error "remove() assumes that Boost.Interprocess names a segment shm_open(\"/\" + name)"
#endif

namespace bip = boost::interprocess;

namespace ipcring {

struct map_view::backend {
  backend() = default;
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;
  ~backend() {
    if (file_hold >= 0) ::close(file_hold);
  }
  std::variant<bip::shared_memory_object, bip::file_mapping> object;
  bip::mapped_region region;
  bool creator = false;     // this view created the segment and holds it (hold_as_creator)
                            // until end_creation()
  int file_hold = -1;       // a file's creator: the description it holds the file by (the mapping
                            // is made through another one, opened by path)
  bool use_locked = false;  // holds the use lock (hold_in_use; none on NFS or without locks)
};

namespace {

using detail::k_shm_dir;
using detail::populate_huge;

// The file a segment name is on Linux.
std::string shm_path(std::string_view name) {
  return std::string(k_shm_dir) + "/" + std::string(name);
}

// True if `path` still leads to the file `fd` has open. A creation that fails undoes itself
// only then, and remove_if_still_named() removes only then: meanwhile another process may
// have removed the path and given it to a new file (`ipcring rm`, then a create), which is
// that process's, not ours to delete. False with errno 0 for such a file; with the errno of
// fstat or stat where either fails (ENOENT: the path is gone).
bool still_ours(int fd, const std::string& path) noexcept {
  struct stat mine {};
  struct stat now {};
  if (::fstat(fd, &mine) != 0 || ::stat(path.c_str(), &now) != 0) return false;
  if (mine.st_dev == now.st_dev && mine.st_ino == now.st_ino) return true;
  errno = 0;  // replaced
  return false;
}

using detail::in_quotes;
using detail::prefault;
using detail::rethrow;

// Boost opens a file to map without O_CLOEXEC (shm_open sets it): a program this process
// starts must not inherit a writable descriptor to the ring. A fork and exec in another thread
// between the open and this call still would.
void close_on_exec(int fd) noexcept {
  (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// Shared memory is input from whoever can write it: refuse, unless allowed, a segment owned
// by another user or writable by every user. Returns the size fstat read, for the caller's
// next check.
off_t check_access(int fd, std::string_view what, std::string_view name, const map_options& opt) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw error(errc::system,
                std::string(what) + " " + in_quotes(name) + ": fstat: " + std::strerror(errno));
  }
  // A FIFO under the name (any user may make one in /dev/shm; a directory or a socket fails
  // the open itself) is no segment: said at once, not waited for as a segment its creator has
  // yet to size.
  if (!S_ISREG(st.st_mode)) {
    throw error(errc::bad_magic,
                std::string(what) + " " + in_quotes(name) + ": not a regular file" +
                    (S_ISFIFO(st.st_mode) ? " (a FIFO)" : "") + ", so not an ipcring segment");
  }
  if (!opt.allow_foreign_owner && st.st_uid != ::geteuid()) {
    throw error(errc::permission_denied, std::string(what) + " " + in_quotes(name) +
                                             ": owned by uid " + std::to_string(st.st_uid) +
                                             ", not by this user (uid " +
                                             std::to_string(::geteuid()) +
                                             "); set map_options::allow_foreign_owner to accept it "
                                             "(C: ipcring_open_ex with "
                                             "IPCRING_FLAG_ALLOW_FOREIGN_OWNER; Python: "
                                             "allow_foreign_owner=True)");
  }
  if (!opt.allow_world_writable && (st.st_mode & S_IWOTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw error(errc::permission_denied,
                std::string(what) + " " + in_quotes(name) + ": writable by every user (mode " +
                    mode + "); set map_options::allow_world_writable to accept it (C++ only)");
  }
  return st.st_size;
}

// Reserves `size` bytes of backing store for `fd` so that a full /dev/shm (or disk) is an
// error now instead of a SIGBUS on first touch. False where the file system cannot reserve.
bool reserve(int fd, std::size_t size, std::string_view what, std::string_view name) {
  const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err == 0) return true;
  if (err == ENOSPC || err == EFBIG) {
    throw error(errc::no_space, std::string(what) + " " + in_quotes(name) + ": no space for " +
                                    std::to_string(size) + " bytes (" + std::strerror(err) + ")");
  }
  return false;  // EOPNOTSUPP, EINVAL: not supported here
}

// The options that shape a fresh mapping: huge pages first (so pre-faulting faults them in
// huge), then pre-faulting, then locking.
void tune(std::byte* p, std::size_t n, const map_options& opt, bool write, std::string_view name) {
#ifdef MADV_HUGEPAGE
  if (opt.huge_pages) (void)::madvise(p, n, MADV_HUGEPAGE);  // best effort: see huge_page_support
#endif
  if (opt.prefault) prefault(p, n, write);
  if (opt.lock_memory && ::mlock(p, n) != 0) {
    const int err = errno;
    rlimit lim{};
    ::getrlimit(RLIMIT_MEMLOCK, &lim);
    throw error(errc::system, "lock_memory: mlock of " + std::to_string(n) + " bytes of " +
                                  in_quotes(name) + " failed: " + std::strerror(err) +
                                  " (RLIMIT_MEMLOCK is " + std::to_string(lim.rlim_cur) +
                                  " bytes; raise it, e.g. ulimit -l, or map without lock_memory)");
  }
}

// True for the errors of a file system (or kernel, before 3.15) that has no locks, flock or
// byte-range (the creator's hold and the use lock alike). For a file, also ENOLCK (NFS without
// its lock service); on /dev/shm that is a transient failure to allocate the lock, which must
// not pass for "no locks": an observer's flock would then succeed while the creator lives, and
// a view without its use lock would let remove_if_unused() remove a segment others use.
bool no_locks_here(int err, bool file) noexcept {
  return err == EINVAL || err == EOPNOTSUPP || err == ENOSYS || (file && err == ENOLCK);
}

// The creator's hold on a segment it is making (map_view::creator_gone): an exclusive flock
// on its open file description, released by end_creation(), or when the view closes its
// handle or its process ends. (The CLI's senders_lock, a shared flock, is taken only on a
// ring that is ready.) `file`: a file's creator (create_file), else a named segment's.
void hold_as_creator(int fd, bool file, std::string_view name) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return;
  const int err = errno;
  // Where the file system has no locks, creator_gone() cannot tell either (its flock fails
  // too): a segment is then never judged abandoned. Any other failure, transient (ENOLCK,
  // ENOMEM on /dev/shm) or another program's lock, would let an observer's flock succeed while
  // this creator lives: the creation fails instead.
  if (no_locks_here(err, file)) return;
  throw error(errc::system, std::string(file ? "create_file " : "create ") + in_quotes(name) +
                                ": cannot lock the new " + (file ? "file" : "segment") +
                                " (flock: " + std::strerror(err) + ")");
}

// The use lock (map_view::remove_if_unused): every view holds a read lock on byte 0 of its
// segment or file, on its open file description (an OFD lock: one per description, shared
// with forked children, dropped by the kernel when the last descriptor closes or its process
// dies, whatever pid or time namespace that process is in). A remover's write lock on the same
// byte is granted only while no other description holds one. OFD locks and flock (the
// creator's hold, the CLI's senders_lock) do not meet on Linux, except on NFS, which emulates
// flock with byte-range locks: there a creator's flock would refuse every other view's use
// lock, so views of files on NFS take none (uses_locks()).
int set_use_lock(int fd, short type) noexcept {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = 0;
  l.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &l);
}

// False for a file on NFS (see set_use_lock): its views hold no use lock, and remove_if_unused()
// cannot tell. Linux's NFS_SUPER_MAGIC.
bool uses_locks(int fd) noexcept {
  constexpr decltype(statfs::f_type) k_nfs = 0x6969;
  struct statfs fs {};
  return ::fstatfs(fd, &fs) != 0 || fs.f_type != k_nfs;
}

// Takes this view's use lock on `fd`, opened by `path`, then checks that the path still leads
// to it: a remover that held the write lock (it decided the segment was unused and removed it
// meanwhile) has unlinked the name by the time the read lock is granted, and this view would
// otherwise map a segment no one else can find (errc::not_found). A remover holds its lock for
// a stat and an unlink: the wait is bounded (2 s, then errc::busy). Returns whether the view
// holds the lock: false where the file system has none (uses_locks, no_locks_here). `file`:
// a file's view (create_file, open_file), else a named segment's.
bool hold_in_use(int fd, const std::string& path, bool file, std::string_view what,
                 std::string_view name) {
  if (!uses_locks(fd)) return false;
  for (int attempt = 0;; ++attempt) {
    if (set_use_lock(fd, F_RDLCK) == 0) break;
    const int err = errno;
    if (no_locks_here(err, file)) return false;
    if (err != EAGAIN && err != EACCES && err != EINTR) {
      throw error(errc::system, std::string(what) + " " + in_quotes(name) +
                                    ": cannot take its use lock (fcntl: " + std::strerror(err) +
                                    ")");
    }
    if (attempt == 2000) {
      throw error(errc::busy, std::string(what) + " " + in_quotes(name) +
                                  ": another process has held it exclusively for 2 s (a "
                                  "remove_if_stale() deciding to remove it holds it so)");
    }
    ::usleep(1000);
  }
  if (still_ours(fd, path)) return true;
  const int err = errno;  // 0: another file has the path now
  if (err != 0 && err != ENOENT) {
    throw error(errc::system, std::string(what) + " " + in_quotes(name) +
                                  ": cannot compare it with its path (" + std::strerror(err) + ")");
  }
  throw error(errc::not_found, std::string(what) + " " + in_quotes(name) +
                                   ": removed while this process opened it (another process "
                                   "judged it unused: remove_if_stale)");
}

// Writes `stamp` at offset 0 through the handle (a full /dev/shm is ENOSPC here, not a SIGBUS
// on the first touch of the mapping).
void write_stamp(int fd, std::span<const std::byte> stamp, std::string_view what,
                 std::string_view name) {
  std::size_t done = 0;
  while (done < stamp.size()) {
    const ssize_t n =
        ::pwrite(fd, stamp.data() + done, stamp.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      throw error(err == ENOSPC ? errc::no_space : errc::system,
                  std::string(what) + " " + in_quotes(name) + ": writing its first " +
                      std::to_string(stamp.size()) + " bytes: " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

map_view::map_view(backend* b, std::string name) : backend_(b), name_(std::move(name)) {
  data_ = static_cast<std::byte*>(backend_->region.get_address());
  size_ = backend_->region.get_size();
}

void map_view::backend_deleter::operator()(backend* b) const noexcept {
  delete b;  // mapped_region unmaps, the object closes its handle
}

map_view::~map_view() = default;

void map_view::prepare(std::size_t n, const map_options& opt) {
  map_options o = opt;
  o.huge_pages = false;  // advised, if asked, when the view was mapped
  tune(data_, std::min(n, size_), o, false, name_);
}

namespace {
int fd_of(const map_view::backend& b) noexcept {
  return std::visit([](const auto& o) { return o.get_mapping_handle().handle; }, b.object);
}
}  // namespace

void map_view::peek(std::size_t offset, std::span<std::byte> out) const {
  std::size_t got = 0;
  if (!backend_) {  // moved from: nothing to read, as past size()
    std::fill(out.begin(), out.end(), std::byte{0});
    return;
  }
  const int fd = fd_of(*backend_);
  while (got < out.size() && offset < size_) {
    const std::size_t want = std::min(out.size() - got, size_ - offset);
    const ssize_t n = ::pread(fd, out.data() + got, want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw error(errc::system, "read " + in_quotes(name_) + " at offset " +
                                    std::to_string(offset) + ": " + std::strerror(errno));
    }
    if (n == 0) break;  // shrunk meanwhile: the rest reads as zeros
    got += static_cast<std::size_t>(n);
    offset += static_cast<std::size_t>(n);
  }
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(got), out.end(), std::byte{0});
}

std::uint64_t map_view::current_size() const {
  if (!backend_) return 0;
  struct stat st {};
  if (::fstat(fd_of(*backend_), &st) != 0) {
    throw error(errc::system, "fstat " + in_quotes(name_) + ": " + std::strerror(errno));
  }
  return static_cast<std::uint64_t>(st.st_size);
}

bool map_view::creator_gone() const noexcept {
  // The creating view does not ask: a shared flock on its description would replace its hold.
  if (!backend_ || backend_->creator) return false;
  const int fd = fd_of(*backend_);
  // A shared lock is granted only while no description holds the creator's exclusive one.
  // This view's own description is a different one, even in the creating process.
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) return false;  // held, or no locks here
  (void)::flock(fd, LOCK_UN);
  return true;
}

void map_view::end_creation() noexcept {
  if (!backend_ || !backend_->creator) return;
  backend_->creator = false;
  const int held = backend_->file_hold >= 0 ? backend_->file_hold : fd_of(*backend_);
  (void)::flock(held, LOCK_UN);  // for the forks that share the description too
  if (backend_->file_hold >= 0) ::close(std::exchange(backend_->file_hold, -1));
}

bool map_view::remove_if_unused() const noexcept {
  if (!backend_) return false;                                // moved from
  if (!backend_->use_locked) return remove_if_still_named();  // cannot tell: as before
  const int fd = fd_of(*backend_);
  // This view's own read lock becomes the write lock (one description: no conflict with
  // itself); refused while another description holds its read lock. Tried for up to 50 ms,
  // for a look that holds a view briefly (ls, stat). Between tries this view lets go of its
  // own lock: two removers at once would otherwise refuse each other for ever (one wins; the
  // other then finds the name gone, or another segment under it).
  for (int attempt = 0;; ++attempt) {
    if (set_use_lock(fd, F_WRLCK) == 0) break;
    const int err = errno;
    const bool held = err == EAGAIN || err == EACCES;
    const bool failed = !held && err != EINTR;  // ENOLCK, say
    if (failed || attempt == 50) {
      // This view's own lock back (let go of between tries, below), unless a remover holds
      // it now: a view left without it could have its segment removed under it.
      (void)set_use_lock(fd, F_RDLCK);
      errno = failed ? err : EBUSY;
      return false;
    }
    if (held) (void)set_use_lock(fd, F_UNLCK);
    ::usleep(1000);
  }
  const bool removed = remove_if_still_named();
  const int err = errno;
  // Back to a read lock: an opener that waited for the write lock then finds the name gone
  // (hold_in_use) instead of waiting for this view to close.
  (void)set_use_lock(fd, F_RDLCK);
  errno = err;
  return removed;
}

bool map_view::remove_if_still_named() const noexcept try {
  if (!backend_) return false;  // moved from
  const bool named = std::holds_alternative<bip::shared_memory_object>(backend_->object);
  const std::string path = named ? shm_path(name_) : name_;
  if (!still_ours(fd_of(*backend_), path)) return false;
  return named ? remove(name_) : ::unlink(path.c_str()) == 0;
} catch (...) {  // the path's string: no memory
  return false;
}

map_view map_view::create(std::string_view name, std::size_t size, const map_options& opt,
                          std::span<const std::byte> stamp) {
  detail::check_create(name, size, stamp);
  const std::string n(name);
  auto b = std::make_unique<backend>();
  bool reserved = false;
  try {
    bip::shared_memory_object shm(bip::create_only, n.c_str(), bip::read_write,
                                  bip::permissions(opt.permissions));
    const int fd = shm.get_mapping_handle().handle;
    try {
      // A stamped segment is held by this description until end_creation() or the view
      // closes (creator_gone): taken while the size is still 0, so whoever finds the segment
      // sized finds it held, as long as its creator holds it.
      b->creator = !stamp.empty();
      if (b->creator) hold_as_creator(fd, false, name);
      b->use_locked = hold_in_use(fd, shm_path(n), false, "create", name);
      shm.truncate(static_cast<bip::offset_t>(size));
      // Reserved (posix_fallocate) before mapping, the pages would be small ones: with huge
      // pages, the mapping asks for them first and is then populated (populate_huge). The
      // stamp goes after the first huge page is populated there (a page written before it
      // would stay small, and with it the first huge page's span) and before the rest: a
      // creator killed while the rest is populated (seconds for a large ring, and when memory
      // runs short, the OOM killer's moment) leaves a stamped segment, which openers tell
      // abandoned (abandoned_in_creation). Elsewhere the stamp goes first.
      const bool huge = opt.huge_pages && huge_page_support().empty();
      if (!huge) {
        write_stamp(fd, stamp, "create", name);
        reserved = reserve(fd, size, "create", name);
      }
      b->region = bip::mapped_region(shm, bip::read_write);
      if (huge) {
        auto* const base = static_cast<std::byte*>(b->region.get_address());
        const std::size_t first = std::min(size, huge_page_size());
        bool populated = populate_huge(base, first, name);
        write_stamp(fd, stamp, "create", name);
        if (populated && size > first) populated = populate_huge(base + first, size - first, name);
        reserved = populated || reserve(fd, size, "create", name);
      }
    } catch (...) {
      // Do not leave a half-made segment (unless the name went to another one meanwhile).
      if (still_ours(fd, shm_path(n))) bip::shared_memory_object::remove(n.c_str());
      throw;
    }
    b->object = std::move(shm);
  } catch (const bip::interprocess_exception& e) {
    rethrow(e, "create", name);
  }
  map_view v(b.release(), n);
  try {
    tune(v.data_, v.size_, opt, !reserved, v.name_);
  } catch (...) {
    (void)v.remove_if_still_named();  // a refused mlock: no segment left behind
    throw;
  }
  return v;
}

map_view map_view::open(std::string_view name, const map_options& opt) {
  validate_name(name);
  const std::string n(name);
  auto b = std::make_unique<backend>();
  try {
    bip::shared_memory_object shm(bip::open_only, n.c_str(), bip::read_write);
    const int fd = shm.get_mapping_handle().handle;
    // Whose it is before whether it is ready: another user's empty segment is refused at
    // once, not waited for as one its creator has yet to size. One fstat for both.
    if (check_access(fd, "open", name, opt) == 0) {
      throw error(errc::not_ready, "open " + in_quotes(name) +
                                       ": segment has size 0 (its creator has not sized it yet)");
    }
    b->use_locked = hold_in_use(fd, shm_path(n), false, "open", name);
    b->region = bip::mapped_region(shm, bip::read_write);
    b->object = std::move(shm);
  } catch (const bip::interprocess_exception& e) {
    rethrow(e, "open", name);
  }
  map_view v(b.release(), n);
  tune(v.data_, v.size_, opt, false, v.name_);
  return v;
}

map_view map_view::create_file(const std::filesystem::path& path, std::size_t size,
                               const map_options& opt, std::span<const std::byte> stamp) {
  const std::string p = path.string();
  if (p.empty()) throw error(errc::invalid_name, "create_file: empty path");
  if (size == 0) throw error(errc::invalid_argument, "create_file " + in_quotes(p) + ": size=0");
  detail::check_stamp("create_file", p, size, stamp);
  auto b = std::make_unique<backend>();  // before the file: nothing to undo if it fails
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, opt.permissions);
  if (fd < 0) {
    const int err = errno;
    const errc code = err == EEXIST   ? errc::already_exists
                      : err == EACCES ? errc::permission_denied
                      : err == ENOENT ? errc::not_found
                                      : errc::system;
    throw error(code, "create_file " + in_quotes(p) + ": " + std::strerror(err));
  }
  // As create(): a stamped file is held by this description (kept open for it) from before it
  // has a size until end_creation() or the view closes.
  bool sized = false;
  int err = 0;
  bool reserved = false;
  try {
    if (!stamp.empty()) hold_as_creator(fd, true, p);
    sized = ::fchmod(fd, opt.permissions) == 0 && ::ftruncate(fd, static_cast<off_t>(size)) == 0;
    err = errno;
    if (sized) {
      write_stamp(fd, stamp, "create_file", p);
      reserved = reserve(fd, size, "create_file", p);
    }
  } catch (...) {
    if (still_ours(fd, p)) ::unlink(p.c_str());
    ::close(fd);
    throw;
  }
  if (!sized) {
    if (still_ours(fd, p)) ::unlink(p.c_str());
    ::close(fd);
    throw error(err == ENOSPC || err == EFBIG ? errc::no_space : errc::system,
                "create_file " + in_quotes(p) + ": " + std::strerror(err));
  }
  // Mapped through the path again (Boost maps what it opens): the file the path leads to now
  // must be the one made above, or another program renamed files meanwhile.
  try {
    bip::file_mapping file(p.c_str(), bip::read_write);
    close_on_exec(file.get_mapping_handle().handle);
    struct stat made {};
    struct stat mapped {};
    if (::fstat(fd, &made) != 0 || ::fstat(file.get_mapping_handle().handle, &mapped) != 0 ||
        made.st_dev != mapped.st_dev || made.st_ino != mapped.st_ino) {
      ::close(fd);
      throw error(errc::system, "create_file " + in_quotes(p) +
                                    ": the path was given to another file while this one was "
                                    "being made (left as it is)");
    }
    try {
      b->use_locked = hold_in_use(file.get_mapping_handle().handle, p, true, "create_file", p);
    } catch (...) {  // not left behind, unless the path went to another file meanwhile
      if (still_ours(fd, p)) ::unlink(p.c_str());
      ::close(fd);
      throw;
    }
    b->region = bip::mapped_region(file, bip::read_write);
    b->object = std::move(file);
  } catch (const bip::interprocess_exception& e) {
    if (still_ours(fd, p)) ::unlink(p.c_str());
    ::close(fd);
    rethrow(e, "create_file", p);
  }
  if (stamp.empty()) {
    ::close(fd);
  } else {
    b->file_hold = fd;
    b->creator = true;
  }
  map_view v(b.release(), p);
  try {
    tune(v.data_, v.size_, opt, !reserved, v.name_);
  } catch (...) {
    (void)v.remove_if_still_named();  // a refused mlock: no file left behind
    throw;
  }
  return v;
}

map_view map_view::open_file(const std::filesystem::path& path, const map_options& opt) {
  const std::string p = detail::file_to_open(path, false);  // sized below, once judged ours
  auto b = std::make_unique<backend>();
  try {
    bip::file_mapping file(p.c_str(), bip::read_write);
    const int fd = file.get_mapping_handle().handle;
    close_on_exec(fd);
    // The size of the file opened, not of the one the path led to a moment ago (file_to_open):
    // one made again under the path meanwhile may not be sized yet.
    if (check_access(fd, "open_file", p, opt) == 0) {
      throw error(errc::not_ready, "open_file " + in_quotes(p) +
                                       ": file has size 0 (its creator has not sized it yet)");
    }
    b->use_locked = hold_in_use(fd, p, true, "open_file", p);
    b->region = bip::mapped_region(file, bip::read_write);
    b->object = std::move(file);
  } catch (const bip::interprocess_exception& e) {
    rethrow(e, "open_file", p);
  }
  map_view v(b.release(), p);
  tune(v.data_, v.size_, opt, false, v.name_);
  return v;
}

bool remove(std::string_view name) noexcept {
  try {
    validate_name(name);
  } catch (...) {
    errno = EINVAL;  // not a valid name
    return false;
  }
  // shm_unlink("/<name>"), as shared_memory_object::remove() makes it, called here so that
  // nothing runs between it and the caller's look at errno.
  char path[k_max_name_length + 2];
  path[0] = '/';
  std::memcpy(path + 1, name.data(), name.size());
  path[name.size() + 1] = '\0';
  return ::shm_unlink(path) == 0;
}

std::vector<std::string> list_segments() {
  const std::filesystem::path dir = k_shm_dir;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  std::vector<std::string> names;
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;  // an entry that vanished meanwhile is simply not listed
    if (it->is_regular_file(type_ec)) names.push_back(it->path().filename().string());
  }
  if (ec) {
    throw error(errc::system,
                "listing segments in " + in_quotes(dir.string()) + ": " + ec.message());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool remove_file(const std::filesystem::path& path) noexcept {
  std::error_code ec;
  return std::filesystem::remove(path, ec);
}

}  // namespace ipcring
