#include "notebook/python_text.hpp"

#include <array>
#include <cstdint>

#include "notebook/byte_scan.hpp"

namespace tejun::notebook {
namespace {

// The ASCII line breaks of str.splitlines().
constexpr std::array<bool, 128> kAsciiLineBreak = [] {
  std::array<bool, 128> table{};
  for (std::size_t c : {0x0AU, 0x0BU, 0x0CU, 0x0DU, 0x1CU, 0x1DU, 0x1EU}) {
    table[c] = true;
  }
  return table;
}();

// Appends the escape json.dumps writes for byte `c` (a control character, '"' or '\\').
void append_escape(TextOutput& out, std::uint8_t c) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Pairs of (byte, letter) that have a short escape.
  static constexpr std::string_view kShort = "\"\"\\\\\nn\rr\tt\bb\ff";
  for (std::size_t i = 0; i < kShort.size(); i += 2) {
    if (static_cast<std::uint8_t>(kShort[i]) == c) {
      const std::array<char, 2> escape{'\\', kShort[i + 1]};
      out.append(std::string_view(escape.data(), escape.size()));
      return;
    }
  }
  const std::array<char, 6> escape{'\\', 'u', '0', '0', kHex[c >> 4U], kHex[c & 0xFU]};
  out.append(std::string_view(escape.data(), escape.size()));
}

// Length of the non-ASCII line break (U+0085, U+2028, U+2029) that starts `text`, or 0.
std::size_t unicode_line_break(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  if (text.size() >= 2 && byte(0) == 0xC2 && byte(1) == 0x85) {
    return 2;
  }
  if (text.size() >= 3 && byte(0) == 0xE2 && byte(1) == 0x80 && (byte(2) == 0xA8 || byte(2) == 0xA9)) {
    return 3;
  }
  return 0;
}

// Writes `text` as JSON string content up to its end or, when `stop_at_line_break`, up to
// and including the first line break; returns the bytes consumed.
std::size_t append_json_content(TextOutput& out, std::string_view text, bool stop_at_line_break) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t run = plain_json_run(text.data() + at, text.data() + text.size());
    out.append(text.substr(at, run));
    at += run;
    if (at >= text.size()) {
      break;
    }
    const auto c = static_cast<std::uint8_t>(text[at]);
    if (c < 0x80) {
      append_escape(out, c);
      ++at;
      if (stop_at_line_break && kAsciiLineBreak[c]) {
        if (c == '\r' && at < text.size() && text[at] == '\n') {
          append_escape(out, '\n');
          ++at;
        }
        break;
      }
      continue;
    }
    // Non-ASCII bytes are written as they are (ensure_ascii=False).
    const std::size_t line_break = unicode_line_break(text.substr(at));
    const std::size_t length = line_break > 0 ? line_break : 1;
    out.append(text.substr(at, length));
    at += length;
    if (stop_at_line_break && line_break > 0) {
      break;
    }
  }
  return at;
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
