#include "segment_probe.hpp"

#include <cstdint>
#include <span>

#include "ipcring/layout.hpp"

namespace ipcring::cli {

map_options viewing_options() noexcept {
  map_options o;
  o.prefault = false;  // a look touches a few header pages only
  o.allow_foreign_owner = true;
  o.allow_world_writable = true;
  return o;
}

segment_probe probe_segment(std::string_view name) {
  segment_probe p;
  p.name = std::string(name);
  std::optional<map_view>& view = p.view;
  try {
    view.emplace(map_view::open(name, viewing_options()));
  } catch (const error& e) {
    if (e.value() == errc::not_found || e.value() == errc::invalid_name) throw;
    p.code = e.value();
    p.problem = e.what();
    // Size 0: nothing written yet, by ipcring or by anybody. bad_magic: not a regular file (a
    // FIFO, say), which is no segment either.
    p.cls = e.value() == errc::not_ready || e.value() == errc::bad_magic
                ? segment_class::not_ring
                : segment_class::unreadable;
    return p;
  }
  p.size = view->size();
  std::uint64_t magic = 0;
  // Through the handle: a page never written is not read through the mapping, which would
  // allocate it (a SIGBUS on a full /dev/shm). Once the magic is there, so is the page.
  view->peek(0, std::as_writable_bytes(std::span(&magic, 1)));
  if (magic != k_magic) {
    p.cls = segment_class::not_ring;
    p.code = errc::bad_magic;
    p.problem = "'" + p.name + "': not an ipcring segment " +
                (magic == 0 ? "(zero magic: empty, or its creator is not done)"
                            : "(magic is not \"IPCRING\")");
    return p;
  }
  try {
    p.info = inspect(*view, name);  // through the handle: a segment shrunk meanwhile cannot fault
    p.cls = segment_class::ring;
  } catch (const error& e) {
    p.cls = segment_class::bad_ring;
    p.code = e.value();
    p.problem = e.what();
    p.abandoned = p.code == errc::not_ready && abandoned_in_creation(*view);
    if (p.abandoned) {
      p.problem = "'" + p.name +
                  "': its creator let go of it (died, most likely) before publishing 'ready': "
                  "it never will be ready (rm --stale removes it)";
    }
  }
  return p;
}

exit_code exit_code_for(const segment_probe& p) noexcept {
  switch (p.cls) {
    case segment_class::ring:
      return exit_code::ok;
    case segment_class::bad_ring:
      return exit_code_for(p.code);
    case segment_class::not_ring:
      return exit_code::incompatible;
    case segment_class::unreadable:
      break;
  }
  return exit_code_for(p.code);
}

void require_ring(const segment_probe& p) {
  if (p.cls != segment_class::ring) throw failure(exit_code_for(p), p.problem);
}

}  // namespace ipcring::cli
