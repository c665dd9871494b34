// A single-pass JSON parser over contiguous text. Strings are scanned 16 bytes at a time for
// the bytes that end the fast path (quote, backslash, control, non-ASCII), so the text of a
// notebook's outputs costs little more than a copy.
#include "notebook/json_parser.hpp"

#include "base/utf8.hpp"
#include "notebook/byte_scan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tejun::notebook {
namespace {

constexpr std::size_t kMaxDepth = 512;
constexpr std::size_t kProgressStep = std::size_t{4} << 20;

class Parser {
 public:
  Parser(std::string_view text, const JsonProgress& progress)
      : begin_(text.data()), at_(text.data()), end_(text.data() + text.size()), progress_(progress) {}

  base::Result<Json> parse() {
    constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
    if (std::string_view(at_, static_cast<std::size_t>(end_ - at_)).starts_with(kByteOrderMark)) {
      at_ += kByteOrderMark.size();
    }
    skip_space();
    Json value = parse_value(0);
    if (failed_) {
      return error_;
    }
    skip_space();
    if (at_ != end_) {
      fail("extra data after the JSON value");
      return error_;
    }
    return value;
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

  void skip_space() {
    while (at_ < end_ && is_space(*at_)) {
      ++at_;
    }
  }

  void fail(std::string_view message) { fail_at(at_, message); }

  void fail_at(const char* where, std::string_view message) {
    if (failed_) {
      return;
    }
    failed_ = true;
    const std::string_view before(begin_, static_cast<std::size_t>(where - begin_));
    error_ = base::make_error(base::ErrorCode::parse_error, fmt::format("invalid JSON: {}", message));
    error_.where.line = static_cast<std::uint64_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::size_t line_start = before.rfind('\n');
    error_.where.column = line_start == std::string_view::npos ? before.size() + 1 : before.size() - line_start;
  }

  std::string describe_here() const {
    if (at_ >= end_) {
      return "the end of the text";
    }
    const auto c = static_cast<unsigned char>(*at_);
    return (c >= 0x20 && c < 0x7F) ? fmt::format("'{}'", *at_) : fmt::format("byte 0x{:02X}", c);
  }

  void report_progress() {
    const auto offset = static_cast<std::size_t>(at_ - begin_);
    if (progress_ && offset >= next_progress_) {
      progress_(offset);
      next_progress_ = offset + kProgressStep;
    }
  }

  Json parse_value(std::size_t depth) {
    if (at_ >= end_) {
      fail("expected a value, found the end of the text");
      return {};
    }
    switch (*at_) {
      case '{':
        return parse_object(depth + 1);
      case '[':
        return parse_array(depth + 1);
      case '"': {
        std::string text;
        parse_string(text);
        return Json(std::move(text));
      }
      case 't':
        return parse_literal("true", Json(true));
      case 'f':
        return parse_literal("false", Json(false));
      case 'n':
        return parse_literal("null", Json(nullptr));
      case 'N':
        return parse_literal("NaN", Json(JsonNumber{"NaN"}));
      case 'I':
        return parse_literal("Infinity", Json(JsonNumber{"Infinity"}));
      default:
        return parse_number();
    }
  }

  Json parse_literal(std::string_view word, Json value) {
    if (static_cast<std::size_t>(end_ - at_) < word.size() || std::string_view(at_, word.size()) != word) {
      fail(fmt::format("expected a value, found {}", describe_here()));
      return {};
    }
    at_ += word.size();
    return value;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  Json parse_number() {
    const char* start = at_;
    if (at_ < end_ && *at_ == '-') {
      ++at_;
      if (at_ < end_ && *at_ == 'I') {
        (void)parse_literal("Infinity", Json());
        return failed_ ? Json() : Json(JsonNumber{"-Infinity"});
      }
    }
    if (at_ >= end_ || !is_digit(*at_)) {
      fail(fmt::format("expected a value, found {}", describe_here()));
      return {};
    }
    if (*at_ == '0') {
      ++at_;
    } else {
      while (at_ < end_ && is_digit(*at_)) {
        ++at_;
      }
    }
    if (at_ < end_ && *at_ == '.') {
      ++at_;
      if (at_ >= end_ || !is_digit(*at_)) {
        fail("expected a digit after the decimal point");
        return {};
      }
      while (at_ < end_ && is_digit(*at_)) {
        ++at_;
      }
    }
    if (at_ < end_ && (*at_ == 'e' || *at_ == 'E')) {
      ++at_;
      if (at_ < end_ && (*at_ == '+' || *at_ == '-')) {
        ++at_;
      }
      if (at_ >= end_ || !is_digit(*at_)) {
        fail("expected a digit in the exponent");
        return {};
      }
      while (at_ < end_ && is_digit(*at_)) {
        ++at_;
      }
    }
    return Json(JsonNumber{std::string(start, at_)});
  }

  // After an array's or object's opening bracket: whether parsing goes on into its elements
  // (false when it is empty, or nested too deep, which fails).
  bool open_container(std::size_t depth, char closing) {
    if (depth > kMaxDepth) {
      fail(fmt::format("nested deeper than {} levels", kMaxDepth));
      return false;
    }
    ++at_;  // the opening bracket
    skip_space();
    if (at_ < end_ && *at_ == closing) {
      ++at_;
      return false;
    }
    return true;
  }

  enum class Next : std::uint8_t { element, end, failed };

  // After an element: a comma (another element follows) or the closing bracket.
  Next after_element(char closing, std::string_view container) {
    skip_space();
    if (at_ < end_ && *at_ == ',') {
      ++at_;
      skip_space();
      report_progress();
      return Next::element;
    }
    if (at_ < end_ && *at_ == closing) {
      ++at_;
      return Next::end;
    }
    fail(fmt::format("expected ',' or '{}' in {}, found {}", closing, container, describe_here()));
    return Next::failed;
  }

  Json parse_array(std::size_t depth) {
    if (!open_container(depth, ']')) {
      return failed_ ? Json() : Json(JsonArray{});
    }
    // Arrays of strings (a notebook's lines) are kept in one buffer until another kind of
    // element turns up.
    JsonStringArray strings;
    JsonArray general;
    bool all_strings = true;
    while (true) {
      if (all_strings && at_ < end_ && *at_ == '"') {
        parse_string(strings.open_buffer());
        strings.close_element();
      } else {
        if (all_strings) {
          all_strings = false;
          general.reserve(strings.size() + 1);
          for (std::size_t i = 0; i < strings.size(); ++i) {
            general.emplace_back(std::string(strings[i]));
          }
          strings = JsonStringArray{};
        }
        general.push_back(parse_value(depth));
      }
      if (failed_) {
        return {};
      }
      const Next next = after_element(']', "an array");
      if (next == Next::failed) {
        return {};
      }
      if (next == Next::end) {
        break;
      }
    }
    return all_strings ? Json(std::move(strings)) : Json(std::move(general));
  }

  Json parse_object(std::size_t depth) {
    JsonObject object;
    if (!open_container(depth, '}')) {
      return failed_ ? Json() : Json(std::move(object));
    }
    while (true) {
      if (at_ >= end_ || *at_ != '"') {
        fail(fmt::format("expected a key in quotes, found {}", describe_here()));
        return {};
      }
      std::string key;
      parse_string(key);
      if (failed_) {
        return {};
      }
      skip_space();
      if (at_ >= end_ || *at_ != ':') {
        fail(fmt::format("expected ':' after a key, found {}", describe_here()));
        return {};
      }
      ++at_;
      skip_space();
      Json value = parse_value(depth);
      if (failed_) {
        return {};
      }
      object.emplace_back(std::move(key), std::move(value));
      const Next next = after_element('}', "an object");
      if (next == Next::failed) {
        return {};
      }
      if (next == Next::end) {
        break;
      }
    }
    keep_last_of_repeated_keys(object);
    return Json(std::move(object));
  }

  void parse_string(std::string& sink) {
    const char* opening = at_;
    ++at_;  // '"'
    while (true) {
      const std::size_t run = plain_json_run(at_, end_);
      sink.append(at_, run);
      at_ += run;
      if (at_ >= end_) {
        fail_at(opening, "a string is not closed");
        return;
      }
      const auto c = static_cast<unsigned char>(*at_);
      if (c == '"') {
        ++at_;
        return;
      }
      if (c == '\\') {
        if (!parse_escape(sink)) {
          return;
        }
      } else if (c < 0x20) {
        fail("a control character must be escaped in a string");
        return;
      } else if (!copy_utf8_sequence(sink)) {
        return;
      }
    }
  }

  // One UTF-8 sequence at at_ (its lead byte is non-ASCII), checked the way Python decodes.
  bool copy_utf8_sequence(std::string& sink) {
    const std::size_t length = base::utf8_sequence_length(
        std::string_view(at_, std::min<std::size_t>(4, static_cast<std::size_t>(end_ - at_))));
    if (length == 0) {
      fail("invalid UTF-8 in a string (a notebook must be UTF-8)");
      return false;
    }
    sink.append(at_, length);
    at_ += length;
    return true;
  }

  bool read_hex4(const char* at, std::uint32_t& value) {
    if (end_ - at < 4) {
      return false;
    }
    value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = at[i];
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    return true;
  }

  static void append_utf8(std::string& sink, std::uint32_t code_point) {
    std::array<char, 4> bytes{};
    sink.append(bytes.data(), base::encode_utf8(code_point, bytes));
  }

  bool parse_escape(std::string& sink) {
    const char* escape = at_;
    if (end_ - at_ < 2) {
      fail_at(escape, "a string is not closed");
      return false;
    }
    const char kind = at_[1];
    at_ += 2;
    // Pairs of (letter, byte) for the short escapes.
    static constexpr std::string_view kShort = "\"\"\\\\//b\bf\fn\nr\rt\t";
    if (kind != 'u') {
      for (std::size_t i = 0; i < kShort.size(); i += 2) {
        if (kShort[i] == kind) {
          sink.push_back(kShort[i + 1]);
          return true;
        }
      }
      fail_at(escape, "invalid escape in a string");
      return false;
    }
    std::uint32_t unit = 0;
    if (!read_hex4(at_, unit)) {
      fail_at(escape, "expected four hex digits after \\u");
      return false;
    }
    at_ += 4;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      std::uint32_t low = 0;
      if (end_ - at_ >= 6 && at_[0] == '\\' && at_[1] == 'u' && read_hex4(at_ + 2, low) && low >= 0xDC00 &&
          low <= 0xDFFF) {
        at_ += 6;
        append_utf8(sink, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
        return true;
      }
      unit = 0xDC00;  // a lone high surrogate: reported below
    }
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      fail_at(escape, "a \\u escape names half of a surrogate pair, which UTF-8 cannot hold");
      return false;
    }
    append_utf8(sink, unit);
    return true;
  }

  const char* begin_;
  const char* at_;
  const char* end_;
  const JsonProgress& progress_;
  std::size_t next_progress_ = kProgressStep;
  bool failed_ = false;
  base::Error error_;
};

}  // namespace

base::Result<Json> parse_json(std::string_view text, const JsonProgress& progress) {
  return Parser(text, progress).parse();
}

}  // namespace tejun::notebook
