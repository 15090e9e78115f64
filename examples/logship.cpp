// logship: ships lines of text of any length from one process to another through an
// spsc_msg_ring, each line one message read in place on the other side.
//
//   seq 1 5 | ./build/release/examples/ipcring-logship --stdin     # lines from stdin, echoed
//   ./build/release/examples/ipcring-logship --lines 1000000       # generated lines, verified
//   wine build/windows/examples/ipcring-logship.exe --lines 100000 # the same, on Windows
// The sender is this program started again (--role sender --name NAME: not for use by hand),
// which attaches by name and reads the shared stdin; the receiver (this process) sleeps while
// the ring is empty and stops when the sender closes the ring. The exit code is 0 only if every
// line arrived intact: a line over the maximum message (capacity / 8 - 8 bytes) is skipped and
// named, a sender that dies or a corrupt ring ends the run with the cause.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "demo_message.hpp"
#include "demo_process.hpp"

namespace {

// Generated line i: "line <i> " followed by a pseudo-random number of letters.
std::string make_line(std::uint64_t i, std::size_t max) {
  std::string s = "line ";
  s.append(std::to_string(i)).push_back(' ');
  const std::size_t extra = demo::mix(i) % (max - s.size());
  for (std::size_t k = 0; k < extra; ++k)
    s.push_back(static_cast<char>('a' + (i + k) % 26));
  return s;
}

// The sending side: lines from stdin, or `lines` generated ones; closes the ring when done.
// Exit code 0 if every line went out, 2 if a line was too long (skipped, the rest still sent),
// 3 if the ring stopped taking lines (the receiver closed or died, or the ring is corrupt).
int send_lines(const std::string& name, bool from_stdin, std::uint64_t lines) {
  auto tx = ipcring::spsc_msg_ring::open(name).producer();
  const std::size_t max = tx.max_message();
  std::uint64_t skipped = 0;
  bool stopped = false;
  auto send = [&](const std::string& line) {
    if (line.size() > max) {
      std::fprintf(stderr, "logship: a %zu-byte line exceeds the %zu-byte maximum; skipped\n",
                   line.size(), max);
      ++skipped;
      return;
    }
    ipcring::msg_status status = ipcring::msg_status::ok;
    const auto r =
        tx.write(1, std::as_bytes(std::span(line)), std::chrono::nanoseconds::max(), &status);
    if (r != ipcring::wait_result::ok || status != ipcring::msg_status::ok) {
      std::fprintf(
          stderr, "logship: sender stopped: %s\n",
          r != ipcring::wait_result::ok ? ipcring::to_string(r) : ipcring::to_string(status));
      stopped = true;
    }
  };
  if (from_stdin) {
    for (std::string line; !stopped && std::getline(std::cin, line);)
      send(line);
  } else {
    for (std::uint64_t i = 0; !stopped && i < lines; ++i)
      send(make_line(i, std::min<std::size_t>(max, 300)));
  }
  tx.close();
  return stopped ? 3 : skipped != 0 ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) try {
  if (demo::has_flag(argc, argv, "--help")) {
    std::puts("usage: ipcring-logship [--stdin | --lines N] [--capacity BYTES]");
    return 0;
  }
  const bool from_stdin = demo::has_flag(argc, argv, "--stdin");
  const auto lines = static_cast<std::uint64_t>(
      demo::number("logship", argc, argv, "--lines", 100000, 0, 1LL << 40));
  const auto capacity = static_cast<std::uint64_t>(
      demo::number("logship", argc, argv, "--capacity", 1048576, 1024, 1LL << 33));
  if (demo::arg(argc, argv, "--role", "") == std::string_view("sender")) {
    return send_lines(demo::arg(argc, argv, "--name", ""), from_stdin, lines);
  }
  std::string name = "ipcring-logship-";
  name.append(std::to_string(demo::current_pid()));
  const demo::remove_on_exit gone({name});  // named by our pid: ours to remove, Ctrl-C included
  // Held until the sender is done: on Windows a segment lives only while it is open.
  auto ring = ipcring::spsc_msg_ring::create(name, capacity);

  std::vector<std::string> args{"--role", "sender", "--name", name};
  if (from_stdin) {
    args.emplace_back("--stdin");
  } else {
    args.insert(args.end(), {"--lines", std::to_string(lines)});
  }
  demo::child_process sender(args);

  auto rx = ring.consumer();
  std::uint64_t n = 0, bytes = 0, wrong = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const char* failure = nullptr;  // why the receiver stopped early, if it did
  for (;;) {
    ipcring::wait_result r = ipcring::wait_result::ok;
    // Sleeps while the ring is empty; wakes every second to look at the sender anyway (a sender
    // reading stdin may be quiet for longer: a timeout is not an end).
    const std::size_t got = rx.read_wait(
        [&](std::uint32_t, std::span<const std::byte> m) {
          const std::string_view line(reinterpret_cast<const char*>(m.data()), m.size());
          if (from_stdin) {
            std::printf("received: %.*s\n", static_cast<int>(line.size()), line.data());
          } else if (line != make_line(n, std::min<std::size_t>(rx.capacity() / 8 - 8, 300))) {
            ++wrong;
          }
          ++n;
          bytes += m.size();
        },
        SIZE_MAX, std::chrono::seconds(1), &r);
    if (r == ipcring::wait_result::closed) break;  // the sender closed and all was read
    if (r == ipcring::wait_result::peer_dead) {
      failure = "the sender died before closing the ring";
      break;
    }
    if (got == 0 && r == ipcring::wait_result::ok && rx.corrupted()) {
      failure = "the ring is corrupt (a record's length is impossible)";
      break;
    }
    // A sender that exited without closing (or before it attached) is no dead peer: its role
    // word was let go of. Nothing more can come.
    if (r == ipcring::wait_result::timeout && sender.exited()) {
      failure = "the sender exited without closing the ring";
      break;
    }
  }
  if (failure != nullptr) {
    std::fprintf(stderr, "logship: receiver stopped after %llu lines: %s\n",
                 static_cast<unsigned long long>(n), failure);
    rx.close();  // a sender still writing sees `closed` instead of waiting for space for ever
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // On a failure the sender may sit blocked on stdin: it is stopped (its handle's destructor)
  // rather than waited for.
  const int sender_exit = failure == nullptr || sender.exited() ? sender.wait() : -1;
  std::fprintf(stderr, "logship: %llu lines, %llu bytes in %.3f s (%.1f M lines/s, %.0f MB/s)%s\n",
               static_cast<unsigned long long>(n), static_cast<unsigned long long>(bytes), secs,
               static_cast<double>(n) / secs / 1e6, static_cast<double>(bytes) / secs / 1e6,
               wrong != 0 ? ", SOME LINES WRONG" : "");
  if (sender_exit > 0) std::fprintf(stderr, "logship: the sender exited with %d\n", sender_exit);
  const bool ok =
      failure == nullptr && wrong == 0 && (from_stdin || n == lines) && sender_exit == 0;
  return ok ? 0 : 1;
} catch (const std::exception& e) {  // ipcring::error, or a sender that could not start
  std::fprintf(stderr, "logship: %s\n", e.what());
  return 1;
}
