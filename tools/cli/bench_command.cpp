// `ipcring bench`: runs the benchmark suite in quick mode (ipcring-bench --quick, one
// repetition; bench/README.md) and prints its key figure per benchmark as a table. The program
// is looked for beside this executable (an installed bin/), then in ../bench (a build tree),
// unless --bench-binary names it. For the full report with plots: bash bench/run.sh.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.hpp"
#include "json_reader.hpp"
#include "text_format.hpp"

extern char** environ;

namespace ipcring::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_program = "ipcring-bench";

bool runnable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

fs::path find_program(const bench_options& o) {
  if (!o.bench_binary.empty()) {
    if (!runnable(o.bench_binary)) {
      throw failure(exit_code::not_found,
                    "--bench-binary '" + o.bench_binary + "' is not an executable file");
    }
    return o.bench_binary;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) self = fs::absolute(o.self, ec);
  const fs::path dir = self.parent_path();
  const std::vector<fs::path> places{dir / k_program, dir / ".." / "bench" / k_program};
  std::string looked;
  for (const auto& p : places) {
    if (runnable(p)) return p;
    looked += "\n  " + p.lexically_normal().string();
  }
  throw failure(exit_code::not_found, std::string(k_program) + " not found; looked at:" + looked +
                                          "\n(build it with -DIPCRING_BUILD_BENCH=ON, or pass "
                                          "--bench-binary PATH)");
}

// Runs `argv` and returns what it wrote to stdout (its stderr stays ours).
std::string run_capturing(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw failure(exit_code::error, std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    throw failure(exit_code::error, "cannot run " + args[0] + ": " + std::strerror(err));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw failure(exit_code::error,
                  args[0] + (WIFEXITED(status)
                                 ? " exited with status " + std::to_string(WEXITSTATUS(status))
                                 : " was killed by signal " + std::to_string(WTERMSIG(status))));
  }
  return out;
}

double ns_per_unit(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw std::runtime_error("unknown time_unit '" + unit + "'");
}

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// The table of Google Benchmark's JSON report.
void print_report(const json_value& report, std::ostream& out) {
  const json_value* list = report.find("benchmarks");
  if (list == nullptr || list->kind != json_value::type::array) {
    throw std::runtime_error("no \"benchmarks\" array");
  }
  if (const json_value* ctx = report.find("context")) {
    const json_value* cpus = ctx->find("num_cpus");
    const json_value* mhz = ctx->find("mhz_per_cpu");
    if (cpus != nullptr && mhz != nullptr) {
      out << fixed(cpus->number, 0) << " CPU(s) at " << fixed(mhz->number, 0) << " MHz\n";
    }
  }
  // One key figure per family (bench/README.md names the counters).
  struct figure {
    const char* counter;
    const char* label;
  };
  const figure figures[] = {{"rtt_mean_ns", "round trip mean (ns)"},
                            {"msgs_per_s", "msgs/s"},
                            {"lat_p99_ns", "one-way p99 (ns)"},
                            {"ns_per_op", "ns/op"},
                            {"gap_us_per_s", "us lost per s"}};
  text_table table({false, true, false, true});
  table.add({"benchmark", "value", "unit", "floor before (ns)"});
  // With repetitions (BENCHMARK_REPETITIONS in the environment, say), a benchmark's median
  // stands for its repetitions, which would repeat its name. Google Benchmark writes the
  // aggregates only of a benchmark with two repetitions or more that ran: one without shows
  // each row. A repetition that failed shows, with its error, either way.
  const auto text_of = [](const json_value& b, const char* key) {
    const json_value* v = b.find(key);
    return v != nullptr ? v->text : std::string();
  };
  std::set<std::string> with_median;
  for (const auto& b : list->items) {
    if (text_of(b, "aggregate_name") == "median") with_median.insert(text_of(b, "run_name"));
  }
  for (const auto& b : list->items) {
    const json_value* error = b.find("error_occurred");
    const bool errored = error != nullptr && error->boolean;
    const bool aggregate = text_of(b, "run_type") == "aggregate";
    if (aggregate ? text_of(b, "aggregate_name") != "median"
                  : !errored && with_median.count(text_of(b, "run_name")) != 0) {
      continue;
    }
    // run_name: the name without the aggregate's suffix ("_median").
    const json_value* name = b.find("run_name");
    if (name == nullptr) name = b.find("name");
    std::string n = name != nullptr ? name->text : "?";
    if (const auto cut = n.find("/iterations:"); cut != std::string::npos) n.resize(cut);
    if (errored) {
      const json_value* msg = b.find("error_message");
      table.add({n, "-", "error: " + (msg != nullptr ? msg->text : std::string("?")), "-"});
      continue;
    }
    const json_value* floor = b.find("floor_before_ns");
    const std::string floor_text = floor != nullptr ? fixed(floor->number, 0) : "-";
    bool shown = false;
    for (const auto& f : figures) {
      if (const json_value* v = b.find(f.counter)) {
        const bool small = v->number < 1e5;
        table.add({n, small ? fixed(v->number, v->number < 100 ? 2 : 0) : si(v->number), f.label,
                   floor_text});
        shown = true;
        break;
      }
    }
    if (!shown) {
      const json_value* t = b.find("real_time");
      const json_value* unit = b.find("time_unit");
      table.add({n,
                 t != nullptr
                     ? fixed(t->number * ns_per_unit(unit != nullptr ? unit->text : "ns"), 2)
                     : "-",
                 "ns/iteration", floor_text});
    }
  }
  table.print(out);
}

}  // namespace

exit_code run_bench(const bench_options& o) {
  const fs::path program = find_program(o);
  std::vector<std::string> argv{program.string(), "--quick", "--benchmark_format=json"};
  if (!o.filter.empty()) argv.push_back("--benchmark_filter=" + o.filter);
  const std::string json = run_capturing(argv);
  // Google Benchmark writes nothing, and exits 0, when the filter matches no benchmark.
  if (json.find_first_not_of(" \t\r\n") == std::string::npos && !o.filter.empty()) {
    throw failure(exit_code::usage, "no benchmark matches --filter '" + o.filter + "'");
  }
  try {
    print_report(parse_json(json), std::cout);
  } catch (const std::runtime_error& e) {
    throw failure(exit_code::error, "cannot read the report of " +
                                        program.lexically_normal().string() + ": " + e.what());
  }
  return exit_code::ok;
}

}  // namespace ipcring::cli
