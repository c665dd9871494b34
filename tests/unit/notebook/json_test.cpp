#include <gtest/gtest.h>

#include <algorithm>

#include "notebook/json_parser.hpp"
#include "notebook/json_writer.hpp"
#include "notebook/python_text.hpp"

namespace tejun::notebook {
namespace {

std::string python_dumps(const Json& value) {
  std::string text;
  TextOutput out(text);
  JsonWriter(out).value(value);
  EXPECT_TRUE(out.flush());
  return text;
}

Json parse(std::string_view text) {
  auto parsed = parse_json(text);
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().to_string());
  return parsed ? *parsed : Json();
}

TEST(JsonParser, KeepsNumbersAsWritten) {
  const Json value = parse(R"([1.0, 1e-07, 12345678901234567890, -0.5, 7])");
  EXPECT_EQ(python_dumps(value), "[\n 1.0,\n 1e-07,\n 12345678901234567890,\n -0.5,\n 7\n]");
}

TEST(JsonParser, StoresArraysOfStringsCompactly) {
  const Json value = parse(R"({"a": ["x\n", "y"], "b": ["x", 1], "c": []})");
  EXPECT_EQ(find_member(value.as_object(), "a")->kind(), Json::Kind::string_array);
  EXPECT_EQ(find_member(value.as_object(), "a")->as_string_array().joined(), "x\ny");
  EXPECT_EQ(find_member(value.as_object(), "b")->kind(), Json::Kind::array);
  EXPECT_EQ(find_member(value.as_object(), "b")->as_array()[0], Json("x"));
  EXPECT_EQ(find_member(value.as_object(), "c")->kind(), Json::Kind::array);
}

TEST(JsonParser, ReportsLineAndColumnOfASyntaxError) {
  auto parsed = parse_json("{\n  \"a\": 1,\n  \"b\" 2\n}");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, base::ErrorCode::parse_error);
  EXPECT_EQ(parsed.error().where.line, 3U);
  EXPECT_EQ(parsed.error().where.column, 7U);
}

TEST(JsonParser, RejectsTextAfterTheValue) {
  auto parsed = parse_json("{} x");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().where.column, 4U);
  EXPECT_TRUE(parse_json("{}\n\n"));
}

TEST(JsonParser, RejectsIncompleteAndInvalidUtf8) {
  EXPECT_FALSE(parse_json("{\"a\": [1, 2"));
  EXPECT_FALSE(parse_json("\"\xFF\""));
  EXPECT_FALSE(parse_json(""));
}

TEST(JsonParser, AcceptsAByteOrderMark) {
  EXPECT_TRUE(parse_json("\xEF\xBB\xBF{}"));
}

TEST(JsonParser, ReadsWhatPythonReads) {
  EXPECT_EQ(python_dumps(parse(R"([NaN, Infinity, -Infinity, -0, 0.5e+3])")),
            "[\n NaN,\n Infinity,\n -Infinity,\n -0,\n 0.5e+3\n]");
  EXPECT_EQ(parse(R"("\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\")"), Json(std::string("é😀/\b\f\n\r\t\"\\")));
  EXPECT_EQ(parse(R"("a\u0000b")").as_string(), std::string("a\0b", 3));
}

TEST(JsonParser, ReportsWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"[1,]", "invalid JSON: expected a value, found ']'"},
      {"{\"a\" 1}", "invalid JSON: expected ':' after a key, found '1'"},
      {"{\"a\": 1 \"b\": 2}", "invalid JSON: expected ',' or '}' in an object, found '\"'"},
      {"[1 2]", "invalid JSON: expected ',' or ']' in an array, found '2'"},
      {"{1: 2}", "invalid JSON: expected a key in quotes, found '1'"},
      {"\"abc", "invalid JSON: a string is not closed"},
      {"\"a\tb\"", "invalid JSON: a control character must be escaped in a string"},
      {"\"\\x\"", "invalid JSON: invalid escape in a string"},
      {"\"\\u12G4\"", "invalid JSON: expected four hex digits after \\u"},
      {"\"\\ud800\"", "invalid JSON: a \\u escape names half of a surrogate pair, which UTF-8 cannot hold"},
      {"01", "invalid JSON: extra data after the JSON value"},
      {"1.", "invalid JSON: expected a digit after the decimal point"},
      {"1e+", "invalid JSON: expected a digit in the exponent"},
      {"tru", "invalid JSON: expected a value, found 't'"},
      {"\x01", "invalid JSON: expected a value, found byte 0x01"},
  };
  for (const auto& [text, message] : cases) {
    auto parsed = parse_json(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().message, message) << text;
  }
}

TEST(JsonParser, RejectsNestingPastItsLimit) {
  const std::string deep = std::string(600, '[') + std::string(600, ']');
  auto parsed = parse_json(deep);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "invalid JSON: nested deeper than 512 levels");
  EXPECT_TRUE(parse_json(std::string(500, '[') + std::string(500, ']')));
}

TEST(JsonParser, ReportsProgressForLongTexts) {
  std::string text = "[";
  for (int i = 0; i < 200000; ++i) {
    text += "\"a line of text that repeats\\n\",";
  }
  text += "1]";
  std::vector<std::size_t> offsets;
  ASSERT_TRUE(parse_json(text, [&](std::size_t offset) { offsets.push_back(offset); }));
  ASSERT_FALSE(offsets.empty());
  EXPECT_TRUE(std::is_sorted(offsets.begin(), offsets.end()));
  EXPECT_LE(offsets.back(), text.size());
}

TEST(JsonWriter, WritesLikePythonJsonDumps) {
  const Json value = parse(R"({"b": {}, "a": [], "c": {"z": null, "y": [false, "é"]}})");
  EXPECT_EQ(python_dumps(value),
            "{\n \"a\": [],\n \"b\": {},\n \"c\": {\n  \"y\": [\n   false,\n   \"é\"\n  ],\n  \"z\": null\n }\n}");
}

TEST(JsonWriter, EscapesLikePython) {
  EXPECT_EQ(python_dumps(Json(std::string("q\" b\\ \n\r\t\b\f \x01\x1f \x7f ü \xE2\x80\xA8"))),
            "\"q\\\" b\\\\ \\n\\r\\t\\b\\f \\u0001\\u001f \x7f ü \xE2\x80\xA8\"");
}

TEST(JsonWriter, LastOfEqualKeysWins) {
  EXPECT_EQ(python_dumps(parse(R"({"a": 1, "a": 2})")), "{\n \"a\": 2\n}");
}

TEST(JsonWriter, CompactForm) {
  EXPECT_EQ(JsonWriter::compact(parse(R"({"b": [1, "x"], "a": {"c": true}})")), R"({"a":{"c":true},"b":[1,"x"]})");
}

// The lines JsonWriter::lines() writes for `text`, read back.
std::vector<std::string> python_lines(std::string_view text) {
  std::string written;
  TextOutput out(written);
  JsonWriter(out, JsonWriter::Style::compact).lines(text);
  EXPECT_TRUE(out.flush());
  auto parsed = parse_json(written);
  std::vector<std::string> lines;
  EXPECT_TRUE(parsed && parsed->to_strings(lines)) << written;
  return lines;
}

TEST(PythonText, SplitsLinesLikeStrSplitlines) {
  using Lines = std::vector<std::string>;
  EXPECT_EQ(python_lines(""), Lines{});
  EXPECT_EQ(python_lines("a"), Lines{"a"});
  EXPECT_EQ(python_lines("a\nb\n"), (Lines{"a\n", "b\n"}));
  EXPECT_EQ(python_lines("a\r\nb\rc"), (Lines{"a\r\n", "b\r", "c"}));
  EXPECT_EQ(python_lines("a\vb\fc\x1c"
                         "d\x1d"
                         "e\x1e"
                         "f"),
            (Lines{"a\v", "b\f", "c\x1c", "d\x1d", "e\x1e", "f"}));
  EXPECT_EQ(python_lines("a\xC2\x85"
                         "b\xE2\x80\xA8"
                         "c\xE2\x80\xA9"
                         "d"),
            (Lines{"a\xC2\x85", "b\xE2\x80\xA8", "c\xE2\x80\xA9", "d"}));
  // Not line breaks: other characters that start with the same bytes.
  EXPECT_EQ(python_lines("é\xE2\x80\x94x"), Lines{"é\xE2\x80\x94x"});
}

}  // namespace
}  // namespace tejun::notebook
