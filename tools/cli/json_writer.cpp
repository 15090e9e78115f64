#include "json_writer.hpp"

#include <cstddef>

#include "text_format.hpp"

namespace ipcring::cli {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char k_hex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";  // not UTF-8: the replacement character
        ++i;
        continue;
      }
      const std::string_view seq = s.substr(i, n);
      const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(seq[k]) + 0u; };
      const unsigned cp = n == 2 ? (byte(0) & 0x1Fu) << 6 | (byte(1) & 0x3Fu)
                          : n == 3
                              ? (byte(0) & 0x0Fu) << 12 | (byte(1) & 0x3Fu) << 6 | (byte(2) & 0x3Fu)
                              : 0x10000u;  // four bytes: none of the below
      // Escaped, not copied: a terminal shown the JSON (`ipcring stat --json` read by a
      // person) must not act on a C1 control or reorder the line (hidden_control), and the
      // line and paragraph separators U+2028/U+2029 end a line in JavaScript.
      if (hidden_control(seq) || cp == 0x2028 || cp == 0x2029) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4)
          out.push_back(k_hex[(cp >> shift) & 0xF]);
      } else {
        out.append(seq);
      }
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out.push_back(k_hex[c >> 4]);
          out.push_back(k_hex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
        break;
    }
    ++i;
  }
  out.push_back('"');
}

void json_writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (has_members_.empty()) return;  // the top-level value
  if (has_members_.back()) out_.push_back(',');
  has_members_.back() = true;
  out_.push_back('\n');
  out_.append(2 * has_members_.size(), ' ');
}

json_writer& json_writer::open(char c) {
  before_value();
  out_.push_back(c);
  has_members_.push_back(false);
  return *this;
}

json_writer& json_writer::close(char c) {
  const bool had = has_members_.back();
  has_members_.pop_back();
  if (had) {
    out_.push_back('\n');
    out_.append(2 * has_members_.size(), ' ');
  }
  out_.push_back(c);
  return *this;
}

json_writer& json_writer::begin_object() {
  return open('{');
}
json_writer& json_writer::end_object() {
  return close('}');
}
json_writer& json_writer::begin_array() {
  return open('[');
}
json_writer& json_writer::end_array() {
  return close(']');
}

json_writer& json_writer::key(std::string_view k) {
  before_value();
  append_json_string(out_, k);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

json_writer& json_writer::string(std::string_view s) {
  before_value();
  append_json_string(out_, s);
  return *this;
}

json_writer& json_writer::uint(std::uint64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

json_writer& json_writer::boolean(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

}  // namespace ipcring::cli
