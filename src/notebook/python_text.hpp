// Text rules of Python that Jupyter's files follow: str.splitlines(keepends=True), which
// nbformat uses to split multi-line strings, and json.dumps' string escaping.
#pragma once

#include <cstddef>
#include <string_view>

#include "notebook/text_output.hpp"

namespace tejun::notebook {

// Appends `text` as a JSON string the way json.dumps(ensure_ascii=False) writes it.
void append_python_json_string(TextOutput& out, std::string_view text);

// Appends the first line of `text` as a JSON string, in the same pass; returns its length.
// Lines end as Python's str.splitlines(True) ends them: \n, \r, \r\n, \v, \f, \x1c, \x1d,
// \x1e, U+0085, U+2028, U+2029.
std::size_t append_python_json_line(TextOutput& out, std::string_view text);

}  // namespace tejun::notebook
