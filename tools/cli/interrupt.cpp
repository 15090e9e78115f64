#include "interrupt.hpp"

#include <csignal>
#include <initializer_list>

namespace ipcring::cli {
namespace {

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
}

}  // namespace

void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a read or write in progress returns EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    // A signal ignored by whoever started us (nohup, a background job) stays ignored.
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sig, &sa, nullptr);
  }
}

void ignore_sigpipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

int interrupted() noexcept {
  return g_signal;
}

}  // namespace ipcring::cli
