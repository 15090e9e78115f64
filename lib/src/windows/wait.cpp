// The wait layer's platform code, Windows. WaitOnAddress is process-private, so a sleeper
// sleeps on a named semaphore of its wait block (wait_objects.hpp says how the name is found):
//   waker:   seq += 1; n = sleepers; ReleaseSemaphore(n)        (every step seq_cst)
//   sleeper: while seq == expected: WaitForSingleObject(semaphore, time left)
// A unit released for a sleeper that then found its condition true without sleeping stays in
// the semaphore; the next sleeper consumes it, sees seq unchanged, and waits again: a stale
// unit costs one extra wake-up.
//
// No notifier here is fence-free (register_fast_notifier() is false): every notifier orders its
// publish before its read of `sleepers` with a seq_cst RMW ([N1] in wait_block.hpp), so the
// [W1]/[N1] race cannot hide a sleeper from a notifier. Units are not addressed to a sleeper,
// though: with several sleepers on one block (mpmc, mpsc_msg producers), one that announced
// itself after the waker counted can take the unit counted for another, which then sleeps on.
// waiter_barrier() is therefore false, so every sleep asks for at most k_first_slice (5 ms):
// the most such a wake can be late, as on Linux without membarrier. The same bound covers a
// waker that could not open the semaphore. (Windows rounds such a wait up to its timer tick,
// 15.6 ms by default, unless some process raised the timer resolution: the real bound.)
//
// Wait blocks in memory that no map_view of this process maps (rings on heap memory, shared by
// threads) use WaitOnAddress / WakeByAddressAll: no handle, nothing to clean up.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ipcring/detail/wait_block.hpp"
#include "wait_objects.hpp"

namespace ipcring::detail {
namespace {

struct view_entry {
  const std::byte* base;
  std::size_t size;
  std::string prefix;                                      // semaphore name up to the offset
  std::vector<std::pair<std::size_t, HANDLE>> semaphores;  // by offset of the wait block
};

// Views mapped by this process, with the semaphores opened for their wait blocks.
struct registry {
  std::mutex lock;
  std::vector<view_entry> views;
};

registry& the_registry() {
  static registry* r = new registry;  // never destroyed: wakes may run during exit
  return *r;
}

std::uint64_t fnv1a(const std::string& s) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

HANDLE new_semaphore(const char* name) noexcept {
  // Opens the semaphore if another process made it first.
  return CreateSemaphoreA(nullptr, 0, 0x7fffffff, name);
}

// The semaphore of the wait block at `addr`, created or opened on first use. Null if the
// system refused (the caller then polls); INVALID_HANDLE_VALUE if no view maps `addr`.
HANDLE semaphore_for(const void* addr) noexcept {
  try {
    registry& r = the_registry();
    const std::lock_guard<std::mutex> hold(r.lock);
    const auto* p = static_cast<const std::byte*>(addr);
    for (view_entry& v : r.views) {
      if (p < v.base || p >= v.base + v.size) continue;
      const auto offset = static_cast<std::size_t>(p - v.base);
      for (const auto& [off, h] : v.semaphores) {
        if (off == offset) return h;
      }
      const std::string name = v.prefix + std::to_string(offset);
      HANDLE h = new_semaphore(name.c_str());
      if (h != nullptr) v.semaphores.emplace_back(offset, h);
      return h;
    }
    return INVALID_HANDLE_VALUE;
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

std::string object_name(const char* what, const std::string& key) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(key)));
  return std::string("ipcring.") + what + "." + hash;
}

void register_view(const std::byte* base, std::size_t size, const std::string& key) {
  std::string prefix = object_name("wait", key) + ".";
  registry& r = the_registry();
  const std::lock_guard<std::mutex> hold(r.lock);
  r.views.push_back({base, size, std::move(prefix), {}});
}

void unregister_view(const std::byte* base) noexcept {
  registry& r = the_registry();
  const std::lock_guard<std::mutex> hold(r.lock);
  const auto it = std::find_if(r.views.begin(), r.views.end(),
                               [&](const view_entry& v) { return v.base == base; });
  if (it == r.views.end()) return;
  for (const auto& s : it->semaphores)
    CloseHandle(s.second);
  r.views.erase(it);
}

bool register_fast_notifier() noexcept {
  return false;  // no process-wide barrier to lean on: notifiers pay the seq_cst RMW
}

bool waiter_barrier() noexcept {
  return false;  // sleeps stay short: a unit may go to another sleeper (see the top)
}

void wake_all(wait_block& b) noexcept {
  // [R-seq] pairs with [A-seq] and the seq loads of sleep_on. seq_cst, with the load of
  // `sleepers` below: a sleeper whose announcement [W1] this load misses sees the new seq.
  b.seq.fetch_add(1, std::memory_order_seq_cst);
  const std::uint32_t n = b.sleepers.load(std::memory_order_seq_cst);
  if (n == 0) return;
  // The caller's last error is kept, as close_token::close keeps errno: opening a semaphore
  // another process made sets ERROR_ALREADY_EXISTS, a failed release its own.
  const DWORD caller_error = GetLastError();
  HANDLE h = semaphore_for(&b);
  if (h == INVALID_HANDLE_VALUE) {
    WakeByAddressAll(&b.seq);  // not in a view: sleepers of this process only
  } else if (h != nullptr) {
    ReleaseSemaphore(h, static_cast<LONG>(std::min<std::uint32_t>(n, 1u << 20)), nullptr);
  }
  SetLastError(caller_error);
}

void drop_stale_wakes(wait_block& b) noexcept {
  HANDLE h = semaphore_for(&b);
  if (h == nullptr || h == INVALID_HANDLE_VALUE) return;  // no semaphore: no units
  // Nobody sleeps on the block (the caller's precondition), so every unit is stale. A peer that
  // read the old count may still release one after this: one spare wake, as before. At most
  // k_drop units (one syscall each, a wineserver round trip under Wine); more, from a dead
  // sleeper on a large ring, are left to the sleep loop, which takes them as it did before.
  constexpr int k_drop = 1 << 16;
  for (int i = 0; i < k_drop && WaitForSingleObject(h, 0) == WAIT_OBJECT_0; ++i) {
  }
}

void sleep_on(wait_block& b, std::uint32_t expected, std::chrono::nanoseconds timeout) noexcept {
  using clock = std::chrono::steady_clock;
  if (timeout <= std::chrono::nanoseconds::zero()) return;
  HANDLE h = semaphore_for(&b);
  const auto deadline = deadline_in(timeout);
  for (;;) {
    // seq_cst: pairs with wake_all's increment (see there)
    if (b.seq.load(std::memory_order_seq_cst) != expected) return;
    const auto left = deadline - clock::now();
    if (left <= clock::duration::zero()) return;
    // Round up to whole ms: a 0 ms wait would spin.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    const DWORD wait_ms = static_cast<DWORD>(std::min<long long>(ms, 0x7ffffffe));
    if (h == INVALID_HANDLE_VALUE) {  // not in a view: within this process only
      std::uint32_t seen = expected;
      WaitOnAddress(&b.seq, &seen, sizeof seen, wait_ms);
      return;  // the caller re-checks; spurious returns are allowed
    }
    if (h == nullptr) {
      Sleep(std::min<DWORD>(wait_ms, 1));  // no semaphore: poll
      continue;
    }
    if (WaitForSingleObject(h, wait_ms) != WAIT_OBJECT_0) return;  // timeout or failure
  }
}

}  // namespace ipcring::detail
