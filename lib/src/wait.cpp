// The wait layer's platform-neutral part. The sleeping and waking themselves are platform code:
// posix/wait.cpp (futex, membarrier) and windows/wait.cpp (a named semaphore per wait block).
#include <cerrno>

#include "ipcring/detail/role.hpp"
#include "ipcring/detail/wait_block.hpp"

namespace ipcring {
namespace detail {

bool peer_is_dead(std::uint64_t owner) noexcept {
  return owner != 0 && !process_alive(owner);
}

}  // namespace detail

void close_token::close() const noexcept {
  // async-signal-safe: getpid (GetCurrentProcessId) and a load of the role word
  if (flag_ == nullptr || !detail::holds_role(role_, holder_)) return;
  const int saved_errno = errno;  // a failed wake must not change it under a signal handler

  // release x2: pair with the acquire loads in own_side_closed (wait_block.hpp). This
  // process's copy first: another process may clear the shared flag before a waiter sees it.
  here_->store(1, std::memory_order_release);
  flag_->store(1, std::memory_order_release);
  detail::wake_all(*a_);  // unconditional: a waiter that read seq before this sees it change
  detail::wake_all(*b_);
  errno = saved_errno;
}

const char* to_string(wait_result r) noexcept {
  switch (r) {
    case wait_result::ok:
      return "ok";
    case wait_result::timeout:
      return "timeout";
    case wait_result::closed:
      return "closed";
    case wait_result::peer_dead:
      return "peer_dead";
  }
  return "unknown";
}

}  // namespace ipcring
