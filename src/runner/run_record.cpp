#include "runner/run_record.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <chrono>

#include <ctime>
#include "notebook/json_writer.hpp"

namespace tejun::runner {

const char* to_string(StepStatus status) noexcept {
  switch (status) {
    case StepStatus::pending:
      return "pending";
    case StepStatus::running:
      return "running";
    case StepStatus::ok:
      return "ok";
    case StepStatus::failed:
      return "failed";
    case StepStatus::timed_out:
      return "timed_out";
    case StepStatus::interrupted:
      return "interrupted";
    case StepStatus::kernel_died:
      return "kernel_died";
    case StepStatus::skipped:
      return "skipped";
  }
  return "?";
}

namespace {

using notebook::Json;
using notebook::JsonObject;

Json seconds_json(double seconds) {
  return Json(notebook::JsonNumber{fmt::format("{:.6f}", seconds)});
}

}  // namespace

void record_in_notebook(const RunRecord& record, notebook::Notebook& notebook) {
  JsonObject parameters;
  for (const auto& [name, value] : record.parameters) {
    parameters.emplace_back(name, value);
  }
  const std::string output_path = record.outputs.empty() ? std::string() : record.outputs.front();
  JsonObject papermill{{"parameters", Json(std::move(parameters))},
                       {"environment_variables", Json(JsonObject{})},
                       {"input_path", Json(record.runbook)},
                       {"output_path", Json(output_path)},
                       {"start_time", Json(record.start_time)},
                       {"end_time", record.end_time.empty() ? Json(nullptr) : Json(record.end_time)},
                       {"duration", record.end_time.empty() ? Json(nullptr) : seconds_json(record.seconds)},
                       {"exception", record.end_time.empty() ? Json(nullptr) : Json(record.exit_code != 0)}};
  notebook::set_member(notebook.metadata, "papermill", Json(std::move(papermill)));
  for (const auto& step : record.steps) {
    auto& cell = notebook.cells[step.cell];
    const bool done =
        step.status != StepStatus::pending && step.status != StepStatus::running && step.status != StepStatus::skipped;
    JsonObject papermill_cell{
        {"exception", Json(done && step.status != StepStatus::ok)},
        {"start_time", step.start_time.empty() ? Json(nullptr) : Json(step.start_time)},
        {"end_time", step.end_time.empty() ? Json(nullptr) : Json(step.end_time)},
        {"duration", done ? seconds_json(step.seconds) : Json(nullptr)},
        {"status", Json(step.status == StepStatus::ok                                              ? "completed"
                        : step.status == StepStatus::running                                       ? "running"
                        : step.status == StepStatus::pending || step.status == StepStatus::skipped ? "pending"
                                                                                                   : "failed")}};
    notebook::set_member(cell.metadata, "papermill", Json(std::move(papermill_cell)));
  }
}

std::string summary_json(const RunRecord& record, const notebook::Notebook& notebook) {
  JsonObject parameters;
  for (const auto& [name, value] : record.parameters) {
    parameters.emplace_back(name, value);
  }
  notebook::JsonArray steps;
  for (const auto& step : record.steps) {
    const auto& cell = notebook.cells[step.cell];
    JsonObject entry{
        {"name", Json(step.name)},
        {"number", step.number == 0 ? Json(nullptr) : Json::integer(static_cast<std::int64_t>(step.number))},
        {"cell_id", cell.id.empty() ? Json(nullptr) : Json(cell.id)},
        {"status", Json(to_string(step.status))},
        {"duration_seconds", seconds_json(step.seconds)},
        {"execution_count", cell.execution_count}};
    if (!step.ename.empty()) {
      entry.emplace_back("ename", Json(step.ename));
      entry.emplace_back("evalue", Json(step.evalue));
    }
    steps.emplace_back(std::move(entry));
  }
  notebook::JsonArray outputs;
  for (const auto& output : record.outputs) {
    outputs.emplace_back(output);
  }
  const Json summary(JsonObject{{"runbook", Json(record.runbook)},
                                {"kernel", Json(record.kernel)},
                                {"outputs", Json(std::move(outputs))},
                                {"status", Json(record.outcome)},
                                {"exit_code", Json::integer(record.exit_code)},
                                {"reason", Json(record.reason)},
                                {"start_time", Json(record.start_time)},
                                {"end_time", Json(record.end_time)},
                                {"duration_seconds", seconds_json(record.seconds)},
                                {"parameters", Json(std::move(parameters))},
                                {"steps", Json(std::move(steps))}});
  return notebook::JsonWriter::compact(summary);
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", seconds, micros);
}

std::optional<double> parse_utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then optional fraction, then Z or +00:00 (or nothing).
  constexpr std::size_t kSecondsEnd = 19;
  if (text.size() < kSecondsEnd || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto field = [&](std::size_t at, std::size_t length, int& out) {
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, out);
    return ec == std::errc() && end == text.data() + at + length;
  };
  std::tm time{};
  int year = 0;
  int month = 0;
  if (!field(0, 4, year) || !field(5, 2, month) || !field(8, 2, time.tm_mday) || !field(11, 2, time.tm_hour) ||
      !field(14, 2, time.tm_min) || !field(17, 2, time.tm_sec)) {
    return std::nullopt;
  }
  time.tm_year = year - 1900;
  time.tm_mon = month - 1;
  double seconds = static_cast<double>(::timegm(&time));
  std::size_t at = kSecondsEnd;
  if (at < text.size() && text[at] == '.') {
    double scale = 0.1;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
      seconds += scale * (text[at] - '0');
      scale /= 10;
    }
  }
  const std::string_view zone = text.substr(at);
  if (!zone.empty() && zone != "Z" && zone != "+00:00") {
    return std::nullopt;
  }
  return seconds;
}

std::string strip_ansi(std::string_view text) {
  std::string plain;
  plain.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      std::size_t end = i + 2;
      while (end < text.size() && (static_cast<unsigned char>(text[end]) < 0x40 || text[end] > 0x7e)) {
        ++end;
      }
      i = end;  // past the final byte
      continue;
    }
    plain += text[i];
  }
  return plain;
}

}  // namespace tejun::runner
