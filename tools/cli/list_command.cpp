// `ipcring ls`: every ring on this machine, one line each.
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "ring_kinds.hpp"
#include "segment_probe.hpp"
#include "text_format.hpp"

namespace ipcring::cli {
namespace {

std::string endpoints_text(const ring_info& info) {
  std::string s;
  for (const auto& e : info.endpoints) {
    if (!s.empty()) s += ", ";
    s += std::string(e.role) + " " + std::to_string(e.pid) + (e.alive ? " alive" : " dead");
    if (e.claiming) s += " claiming";
  }
  const auto note = [&](const char* text) {
    if (!s.empty()) s += "; ";
    s += text;
  };
  if (info.producer_closed) note("producer side closed");
  if (info.consumer_closed) note("consumer side closed");
  return s.empty() ? std::string("-") : s;
}

std::string state_text(const ring_info& info) {
  if (info.stale()) return "stale";
  for (const auto& e : info.endpoints) {
    if (e.alive) return "live";
  }
  return "idle";
}

// The problem without its "... 'name': " prefix (the NAME column says it).
std::string short_problem(const segment_probe& p) {
  const std::string named = "'" + p.name + "': ";
  const auto at = p.problem.find(named);
  return at == std::string::npos ? p.problem : p.problem.substr(at + named.size());
}

}  // namespace

exit_code run_ls(const ls_options& o) {
  text_table table({false, false, true, true, false, false, false});
  table.add({"NAME", "KIND", "CAPACITY", "SLOT", "FILL", "STATE", "ENDPOINTS"});
  std::size_t hidden_unreadable = 0;
  for (const auto& name : list_segments()) {
    segment_probe p;
    try {
      p = probe_segment(name);
    } catch (const error& e) {
      if (e.value() == errc::not_found) continue;  // gone since the directory was read
      // A name the library refuses (e.g. with a backslash): listed, not silently left out.
      p.name = name;
      p.cls = segment_class::unreadable;
      p.code = e.value();
      p.problem = e.what();
    }
    switch (p.cls) {
      case segment_class::ring: {
        const ring_info& i = *p.info;
        const auto kind = static_cast<std::uint32_t>(i.kind);
        table.add({name, std::string(kind_name(kind)), std::to_string(i.capacity),
                   is_fixed_slot(kind) ? std::to_string(i.elem_size) : "-",
                   fill_text(i.used, i.capacity), state_text(i), endpoints_text(i)});
        break;
      }
      case segment_class::bad_ring:
        table.add({name, "?", "?", "?", "?", p.abandoned ? "abandoned" : to_string(p.code),
                   short_problem(p)});
        break;
      case segment_class::not_ring:
        if (o.all) table.add({name, "-", "-", "-", "-", "not-ipcring", short_problem(p)});
        break;
      case segment_class::unreadable:
        if (o.all) {
          table.add({name, "?", "?", "?", "?", "unreadable", short_problem(p)});
        } else {
          ++hidden_unreadable;
        }
        break;
    }
  }
  table.print(std::cout);
  if (hidden_unreadable != 0) {
    std::cerr << "ipcring ls: " << hidden_unreadable
              << " segment(s) could not be read; --all lists them with the reason\n";
  }
  return exit_code::ok;
}

}  // namespace ipcring::cli
