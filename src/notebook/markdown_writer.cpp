// The model → Markdown: front matter, prose as it is, each code cell a fenced block whose
// info string carries its language and attributes. Outputs are not part of this form.
#include "notebook/markdown.hpp"

#include <algorithm>

#include "notebook/markdown_text.hpp"
#include "notebook/step_attributes.hpp"
#include "notebook/yaml_json.hpp"

namespace tejun::notebook {
namespace {

// The language of a code cell without one of its own: the notebook's language, else shell.
std::string default_language(const Notebook& notebook) {
  for (std::string_view key : {"language_info", "kernelspec"}) {
    const Json* info = find_member(notebook.metadata, key);
    if (info == nullptr || !info->is_object()) {
      continue;
    }
    const Json* name = find_member(info->as_object(), key == "language_info" ? "name" : "language");
    if (name != nullptr && name->is_string() && !name->as_string().empty()) {
      return name->as_string();
    }
  }
  return "sh";
}

// The cell's own language (empty if it has none) and attributes.
StepInfo step_info_of(const Cell& cell) {
  StepInfo step;
  if (cell.type == CellType::raw) {
    step.language = std::string(kRawCellLanguage);
    return step;
  }
  const Json* tejun = find_member(cell.metadata, kTejunMetadataKey);
  if (tejun == nullptr || !tejun->is_object()) {
    return step;
  }
  if (const Json* language = find_member(tejun->as_object(), "language"); language && language->is_string()) {
    step.language = language->as_string();
  }
  if (const Json* attributes = find_member(tejun->as_object(), "attributes"); attributes && attributes->is_object()) {
    step.attributes = attributes->as_object();
  }
  return step;
}

// Whether `line` would close (or be mistaken for) a fence made of `fence_char`.
std::size_t fence_run(std::string_view line, char fence_char) {
  const std::size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos || start > 3) {
    return 0;
  }
  const std::size_t end = line.find_first_not_of(fence_char, start);
  return (end == std::string_view::npos ? line.size() : end) - start;
}

// The cell's own fence if nothing in its code would close it, else a fence longer than any
// run of its character that starts a line of the code.
std::string choose_fence(const Cell& cell, std::string_view info) {
  // A backtick fence's info string cannot hold a backtick (CommonMark): use tildes then.
  char fence_char = cell.markdown_fence.empty() ? '`' : cell.markdown_fence[0];
  if (info.find('`') != std::string_view::npos) {
    fence_char = '~';
  }
  std::size_t longest = 0;
  for (std::string_view line : split_lines(cell.source)) {
    longest = std::max(longest, fence_run(without_line_break(line), fence_char));
  }
  if (!cell.markdown_fence.empty() && cell.markdown_fence[0] == fence_char && cell.markdown_fence.size() > longest) {
    return cell.markdown_fence;
  }
  return std::string(std::max<std::size_t>(3, longest + 1), fence_char);
}

void write_step(TextOutput& out, const Cell& cell, const std::string& fallback_language) {
  StepInfo step = step_info_of(cell);
  std::string info;
  auto original = parse_step_info(cell.markdown_info);
  if (!cell.markdown_fence.empty() && original && original->language == step.language &&
      original->attributes == step.attributes) {
    info = cell.markdown_info;  // as read, while it still says what the cell says
  } else {
    if (step.language.empty()) {
      step.language = fallback_language;
    }
    info = format_step_info(step);
  }
  const std::string fence = choose_fence(cell, info);
  out.append(fence);
  if (info.starts_with(fence[0])) {
    out.push_back(' ');  // else the info string's first characters would lengthen the fence
  }
  out.append(info);
  out.push_back('\n');
  out.append(cell.source);
  if (!cell.source.empty()) {
    // After a lone \r, a \n would join it into one line break and the code would lose it.
    out.push_back(cell.source.ends_with('\r') ? '\r' : '\n');
  }
  out.append(fence);
  out.push_back('\n');
}

// Returns whether it wrote front matter.
bool write_front_matter(const Notebook& notebook, TextOutput& out) {
  const JsonObject front_matter = front_matter_of(notebook);
  if (!notebook.markdown_front_matter.empty()) {
    // The front matter as read, while it still says what the metadata says.
    Notebook as_read;
    const std::string_view source = notebook.markdown_front_matter;
    const std::vector<std::string_view> lines = split_lines(source);
    std::string yaml;
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
      yaml.append(lines[i]);
    }
    auto mapping = parse_yaml_mapping(yaml);
    if (mapping) {
      apply_front_matter(as_read, std::move(*mapping));
      if (front_matter_of(as_read) == front_matter) {
        // The closing line's own break is the writer's, like the blank line after it: a lone
        // \r followed by \n would read as one line break, not two.
        out.append(without_line_break(source));
        out.append("\n\n");
        return true;
      }
    }
  }
  if (front_matter.empty()) {
    return false;
  }
  out.append("---\n");
  out.append(emit_yaml_mapping(front_matter));
  out.append("---\n\n");
  return true;
}

// Whether prose starts with a line that a reader would take for the start of front matter.
bool looks_like_front_matter(std::string_view prose) {
  const std::vector<std::string_view> lines = split_lines(prose);
  return !lines.empty() && trim(lines[0]) == "---" && lines[0].starts_with("---");
}

}  // namespace

void write_markdown(const Notebook& notebook, TextOutput& out) {
  const bool has_front_matter = write_front_matter(notebook, out);
  const std::string fallback_language = default_language(notebook);
  const Cell* previous = nullptr;
  for (const Cell& cell : notebook.cells) {
    if (cell.type == CellType::unknown) {
      continue;  // no Markdown form
    }
    if (previous != nullptr) {
      out.push_back('\n');
      if (previous->type == CellType::markdown && cell.type == CellType::markdown) {
        out.append(kCellSeparator);
        out.append("\n\n");
      }
    }
    if (cell.type == CellType::markdown) {
      // Trailing line breaks are dropped: the blank line between cells is the writer's.
      std::string_view prose = cell.source;
      while (prose.ends_with('\n') || prose.ends_with('\r')) {
        prose.remove_suffix(1);
      }
      if (previous == nullptr && !has_front_matter && looks_like_front_matter(prose)) {
        out.push_back('\n');  // prose, not front matter: front matter starts on the first line
      }
      out.append(prose);
      out.push_back('\n');
    } else {
      write_step(out, cell, fallback_language);
    }
    previous = &cell;
  }
}

std::string to_markdown(const Notebook& notebook) {
  std::string text;
  TextOutput out(text);
  write_markdown(notebook, out);
  (void)out.flush();  // a string sink cannot fail
  return text;
}

}  // namespace tejun::notebook
