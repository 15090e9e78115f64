#include "senders_lock.hpp"

#include <sys/file.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <thread>

#include "exit_codes.hpp"
#include "interrupt.hpp"

namespace ipcring::cli {

senders_lock::senders_lock(const std::string& name) : who_("send '" + name + "'"), file_(name) {}

senders_lock::~senders_lock() = default;

bool senders_lock::lock_if_same() {
  if (!file_.same_ready_ring(who_)) return false;
  // Waits only while another send closes the side. Interrupts are caught only later: a signal
  // here ends the process, before it attached. Refused (ENOLCK, ENOMEM), the send would stream
  // unseen by the others, and the last of them could close the side under it: it stops.
  if (!take(LOCK_SH)) {
    const int err = errno;
    throw failure(exit_code::error, who_ + ": cannot take the senders' lock (flock: " +
                                        std::strerror(err) + "); nothing was sent");
  }
  return true;
}

bool senders_lock::alone(std::chrono::milliseconds patience) {
  if (file_.fd() < 0) return true;
  (void)::flock(file_.fd(), LOCK_UN);
  // A send that ends holds the lock for its whole stream; one whose attach failed (too many
  // endpoints) holds it a moment, and would otherwise leave the side open for good: neither
  // closes. Look again for a while before leaving the close to the other.
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    if (take(LOCK_EX | LOCK_NB)) return true;
    if (std::chrono::steady_clock::now() >= deadline || interrupted() != 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::size_t senders_lock::live_producers() const {
  std::size_t n = 0;
  for (const auto& e : file_.read(who_).endpoints) {
    // One that has not yet named its role may be a producer on its way in: counted, so that
    // the side is not closed under it.
    const std::string_view role(e.role);
    if ((role == "producer" || role == "registering") && e.alive) ++n;
  }
  return n;
}

bool senders_lock::producer_side_closed() const {
  return file_.read(who_).producer_closed;
}

bool senders_lock::take(int how) {
  int r;
  do {
    r = ::flock(file_.fd(), how);
  } while (r != 0 && errno == EINTR && interrupted() == 0);
  return r == 0;
}

}  // namespace ipcring::cli
