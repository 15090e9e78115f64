// tools/cli/json_writer.hpp: a small JSON writer (objects, arrays, strings, numbers) for
// `ipcring stat --json`. Strings are escaped per RFC 8259, and bytes that are not UTF-8 (a
// type name in shared memory can hold anything) become U+FFFD, so the output always parses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ipcring::cli {

/// Appends `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

/// Writes one JSON value into a string, indented by two spaces per level.
///   json_writer w(out);
///   w.begin_object().key("name").string("r").key("used").uint(3).end_object();
class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  /// The key of the next member (inside an object).
  json_writer& key(std::string_view k);
  json_writer& string(std::string_view s);
  json_writer& uint(std::uint64_t v);
  json_writer& boolean(bool v);

 private:
  void before_value();  // a comma and a new line, as the position needs
  json_writer& open(char c);
  json_writer& close(char c);

  std::string& out_;
  std::vector<bool> has_members_;  // per open container: something was written into it
  bool after_key_ = false;
};

}  // namespace ipcring::cli
