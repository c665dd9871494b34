#include "notebook/runbook_file.hpp"

#include <fmt/format.h>
#include <filesystem>

#include "notebook/file_io.hpp"
#include "notebook/ipynb.hpp"
#include "notebook/markdown.hpp"

namespace tejun::notebook {

base::Result<RunbookFormat> format_of(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".ipynb") {
    return RunbookFormat::ipynb;
  }
  if (extension == ".md" || extension == ".markdown") {
    return RunbookFormat::markdown;
  }
  base::Error error =
      base::make_error(base::ErrorCode::invalid_argument,
                       fmt::format("unknown runbook format '{}': expected .ipynb, .md or .markdown", extension));
  error.where.path = path;
  return error;
}

base::Result<Notebook> read_runbook(const std::string& path) {
  auto format = format_of(path);
  if (!format) {
    return format.error();
  }
  return *format == RunbookFormat::ipynb ? read_ipynb_file(path) : read_markdown_file(path);
}

base::Result<void> write_runbook(const Notebook& notebook, const std::string& path, Durability durability) {
  auto format = format_of(path);
  if (!format) {
    return format.error();
  }
  return write_file_atomically(
      path,
      [&](TextOutput& out) {
        if (*format == RunbookFormat::ipynb) {
          write_ipynb(notebook, out);
        } else {
          write_markdown(notebook, out);
        }
      },
      durability);
}

base::Result<void> convert_runbook(const std::string& input, const std::string& output) {
  // Both formats are checked before anything is read, so a bad output name costs nothing.
  if (auto format = format_of(output); !format) {
    return format.error();
  }
  auto notebook = read_runbook(input);
  if (!notebook) {
    return notebook.error();
  }
  return write_runbook(*notebook, output);
}

}  // namespace tejun::notebook
