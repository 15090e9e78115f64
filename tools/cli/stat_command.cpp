// `ipcring stat NAME [--json]`: everything a ring's segment says about it: every header
// field, the positions, the closed flags, the endpoints and the counters. The JSON field
// names are documented in docs/cli.md and stay stable.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/msg_ring.hpp"
#include "json_writer.hpp"
#include "ring_kinds.hpp"
#include "segment_probe.hpp"
#include "text_format.hpp"

namespace ipcring::cli {
namespace {

// The raw words of a ring segment, read once (relaxed: a snapshot for display).
struct raw_fields {
  std::uint64_t magic = 0;
  std::uint32_t layout_version = 0, init_state = 0, kind = 0;
  std::uint32_t slot_size = 0, slot_align = 0, elem_size = 0, elem_align = 0, type_name_len = 0;
  std::uint64_t capacity = 0, data_offset = 0, total_size = 0;
  std::uint64_t head_pending = 0;
  std::uint32_t data_sleepers = 0, space_sleepers = 0;
};

// \pre inspect() accepted the segment (it holds a whole segment_header and ring_control).
// Read through the descriptor, as inspect() reads: a segment shrunk meanwhile cannot fault.
raw_fields read_raw(const map_view& v) {
  struct alignas(k_block) blocks {
    std::byte b[k_control_offset + sizeof(ring_control)];
  };
  const auto copy = std::make_unique<blocks>();
  v.peek(0, copy->b);
  const auto& h = *reinterpret_cast<const segment_header*>(copy->b);
  const auto& c = *reinterpret_cast<const ring_control*>(copy->b + k_control_offset);
  raw_fields r;
  r.magic = h.magic.load(std::memory_order_relaxed);
  r.layout_version = h.layout_version;
  r.init_state = h.init_state.load(std::memory_order_relaxed);
  r.kind = h.kind;
  r.slot_size = h.slot_size;
  r.slot_align = h.slot_align;
  r.elem_size = h.elem_size;
  r.elem_align = h.elem_align;
  r.type_name_len = h.type_name_len;
  r.capacity = h.capacity;
  r.data_offset = h.data_offset;
  r.total_size = h.total_size;
  r.head_pending = c.head_pending.load(std::memory_order_relaxed);
  r.data_sleepers = c.data_wait.sleepers.load(std::memory_order_relaxed);
  r.space_sleepers = c.space_wait.sleepers.load(std::memory_order_relaxed);
  return r;
}

std::string hex(std::uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%0*" PRIx64, digits, v);
  return buf;
}

// Longest message of a message ring (msg_ring.hpp: capacity / 8 - record header), else 0.
std::uint64_t max_message(const raw_fields& r) {
  const bool msg = !is_fixed_slot(r.kind) && r.capacity / 8 >= k_record_header;
  return msg ? max_message_for(r.capacity) : 0;
}

void print_json(const segment_probe& p, const raw_fields& r) {
  const ring_info& i = *p.info;
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("name").string(p.name);
  w.key("segment_size").uint(p.size);
  w.key("header").begin_object();
  w.key("magic").string(hex(r.magic, 16));
  w.key("layout_version").uint(r.layout_version);
  w.key("init_state").string(hex(r.init_state, 8));
  w.key("ready").boolean(r.init_state == k_init_ready);
  w.key("kind").uint(r.kind);
  w.key("kind_name").string(kind_name(r.kind));
  w.key("slot_size").uint(r.slot_size);
  w.key("slot_align").uint(r.slot_align);
  w.key("elem_size").uint(r.elem_size);
  w.key("elem_align").uint(r.elem_align);
  w.key("type_name_len").uint(r.type_name_len);
  w.key("type_name").string(i.type_name);
  w.key("capacity").uint(r.capacity);
  w.key("data_offset").uint(r.data_offset);
  w.key("total_size").uint(r.total_size);
  w.end_object();
  w.key("max_message").uint(max_message(r));
  w.key("positions").begin_object();
  w.key("tail").uint(i.tail);
  w.key("head").uint(i.head);
  w.key("used").uint(i.used);
  w.key("head_pending").uint(r.head_pending);
  w.end_object();
  w.key("closed").begin_object();
  w.key("producer").boolean(i.producer_closed);
  w.key("consumer").boolean(i.consumer_closed);
  w.end_object();
  w.key("stale").boolean(i.stale());
  w.key("endpoints").begin_array();
  for (const auto& e : i.endpoints) {
    w.begin_object();
    w.key("role").string(e.role);
    w.key("pid").uint(e.pid);
    w.key("alive").boolean(e.alive);
    w.key("claiming").boolean(e.claiming);
    w.end_object();
  }
  w.end_array();
  w.key("counters").begin_object();
  for (const auto* side : {"producer", "consumer"}) {
    const side_stats& s = side[0] == 'p' ? i.producer : i.consumer;
    w.key(side).begin_object();
    w.key("messages").uint(s.messages);
    w.key("bytes").uint(s.bytes);
    w.key("stalls").uint(s.stalls);
    w.key("waits").uint(s.waits);
    w.end_object();
  }
  w.end_object();
  w.key("sleepers").begin_object();
  w.key("data_wait").uint(r.data_sleepers);
  w.key("space_wait").uint(r.space_sleepers);
  w.end_object();
  w.end_object();
  out.push_back('\n');
  std::cout << out;
}

void print_text(const segment_probe& p, const raw_fields& r) {
  const ring_info& i = *p.info;
  auto& o = std::cout;
  const auto row = [&](const char* key, const std::string& value) {
    char k[32];
    std::snprintf(k, sizeof k, "    %-16s", key);
    o << k << value << '\n';
  };
  const auto num = [](std::uint64_t v) { return std::to_string(v); };
  const auto yes_no = [](bool b) { return std::string(b ? "yes" : "no"); };
  o << "ring '" << printable(p.name) << "' (" << kind_name(r.kind) << "), segment of " << p.size
    << " bytes\n";
  o << "  header\n";
  row("magic", hex(r.magic, 16) + (r.magic == k_magic ? " (\"IPCRING\")" : ""));
  row("layout_version", num(r.layout_version));
  row("init_state", hex(r.init_state, 8) + (r.init_state == k_init_ready ? " (ready)" : ""));
  const std::string lib_name = to_string(static_cast<ring_kind>(r.kind));
  row("kind", num(r.kind) + " (" + std::string(kind_name(r.kind)) +
                  (lib_name != kind_name(r.kind) ? ", library: " + lib_name : "") + ")");
  row("slot_size", num(r.slot_size));
  row("slot_align", num(r.slot_align));
  row("elem_size", num(r.elem_size));
  row("elem_align", num(r.elem_align));
  row("type_name_len", num(r.type_name_len));
  std::string quoted;
  append_json_string(quoted, i.type_name);  // quoted and escaped: it comes from shared memory
  row("type_name", quoted);
  row("capacity", num(r.capacity) + (is_fixed_slot(r.kind) ? " slots" : " bytes"));
  row("data_offset", num(r.data_offset));
  row("total_size", num(r.total_size));
  if (!is_fixed_slot(r.kind)) row("max_message", num(max_message(r)) + " bytes");
  o << "  positions\n";
  row("tail", num(i.tail));
  row("head", num(i.head));
  row("used", fill_text(i.used, i.capacity));
  row("head_pending", num(r.head_pending));
  o << "  closed\n";
  row("producer", yes_no(i.producer_closed));
  row("consumer", yes_no(i.consumer_closed));
  o << "  endpoints (" << i.endpoints.size() << (i.stale() ? ", all dead: stale" : "") << ")\n";
  for (const auto& e : i.endpoints) {
    row(e.role,
        "pid " + num(e.pid) + (e.alive ? " alive" : " dead") + (e.claiming ? ", claiming" : ""));
  }
  o << "  counters        producer (written)  consumer (read)\n";
  const auto counter = [&](const char* key, std::uint64_t a, std::uint64_t b) {
    char line[96];
    std::snprintf(line, sizeof line, "    %-16s%18" PRIu64 "  %15" PRIu64 "\n", key, a, b);
    o << line;
  };
  counter("messages", i.producer.messages, i.consumer.messages);
  counter("bytes", i.producer.bytes, i.consumer.bytes);
  counter("stalls", i.producer.stalls, i.consumer.stalls);
  counter("waits", i.producer.waits, i.consumer.waits);
  o << "    (stalls: the producer found the ring full / the consumer found it empty)\n";
  o << "  sleepers\n";
  row("data_wait", num(r.data_sleepers));
  row("space_wait", num(r.space_sleepers));
}

}  // namespace

exit_code run_stat(const stat_options& o) {
  const segment_probe p = probe_segment(o.name);
  require_ring(p);
  const raw_fields r = read_raw(*p.view);
  // inspect() checked its own copy of the header; the raw words are read again. A header that
  // differs between the two is being written by another process: say so rather than print
  // values nobody checked beside those inspect() did.
  const ring_info& i = *p.info;
  const std::string changed = r.kind != static_cast<std::uint32_t>(i.kind) ? "kind"
                              : r.capacity != i.capacity                   ? "capacity"
                              : r.slot_size != i.slot_size                 ? "slot_size"
                              : r.elem_size != i.elem_size                 ? "elem_size"
                              : r.type_name_len != i.type_name.size()      ? "type_name_len"
                              : r.init_state != k_init_ready               ? "init_state"
                                                                           : "";
  if (!changed.empty()) {
    throw failure(exit_code::incompatible,
                  "'" + o.name + "': the header changed while stat read it (" + changed +
                      "): another process is writing it; corrupted");
  }
  if (o.json) {
    print_json(p, r);
  } else {
    print_text(p, r);
  }
  return exit_code::ok;
}

}  // namespace ipcring::cli
