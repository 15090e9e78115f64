#include "json_writer.hpp"

#include <cstddef>

namespace ipcring::cli {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 if there is none (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

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
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
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
