// tools/cli/commands.hpp: the subcommands of `ipcring`, each an options struct filled by the
// parser (main.cpp) and a function that runs it. A command returns its exit code, or throws
// cli::failure / ipcring::error; main.cpp prints the message and picks the code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exit_codes.hpp"

namespace ipcring::cli {

struct ls_options {
  bool all = false;  // also list segments that are not rings, and unreadable ones
};
exit_code run_ls(const ls_options& o);  // list_command.cpp

struct stat_options {
  std::string name;
  bool json = false;
};
exit_code run_stat(const stat_options& o);  // stat_command.cpp

struct watch_options {
  std::string name;
  double interval = 1.0;               // seconds
  std::optional<std::uint64_t> count;  // lines, then stop
};
exit_code run_watch(const watch_options& o);  // watch_command.cpp

struct create_options {
  std::string name;
  std::string kind;      // spsc | mpmc | bytes | bytes-mp
  std::string capacity;  // slots or bytes, with an optional K/M/G suffix (powers of 1024)
  std::optional<std::uint32_t> slot_size;
  bool group = false;  // mode 0660: the creator's group may attach (IPCRING_FLAG_GROUP_ACCESS)
};
exit_code run_create(const create_options& o);  // admin_commands.cpp

struct rm_options {
  std::vector<std::string> names;
  bool stale_only = false;  // remove only rings every attached process of which is dead
  bool force = false;       // remove segments that are not (recognisably) rings too
};
exit_code run_rm(const rm_options& o);  // admin_commands.cpp

struct send_options {
  std::string name;
  std::optional<std::uint32_t> type;    // message type (message rings), default 0
  bool keep_open = false;               // do not close the producer side at the end of input
  std::optional<double> wait_for_ring;  // seconds to wait for the ring to be created
  bool allow_foreign_owner = false;     // attach to another user's ring
};
exit_code run_send(const send_options& o);  // io_commands.cpp

struct recv_options {
  std::string name;
  std::optional<std::uint64_t> count;
  std::optional<double> timeout;        // seconds without a message before giving up
  std::optional<double> wait_for_ring;  // seconds to wait for the ring to be created
  bool allow_foreign_owner = false;     // attach to another user's ring
};
exit_code run_recv(const recv_options& o);  // io_commands.cpp

struct bench_options {
  std::string bench_binary;  // empty: look beside this executable
  std::string filter;        // a --benchmark_filter regex; empty: the whole quick suite
  std::string self;          // argv[0], if /proc/self/exe cannot be read
};
exit_code run_bench(const bench_options& o);  // bench_command.cpp

}  // namespace ipcring::cli
