#include "json_reader.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>

namespace ipcring::cli {

const json_value* json_value::find(std::string_view key) const noexcept {
  if (kind != type::object) return nullptr;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &items[i];
  }
  return nullptr;
}

namespace {

constexpr int k_max_depth = 256;

class parser {
 public:
  explicit parser(std::string_view t) : t_(t) {}

  json_value document() {
    json_value v = value(0);
    skip_space();
    if (i_ != t_.size()) fail("text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at byte " + std::to_string(i_));
  }

  void skip_space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t'))
      ++i_;
  }

  bool eat(char c) {
    skip_space();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }

  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  json_value value(int depth) {
    if (depth > k_max_depth) fail("nesting too deep");
    skip_space();
    if (i_ >= t_.size()) fail("unexpected end");
    json_value v;
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      v.kind = json_value::type::object;
      if (eat('}')) return v;
      do {
        skip_space();
        v.keys.push_back(string());
        expect(':');
        v.items.push_back(value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = json_value::type::array;
      if (eat(']')) return v;
      do {
        v.items.push_back(value(depth + 1));
      } while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = json_value::type::string;
      v.text = string();
    } else if (literal("true") || literal("false")) {
      v.kind = json_value::type::boolean;
      v.boolean = c == 't';
    } else if (literal("null")) {
      v.kind = json_value::type::null;
    } else if (const std::optional<double> special = non_finite()) {
      // Not JSON, but what Google Benchmark writes for a counter that is not finite (the cv
      // of a counter that is 0 in every repetition is NaN).
      v.kind = json_value::type::number;
      v.number = *special;
    } else {
      v.kind = json_value::type::number;
      v.number = number();
    }
    return v;
  }

  // Google Benchmark's words for numbers that are not finite, taken if one is next.
  std::optional<double> non_finite() {
    constexpr double inf = std::numeric_limits<double>::infinity();
    if (literal("Infinity")) return inf;
    if (literal("-Infinity")) return -inf;
    if (literal("NaN") || literal("-NaN")) return std::numeric_limits<double>::quiet_NaN();
    return std::nullopt;
  }

  // JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, checked first: from_chars
  // would also take "inf", "nan", leading zeros and "1.".
  double number() {
    const std::size_t start = i_;
    const auto digits = [&] {
      const std::size_t from = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9')
        ++i_;
      return i_ - from;
    };
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    if (i_ < t_.size() && t_[i_] == '0') {
      ++i_;
    } else if (digits() == 0) {
      fail("bad value");
    }
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (digits() == 0) fail("bad number");
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (digits() == 0) fail("bad number");
    }
    // strtod, not from_chars: out of range it gives +-HUGE_VAL or 0, where from_chars leaves
    // its output untouched.
    const std::string text(t_.substr(start, i_ - start));
    return std::strtod(text.c_str(), nullptr);
  }

  unsigned hex4() {
    if (t_.size() - i_ < 4) fail("short \\u escape");
    unsigned v = 0;
    const auto r = std::from_chars(t_.data() + i_, t_.data() + i_ + 4, v, 16);
    if (r.ptr != t_.data() + i_ + 4) fail("bad \\u escape");
    i_ += 4;
    return v;
  }

  static void append_utf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string string() {
    if (i_ >= t_.size() || t_[i_] != '"') fail("expected a string");
    ++i_;
    std::string s;
    for (;;) {
      if (i_ >= t_.size()) fail("unterminated string");
      const char c = t_[i_++];
      if (c == '"') return s;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        s.push_back(c);
        continue;
      }
      if (i_ >= t_.size()) fail("unterminated escape");
      const char e = t_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          s.push_back(e);
          break;
        case 'b':
          s.push_back('\b');
          break;
        case 'f':
          s.push_back('\f');
          break;
        case 'n':
          s.push_back('\n');
          break;
        case 'r':
          s.push_back('\r');
          break;
        case 't':
          s.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && t_.substr(i_, 2) == "\\u") {
            i_ += 2;
            const std::uint32_t low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;  // a lone surrogate
          }
          append_utf8(s, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace

json_value parse_json(std::string_view text) {
  return parser(text).document();
}

}  // namespace ipcring::cli
