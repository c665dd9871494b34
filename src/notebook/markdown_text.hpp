// Line handling shared by the Markdown reader and writer. Lines end as CommonMark says:
// \n, \r\n or a lone \r.
#pragma once

#include <string_view>
#include <vector>

namespace tejun::notebook {

// `text` split into lines, each with its line break.
[[nodiscard]] std::vector<std::string_view> split_lines(std::string_view text);
// `line` without its final line break.
[[nodiscard]] std::string_view without_line_break(std::string_view line);
// `text` without surrounding spaces, tabs and line breaks.
[[nodiscard]] std::string_view trim(std::string_view text);
[[nodiscard]] inline bool is_blank(std::string_view line) {
  return trim(line).empty();
}

}  // namespace tejun::notebook
