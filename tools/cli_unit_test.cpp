// Unit tests of the command-line tool's parts that take untrusted text: printable() (segment
// names, which any local user can choose, on a terminal) and the JSON reader (the benchmark
// program's output, for `ipcring bench`). The commands themselves: cli_test.sh.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "cli/json_reader.hpp"
#include "cli/text_format.hpp"

namespace ipcring::cli {
namespace {

TEST(printable, escapes_control_characters_and_what_is_not_utf8) {
  EXPECT_EQ(printable("plain-name_1.2"), "plain-name_1.2");
  EXPECT_EQ(printable("a\x1b[7mINV\nfake"), "a\\x1B[7mINV\\x0Afake");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("del\x7f"), "del\\x7F");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("\xc3"), "\\xC3");                             // cut short
  EXPECT_EQ(printable("\xc0\xaf"), "\\xC0\\xAF");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xED\\xA0\\x80");           // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(printable("\xc2\x9b"), "\xc2\x9b");  // U+009B is valid UTF-8: terminals that take
                                                 // it as CSI take it in UTF-8 mode only as text
}

TEST(text_table, prints_every_cell_printable) {
  text_table t;
  t.add({"NAME", "STATE"});
  t.add({"x\nfake  row", "live"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(), "NAME            STATE\nx\\x0Afake  row  live\n");
}

double number_of(const std::string& text) {
  const json_value v = parse_json(text);
  EXPECT_EQ(v.kind, json_value::type::number) << text;
  return v.number;
}

TEST(json_reader, reads_numbers_as_json_writes_them) {
  EXPECT_EQ(number_of("0"), 0.0);
  EXPECT_EQ(number_of("-12.5e2"), -1250.0);
  EXPECT_EQ(number_of("1E+3"), 1000.0);
}

TEST(json_reader, out_of_range_numbers_are_infinite_or_zero) {
  EXPECT_TRUE(std::isinf(number_of("1e999")));
  EXPECT_GT(number_of("1e999"), 0);
  EXPECT_LT(number_of("-1e999"), 0);
  EXPECT_EQ(number_of("1e-999"), 0.0);
}

TEST(json_reader, refuses_what_json_does_not_allow) {
  for (const char* bad : {"nan", "inf", "-inf", "01", "1.", ".5", "+1", "1e", "1e+", "-", "0x10"}) {
    EXPECT_THROW((void)parse_json(bad), std::runtime_error) << bad;
  }
}

}  // namespace
}  // namespace ipcring::cli
