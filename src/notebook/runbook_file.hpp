// Runbook files by extension: .ipynb or Markdown (.md, .markdown).
#pragma once

#include <string>

#include "base/result.hpp"
#include "notebook/file_io.hpp"
#include "notebook/notebook.hpp"

namespace tejun::notebook {

enum class RunbookFormat : std::uint8_t { ipynb, markdown };

// The format a path's extension names; an error for any other extension.
[[nodiscard]] base::Result<RunbookFormat> format_of(const std::string& path);

[[nodiscard]] base::Result<Notebook> read_runbook(const std::string& path);
// Replaces `path` atomically with `notebook` in the format its extension names.
[[nodiscard]] base::Result<void> write_runbook(const Notebook& notebook, const std::string& path,
                                               Durability durability = Durability::synced);
// Reads `input` and writes it to `output`, each in the format of its extension.
[[nodiscard]] base::Result<void> convert_runbook(const std::string& input, const std::string& output);

}  // namespace tejun::notebook
