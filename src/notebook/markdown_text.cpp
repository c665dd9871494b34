#include "notebook/markdown_text.hpp"

#include "base/text.hpp"

namespace tejun::notebook {

// The input split into lines, each with its line break: \n, \r\n or a lone \r, as
// CommonMark counts lines (cmark's line numbers index this list).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find_first_of("\r\n");
    std::size_t length = text.size();
    if (end != std::string_view::npos) {
      length = (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? end + 2 : end + 1;
    }
    lines.push_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  return lines;
}

std::string_view without_line_break(std::string_view line) {
  if (line.ends_with('\n')) {
    line.remove_suffix(1);
  }
  if (line.ends_with('\r')) {
    line.remove_suffix(1);
  }
  return line;
}

std::string_view trim(std::string_view text) {
  return base::trim(text);
}

}  // namespace tejun::notebook
