#include "ring_kinds.hpp"

#include <array>
#include <string>

namespace ipcring::cli {
namespace {

// Index = kind code - 1 (layout.hpp's ring_kind values).
constexpr std::array<std::string_view, 4> k_names{"spsc", "mpmc", "bytes", "bytes-mp"};

}  // namespace

std::string_view kind_name(std::uint32_t kind) noexcept {
  return kind >= 1 && kind <= k_names.size() ? k_names[kind - 1] : "?";
}

std::optional<ipcring_kind> parse_kind(std::string_view name) noexcept {
  for (std::size_t i = 0; i < k_names.size(); ++i) {
    if (k_names[i] == name) return static_cast<ipcring_kind>(i + 1);
  }
  return std::nullopt;
}

std::vector<std::string> kind_names() {
  return {k_names.begin(), k_names.end()};
}

bool is_fixed_slot(std::uint32_t kind) noexcept {
  return kind == IPCRING_KIND_SPSC || kind == IPCRING_KIND_MPMC;
}

}  // namespace ipcring::cli
