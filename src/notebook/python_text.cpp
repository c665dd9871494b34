#include "notebook/python_text.hpp"

#include "notebook/byte_scan.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace tejun::notebook {
namespace {

// Bytes that may start a line break (0xC2 and 0xE2 only with the right continuation).
constexpr std::array<bool, 256> kLineBreakStart = [] {
  std::array<bool, 256> table{};
  for (std::size_t c : {0x0AU, 0x0BU, 0x0CU, 0x0DU, 0x1CU, 0x1DU, 0x1EU, 0xC2U, 0xE2U}) {
    table[c] = true;
  }
  return table;
}();

std::uint8_t byte_at(std::string_view text, std::size_t index) {
  return static_cast<std::uint8_t>(text[index]);
}

}  // namespace

std::size_t python_line_length(std::string_view text) noexcept {
  const std::size_t size = text.size();
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t c = byte_at(text, i);
    if (!kLineBreakStart[c]) {
      continue;
    }
    switch (c) {
      case 0x0D:
        return (i + 1 < size && text[i + 1] == '\n') ? i + 2 : i + 1;
      case 0xC2:  // U+0085 NEXT LINE
        if (i + 1 < size && byte_at(text, i + 1) == 0x85) {
          return i + 2;
        }
        break;
      case 0xE2:  // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR
        if (i + 2 < size && byte_at(text, i + 1) == 0x80 &&
            (byte_at(text, i + 2) == 0xA8 || byte_at(text, i + 2) == 0xA9)) {
          return i + 3;
        }
        break;
      default:
        return i + 1;
    }
  }
  return size;
}

namespace {

// Appends the escape json.dumps writes for byte `c` (a control character, '"' or '\\').
void append_escape(TextOutput& out, std::uint8_t c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out.append("\\\"");
      return;
    case '\\':
      out.append("\\\\");
      return;
    case '\n':
      out.append("\\n");
      return;
    case '\r':
      out.append("\\r");
      return;
    case '\t':
      out.append("\\t");
      return;
    case '\b':
      out.append("\\b");
      return;
    case '\f':
      out.append("\\f");
      return;
    default: {
      const std::array<char, 6> escape{'\\', 'u', '0', '0', kHex[c >> 4U], kHex[c & 0xFU]};
      out.append(std::string_view(escape.data(), escape.size()));
    }
  }
}

// Writes `text` as JSON string content up to its end or, when `stop_at_line_break`, up to
// and including the first line break; returns the bytes consumed.
std::size_t append_json_content(TextOutput& out, std::string_view text, bool stop_at_line_break) {
  const char* at = text.data();
  const char* end = at + text.size();
  while (at < end) {
    const std::size_t run = plain_json_run(at, end);
    out.append(std::string_view(at, run));
    at += run;
    if (at >= end) {
      break;
    }
    const auto c = static_cast<std::uint8_t>(*at);
    if (c < 0x80) {
      append_escape(out, c);
      ++at;
      if (stop_at_line_break && kLineBreakStart[c]) {
        if (c == '\r' && at < end && *at == '\n') {
          append_escape(out, '\n');
          ++at;
        }
        break;
      }
      continue;
    }
    // Non-ASCII bytes are written as they are; U+0085, U+2028 and U+2029 end a line.
    const auto remaining = static_cast<std::size_t>(end - at);
    std::size_t length = 1;
    bool line_break = false;
    if (c == 0xC2 && remaining >= 2 && byte_at(text, text.size() - remaining + 1) == 0x85) {
      length = 2;
      line_break = true;
    } else if (c == 0xE2 && remaining >= 3 && byte_at(text, text.size() - remaining + 1) == 0x80) {
      const std::uint8_t third = byte_at(text, text.size() - remaining + 2);
      line_break = third == 0xA8 || third == 0xA9;
      length = line_break ? 3 : 1;
    }
    out.append(std::string_view(at, length));
    at += length;
    if (stop_at_line_break && line_break) {
      break;
    }
  }
  return static_cast<std::size_t>(at - text.data());
}

}  // namespace

void append_python_json_string(TextOutput& out, std::string_view text) {
  out.push_back('"');
  append_json_content(out, text, false);
  out.push_back('"');
}

std::size_t append_python_json_line(TextOutput& out, std::string_view text) {
  out.push_back('"');
  const std::size_t length = append_json_content(out, text, true);
  out.push_back('"');
  return length;
}

}  // namespace tejun::notebook
