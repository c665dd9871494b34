// The .ipynb form (nbformat 4.0–4.5): reading into the model and writing it back the way
// Jupyter writes it.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notebook/json.hpp"
#include "notebook/notebook.hpp"
#include "notebook/text_output.hpp"

namespace tejun::notebook {

// Builds the model from a parsed notebook, taking its strings. Errors carry a JSON pointer.
[[nodiscard]] base::Result<Notebook> notebook_from_json(Json&& root);

[[nodiscard]] base::Result<Notebook> read_ipynb(std::string_view text);
[[nodiscard]] base::Result<Notebook> read_ipynb_file(const std::string& path);

// json.dumps(indent=1, sort_keys=True, ensure_ascii=False) of nbformat's on-disk form, with
// the trailing newline nbformat.write adds.
void write_ipynb(const Notebook& notebook, TextOutput& out);
[[nodiscard]] std::string to_ipynb(const Notebook& notebook);

}  // namespace tejun::notebook
