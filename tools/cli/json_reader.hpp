// tools/cli/json_reader.hpp: a small JSON parser, enough to read Google Benchmark's
// --benchmark_format=json output (`ipcring bench`). Numbers are doubles.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ipcring::cli {

struct json_value {
  enum class type { null, boolean, number, string, array, object };
  type kind = type::null;
  bool boolean = false;
  double number = 0;
  std::string text;               ///< a string's value
  std::vector<json_value> items;  ///< an array's items, or an object's member values
  std::vector<std::string> keys;  ///< an object's member names (parallel to items)

  /// The member named `key` of an object, or null if there is none (or this is no object).
  const json_value* find(std::string_view key) const noexcept;
};

/// Parses one JSON text. Throws std::runtime_error naming the byte offset of a syntax error.
json_value parse_json(std::string_view text);

}  // namespace ipcring::cli
