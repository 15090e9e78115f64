// The wait an open makes for a ring whose name is not there yet, or whose creator has not
// published `ready` yet: one loop for the C++ open (segment.cpp: ring_options::wait_for_creation
// and open_timeout) and the C API's look before it attaches (c_api.cpp: one timeout for both).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>

#include "ipcring/detail/segment.hpp"
#include "ipcring/detail/wait_block.hpp"
#include "ipcring/error.hpp"

namespace ipcring::detail {

/// How long an open waits: for the name until `created_by` (only with `wait_for_name`), then
/// for `ready` for `ready_for` from when the name was found (in full again for a ring made anew
/// under the name); the wait for `ready` never ends past `deadline`. The errors say how long (the
/// *_ms) and which setting waits longer.
struct open_waits {
  bool wait_for_name = false;
  std::chrono::steady_clock::time_point created_by{};
  std::chrono::nanoseconds ready_for{};
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::int64_t created_ms = 0;
  std::string_view created_setting;
  std::int64_t ready_ms = 0;
  std::string_view ready_setting;
};

/// Returns attempt(name_is_there), calling it again 1 ms after each errc::not_found (only
/// while the name is waited for) or errc::not_ready (until the time `ready` is waited for);
/// then not_created() or gave_up() says how long it waited. `name_is_there()`: for the attempt
/// to call once it has the name; returns the time `ready` is waited for until (an attempt
/// that waits for nothing itself may ignore it). Any other error, and an abandoned_error
/// (never to be ready), goes to the caller at once.
template <class Attempt>
auto retry_open(const open_waits& w, Attempt&& attempt) {
  using clock = std::chrono::steady_clock;
  clock::time_point ready_by{};  // when the name was found (the last time), + ready_for
  bool there = false;            // the name: since ready_by was set
  bool found = false;            // the name, at least once
  const auto name_is_there = [&] {
    if (!there) ready_by = std::min(deadline_after(clock::now(), w.ready_for), w.deadline);
    there = found = true;
    return ready_by;
  };
  for (;;) {
    try {
      return attempt(name_is_there);
    } catch (const abandoned_error&) {
      throw;  // never to be ready: not waited for again
    } catch (const error& e) {
      if (e.value() == errc::not_found) {
        // Not created yet, or removed again by a creator that failed: either may still come,
        // and a new creator gets the whole wait for `ready`.
        if (!w.wait_for_name) throw;
        there = false;
        if (clock::now() >= w.created_by) {
          if (found) throw;  // its own message says what became of the ring it found
          not_created(e, w.created_ms, w.created_setting);
        }
      } else {
        if (e.value() != errc::not_ready) throw;
        name_is_there();  // found, perhaps not sized yet
        if (clock::now() >= ready_by) gave_up(e, w.ready_ms, w.ready_setting);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace ipcring::detail
