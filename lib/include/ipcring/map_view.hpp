// ipcring/map_view.hpp: a named shared-memory segment (or a file) mapped into this process.
//
// The map-view layer is the only part of ipcring that knows how memory is shared between
// processes. Rings never see it: they are created on / opened from a std::span<std::byte>.
// On Linux a segment is a POSIX shared-memory object (/dev/shm/<name>), on Windows a named file
// mapping (CreateFileMapping / MapViewOfFile), both through Boost.Interprocess
// (lib/src/posix/map_view.cpp, lib/src/windows/map_view.cpp; huge pages on POSIX:
// lib/src/posix/huge_pages.cpp).
//
//   auto v = ipcring::map_view::create("orders", 1 << 20);   // fails if "orders" exists
//   auto w = ipcring::map_view::open("orders");              // fails if it does not
//   ipcring::remove("orders");                               // never throws
//
// Lifetime: destroying a map_view unmaps it and closes its handle. It never removes the name:
// on POSIX the segment stays until ipcring::remove() (reboot also clears /dev/shm); on Windows
// it stays while some process has it open, and goes with its last handle (remove() has nothing
// to delete there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipcring {

/// Longest segment name accepted (POSIX: one /dev/shm file name; Windows allows it too).
inline constexpr std::size_t k_max_name_length = 255;

/// Options of map_view::create / create_file.
struct map_options {
  /// Permission bits of a new segment or file (exactly these; the umask does not apply).
  /// The default lets only the creating user attach. To share with a group, widen it (e.g.
  /// 0660) and open with allow_foreign_owner: opens refuse another user's segment by default.
  /// The C API makes 0600 segments unless asked for 0660 (IPCRING_FLAG_GROUP_ACCESS), and
  /// attaches to another user's only when asked (IPCRING_FLAG_ALLOW_FOREIGN_OWNER); `ipcring
  /// create` makes 0600 ones and `ipcring send` / `recv` never attach to another user's
  /// (`ipcring ls` / `stat` / `rm` look at any).
  unsigned permissions = 0600;
  /// Touch every page at create/open so the hot path never takes a page fault.
  bool prefault = true;
  /// open: accept a segment owned by another user (default: errc::permission_denied, since
  /// whoever owns it controls every byte this process will read).
  bool allow_foreign_owner = false;
  /// open: accept a segment that every user may write (mode o+w; default: permission_denied).
  bool allow_world_writable = false;
  /// Ask for transparent huge pages on the mapping (madvise MADV_HUGEPAGE, before pre-faulting),
  /// for fewer TLB misses on large rings. Where the system offers none for shared memory the
  /// mapping keeps normal pages: huge_page_support() says why. A huge page covers an aligned
  /// huge_page_size() of the segment, so a segment smaller than that gets none: a ring created
  /// with this option has its segment rounded up to a multiple of huge_page_size() (where that
  /// is 32 MiB or less). Measured on
  /// rings of 1 MiB and less it bought nothing and cost round trips 1.04x-1.12x (docs/tuning.md,
  /// "Huge pages"); a gain, if any, is for rings larger than the TLB covers (not measured).
  bool huge_pages = false;
  /// Lock the mapping in RAM (mlock), so it is never paged out. errc::system, naming
  /// RLIMIT_MEMLOCK, if the system refuses.
  bool lock_memory = false;
};

/// Empty if transparent huge pages are available for shared memory here; else why not (Linux:
/// "/dev/shm is mounted with huge=never: ..."; the tmpfs at /dev/shm decides, or
/// /sys/kernel/mm/transparent_hugepage/shmem_enabled set to force or deny).
std::string huge_page_support();
/// Bytes of one huge page of shared memory (2 MiB on x86-64); 0 where huge_page_support() is
/// not empty.
std::size_t huge_page_size();
/// Bytes of this process's mappings of segment `name` that are on huge pages now (Linux:
/// ShmemPmdMapped in /proc/self/smaps, summed over its mappings); 0 where none are, or where
/// the system cannot tell. To check that map_options::huge_pages took effect.
std::size_t huge_page_bytes(std::string_view name);

/// A mapped segment. Move-only; the destructor unmaps and closes, never removes.
class map_view {
 public:
  /// Creates the named segment with `size` bytes (zero-filled). errc::already_exists if the
  /// name is taken, errc::invalid_name for a bad name, errc::invalid_argument for size 0.
  /// `stamp` (at most `size` bytes) is written at its start as soon as it has its size, before
  /// its pages are reserved, pre-faulted or locked (which takes long for a large segment; with
  /// huge pages, once the first huge page is populated, before the rest): the rings stamp their
  /// magic and layout version so that a segment whose creator dies meanwhile can be told from
  /// another program's. A view created with a stamp holds the segment as its creator until
  /// end_creation() (see creator_gone); one created without holds nothing.
  static map_view create(std::string_view name, std::size_t size, const map_options& = {},
                         std::span<const std::byte> stamp = {});
  /// Maps an existing named segment whole. errc::not_found if absent; errc::permission_denied
  /// if another user owns it or every user may write it (map_options says how to accept
  /// either), judged before its size; errc::bad_magic if it is not a regular file (a FIFO);
  /// errc::not_ready if its size is still 0 (a creator between create and resize);
  /// errc::busy if a remover has held its use lock (remove_if_unused) for 2 s; errc::not_found
  /// if a remover took the name meanwhile; errc::system if the lock cannot be taken otherwise
  /// (ENOLCK on /dev/shm).
  static map_view open(std::string_view name, const map_options& = {});

  /// As create/open, over a regular file at `path` (created 0600 by default, O_EXCL). A file
  /// created with a stamp is held by its creator as create() holds a segment. Windows:
  /// errc::invalid_name for a path with characters outside ASCII (the file calls there take
  /// the ANSI code page).
  static map_view create_file(const std::filesystem::path& path, std::size_t size,
                              const map_options& = {}, std::span<const std::byte> stamp = {});
  static map_view open_file(const std::filesystem::path& path, const map_options& = {});

  map_view(map_view&&) noexcept;
  map_view& operator=(map_view&&) noexcept;
  ~map_view();

  std::span<std::byte> bytes() const noexcept { return {data_, size_}; }
  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  /// The segment name or file path, for messages.
  const std::string& name() const noexcept { return name_; }
  /// Pre-faults and locks the first `n` bytes (at most size()) as `opt` asks: for a view opened
  /// with both off until its contents said how much of it is in use (the rings open a segment
  /// so, and fault in only what its checked header claims).
  void prepare(std::size_t n, const map_options& opt);
  /// Copies bytes [offset, offset + out.size()) of the segment into `out` through its handle,
  /// not the mapping (POSIX: pread), for a first look at a segment that may be anybody's: a
  /// page never written reads as zeros and stays unallocated, where touching it through the
  /// mapping allocates it (a SIGBUS when /dev/shm is full). Bytes past size() read as zeros.
  /// errc::system if the read fails.
  void peek(std::size_t offset, std::span<std::byte> out) const;
  /// The segment's size now: another process may have changed it (ftruncate) since this view
  /// was made, which size() does not follow (POSIX: fstat of its descriptor; Windows: size(),
  /// a section's size is fixed). For a look that must not trust size(). errc::system if it
  /// cannot be read.
  std::uint64_t current_size() const;
  /// True if the view that created this segment has let go of it: by end_creation(), by
  /// closing, or with its process (POSIX: the creating view holds an exclusive flock on the
  /// segment from before it has a size until then; a process forked from the creator shares
  /// it; files created with a stamp alike. Windows: a named mapping created with a stamp
  /// holds a named event from before the stamp until then, a file an exclusive lock on one
  /// byte past any ring, through the handle that made it, from before it has a size). False
  /// while the creator holds it, and wherever this cannot be told (file systems without
  /// locks). A look, for deciding whether a segment that never became ready ever will; it
  /// takes no lock that outlives the call.
  bool creator_gone() const noexcept;
  /// On the view create() or create_file() returned: its creator is done making the segment
  /// and lets go of it (see creator_gone). Does nothing on other views. The rings call it once
  /// `ready` is out.
  void end_creation() noexcept;
  /// Removes the name this view was opened by, if it still names the segment mapped here
  /// (POSIX: the same file, compared by device and inode just before the unlink), for a
  /// decision made by looking at this view (remove_if_stale): a segment created under the name
  /// since is left alone, unless it replaces this one between that comparison and the unlink
  /// (POSIX has no unlink-if-same; the window is microseconds, not the whole look). Never
  /// throws; true if it removed it, else errno says why (0 if the name leads to another
  /// segment now). Windows: false, as remove().
  bool remove_if_still_named() const noexcept;
  /// As remove_if_still_named(), but only while no other view has the segment open: in this
  /// process or any other, a ring handle, a tool looking at it, or a process that opened it
  /// and has yet to take a role. Every view holds a use lock on its segment from its open to
  /// its close (POSIX: an open-file-description read lock on byte 0, which the kernel drops
  /// with the process); this call takes it exclusively for its check and unlink, and an open
  /// that finds the name removed once it has its lock fails with errc::not_found (so no
  /// process is left on a segment no one else can find). Tries for up to 50 ms (a look such as
  /// `ipcring ls` holds a view briefly), letting go of this view's own use lock between tries
  /// (two removers at once would otherwise refuse each other); then false, errno EBUSY, while
  /// another view holds it (this view's lock taken back). Where the file system has no such
  /// locks (or on NFS, whose emulated flock would meet them), as remove_if_still_named().
  /// A view inherited across fork() shares its lock with the parent's (one open file
  /// description): the child's call does not see the parent's use of that view, nor the
  /// parent's the child's; a process that looks at a ring opens a view of its own for it.
  /// Windows: false, as remove().
  bool remove_if_unused() const noexcept;

  struct backend;  // defined in the platform's map_view.cpp (lib/src/posix, lib/src/windows)

 private:
  struct backend_deleter {
    void operator()(backend* b) const noexcept;  // platform code: only it sees `backend`
  };
  map_view(backend* b, std::string name);  // takes ownership of b
  std::unique_ptr<backend, backend_deleter> backend_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::string name_;
};

/// Removes the named segment. Never throws; true if something was removed (POSIX: else errno
/// says why, ENOENT for none, EPERM or EACCES for one this user may not delete). Processes
/// that have it mapped keep their mapping; new opens fail with not_found. Windows: always
/// false (a named mapping has no name to delete; it goes with its last handle).
bool remove(std::string_view name) noexcept;
/// Removes a file created by map_view::create_file. Never throws.
bool remove_file(const std::filesystem::path& path) noexcept;

/// Throws errc::invalid_name unless `name` is a valid segment name on this platform.
void validate_name(std::string_view name);

/// Names of every shared-memory segment on this machine, sorted: on Linux the regular files
/// of /dev/shm (Windows: throws errc::system, not available). Not only rings: other programs'
/// segments are listed too, so callers inspect each (and one may vanish before they do). Throws
/// errc::system, naming the directory, if it cannot be read.
std::vector<std::string> list_segments();

}  // namespace ipcring
