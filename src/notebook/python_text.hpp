// Text rules of Python that Jupyter's files follow: str.splitlines(keepends=True), which
// nbformat uses to split multi-line strings, and json.dumps' string escaping.
#pragma once

#include <cstddef>
#include <string_view>

#include "notebook/text_output.hpp"

namespace tejun::notebook {

// Length of the line that starts `text`, its line break included (\n, \r, \r\n, \v, \f,
// \x1c, \x1d, \x1e, U+0085, U+2028, U+2029), as Python's str.splitlines(True) cuts it.
[[nodiscard]] std::size_t python_line_length(std::string_view text) noexcept;

// Calls `visit(line)` for each line of `text` as str.splitlines(True) gives them.
template <class Visitor>
void for_each_python_line(std::string_view text, Visitor&& visit) {
  while (!text.empty()) {
    const std::size_t length = python_line_length(text);
    visit(text.substr(0, length));
    text.remove_prefix(length);
  }
}

// Appends `text` as a JSON string the way json.dumps(ensure_ascii=False) writes it.
void append_python_json_string(TextOutput& out, std::string_view text);

// Appends the first line of `text` (as python_line_length() cuts it) as a JSON string, in
// the same pass; returns its length.
std::size_t append_python_json_line(TextOutput& out, std::string_view text);

}  // namespace tejun::notebook
