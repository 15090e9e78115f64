// ipcring: the command-line tool for ipcring's rings, like ipcs / kcat / AeronStat.
//   ipcring ls | stat | rm | create | send | recv | watch | bench   (docs/cli.md)
// This file parses the command line (CLI11), runs the command, and turns its failure into a
// message on stderr and a documented exit code (exit_codes.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>

#include "commands.hpp"
#include "ring_kinds.hpp"
#include "text_format.hpp"

namespace {

using namespace ipcring::cli;

constexpr const char* k_exit_codes =
    "Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 timeout, 5 incompatible (not a "
    "ring, or a version/kind/type this build cannot use), 6 busy (role held by a live process), "
    "128+N recv or send stopped by signal N (141: recv's output closed by its reader)."
    "\nSee docs/cli.md.";

// Whole numbers in decimal, and only those: CLI11 converts with base 0 (so "010" would be 8
// and "0x10" 16) and lets "-1" and values past the type's range wrap. Checked before the
// conversion, and handed on without leading zeros.
template <class T>
CLI::Validator decimal() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        T v{};
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || s[0] == '-' || s[0] == '+' || r.ec != std::errc() ||
            r.ptr != s.data() + s.size()) {
          return "wants a whole number from 0 to " + std::to_string(std::numeric_limits<T>::max()) +
                 " in decimal, not '" + s + "'";
        }
        s = std::to_string(v);
        return {};
      },
      "UINT");
}

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

// Standard descriptors the tool was started without (`<&-`, `>&-`), opened on /dev/null, each
// with its bit set (1 stdin, 2 stdout, 4 stderr). Else the segment's descriptor would take the
// lowest free number: recv would write its output into the ring, send would read the ring as
// its input, and a note on stderr would land in the ring's header.
unsigned reopen_closed_std_fds() {
  unsigned closed = 0;
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int got = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (got != fd) {  // the lowest free number is fd: anything else is no descriptor at all
      if (got >= 0) ::close(got);
      std::_Exit(static_cast<int>(exit_code::error));  // nowhere to say why, nothing touched
    }
    closed |= 1u << fd;
  }
  return closed;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned closed_std = reopen_closed_std_fds();
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
  create
      ->add_option("-s,--slot-size", o.create.slot_size,
                   "Bytes per slot (spsc, mpmc only): 1, 2, 4, a multiple of 8 up to 256, or "
                   "384, 512, 768, 1024, 2048 ... 65536")
      ->transform(decimal<std::uint32_t>());
  create->add_flag("--group", o.create.group,
                   "Mode 0660 instead of 0600: users of this user's group may attach too (they "
                   "pass --allow-foreign-owner)");

  auto* send = app.add_subcommand(
      "send", "Send each line of standard input as one message (blocks while the ring is full)");
  send->add_option("name", o.send.name, "Ring (segment) name")->required();
  send->add_option("-t,--type", o.send.type,
                   "Message type, 0..4294967294 (message rings; default 0)")
      ->transform(decimal<std::uint32_t>());
  send->add_flag("--keep-open", o.send.keep_open,
                 "Do not close the producer side at the end of input (receivers keep waiting)");
  send->add_option("--wait-for-ring", o.send.wait_for_ring,
                   "Wait up to SECONDS for the ring to be created (default: exit 3 at once)");
  send->add_flag("--allow-foreign-owner", o.send.allow_foreign_owner,
                 "Attach to a ring another user created (default: refused, exit 1)");

  auto* recv = app.add_subcommand(
      "recv", "Print each message as one line (fixed slots: up to the first NUL)");
  recv->add_option("name", o.recv.name, "Ring (segment) name")->required();
  recv->add_option("-n,--count", o.recv.count, "Stop after N messages")
      ->transform(decimal<std::uint64_t>());
  recv->add_option("--timeout", o.recv.timeout,
                   "Give up (exit 4) when no message arrives within SECONDS (default: wait)");
  recv->add_option("--wait-for-ring", o.recv.wait_for_ring,
                   "Wait up to SECONDS for the ring to be created (default: exit 3 at once)");
  recv->add_flag("--allow-foreign-owner", o.recv.allow_foreign_owner,
                 "Attach to a ring another user created (default: refused, exit 1)");

  auto* watch = app.add_subcommand(
      "watch", "Print the message and byte rates of both sides and the fill level, every interval");
  watch->add_option("name", o.watch.name, "Ring (segment) name")->required();
  watch->add_option("-i,--interval", o.watch.interval, "Seconds between lines (default 1)");
  watch->add_option("-n,--count", o.watch.count, "Stop after K lines")
      ->transform(decimal<std::uint64_t>());

  auto* bench = app.add_subcommand("bench", "Run the quick benchmark and print its table");
  bench->add_option("--bench-binary", o.bench.bench_binary,
                    "The benchmark program (default: ipcring-bench beside this executable, "
                    "or in ../bench)");
  bench->add_option("--filter", o.bench.filter,
                    "Only the benchmarks matching this regex (Google Benchmark's filter)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help: prints it
    // As every other error (docs/cli.md): "ipcring COMMAND: MESSAGE", the message made
    // printable (CLI11 quotes the arguments it refused, and an argument may hold anything).
    std::string where = "ipcring";
    for (auto* sub : app.get_subcommands())
      where += " " + sub->get_name();
    std::cerr << where << ": " << printable(e.what())
              << "\nRun with --help for more information.\n";
    return static_cast<int>(exit_code::usage);
  }

  std::string command = "?";
  try {
    for (auto* sub : app.get_subcommands())
      command = sub->get_name();
    // Nothing to read lines from, or nowhere to put what is taken from the ring (it would be
    // gone): refused before the ring is touched.
    if (*send && (closed_std & 1u) != 0) {
      throw failure(exit_code::usage, "standard input is closed: no lines to send");
    }
    if (*recv && (closed_std & 2u) != 0) {
      throw failure(exit_code::usage,
                    "standard output is closed: the messages taken would be lost");
    }
    exit_code code = exit_code::error;
    if (*ls) code = run_ls(o.ls);
    if (*stat) code = run_stat(o.stat);
    if (*rm) code = run_rm(o.rm);
    if (*create) code = run_create(o.create);
    if (*send) code = run_send(o.send);
    if (*recv) code = run_recv(o.recv);
    if (*watch) code = run_watch(o.watch);
    if (*bench) code = run_bench(o.bench);
    // What went to standard output must have arrived (a full disk, a closed pipe). errno
    // cleared first if the stream is still good (the flush then makes the write that fails; a
    // stream need not set errno, and an older value would name another failure); a stream that
    // failed already keeps the errno of its failed write.
    if (std::cout) errno = 0;
    if (!std::cout.flush()) {
      throw failure(exit_code::error, std::string("writing standard output: ") +
                                          (errno != 0 ? std::strerror(errno) : "failed"));
    }
    return static_cast<int>(code);
  } catch (const failure& f) {
    std::cout.flush();
    std::cerr << "ipcring " << command << ": " << printable(f.what()) << '\n';
    return static_cast<int>(f.code());
  } catch (const ipcring::error& e) {
    std::cout.flush();
    std::cerr << "ipcring " << command << ": " << printable(e.what()) << '\n';
    return static_cast<int>(exit_code_for(e.value()));
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "ipcring " << command << ": " << printable(e.what()) << '\n';
    return static_cast<int>(exit_code::error);
  }
}
