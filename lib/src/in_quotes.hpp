// Quoting of names and paths in error messages. Internal to lib/src.
#pragma once

#include <string>
#include <string_view>

namespace ipcring::detail {

/// 'name', quoted for error messages; control characters (NUL included) as \xNN, so the
/// message holds the whole name and a terminal shows it as it is.
inline std::string in_quotes(std::string_view s) {
  std::string r(1, '\'');  // not "'" + s: gcc 12 warns falsely (-Wrestrict) on that
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      r.push_back(c);
      continue;
    }
    constexpr char hex[] = "0123456789abcdef";
    r.append("\\x").push_back(hex[u >> 4]);
    r.push_back(hex[u & 15]);
  }
  r.push_back('\'');
  return r;
}

}  // namespace ipcring::detail
