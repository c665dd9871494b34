// The Markdown form of a runbook (CommonMark + GFM): YAML front matter for the title, kernel
// and parameters; each top-level fenced code block is a step; everything else is prose,
// kept byte for byte.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notebook/notebook.hpp"
#include "notebook/text_output.hpp"

namespace tejun::notebook {

// Where tejun keeps its own data in notebook and cell metadata.
inline constexpr std::string_view kTejunMetadataKey = "tejun";
// A prose line that separates two prose cells that follow each other.
inline constexpr std::string_view kCellSeparator = "<!-- cell -->";
// The fence language that marks a raw cell.
inline constexpr std::string_view kRawCellLanguage = "raw";

[[nodiscard]] base::Result<Notebook> read_markdown(std::string_view text);
[[nodiscard]] base::Result<Notebook> read_markdown_file(const std::string& path);

void write_markdown(const Notebook& notebook, TextOutput& out);
[[nodiscard]] std::string to_markdown(const Notebook& notebook);

// The front matter that `notebook`'s metadata stands for (title, kernel, parameters, the
// rest), in that order.
[[nodiscard]] JsonObject front_matter_of(const Notebook& notebook);
// Puts front matter into `notebook`'s metadata: the inverse of front_matter_of().
void apply_front_matter(Notebook& notebook, JsonObject&& front_matter);

}  // namespace tejun::notebook
