#include "c_handles.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "exit_codes.hpp"

namespace ipcring::cli {

void throw_status(int status, const std::string& context) {
  const char* last = ipcring_last_error();
  // Setup errors leave a message naming the segment; ring outcomes (full, closed...) do not.
  std::string message =
      status < 0 && last[0] != '\0' ? std::string(last) : context + ": " + ipcring_strerror(status);
  throw failure(exit_code_for_status(status), message);
}

namespace {

// An open's failure, as throw_status; another user's ring refused says the command's switch.
[[noreturn]] void throw_open_status(int status, const std::string& name, std::uint32_t flags) {
  if (status == IPCRING_E_PERMISSION_DENIED && (flags & IPCRING_FLAG_ALLOW_FOREIGN_OWNER) == 0 &&
      std::string_view(ipcring_last_error()).find("owned by uid") != std::string_view::npos) {
    throw failure(exit_code_for_status(status),
                  std::string(ipcring_last_error()) + "; ipcring: pass --allow-foreign-owner");
  }
  throw_status(status, "open '" + name + "'");
}

}  // namespace

ring_ptr open_ring(const std::string& name, std::optional<double> within, std::uint32_t flags) {
  ipcring_ring* r = nullptr;
  double ns = 2e9;  // ipcring_open's
  if (within) ns = std::clamp(*within * 1e9, 0.0, ns);
  const int s =
      ipcring_open_ex(name.c_str(), IPCRING_KIND_ANY, 0, static_cast<std::int64_t>(ns), flags, &r);
  // IPCRING_E_UNSUPPORTED (a slot size the C API does not carry) is incompatible (5).
  if (s != IPCRING_OK) throw_open_status(s, name, flags);
  return ring_ptr(r);
}

ring_ptr wait_for_ring(const std::string& name, double seconds, std::int64_t timeout_ns,
                       std::uint32_t flags) {
  ipcring_ring* r = nullptr;
  // Not pre-faulted: the command's own open does that.
  const int s =
      ipcring_open_ex(name.c_str(), IPCRING_KIND_ANY, 0, timeout_ns,
                      flags | IPCRING_FLAG_WAIT_FOR_CREATION | IPCRING_FLAG_NO_PREFAULT, &r);
  // A wait that ran out is said in the option's terms; any other failure (a creator that died
  // making the ring, a ring removed just after it was found) in the library's.
  const bool ran_out =
      std::string_view(ipcring_last_error()).find("after waiting") != std::string_view::npos;
  if ((s == IPCRING_E_NOT_FOUND || s == IPCRING_E_NOT_READY) && ran_out) {
    char within[32];
    std::snprintf(within, sizeof within, "%.9g", seconds);
    const bool missing = s == IPCRING_E_NOT_FOUND;
    throw failure(missing ? exit_code::not_found : exit_code_for_status(s),
                  "'" + name +
                      "': " + (missing ? "no ring of that name" : "the ring was not made ready") +
                      " within --wait-for-ring " + within + " s");
  }
  if (s != IPCRING_OK) throw_open_status(s, name, flags);
  return ring_ptr(r);
}

ring_ptr create_ring(const std::string& name, ipcring_kind kind, std::uint64_t capacity,
                     std::uint32_t slot_size, std::uint32_t flags) {
  ipcring_ring* r = nullptr;
  const int s = ipcring_create_ex(name.c_str(), kind, capacity, slot_size, nullptr, flags, &r);
  if (s == IPCRING_E_UNSUPPORTED) {
    throw failure(exit_code::usage, ipcring_last_error());  // --slot-size the C API lacks
  }
  if (s != IPCRING_OK) throw_status(s, "create '" + name + "'");
  return ring_ptr(r);
}

producer_ptr attach_producer(const ipcring_ring& ring, const std::string& name) {
  ipcring_producer* p = nullptr;
  const int s = ipcring_producer_attach(&ring, &p);
  if (s != IPCRING_OK) throw_status(s, "producer of '" + name + "'");
  return producer_ptr(p);
}

consumer_ptr attach_consumer(const ipcring_ring& ring, const std::string& name) {
  ipcring_consumer* c = nullptr;
  const int s = ipcring_consumer_attach(&ring, &c);
  if (s != IPCRING_OK) throw_status(s, "consumer of '" + name + "'");
  return consumer_ptr(c);
}

}  // namespace ipcring::cli
