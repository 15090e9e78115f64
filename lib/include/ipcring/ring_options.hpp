// ipcring/ring_options.hpp: options shared by every ring kind's create and open.
#pragma once

#include <chrono>
#include <string_view>

#include "ipcring/map_view.hpp"

namespace ipcring {

struct ring_options {
  /// Permissions and pre-faulting of the segment (create), pre-faulting (open).
  map_options map{};
  /// How long open() waits for a creator that has not published `ready` yet before failing
  /// with errc::not_ready (a creator that died mid-creation must not hang its openers).
  std::chrono::milliseconds open_timeout{2000};
  /// How long open() waits for a ring of that name to be created before failing with
  /// errc::not_found: for a process started before the one that creates the ring. 0 (the
  /// default, and any negative value): not at all; milliseconds::max(): for ever. Once the
  /// name is there, open() waits for `ready` as above (open_timeout, counted from then, and
  /// from the start again for a ring made anew under the name). It looks for the name every
  /// millisecond, and takes whatever ring has it: one an earlier run left behind too (a wrong
  /// kind or type still fails at once). Nothing interrupts the wait: a program that must stay
  /// responsive waits in slices (a loop of shorter waits). The C API (ipcring_open_wait),
  /// Python and the CLI instead bound the name and `ready` together by one timeout.
  std::chrono::milliseconds wait_for_creation{0};
  /// Overrides type_tag<T>::name as the element type name; empty = use type_tag<T>.
  std::string_view type_name{};
  /// open: accept any element type of the right size, taking its name and alignment from the
  /// header. For code that copies slots as bytes (the C API, tools); a typed program should
  /// let the type be checked.
  bool any_type = false;
};

}  // namespace ipcring
