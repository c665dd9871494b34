// What a run did, step by step: kept while it runs, written into the output notebook's
// metadata, the Markdown report, the progress lines and the --json summary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "notebook/notebook.hpp"
#include "runner/parameters.hpp"

namespace tejun::runner {

enum class StepStatus : std::uint8_t { pending, running, ok, failed, timed_out, interrupted, kernel_died, skipped };

[[nodiscard]] const char* to_string(StepStatus status) noexcept;

struct StepRecord {
  std::size_t cell = 0;     // index into the notebook's cells
  std::size_t number = 0;   // the runbook's step number, as --step takes it (0: injected parameters)
  std::size_t ordinal = 0;  // 1-based, among the steps this run executes (0: not executed)
  std::string name;         // the step's name, else its cell id, else "step N"
  StepStatus status = StepStatus::pending;
  std::string start_time;  // ISO 8601 UTC
  std::string end_time;
  double seconds = 0;
  std::string ename;  // why it failed
  std::string evalue;
};

struct RunRecord {
  std::string runbook;
  std::string kernel;  // the kernelspec's name
  std::vector<std::string> outputs;
  Parameters parameters;          // as injected
  std::vector<StepRecord> steps;  // every code cell, in order
  std::size_t total = 0;          // how many steps this run executes
  std::string start_time;
  std::string end_time;
  double seconds = 0;
  int exit_code = 0;
  std::string outcome;  // "succeeded", "failed", "timed out", "kernel died", "interrupted"
  std::string reason;   // one line on why it stopped, when it did not succeed
};

// papermill's record of the run in the notebook's and its step cells' metadata
// (metadata.papermill), as far as the run has come.
void record_in_notebook(const RunRecord& record, notebook::Notebook& notebook);

// The --json summary: one line of JSON.
[[nodiscard]] std::string summary_json(const RunRecord& record, const notebook::Notebook& notebook);

// ISO 8601 UTC with microseconds: "2026-11-27T08:00:00.123456Z".
[[nodiscard]] std::string utc_now();

// Seconds since the epoch of an ISO 8601 UTC time as Jupyter messages carry it
// ("2026-11-27T08:00:00.123456Z", "+00:00" too); nothing for anything else.
[[nodiscard]] std::optional<double> parse_utc(std::string_view text);

// `text` without ANSI escape sequences (tracebacks are coloured).
[[nodiscard]] std::string strip_ansi(std::string_view text);

}  // namespace tejun::runner
