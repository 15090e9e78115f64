#include "text_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ipcring::cli {

std::string si(double v) {
  static constexpr const char* k_suffix[] = {"", "k", "M", "G", "T", "P"};
  std::size_t i = 0;
  while (std::fabs(v) >= 999.5 && i + 1 < std::size(k_suffix)) {
    v /= 1000;
    ++i;
  }
  char buf[32];
  if (i == 0) {
    std::snprintf(buf, sizeof buf, v == std::floor(v) ? "%.0f" : "%.3g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g%s", v, k_suffix[i]);
  }
  return buf;
}

std::string fill_text(std::uint64_t used, std::uint64_t capacity) {
  char pct[32];
  const double p =
      capacity == 0 ? 0.0 : 100.0 * static_cast<double>(used) / static_cast<double>(capacity);
  std::snprintf(pct, sizeof pct, "%.1f%%", p);
  return std::to_string(used) + "/" + std::to_string(capacity) + " (" + pct + ")";
}

void text_table::print(std::ostream& out) const {
  std::vector<std::size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const bool last = c + 1 == row.size();
      const std::size_t pad = width[c] - row[c].size();
      const bool right = c < right_.size() && right_[c];
      if (right) line.append(pad, ' ');
      line += row[c];
      if (!last) line.append(right ? 2 : pad + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out << line << '\n';
  }
}

}  // namespace ipcring::cli
