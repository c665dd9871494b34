// Markdown → the model. cmark-gfm finds the top-level fenced code blocks (the steps); the
// text between them is sliced from the input as it is, so prose keeps its exact bytes.
#include "notebook/markdown.hpp"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "base/utf8.hpp"
#include "notebook/file_io.hpp"
#include "notebook/markdown_text.hpp"
#include "notebook/step_attributes.hpp"
#include "notebook/yaml_json.hpp"

namespace tejun::notebook {
namespace {

using base::ErrorCode;
using base::Result;

using CmarkParser = std::unique_ptr<cmark_parser, decltype(&cmark_parser_free)>;
using CmarkNode = std::unique_ptr<cmark_node, decltype(&cmark_node_free)>;

struct FrontMatter {
  std::string yaml;            // between the delimiters
  std::string source;          // the whole block, delimiters included
  std::size_t line_count = 0;  // lines it takes, delimiters included
};

// Front matter is a first line "---", YAML, and a line "---" or "...".
Result<FrontMatter> split_front_matter(const std::vector<std::string_view>& lines) {
  FrontMatter front_matter;
  if (lines.empty() || trim(lines[0]) != "---" || !lines[0].starts_with("---")) {
    return front_matter;
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view bare = without_line_break(lines[i]);
    if (bare == "---" || bare == "...") {
      front_matter.line_count = i + 1;
      for (std::size_t j = 0; j <= i; ++j) {
        front_matter.source.append(lines[j]);
        if (j > 0 && j < i) {
          front_matter.yaml.append(lines[j]);
        }
      }
      return front_matter;
    }
  }
  base::Error error =
      base::make_error(ErrorCode::parse_error, "front matter is not closed: expected a line '---' after the YAML");
  error.where.line = 1;
  error.where.column = 1;
  return error;
}

struct Step {
  std::size_t first_line;  // 0-based, the opening fence
  std::size_t last_line;   // 0-based, the closing fence (or the last line of an unclosed block)
  std::string fence;
  std::string info;
  std::size_t indent;
};

struct Blocks {
  std::vector<Step> steps;
  std::vector<std::size_t> separators;  // 0-based lines holding kCellSeparator
};

Blocks find_blocks(std::string_view body, const std::vector<std::string_view>& lines, std::size_t line_offset) {
  cmark_gfm_core_extensions_ensure_registered();
  CmarkParser parser(cmark_parser_new(CMARK_OPT_DEFAULT), &cmark_parser_free);
  for (const char* name : {"table", "strikethrough", "autolink", "tagfilter", "tasklist"}) {
    if (cmark_syntax_extension* extension = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(parser.get(), extension);
    }
  }
  cmark_parser_feed(parser.get(), body.data(), body.size());
  CmarkNode document(cmark_parser_finish(parser.get()), &cmark_node_free);
  Blocks blocks;
  for (cmark_node* node = cmark_node_first_child(document.get()); node != nullptr; node = cmark_node_next(node)) {
    const auto first = static_cast<std::size_t>(cmark_node_get_start_line(node)) - 1 + line_offset;
    const auto last = static_cast<std::size_t>(cmark_node_get_end_line(node)) - 1 + line_offset;
    const cmark_node_type type = cmark_node_get_type(node);
    if (type == CMARK_NODE_HTML_BLOCK) {
      const char* literal = cmark_node_get_literal(node);
      if (literal != nullptr && trim(literal) == kCellSeparator) {
        blocks.separators.push_back(first);
      }
      continue;
    }
    if (type != CMARK_NODE_CODE_BLOCK) {
      continue;
    }
    int fence_length = 0;
    int fence_offset = 0;
    char fence_char = 0;
    if (cmark_node_get_fenced(node, &fence_length, &fence_offset, &fence_char) == 0) {
      continue;  // an indented code block is prose
    }
    // The info string as written: cmark's copy has backslash escapes already undone, which
    // would change quoted attribute values.
    const std::string_view opening = without_line_break(lines[first]);
    const std::size_t fence_end = opening.find_first_not_of(fence_char, opening.find(fence_char));
    const std::string_view info =
        fence_end == std::string_view::npos ? std::string_view{} : trim(opening.substr(fence_end));
    blocks.steps.push_back(Step{.first_line = first,
                                .last_line = last,
                                .fence = std::string(static_cast<std::size_t>(fence_length), fence_char),
                                .info = std::string(info),
                                .indent = static_cast<std::size_t>(fence_offset)});
  }
  return blocks;
}

bool is_closing_fence(std::string_view line, const Step& step) {
  const std::string_view bare = trim(line);
  return bare.size() >= step.fence.size() && bare.find_first_not_of(step.fence[0]) == std::string_view::npos &&
         line.find_first_not_of(' ') <= 3;
}

// The step's code: its lines without the fence's indentation and without the final line break.
std::string step_source(const std::vector<std::string_view>& lines, const Step& step) {
  std::size_t end = step.last_line;
  if (end > step.first_line && end < lines.size() && is_closing_fence(lines[end], step)) {
    --end;
  }
  std::string source;
  for (std::size_t i = step.first_line + 1; i <= end && i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::size_t remove = 0;
    while (remove < step.indent && remove < line.size() && line[remove] == ' ') {
      ++remove;
    }
    source.append(line.substr(remove));
  }
  source.resize(without_line_break(source).size());
  return source;
}

// Prose between `first` and `end` (0-based, end excluded), split at separators, without the
// blank lines around it.
void add_prose(Notebook& notebook, const std::vector<std::string_view>& lines, std::size_t first, std::size_t end,
               const std::vector<std::size_t>& separators) {
  while (first < end && is_blank(lines[first])) {
    ++first;
  }
  while (end > first && is_blank(lines[end - 1])) {
    --end;
  }
  for (std::size_t separator : separators) {
    if (separator >= first && separator < end) {
      add_prose(notebook, lines, first, separator, {});
      add_prose(notebook, lines, separator + 1, end, separators);
      return;
    }
  }
  if (first >= end) {
    return;
  }
  Cell cell;
  cell.type = CellType::markdown;
  for (std::size_t i = first; i < end; ++i) {
    cell.source.append(i + 1 == end ? without_line_break(lines[i]) : lines[i]);
  }
  notebook.cells.push_back(std::move(cell));
}

Result<Cell> make_step(const std::vector<std::string_view>& lines, const Step& step) {
  auto info = parse_step_info(step.info);
  if (!info) {
    base::Error error = info.error();
    error.message = fmt::format("code block attributes: {}", error.message);
    const std::string_view line = lines[step.first_line];
    const std::size_t info_column = line.find(step.fence) + step.fence.size();
    error.where.line = step.first_line + 1;
    error.where.column = info_column + line.substr(info_column).find_first_not_of(" \t") + error.where.column;
    return error;
  }
  Cell cell;
  cell.source = step_source(lines, step);
  cell.markdown_fence = step.fence;
  cell.markdown_info = step.info;
  if (info->language == kRawCellLanguage && info->attributes.empty()) {
    cell.type = CellType::raw;
    return cell;
  }
  cell.type = CellType::code;
  JsonObject tejun;
  if (!info->language.empty()) {
    set_member(tejun, "language", Json(std::move(info->language)));
  }
  if (!info->attributes.empty()) {
    set_member(tejun, "attributes", Json(std::move(info->attributes)));
  }
  if (!tejun.empty()) {
    set_member(cell.metadata, kTejunMetadataKey, Json(std::move(tejun)));
  }
  return cell;
}

}  // namespace

Result<Notebook> read_markdown(std::string_view text) {
  if (const std::size_t bad = base::find_invalid_utf8(text); bad != std::string_view::npos) {
    const std::string_view before = text.substr(0, bad);
    const std::size_t line_start = before.rfind('\n');
    base::Error error = base::make_error(ErrorCode::parse_error, "invalid UTF-8: a runbook must be UTF-8 text");
    error.where.line = static_cast<std::uint64_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    error.where.column = line_start == std::string_view::npos ? bad + 1 : bad - line_start;
    return error;
  }
  const std::vector<std::string_view> lines = split_lines(text);
  auto front_matter = split_front_matter(lines);
  if (!front_matter) {
    return front_matter.error();
  }
  Notebook notebook;
  if (front_matter->line_count > 0) {
    auto mapping = parse_yaml_mapping(front_matter->yaml);
    if (!mapping) {
      base::Error error = mapping.error();
      error.message = fmt::format("front matter: {}", error.message);
      error.where.line += 1;  // the opening '---'
      return error;
    }
    apply_front_matter(notebook, std::move(*mapping));
    notebook.markdown_front_matter = std::move(front_matter->source);
  }
  std::size_t body_start = 0;
  for (std::size_t i = 0; i < front_matter->line_count; ++i) {
    body_start += lines[i].size();
  }
  const Blocks blocks = find_blocks(text.substr(body_start), lines, front_matter->line_count);
  std::size_t next_line = front_matter->line_count;
  for (const Step& step : blocks.steps) {
    add_prose(notebook, lines, next_line, step.first_line, blocks.separators);
    auto cell = make_step(lines, step);
    if (!cell) {
      return cell.error();
    }
    notebook.cells.push_back(std::move(*cell));
    next_line = step.last_line + 1;
  }
  add_prose(notebook, lines, next_line, lines.size(), blocks.separators);
  repair_cell_ids(notebook);
  return notebook;
}

Result<Notebook> read_markdown_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    return text.error();
  }
  auto notebook = read_markdown(*text);
  if (!notebook) {
    return notebook.error().in_file(path);
  }
  return notebook;
}

}  // namespace tejun::notebook
