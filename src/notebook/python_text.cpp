#include "notebook/python_text.hpp"

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

// Bytes json.dumps escapes: control characters, the quote and the backslash.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> table{};
  for (unsigned c = 0; c < 0x20; ++c) {
    table[c] = true;
  }
  table['"'] = true;
  table['\\'] = true;
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

void append_python_json_string(TextOutput& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::uint8_t c = byte_at(text, i);
    if (!kNeedsEscape[c]) {
      continue;
    }
    out.append(text.substr(run_start, i - run_start));
    run_start = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        const std::array<char, 6> escape{'\\', 'u', '0', '0', kHex[c >> 4U], kHex[c & 0xFU]};
        out.append(std::string_view(escape.data(), escape.size()));
      }
    }
  }
  out.append(text.substr(run_start));
  out.push_back('"');
}

}  // namespace tejun::notebook
