#include "base/error.hpp"

#include <gtest/gtest.h>

#include "base/result.hpp"
#include "base/utf8.hpp"

namespace tejun::base {
namespace {

TEST(Error, NamesFileLineAndColumn) {
  Error error = make_error(ErrorCode::parse_error, "expected ','");
  error.where.line = 3;
  error.where.column = 7;
  EXPECT_EQ(error.to_string(), "line 3:7: expected ','");
  EXPECT_EQ(error.in_file("a.ipynb").to_string(), "a.ipynb:3:7: expected ','");
}

TEST(Error, NamesJsonPointer) {
  Error error = make_error(ErrorCode::schema_error, "expected a string");
  error.where.pointer = "/cells/2/source";
  EXPECT_EQ(error.in_file("a.ipynb").to_string(), "a.ipynb: at /cells/2/source: expected a string");
  EXPECT_EQ(error.to_string(), "at /cells/2/source: expected a string");
}

TEST(Result, ValueOfAnErrorThrowsWithTheMessage) {
  Result<int> result = make_error(ErrorCode::not_found, "no such runbook");
  ASSERT_FALSE(result);
  EXPECT_THROW((void)result.value(), ErrorException);
}

TEST(Utf8, AcceptsValidText) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("手順 ✓ ü \xF0\x9F\x98\x80"), std::string_view::npos);
}

TEST(Utf8, FindsTheFirstBadByte) {
  EXPECT_EQ(find_invalid_utf8("ab\xFF"), 2U);
  EXPECT_EQ(find_invalid_utf8("a\xC0\xAF"), 1U);         // overlong '/'
  EXPECT_EQ(find_invalid_utf8("\xED\xA0\x80"), 0U);      // a surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0U);  // past U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ok\xE6\x89"), 2U);        // cut short
}

}  // namespace
}  // namespace tejun::base
