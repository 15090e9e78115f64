// tools/cli/text_format.hpp: how the tool prints for people: aligned tables and short numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ipcring::cli {

/// "999", "1.23k", "45.6M", "7.89G" (powers of 1000, three significant digits).
std::string si(double v);
/// "12/1024 (1.2%)".
std::string fill_text(std::uint64_t used, std::uint64_t capacity);
/// Length of the well-formed UTF-8 sequence of two or more bytes at s[i], or 0 (RFC 3629: no
/// overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i);
/// Whether a well-formed sequence (utf8_sequence) encodes a control a terminal may act on or
/// that reorders what follows it: the C1 controls U+0080-U+009F (xterm takes U+009B as CSI, in
/// UTF-8 too) and the bidirectional embeddings, overrides and isolates U+202A-U+202E,
/// U+2066-U+2069 (a name that reverses the rest of an `ls` row).
bool hidden_control(std::string_view seq);
/// `s` safe for a terminal: control characters, DEL and bytes that are not UTF-8 become
/// "\xNN". Segment names are anybody's (any local user can make a file in /dev/shm): an escape
/// sequence or a newline in one must not reach the terminal or fake a table row.
std::string printable(std::string_view s);

/// Rows of cells printed in aligned columns, two spaces apart, each made printable(). The last
/// column is not padded (it may hold free text); columns marked right-aligned are padded on the
/// left.
class text_table {
 public:
  explicit text_table(std::vector<bool> right_aligned = {}) : right_(std::move(right_aligned)) {}
  void add(std::vector<std::string> row) {
    for (auto& cell : row)
      cell = printable(cell);
    rows_.push_back(std::move(row));
  }
  void print(std::ostream& out) const;

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ipcring::cli
