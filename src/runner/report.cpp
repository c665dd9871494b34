#include "runner/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "notebook/markdown.hpp"

namespace tejun::runner {
namespace {

using notebook::Json;
using notebook::OutputType;

// A backtick fence longer than any run of backticks in `text`.
std::string fence_for(std::string_view text) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (const char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

void fenced(notebook::TextOutput& out, std::string_view info, std::string_view text) {
  const std::string fence = fence_for(text);
  out.append(fence);
  out.append(info);
  out.push_back('\n');
  out.append(text);
  if (!text.empty() && text.back() != '\n') {
    out.push_back('\n');
  }
  out.append(fence);
  out.append("\n\n");
}

std::string bundle_text(const notebook::MimeBundle& data) {
  if (const auto* plain = notebook::find_member(data, "text/plain"); plain != nullptr && plain->is_string()) {
    return plain->as_string();
  }
  return {};
}

void write_output(const notebook::Output& output, notebook::TextOutput& out) {
  switch (output.type) {
    case OutputType::stream:
      if (output.name == "stderr") {
        out.append("stderr:\n\n");
      }
      fenced(out, "text", strip_ansi(output.text));
      return;
    case OutputType::display_data:
    case OutputType::execute_result: {
      if (auto text = bundle_text(output.data); !text.empty()) {
        fenced(out, "text", strip_ansi(text));
        return;
      }
      std::string types;
      for (const auto& [mime, value] : output.data) {
        types += (types.empty() ? "" : ", ") + mime;
      }
      out.append(fmt::format("*({} output: see the .ipynb)*\n\n", types.empty() ? "empty" : types));
      return;
    }
    case OutputType::error: {
      // A traceback ends with "ename: evalue" itself (ipykernel's, tejun's).
      std::string text = output.traceback.empty() ? fmt::format("{}: {}\n", output.ename, output.evalue) : "";
      for (const auto& line : output.traceback) {
        text += strip_ansi(line);
        text += '\n';
      }
      fenced(out, "text", text);
      return;
    }
    case OutputType::unknown:
      return;
  }
}

std::string step_info(const notebook::Cell& cell, std::string_view kernel_language) {
  if (!cell.markdown_info.empty()) {
    return cell.markdown_info;
  }
  const auto* tejun = notebook::find_member(cell.metadata, notebook::kTejunMetadataKey);
  if (tejun != nullptr && tejun->is_object()) {
    if (const auto* language = notebook::find_member(tejun->as_object(), "language");
        language != nullptr && language->is_string()) {
      return language->as_string();
    }
  }
  return std::string(kernel_language);
}

std::string status_line(const StepRecord& step) {
  switch (step.status) {
    case StepStatus::ok:
      return fmt::format("**✓ {}** · {}", step.name, format_seconds(step.seconds));
    case StepStatus::failed:
    case StepStatus::timed_out:
    case StepStatus::interrupted:
    case StepStatus::kernel_died:
      return fmt::format("**✗ {}** · {} · {}", step.name, format_seconds(step.seconds),
                         step.status == StepStatus::failed ? std::string(step.ename) : to_string(step.status));
    case StepStatus::skipped:
      return fmt::format("*– {}: skipped (outside --step/--from/--to)*", step.name);
    case StepStatus::pending:
    case StepStatus::running:
      return fmt::format("*– {}: not run*", step.name);
  }
  return {};
}

std::string parameter_text(const Json& value) {
  switch (value.kind()) {
    case Json::Kind::string:
      return value.as_string();
    case Json::Kind::number:
      return value.as_number().text;
    case Json::Kind::boolean:
      return value.as_bool() ? "true" : "false";
    case Json::Kind::null:
      return "null";
    default:
      return "…";
  }
}

}  // namespace

std::string format_seconds(double seconds) {
  constexpr double kMinute = 60;
  if (seconds < 10) {
    return fmt::format("{:.2f} s", seconds);
  }
  if (seconds < kMinute) {
    return fmt::format("{:.1f} s", seconds);
  }
  return fmt::format("{} min {} s", static_cast<long>(seconds / kMinute),
                     static_cast<long>(std::fmod(seconds, kMinute)));
}

void write_report(const notebook::Notebook& notebook, const RunRecord& record, notebook::TextOutput& out) {
  std::size_t done = 0;
  for (const auto& step : record.steps) {
    done += step.status == StepStatus::ok ? 1 : 0;
  }
  const bool succeeded = record.exit_code == 0;
  out.append(fmt::format("**Run of `{}`** — {} {}: {} of {} steps ok in {}\n", record.runbook, succeeded ? "✅" : "❌",
                         record.outcome, done, record.total, format_seconds(record.seconds)));
  out.append(fmt::format("\nStarted {} on kernel `{}`", record.start_time, record.kernel));
  if (!record.parameters.empty()) {
    out.append(" · parameters:");
    for (std::size_t i = 0; i < record.parameters.size(); ++i) {
      out.append(fmt::format("{} `{}={}`", i == 0 ? "" : ",", record.parameters[i].name,
                             parameter_text(record.parameters[i].value)));
    }
  }
  out.push_back('\n');
  if (!record.reason.empty()) {
    out.append(fmt::format("\n> {}\n", record.reason));
  }
  out.append("\n---\n\n");

  const std::string kernel_language = record.kernel == "tejun" ? "sh" : "";
  std::size_t next_step = 0;
  for (std::size_t i = 0; i < notebook.cells.size(); ++i) {
    const auto& cell = notebook.cells[i];
    if (cell.type != notebook::CellType::code) {
      out.append(cell.source);
      if (!cell.source.empty() && cell.source.back() != '\n') {
        out.push_back('\n');
      }
      out.push_back('\n');
      continue;
    }
    fenced(out, step_info(cell, kernel_language), cell.source);
    while (next_step < record.steps.size() && record.steps[next_step].cell < i) {
      ++next_step;
    }
    if (next_step < record.steps.size() && record.steps[next_step].cell == i) {
      out.append(status_line(record.steps[next_step]));
      out.append("\n\n");
    }
    for (const auto& output : cell.outputs) {
      write_output(output, out);
    }
  }
}

}  // namespace tejun::runner
