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

std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return n;
}

bool hidden_control(std::string_view seq) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(seq[k]); };
  if (seq.size() == 2) return at(0) == 0xC2 && at(1) <= 0x9F;
  if (seq.size() != 3 || at(0) != 0xE2) return false;
  const unsigned cp = ((at(1) & 0x3Fu) << 6) | (at(2) & 0x3Fu);  // low 12 bits; U+2000 + cp
  return (cp >= 0x02A && cp <= 0x02E) || (cp >= 0x066 && cp <= 0x069);
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const std::size_t n = c >= 0x80 ? utf8_sequence(s, i) : 0;
    if (n != 0 && !hidden_control(s.substr(i, n))) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02X", c);
    out += hex;
    ++i;
  }
  return out;
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
