// Huge pages for POSIX shared memory: whether /dev/shm offers them (its tmpfs mount's huge=
// option, the kernel's shmem_enabled knob, MADV_POPULATE_WRITE), their size, how much of a
// mapping has them, and populating a fresh mapping with them. map_view.cpp asks for them.
#include "huge_pages.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "../in_quotes.hpp"
#include "ipcring/error.hpp"
#include "ipcring/map_view.hpp"

#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23  // Linux 5.14; glibc headers before 2.35 lack the name
#endif

namespace ipcring {
namespace detail {

bool populate_huge(std::byte* p, std::size_t n, std::string_view name) {
#if defined(MADV_HUGEPAGE) && defined(MADV_POPULATE_WRITE)
  (void)::madvise(p, n, MADV_HUGEPAGE);
  if (::madvise(p, n, MADV_POPULATE_WRITE) == 0) return true;
  const int err = errno;
  if (err == ENOMEM || err == EFAULT) {  // EFAULT: a page could not be had (a SIGBUS on touch)
    throw error(errc::no_space, "create " + in_quotes(name) + ": no space for " +
                                    std::to_string(n) + " bytes (" + std::strerror(err) + ")");
  }
#else
  (void)p;
  (void)n;
  (void)name;
#endif
  return false;
}

}  // namespace detail

namespace {

using detail::k_shm_dir;

std::string read_small_file(const char* path, bool& ok) {
  std::FILE* f = std::fopen(path, "re");
  ok = f != nullptr;
  if (f == nullptr) return {};
  char buf[256] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  return std::string(buf, n);
}

// True if the kernel has MADV_POPULATE_WRITE (populate_huge needs it), asked once on a page of
// anonymous memory.
bool can_populate() {
#ifndef MADV_POPULATE_WRITE
  return false;
#else
  static const bool yes = [] {
    const long page = ::sysconf(_SC_PAGESIZE);
    void* p = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    const bool ok = ::madvise(p, static_cast<std::size_t>(page), MADV_POPULATE_WRITE) == 0;
    ::munmap(p, static_cast<std::size_t>(page));
    return ok;
  }();
  return yes;
#endif
}

// The mount that holds /dev/shm: the one at /dev/shm, else the one at its nearest parent
// (/dev, /), as a container may leave /dev/shm a plain directory. Among mounts stacked on one
// point, the one in use has the device that stat() reports for /dev/shm. Empty when /dev/shm
// or /proc/self/mountinfo is missing.
struct shm_mount {
  std::string point;   // "/dev/shm", "/dev", "/", ...
  std::string fstype;  // "tmpfs", "overlay", ...
  std::string huge;    // tmpfs' huge= option: "never" (its default), "advise", ...
};
shm_mount dev_shm_mount() {
  shm_mount best;
  struct stat st {};
  if (::stat(k_shm_dir, &st) != 0) return best;
  const std::string dev = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::FILE* f = std::fopen("/proc/self/mountinfo", "re");
  if (f == nullptr) return best;
  const std::string_view shm = k_shm_dir;
  char line[4096];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    // "id parent major:minor root mount-point options [tags] - fstype source super-options"
    const std::string l(line);
    std::size_t field[5] = {};  // where fields 1-4 end
    for (int i = 1; i < 5 && field[i - 1] != std::string::npos; ++i)
      field[i] = l.find(' ', field[i - 1] + (i > 1));
    if (field[4] == std::string::npos) continue;
    const std::string device = l.substr(field[2] + 1, field[3] - field[2] - 1);
    const std::size_t end = l.find(' ', field[4] + 1);
    const std::string point = l.substr(field[4] + 1, end - field[4] - 1);
    const bool holds = point == "/" || shm == point ||
                       (shm.substr(0, point.size()) == point && shm[point.size()] == '/');
    if (device != dev || !holds || point.size() < best.point.size()) continue;
    const std::size_t dash = l.find(" - ", end);
    if (dash == std::string::npos) continue;
    shm_mount m;
    m.point = point;
    m.fstype = l.substr(dash + 3, l.find(' ', dash + 3) - dash - 3);
    if (m.fstype == "tmpfs") {
      const std::size_t h = l.find("huge=", dash);
      m.huge =
          h == std::string::npos ? "never" : l.substr(h + 5, l.find_first_of(", \n", h) - h - 5);
    }
    best = std::move(m);
  }
  std::fclose(f);
  return best;
}

}  // namespace

std::string huge_page_support() {
  // POSIX shared memory is a file in the tmpfs at /dev/shm: its huge= mount option decides,
  // unless shmem_enabled turns huge pages on ("force") or off ("deny") for every mount. The
  // other shmem_enabled values govern only the kernel's internal mount (SysV and anonymous
  // shared memory), not /dev/shm.
  const char* knob = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
  bool ok = false;
  const std::string s = read_small_file(knob, ok);
  if (!ok) return std::string(knob) + " is missing: no transparent huge pages here";
  // The active setting is the one in brackets: "always within_size advise [never] deny force".
  const auto open = s.find('['), close = s.find(']');
  const std::string active =
      open != std::string::npos && close > open ? s.substr(open + 1, close - open - 1) : s;
  if (active == "deny") return std::string(knob) + " is 'deny': no huge pages for shared memory";
  const shm_mount m = dev_shm_mount();
  const std::string& huge = m.huge;
  if (huge == "always" || huge == "within_size" || huge == "advise" || active == "force") {
    if (!can_populate()) {
      return "this kernel cannot populate a mapping before use (MADV_POPULATE_WRITE, Linux "
             "5.14): normal pages, reserved up front, rather than a SIGBUS on a full /dev/shm";
    }
    return {};
  }
  if (m.point.empty())
    return "/dev/shm not found among the mounts: no huge pages for shared memory";
  std::string where = k_shm_dir;
  if (m.point != where) where += " is a directory in the mount at " + m.point + ", which";
  if (m.fstype != "tmpfs")
    return where + " is " + m.fstype + ", not tmpfs: no huge pages for shared memory";
  return where + " is mounted with huge=" + huge +
         ": shared memory gets no huge pages (as root: mount -o remount,huge=advise " + m.point +
         ")";
}

std::size_t huge_page_size() {
  if (!huge_page_support().empty()) return 0;
  bool ok = false;
  const std::string s = read_small_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", ok);
  const unsigned long long v = ok ? std::strtoull(s.c_str(), nullptr, 10) : 0;
  return v != 0 && (v & (v - 1)) == 0 ? static_cast<std::size_t>(v) : std::size_t{2} << 20;
}

std::size_t huge_page_bytes(std::string_view name) {
  std::FILE* f = std::fopen("/proc/self/smaps", "re");
  if (f == nullptr) return 0;
  // A mapping starts with "start-end perms offset dev inode path", then "Key: value" lines.
  const std::string path = std::string(k_shm_dir) + "/" + std::string(name) + "\n";
  std::size_t kib = 0;
  bool ours = false;
  char line[1024];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const char* space = std::strchr(line, ' ');
    const char* colon = std::strchr(line, ':');
    if (space != nullptr && (colon == nullptr || colon > space)) {  // a mapping's first line
      const std::size_t n = std::strlen(line);
      ours = n >= path.size() && path.compare(0, path.size(), line + n - path.size()) == 0;
      continue;
    }
    unsigned long long v = 0;
    if (ours && std::sscanf(line, "ShmemPmdMapped: %llu kB", &v) == 1) kib += v;
  }
  std::fclose(f);
  return kib * 1024;
}

}  // namespace ipcring
