// ipcring: the command-line tool for ipcring's rings, like ipcs / kcat / AeronStat.
//   ipcring ls | stat | rm | create | send | recv | watch | bench   (docs/cli.md)
// This file parses the command line (CLI11), runs the command, and turns its failure into a
// message on stderr and a documented exit code (exit_codes.hpp).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "ring_kinds.hpp"

namespace {

using namespace ipcring::cli;

constexpr const char* k_exit_codes =
    "Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 timeout, 5 incompatible (not a "
    "ring, or a version/kind/type this build cannot use), 6 busy (role held by a live process), "
    "128+N recv stopped by signal N."
    "\nSee docs/cli.md.";

struct all_options {
  ls_options ls;
  stat_options stat;
  watch_options watch;
  create_options create;
  rm_options rm;
  send_options send;
  recv_options recv;
  bench_options bench;
};

}  // namespace

int main(int argc, char** argv) {
  all_options o;
  o.bench.self = argc > 0 ? argv[0] : "ipcring";

  CLI::App app{"ipcring: look at, make, feed and drain ipcring rings (named shared memory)"};
  app.footer(k_exit_codes);
  app.require_subcommand(1);

  auto* ls = app.add_subcommand(
      "ls", "List every ring on this machine: kind, capacity, fill, attached processes");
  ls->add_flag("-a,--all", o.ls.all,
               "Also list segments that are not rings, and unreadable ones, with the reason");

  auto* stat = app.add_subcommand(
      "stat", "Every header field, positions, closed flags, endpoints and counters of a ring");
  stat->add_option("name", o.stat.name, "Ring (segment) name")->required();
  stat->add_flag("--json", o.stat.json, "One JSON object (field names: docs/cli.md)");

  auto* rm = app.add_subcommand("rm", "Remove rings (attached processes keep their mapping)");
  rm->add_option("names", o.rm.names, "Ring (segment) names")->required();
  rm->add_flag("--stale", o.rm.stale_only,
               "Remove only rings whose attached processes are all dead");
  rm->add_flag("-f,--force", o.rm.force, "Also remove segments that are not recognisably rings");

  auto* create = app.add_subcommand("create", "Create a ring");
  create->add_option("name", o.create.name, "Ring (segment) name")->required();
  create
      ->add_option("-k,--kind", o.create.kind,
                   "spsc | mpmc (fixed slots), bytes | bytes-mp (messages of any length; "
                   "bytes-mp: many producers)")
      ->required()
      ->check(CLI::IsMember(kind_names()));
  create
      ->add_option("-c,--capacity", o.create.capacity,
                   "Slots (spsc, mpmc) or bytes (bytes kinds), a power of two; K/M/G suffixes "
                   "are powers of 1024")
      ->required();
  create->add_option("-s,--slot-size", o.create.slot_size,
                     "Bytes per slot (spsc, mpmc only): 1, 2, 4, a multiple of 8 up to 256, or "
                     "384, 512, 768, 1024, 2048 ... 65536");

  auto* send = app.add_subcommand(
      "send", "Send each line of standard input as one message (blocks while the ring is full)");
  send->add_option("name", o.send.name, "Ring (segment) name")->required();
  send->add_option("-t,--type", o.send.type,
                   "Message type, 0..4294967294 (message rings; default 0)");
  send->add_flag("--keep-open", o.send.keep_open,
                 "Do not close the producer side at the end of input (receivers keep waiting)");

  auto* recv = app.add_subcommand(
      "recv", "Print each message as one line (fixed slots: up to the first NUL)");
  recv->add_option("name", o.recv.name, "Ring (segment) name")->required();
  recv->add_option("-n,--count", o.recv.count, "Stop after N messages");
  recv->add_option("--timeout", o.recv.timeout,
                   "Give up (exit 4) when no message arrives within SECONDS (default: wait)");

  auto* watch = app.add_subcommand(
      "watch", "Print the message and byte rates of both sides and the fill level, every interval");
  watch->add_option("name", o.watch.name, "Ring (segment) name")->required();
  watch->add_option("-i,--interval", o.watch.interval, "Seconds between lines (default 1)");
  watch->add_option("-n,--count", o.watch.count, "Stop after K lines");

  auto* bench = app.add_subcommand("bench", "Run the quick benchmark and print its table");
  bench->add_option("--bench-binary", o.bench.bench_binary,
                    "The benchmark program (default: ipcring-bench beside this executable, "
                    "or in ../bench)");
  bench->add_option("--filter", o.bench.filter,
                    "Only the benchmarks matching this regex (Google Benchmark's filter)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the error
    return code == 0 ? 0 : static_cast<int>(exit_code::usage);
  }

  std::string command = "?";
  try {
    for (auto* sub : app.get_subcommands())
      command = sub->get_name();
    exit_code code = exit_code::error;
    if (*ls) code = run_ls(o.ls);
    if (*stat) code = run_stat(o.stat);
    if (*rm) code = run_rm(o.rm);
    if (*create) code = run_create(o.create);
    if (*send) code = run_send(o.send);
    if (*recv) code = run_recv(o.recv);
    if (*watch) code = run_watch(o.watch);
    if (*bench) code = run_bench(o.bench);
    return static_cast<int>(code);
  } catch (const failure& f) {
    std::cout.flush();
    std::cerr << "ipcring " << command << ": " << f.what() << '\n';
    return static_cast<int>(f.code());
  } catch (const ipcring::error& e) {
    std::cout.flush();
    std::cerr << "ipcring " << command << ": " << e.what() << '\n';
    return static_cast<int>(exit_code_for(e.value()));
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "ipcring " << command << ": " << e.what() << '\n';
    return static_cast<int>(exit_code::error);
  }
}
