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
  /// Overrides type_tag<T>::name as the element type name; empty = use type_tag<T>.
  std::string_view type_name{};
  /// open: accept any element type of the right size, taking its name and alignment from the
  /// header. For code that copies slots as bytes (the C API, tools); a typed program should
  /// let the type be checked.
  bool any_type = false;
};

}  // namespace ipcring
