// The map-view layer on Windows: named file mappings (CreateFileMapping / MapViewOfFile)
// through Boost.Interprocess windows_shared_memory, and mapped files. posix/map_view.cpp is the
// POSIX counterpart; both implement ipcring/map_view.hpp.
//
// What differs from POSIX (README, "Windows"):
//   * a named mapping lives while some process has it open: remove() has nothing to delete, and
//     a ring vanishes with its last user (a crashed pair leaves nothing behind to recover);
//   * access is governed by the mapping's security descriptor (by default the creator, SYSTEM
//     and administrators), so map_options::permissions, allow_foreign_owner and
//     allow_world_writable do not apply; huge_pages is not offered (large pages need
//     SeLockMemoryPrivilege); lock_memory is VirtualLock;
//   * list_segments() cannot enumerate the kernel object directory and says so.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <algorithm>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/windows_shared_memory.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "../map_view_internal.hpp"
#include "ipcring/error.hpp"
#include "ipcring/map_view.hpp"
#include "wait_objects.hpp"

namespace bip = boost::interprocess;

namespace ipcring {

struct map_view::backend {
  std::variant<bip::windows_shared_memory, bip::file_mapping> object;
  bip::mapped_region region;
  std::string key;            // what names this mapping's wait semaphores (wait_objects.hpp)
  HANDLE creating = nullptr;  // a stamped creation's hold (hold_as_creator), until end_creation()
};

namespace {

using detail::in_quotes;
using detail::prefault;
using detail::rethrow;

std::string last_error_text(DWORD err) {
  char buf[256] = {};
  const DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                                 nullptr, err, 0, buf, sizeof buf, nullptr);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '.'))
    s.pop_back();
  return s + " (error " + std::to_string(err) + ")";
}

void tune(std::byte* p, std::size_t n, const map_options& opt, std::string_view name) {
  // A new mapping is zero-filled by the system: reading each page is enough to fault it in.
  if (opt.prefault) prefault(p, n, false);
  if (opt.lock_memory && VirtualLock(p, n) == 0) {
    throw error(errc::system, "lock_memory: VirtualLock of " + std::to_string(n) + " bytes of " +
                                  in_quotes(name) + " failed: " + last_error_text(GetLastError()) +
                                  " (the working set is too small: raise it with "
                                  "SetProcessWorkingSetSize, or map without lock_memory)");
  }
}

// A mapped file's identity, the same whichever path (case, short name, hard link) opened it:
// its volume serial number and file index. Falls back to the path if the system cannot say.
std::string file_key(HANDLE file, const std::string& path) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (GetFileInformationByHandle(file, &info) == 0) return "file:" + path;
  char id[40];
  std::snprintf(id, sizeof id, "file:%08lx-%08lx%08lx",
                static_cast<unsigned long>(info.dwVolumeSerialNumber),
                static_cast<unsigned long>(info.nFileIndexHigh),
                static_cast<unsigned long>(info.nFileIndexLow));
  return id;
}

// Deletes the file at `p` if it is still the one made (key `made`, file_key): a file another
// program put under the path meanwhile is left as it is, as POSIX's cleanup does (still_ours).
void delete_if_made(const std::string& p, const std::string& made) noexcept {
  HANDLE h = CreateFileA(p.c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return;
  bool ours = false;
  try {
    ours = file_key(h, p) == made;
  } catch (...) {  // no memory for the key: leave the file
  }
  CloseHandle(h);
  if (ours) DeleteFileA(p.c_str());
}

// A file ring's path for the narrow (ANSI) calls this file and Boost.Interprocess make. The
// path's UTF-8 form would be read in the ANSI code page there, naming another file (which a
// failed create would then delete): a path with characters outside ASCII is refused.
std::string ascii_path(const std::filesystem::path& path, const char* what) {
  for (const wchar_t c : path.native()) {
    if (c > 0x7f) {
      // Not path.string(): an unpaired surrogate would make it throw instead.
      throw error(
          errc::invalid_name,
          std::string(what) + ": a path with characters outside ASCII is not supported on Windows");
    }
  }
  return path.string();
}

// The creator's hold on a named mapping it is making with a stamp (map_view::creator_gone): a
// named event, object_name("creating", key), made before the stamp is written and closed by
// end_creation(), or when the view goes or its process ends. A kernel object lives while a
// handle to it is open, so the name is there exactly while the creator holds it (and while an
// observer looks, for a moment). An event, not a mutex: a hold is the view's, not a thread's.
// It is named in the session's namespace, as the mapping is. (A file ring, which may be shared
// across sessions, where the event would not be seen, is held by a lock: lock_hold_byte.)
void hold_as_creator(map_view::backend& b, const char* what, const std::string& name) {
  b.creating = CreateEventA(nullptr, TRUE, FALSE, detail::object_name("creating", b.key).c_str());
  if (b.creating == nullptr) {
    // Without it, an opener could never tell this creator's death (as POSIX fails without
    // its lock).
    throw error(errc::system, std::string(what) + " " + in_quotes(name) +
                                  ": cannot make the creator's hold (CreateEvent: " +
                                  last_error_text(GetLastError()) + ")");
  }
}

// A file's creator's hold: an exclusive lock on one byte no ring reaches (locks may lie past a
// file's end, and none covers the mapped bytes, which byte-range locks would keep other handles
// from reading and writing with ReadFile / WriteFile), taken through the handle that made the
// file. The system drops it when that handle closes, or with its process; a file's locks are
// seen from every session. `how`: LOCKFILE_ flags; true if granted.
constexpr DWORD k_hold_offset_high = 0x40000000;  // byte 2^62
bool lock_hold_byte(HANDLE file, DWORD how) noexcept {
  OVERLAPPED at{};
  at.OffsetHigh = k_hold_offset_high;
  return LockFileEx(file, how | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at) != 0;
}
void unlock_hold_byte(HANDLE file) noexcept {
  OVERLAPPED at{};
  at.OffsetHigh = k_hold_offset_high;
  (void)UnlockFileEx(file, 0, 1, 0, &at);
}
// True for the errors of a file system that has no byte-range locks (some redirectors and
// user-mode file systems): creator_gone() cannot tell there either (its lock fails too), so
// a creator goes on without a hold, and its file is never judged abandoned. Any other failure
// could let an observer's lock succeed while the creator lives: the creation fails instead.
bool no_locks_here(DWORD err) noexcept {
  return err == ERROR_NOT_SUPPORTED || err == ERROR_INVALID_FUNCTION ||
         err == ERROR_INVALID_PARAMETER;
}

// A handle closed when it goes, unless given away (release()).
class owned_handle {
 public:
  explicit owned_handle(HANDLE h) noexcept : h_(h) {}
  owned_handle(const owned_handle&) = delete;
  owned_handle& operator=(const owned_handle&) = delete;
  ~owned_handle() { close(); }
  HANDLE get() const noexcept { return h_; }
  HANDLE release() noexcept { return std::exchange(h_, nullptr); }
  void close() noexcept {
    if (h_ != nullptr) CloseHandle(release());
  }

 private:
  HANDLE h_;
};

// A backend holding the named mapping that `make` creates or opens in its object, mapped
// whole. (Made in place: moving a windows_shared_memory trips -Wmaybe-uninitialized in Boost
// 1.74.)
template <class Make>
std::unique_ptr<map_view::backend> map_named(const std::string& name, const char* what,
                                             Make&& make) {
  auto b = std::make_unique<map_view::backend>();
  try {
    b->region = bip::mapped_region(make(b->object), bip::read_write);
  } catch (const bip::interprocess_exception& e) {
    rethrow(e, what, name);
  }
  b->key = "shm:" + name;
  return b;
}

}  // namespace

std::string huge_page_support() {
  return "large pages on Windows need SeLockMemoryPrivilege and SEC_LARGE_PAGES, which ipcring "
         "does not use: mappings keep normal pages";
}

std::size_t huge_page_size() {
  return 0;
}

std::size_t huge_page_bytes(std::string_view) {
  return 0;
}

map_view::map_view(backend* b, std::string name) : backend_(b), name_(std::move(name)) {
  data_ = static_cast<std::byte*>(backend_->region.get_address());
  size_ = backend_->region.get_size();
  detail::register_view(data_, size_, backend_->key);
}

void map_view::backend_deleter::operator()(backend* b) const noexcept {
  if (b->creating != nullptr) CloseHandle(b->creating);  // a creation that never ended
  detail::unregister_view(static_cast<const std::byte*>(b->region.get_address()));
  delete b;  // mapped_region unmaps, the object closes its handle
}

map_view::~map_view() = default;

void map_view::prepare(std::size_t n, const map_options& opt) {
  tune(data_, std::min(n, size_), opt, name_);
}

bool map_view::creator_gone() const noexcept {
  if (!backend_ || backend_->creating != nullptr) return false;  // the creating view: not gone
  if (const auto* file = std::get_if<bip::file_mapping>(&backend_->object)) {
    // A shared lock is granted only while no handle holds the exclusive one (another
    // observer's shared lock does not stand in the way).
    HANDLE h = file->get_mapping_handle().handle;
    if (lock_hold_byte(h, 0)) {
      unlock_hold_byte(h);
      return true;
    }
    return false;  // held (ERROR_LOCK_VIOLATION), or the file system cannot tell
  }
  try {
    HANDLE h =
        OpenEventA(SYNCHRONIZE, FALSE, detail::object_name("creating", backend_->key).c_str());
    if (h != nullptr) {  // held (or another observer's, for a moment: asked again later)
      CloseHandle(h);
      return false;
    }
    return GetLastError() == ERROR_FILE_NOT_FOUND;  // any other failure cannot tell
  } catch (...) {
    return false;  // no memory for the name
  }
}

void map_view::end_creation() noexcept {
  if (!backend_ || backend_->creating == nullptr) return;
  CloseHandle(backend_->creating);
  backend_->creating = nullptr;
}

void map_view::peek(std::size_t offset, std::span<std::byte> out) const {
  // A section backed by the paging file has its pages committed when it is created, and a
  // file's read as zeros past what was written: the mapping itself is safe to read.
  const std::size_t n = offset < size_ ? std::min(out.size(), size_ - offset) : 0;
  if (n != 0) std::memcpy(out.data(), data_ + offset, n);
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), std::byte{0});
}

std::uint64_t map_view::current_size() const {
  return size_;
}

map_view map_view::create(std::string_view name, std::size_t size, const map_options& opt,
                          std::span<const std::byte> stamp) {
  detail::check_create(name, size, stamp);
  const std::string n(name);
  auto b = map_named(
      n, "create", [&](auto& object) -> auto& {
        return object.template emplace<bip::windows_shared_memory>(bip::create_only, n.c_str(),
                                                                   bip::read_write, size);
      });
  if (!stamp.empty()) hold_as_creator(*b, "create", n);  // before an opener can see the stamp
  map_view v(b.release(), n);
  if (!stamp.empty()) std::memcpy(v.data_, stamp.data(), stamp.size());
  tune(v.data_, v.size_, opt, v.name_);
  return v;
}

map_view map_view::open(std::string_view name, const map_options& opt) {
  validate_name(name);
  const std::string n(name);
  auto b = map_named(
      n, "open", [&](auto& object) -> auto& {
        return object.template emplace<bip::windows_shared_memory>(bip::open_only, n.c_str(),
                                                                   bip::read_write);
      });
  map_view v(b.release(), n);
  tune(v.data_, v.size_, opt, v.name_);
  return v;
}

map_view map_view::create_file(const std::filesystem::path& path, std::size_t size,
                               const map_options& opt, std::span<const std::byte> stamp) {
  const std::string p = ascii_path(path, "create_file");
  if (p.empty()) throw error(errc::invalid_name, "create_file: empty path");
  if (size == 0) throw error(errc::invalid_argument, "create_file " + in_quotes(p) + ": size=0");
  detail::check_stamp("create_file", p, size, stamp);
  HANDLE f =
      CreateFileA(p.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                  nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (f == INVALID_HANDLE_VALUE) {
    const DWORD err = GetLastError();
    const errc code = err == ERROR_FILE_EXISTS || err == ERROR_ALREADY_EXISTS ? errc::already_exists
                      : err == ERROR_ACCESS_DENIED  ? errc::permission_denied
                      : err == ERROR_PATH_NOT_FOUND ? errc::not_found
                                                    : errc::system;
    throw error(code, "create_file " + in_quotes(p) + ": " + last_error_text(err));
  }
  // The made file's handle, closed on every way out that does not hand it to the view (and
  // before the file is deleted: it does not share deletion).
  owned_handle made_file(f);
  const std::string made = file_key(f, p);  // which file this is, to check the mapping's below
  // A stamped file is held (creator_gone) through the handle that made it, from before it has
  // a size until end_creation() or the view goes: whoever finds it sees the hold.
  bool held = false;
  if (!stamp.empty()) {
    held = lock_hold_byte(f, LOCKFILE_EXCLUSIVE_LOCK);
    const DWORD err = GetLastError();
    if (!held && !no_locks_here(err)) {
      made_file.close();
      delete_if_made(p, made);
      throw error(errc::system, "create_file " + in_quotes(p) +
                                    ": cannot take the creator's hold (LockFileEx: " +
                                    last_error_text(err) + ")");
    }
  }
  LARGE_INTEGER end{};
  end.QuadPart = static_cast<LONGLONG>(size);
  const bool sized = SetFilePointerEx(f, end, nullptr, FILE_BEGIN) != 0 && SetEndOfFile(f) != 0;
  const DWORD err = GetLastError();
  if (!held) made_file.close();  // kept only as the hold
  if (!sized) {
    made_file.close();
    delete_if_made(p, made);
    throw error(
        err == ERROR_DISK_FULL || err == ERROR_HANDLE_DISK_FULL ? errc::no_space : errc::system,
        "create_file " + in_quotes(p) + ": sizing to " + std::to_string(size) +
            " bytes: " + last_error_text(err));
  }
  auto b = std::make_unique<backend>();
  try {
    bip::file_mapping file(p.c_str(), bip::read_write);
    b->region = bip::mapped_region(file, bip::read_write);
    b->key = file_key(file.get_mapping_handle().handle, p);
    b->object = std::move(file);
  } catch (const bip::interprocess_exception& e) {
    b.reset();  // unmapped before the delete: a mapped file stays
    made_file.close();
    delete_if_made(p, made);
    rethrow(e, "create_file", p);
  }
  // Mapped through the path again: the file it leads to now must be the one made above, or
  // another program renamed files meanwhile (as on POSIX: that file is left as it is).
  if (b->key != made) {
    throw error(errc::system, "create_file " + in_quotes(p) +
                                  ": the path was given to another file while this one was "
                                  "being made (left as it is)");
  }
  b->creating = made_file.release();  // the view's deleter or end_creation() closes it
  map_view v(b.release(), p);
  if (!stamp.empty()) std::memcpy(v.data_, stamp.data(), stamp.size());
  try {
    tune(v.data_, v.size_, opt, v.name_);
  } catch (...) {
    // A refused lock leaves no file behind, as on POSIX. Unmapped first: a mapped file stays.
    { const map_view unmapped = std::move(v); }
    delete_if_made(p, made);
    throw;
  }
  return v;
}

map_view map_view::open_file(const std::filesystem::path& path, const map_options& opt) {
  (void)ascii_path(path, "open_file");
  const std::string p = detail::file_to_open(path);
  auto b = std::make_unique<backend>();
  try {
    bip::file_mapping file(p.c_str(), bip::read_write);
    b->region = bip::mapped_region(file, bip::read_write);
    b->key = file_key(file.get_mapping_handle().handle, p);
    b->object = std::move(file);
  } catch (const bip::interprocess_exception& e) {
    rethrow(e, "open_file", p);
  }
  map_view v(b.release(), p);
  tune(v.data_, v.size_, opt, v.name_);
  return v;
}

bool map_view::remove_if_still_named() const noexcept {
  return false;  // as remove(): a named mapping goes with its last handle
}

bool map_view::remove_if_unused() const noexcept {
  return false;  // as remove()
}

bool remove(std::string_view) noexcept {
  return false;  // a named mapping has no name to delete: it goes with its last handle
}

std::vector<std::string> list_segments() {
  throw error(errc::system,
              "listing segments is not available on Windows: named mappings live in the "
              "kernel object directory, which ipcring does not enumerate");
}

bool remove_file(const std::filesystem::path& path) noexcept {
  std::error_code ec;
  return std::filesystem::remove(path, ec);  // fails while a process has the file mapped
}

}  // namespace ipcring
