// Headless runs of a runbook (.ipynb or Markdown) on any Jupyter kernel: parameters
// injected, steps executed in order, outputs and timings recorded, the output files
// rewritten atomically after every step, a summary and an exit code at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runner/parameters.hpp"

namespace tejun::runner {

// The exit codes of `tejun run`, documented in its --help and the README.
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitStepFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitTimeout = 3;
inline constexpr int kExitKernelDied = 4;
inline constexpr int kExitInterrupted = 130;  // SIGINT; SIGTERM gives 143, SIGHUP 129

enum class ProgressMode : std::uint8_t { automatic, plain, none };

struct RunOptions {
  std::string runbook;
  std::vector<std::string> outputs;  // .ipynb: the executed notebook; .md: a Markdown report
  Parameters parameters;
  std::string kernel;             // empty: the runbook's kernelspec, else tejun
  std::string working_directory;  // empty: the runbook's folder
  std::string step;               // run only this step (name, cell id or number)
  std::string from;               // first step to run
  std::string to;                 // last step to run
  bool allow_errors = false;
  std::optional<std::chrono::milliseconds> cell_timeout;
  std::optional<std::chrono::milliseconds> total_timeout;
  std::chrono::milliseconds startup_timeout{60'000};
  std::chrono::milliseconds interrupt_grace{5'000};  // after an interrupt, before the kernel is killed
  bool yes = false;                                  // answer confirmations with "yes"
  std::optional<std::string> input_file;             // answers to input requests, one per line ("-": stdin)
  bool log_output = false;
  bool json = false;
  ProgressMode progress = ProgressMode::automatic;
  bool prepare_only = false;  // inject parameters and write the outputs, run nothing
};

// Runs the runbook and returns the exit code; progress and errors go to stderr, the --json
// summary to stdout.
[[nodiscard]] int run(const RunOptions& options);

}  // namespace tejun::runner
