#include "runner/steps.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "base/text.hpp"
#include "notebook/json_writer.hpp"
#include "notebook/markdown.hpp"
#include "runner/parameters.hpp"

namespace tejun::runner {
namespace {

using base::ascii_lowercase;
using notebook::JsonObject;
using notebook::object_member;
using notebook::string_member;

std::string step_language(const notebook::Cell& cell) {
  const auto* tejun = object_member(cell.metadata, notebook::kTejunMetadataKey);
  return ascii_lowercase(string_member(tejun, "language"));
}

bool is_shell_language(std::string_view language) {
  return language.empty() || language == "sh" || language == "bash" || language == "shell" || language == "console";
}

bool is_python_language(std::string_view language) {
  return language == "python" || language == "py" || language == "python3";
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

// The attributes of a ```sql or ```http fence that are options of its cell magic:
// {connection=db limit=50 out=rows.csv timeout=30} becomes " db --limit 50 --out rows.csv
// --timeout 30"; {fail=true} on an http fence becomes " --fail".
std::string magic_arguments(const notebook::Cell& cell) {
  const auto* tejun = object_member(cell.metadata, notebook::kTejunMetadataKey);
  const auto* attributes = tejun == nullptr ? nullptr : object_member(*tejun, "attributes");
  const auto language = step_language(cell);
  if (attributes == nullptr || (language != "sql" && language != "http")) {
    return {};
  }
  std::string arguments;
  const auto quoted = [](const std::string& value) {
    return value.find_first_of(" \t") == std::string::npos ? value : "'" + value + "'";
  };
  if (auto connection = string_member(attributes, "connection"); !connection.empty() && language == "sql") {
    arguments += " " + quoted(connection);
  }
  for (const std::string_view option : {"limit", "out", "timeout"}) {
    const auto* value = notebook::find_member(*attributes, option);
    if (value == nullptr) {
      continue;
    }
    const std::string text = value->is_string() ? value->as_string() : notebook::JsonWriter::compact(*value);
    arguments += fmt::format(" --{} {}", option, quoted(text));
  }
  if (const auto* fail = notebook::find_member(*attributes, "fail"); fail != nullptr && language == "http") {
    const bool on = fail->is_bool() ? fail->as_bool() : (fail->is_string() && fail->as_string() != "false");
    arguments += on ? " --fail" : "";
  }
  return arguments;
}

}  // namespace

std::string own_name(const notebook::Cell& cell) {
  const auto* tejun = object_member(cell.metadata, notebook::kTejunMetadataKey);
  if (auto name = string_member(tejun == nullptr ? nullptr : object_member(*tejun, "attributes"), "name");
      !name.empty()) {
    return name;
  }
  return string_member(&cell.metadata, "name");
}

std::string step_code(const notebook::Cell& cell, std::string_view kernel_language) {
  const std::string language = step_language(cell);
  const std::string kernel = ascii_lowercase(kernel_language);
  const bool same = language.empty() || language == kernel ||
                    (is_shell_language(language) && is_shell_language(kernel)) ||
                    (is_python_language(language) && is_python_language(kernel));
  if (same) {
    return cell.source;
  }
  if (is_shell_language(language) && is_python_language(kernel)) {
    return "%%bash\n" + cell.source;
  }
  if (cell.source.starts_with("%%")) {
    return cell.source;  // the step names its cell magic itself (```sql with %%sql db --limit 10)
  }
  return "%%" + language + magic_arguments(cell) + "\n" + cell.source;
}

bool is_confirmation(std::string_view prompt) {
  const std::string lower = ascii_lowercase(prompt);
  return std::ranges::any_of(std::array<std::string_view, 4>{"[yes/no]", "(yes/no)", "[y/n]", "(y/n)"},
                             [&](std::string_view marker) { return lower.find(marker) != std::string::npos; });
}

std::vector<StepRecord> list_steps(notebook::Notebook& notebook) {
  std::vector<StepRecord> steps;
  std::size_t runbook_steps = 0;
  for (std::size_t i = 0; i < notebook.cells.size(); ++i) {
    auto& cell = notebook.cells[i];
    if (cell.type != notebook::CellType::code) {
      continue;
    }
    cell.outputs.clear();
    cell.execution_count = notebook::Json(nullptr);
    notebook::erase_member(cell.metadata, "execution");
    notebook::erase_member(cell.metadata, "papermill");
    if (is_blank(cell.source)) {
      continue;
    }
    StepRecord step;
    step.cell = i;
    const bool injected = has_tag(cell, kInjectedParametersTag);
    step.number = injected ? 0 : ++runbook_steps;
    step.name = injected ? "parameters" : own_name(cell);
    if (step.name.empty()) {
      step.name = fmt::format("step {}", step.number);  // ids of Markdown cells change every read
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

// The step called `wanted`: by name, else cell id, else the runbook's step number.
std::optional<std::size_t> find_step(const notebook::Notebook& notebook, const std::vector<StepRecord>& steps,
                                     const std::string& wanted) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& cell = notebook.cells[steps[i].cell];
    if (!has_tag(cell, kInjectedParametersTag) && (own_name(cell) == wanted || cell.id == wanted)) {
      return i;
    }
  }
  // A number counts the runbook's own steps (not the injected parameters), from 1.
  std::size_t number = 0;
  const auto [end, ec] = std::from_chars(wanted.data(), wanted.data() + wanted.size(), number);
  if (ec == std::errc() && end == wanted.data() + wanted.size() && number > 0) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].number == number) {
        return i;
      }
    }
  }
  return std::nullopt;
}

base::Result<std::vector<std::size_t>> select_steps(const notebook::Notebook& notebook, std::vector<StepRecord>& steps,
                                                    const StepSelection& selection) {
  std::size_t first = 0;
  std::size_t last = steps.empty() ? 0 : steps.size() - 1;
  const auto unknown = [&](const std::string& option, const std::string& wanted) {
    std::string names;
    for (const auto& step : steps) {
      if (step.number != 0) {
        names += fmt::format("{}{} {}", names.empty() ? "" : ", ", step.number, step.name);
      }
    }
    auto error = base::make_error(base::ErrorCode::invalid_argument,
                                  fmt::format("{} {}: no step has that name, cell id or number (steps: {})", option,
                                              wanted, names.empty() ? "none" : names));
    return error;
  };
  if (!selection.step.empty()) {
    auto found = find_step(notebook, steps, selection.step);
    if (!found) {
      return unknown("--step", selection.step);
    }
    first = last = *found;
  }
  if (!selection.from.empty()) {
    auto found = find_step(notebook, steps, selection.from);
    if (!found) {
      return unknown("--from", selection.from);
    }
    first = *found;
  }
  if (!selection.to.empty()) {
    auto found = find_step(notebook, steps, selection.to);
    if (!found) {
      return unknown("--to", selection.to);
    }
    last = *found;
  }
  if (first > last && !steps.empty()) {
    return base::make_error(base::ErrorCode::invalid_argument,
                            fmt::format("--from {} comes after --to {} in the runbook", selection.from, selection.to));
  }
  std::vector<std::size_t> to_run;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto& step = steps[i];
    const bool injected = has_tag(notebook.cells[step.cell], kInjectedParametersTag);
    if (injected || (i >= first && i <= last)) {
      to_run.push_back(i);
      step.ordinal = to_run.size();
    } else {
      step.status = StepStatus::skipped;
    }
  }
  return to_run;
}

base::Result<std::deque<std::string>> read_answers(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return base::make_error(base::ErrorCode::not_found, fmt::format("--input {}: cannot read the file", path));
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::deque<std::string> answers;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    answers.push_back(std::move(line));
    start = end + 1;
  }
  return answers;
}

}  // namespace tejun::runner
