// `ipcring create` and `ipcring rm`: making and removing rings.
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "c_handles.hpp"
#include "commands.hpp"
#include "ring_kinds.hpp"
#include "segment_probe.hpp"
#include "text_format.hpp"

namespace ipcring::cli {
namespace {

// "1024", "64K", "1M", "2G" (powers of 1024). Whether it is a power of two is the library's
// rule to state.
std::uint64_t parse_capacity(const std::string& text) {
  std::uint64_t v = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  const auto r = std::from_chars(first, last, v);
  bool ok = r.ec == std::errc() && r.ptr != first;
  unsigned shift = 0;
  if (ok && r.ptr != last) {
    ok = r.ptr + 1 == last;  // one suffix letter, nothing after it
    switch (*r.ptr) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      default:
        ok = false;
    }
  }
  if (ok && v > (std::numeric_limits<std::uint64_t>::max() >> shift)) ok = false;
  if (!ok) {
    throw failure(exit_code::usage, "--capacity '" + text +
                                        "' is not a count (use e.g. 1024, 64K, 1M; K/M/G are "
                                        "powers of 1024)");
  }
  return v << shift;
}

// Where a segment of this name is (shm_open's file on Linux), and what rm says of anything
// else there.
constexpr const char* k_shm_dir = "/dev/shm";
std::string shm_file(const std::string& name) {
  return std::string(k_shm_dir) + "/" + name;
}
constexpr const char* k_not_a_segment = "not a regular file: ipcring rm removes segments only";

// What --force would do for a segment that is not a ring or could not be read. Where /dev/shm
// is sticky (as it is everywhere), only the segment's owner, the directory's owner and a
// privileged process may delete it: say so, not that --force would, when this user is none of
// them (CAP_FOWNER without root is not looked for; the removal would then still work).
std::string force_hint(const std::string& name) {
  const std::string dir = k_shm_dir;
  struct stat d {};
  struct stat f {};
  const uid_t me = ::geteuid();
  if (::lstat(shm_file(name).c_str(), &f) == 0 && S_ISDIR(f.st_mode)) {
    return " (a directory: ipcring rm removes segments only)";
  }
  if (me != 0 && ::stat(dir.c_str(), &d) == 0 && (d.st_mode & S_ISVTX) != 0 && d.st_uid != me &&
      ::stat(shm_file(name).c_str(), &f) == 0 && f.st_uid != me) {
    return " (it belongs to uid " + std::to_string(f.st_uid) + ", and only its owner or root " +
           "may remove it from " + dir + ")";
  }
  return " (--force removes it anyway)";
}

// True for a name the library refuses only for a backslash (valid on POSIX, a kernel-object
// namespace on Windows): another program's segment, which `ls --all` lists. Any other refusal
// ('/', '.', '..', too long) names no file of /dev/shm.
bool foreign_name(const std::string& name) {
  return name.find('\\') != std::string::npos && name.find('/') == std::string::npos &&
         name.size() <= k_max_name_length;
}

// --force of a segment under a name the library refuses (foreign_name): unlinked by its path,
// if it is a file there. Returns the exit code (messages on stderr).
exit_code remove_foreign(const std::string& name, const error& refusal) {
  const std::string path = shm_file(name);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    const int e = errno;
    std::cerr << "ipcring rm: " << printable(std::string(refusal.what())) << "; and "
              << printable(path) << ": " << std::strerror(e) << '\n';
    return e == ENOENT ? exit_code::not_found : exit_code::error;
  }
  if (!S_ISREG(st.st_mode)) {
    std::cerr << "ipcring rm: " << printable(path) << " not removed: " << k_not_a_segment << '\n';
    return exit_code::incompatible;
  }
  if (::unlink(path.c_str()) != 0) {
    const int e = errno;
    std::cerr << "ipcring rm: could not remove " << printable(path) << ": " << std::strerror(e)
              << '\n';
    return exit_code::error;
  }
  return exit_code::ok;
}

// Removes one segment as the options say; returns the exit code for it (messages on stderr).
exit_code remove_one(const std::string& name, const rm_options& o) {
  const auto complain = [&](exit_code code, const std::string& message) {
    std::cerr << "ipcring rm: " << printable(message) << '\n';
    return code;
  };
  segment_probe p;
  try {
    p = probe_segment(name);
  } catch (const error& e) {
    if (e.value() == errc::invalid_name && foreign_name(name)) {
      if (o.force && !o.stale_only) return remove_foreign(name, e);
      // What --force would do (remove_foreign): nothing for a name that is not there, or
      // that is not a regular file.
      struct stat st {};
      std::string hint;
      if (!o.stale_only && ::lstat(shm_file(name).c_str(), &st) == 0) {
        hint = S_ISREG(st.st_mode) ? force_hint(name) : std::string(" (") + k_not_a_segment + ")";
      }
      return complain(exit_code_for(e.value()), std::string(e.what()) + hint);
    }
    return complain(exit_code_for(e.value()), e.what());
  }
  if (o.stale_only && p.abandoned) {
    // Never to be ready: removed as a stale ring is, through the view it was judged by.
  } else if (o.stale_only) {
    if (p.cls != segment_class::ring) {
      return complain(
          p.cls == segment_class::unreadable ? exit_code_for(p.code) : exit_code::incompatible,
          "'" + name + "' not removed: cannot tell whether it is stale: " + p.problem);
    }
    if (!p.info->stale()) {
      std::string why = p.info->endpoints.empty() ? "nobody is attached" : "";
      for (const auto& e : p.info->endpoints) {
        if (!e.alive) continue;
        why += why.empty() ? "" : ", ";
        why += std::string(e.role) + " pid " + std::to_string(e.pid) + " is alive";
      }
      std::cerr << "ipcring rm: kept '" << printable(name) << "': not stale (" << why << ")\n";
      return exit_code::ok;
    }
  } else if ((p.cls == segment_class::not_ring || p.cls == segment_class::unreadable) && !o.force) {
    return complain(
        p.cls == segment_class::unreadable ? exit_code_for(p.code) : exit_code::incompatible,
        "'" + name + "' not removed: " + p.problem + force_hint(name));
  }
  // Removed through the view it was judged by, where there is one, so a segment created under
  // the name since (a new ring where a stale one was, another program's segment where a ring
  // was) is kept.
  // --stale: only while no other process has it open (remove_if_unused): one that opened it
  // and holds no role yet, or is taking a dead holder's role over, is not in the snapshot
  // judged above.
  errno = 0;
  const bool removed = !p.view        ? remove(name)
                       : o.stale_only ? p.view->remove_if_unused()
                                      : p.view->remove_if_still_named();
  if (!removed) {
    // errno: the unlink's (0: the view's segment was replaced under the name meanwhile).
    const int e = errno;
    if (o.stale_only && e == EBUSY) {
      std::cerr << "ipcring rm: kept '" << printable(name)
                << "': not stale (a live process has it open)\n";
      return exit_code::ok;
    }
    return complain(exit_code::error,
                    "could not remove '" + name + "': " +
                        (e == 0 || e == ENOENT ? std::string("gone or replaced meanwhile")
                                               : std::string(std::strerror(e))));
  }
  return exit_code::ok;
}

}  // namespace

exit_code run_create(const create_options& o) {
  const auto kind = parse_kind(o.kind);
  if (!kind) throw failure(exit_code::usage, "--kind '" + o.kind + "' is not a ring kind");
  const std::uint64_t capacity = parse_capacity(o.capacity);
  const bool fixed = is_fixed_slot(*kind);
  if (fixed && !o.slot_size) {
    throw failure(exit_code::usage, "'" + o.name + "': --slot-size is required for kind " + o.kind);
  }
  if (!fixed && o.slot_size) {
    throw failure(exit_code::usage, "'" + o.name + "': --slot-size does not apply to kind " +
                                        o.kind + " (its messages have any length)");
  }
  const ring_ptr ring = create_ring(o.name, *kind, capacity, fixed ? *o.slot_size : 0,
                                    o.group ? IPCRING_FLAG_GROUP_ACCESS : 0);
  std::cout << "created '" << printable(o.name) << "': " << o.kind << ", ";
  if (fixed) {
    std::cout << ipcring_capacity(ring.get()) << " slots of " << ipcring_slot_size(ring.get())
              << " bytes\n";
  } else {
    std::cout << ipcring_capacity(ring.get()) << " bytes, messages up to "
              << ipcring_max_message(ring.get()) << " bytes\n";
  }
  return exit_code::ok;
}

exit_code run_rm(const rm_options& o) {
  exit_code result = exit_code::ok;
  for (const auto& name : o.names) {
    const exit_code c = remove_one(name, o);
    if (result == exit_code::ok) result = c;  // the first failure's code
  }
  return result;
}

}  // namespace ipcring::cli
