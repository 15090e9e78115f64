// tools/cli/ring_kinds.hpp: the tool's names of the ring kinds.
//   spsc      fixed slots, one producer, one consumer        (ring_kind::spsc, 1)
//   mpmc      fixed slots, many producers, many consumers    (ring_kind::mpmc, 2)
//   bytes     messages of any length, one producer           (ring_kind::spsc_msg, 3)
//   bytes-mp  messages of any length, many producers         (ring_kind::mpsc_msg, 4)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipcring/ipcring.h"

namespace ipcring::cli {

/// The tool's name of a kind code from a header, "?" for an unknown one.
std::string_view kind_name(std::uint32_t kind) noexcept;
/// The kind a tool name stands for, if any.
std::optional<ipcring_kind> parse_kind(std::string_view name) noexcept;
/// Every tool name, in kind order (for --help and validation).
std::vector<std::string> kind_names();
/// spsc and mpmc carry fixed-size slots; the others carry messages.
bool is_fixed_slot(std::uint32_t kind) noexcept;

}  // namespace ipcring::cli
