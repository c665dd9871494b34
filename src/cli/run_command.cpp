// `tejun run RUNBOOK [OUTPUT]`: headless runs with papermill's command line.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "runner/parameters.hpp"
#include "runner/runner.hpp"

namespace tejun::cli {
namespace {

struct RunArguments {
  runner::RunOptions options;
  std::string second_output;                // papermill's OUTPUT_PATH positional
  std::vector<std::string> parameters;      // -p NAME VALUE, flattened
  std::vector<std::string> raw_parameters;  // -r NAME VALUE, flattened
  std::vector<std::string> parameter_files;
  std::vector<std::string> parameter_yaml;
  double timeout = 0;
  double total_timeout = 0;
  double start_timeout = 60;
  std::string progress = "auto";
  bool no_progress_bar = false;
};

constexpr const char* kExitCodes =
    "Exit codes: 0 every step succeeded; 1 a step failed; 2 bad input or usage (runbook, parameters, options); "
    "3 a step or the run timed out; 4 the kernel died or could not start; 130 interrupted (Ctrl-C), 143 terminated "
    "(SIGTERM). Whatever happens, the outputs hold every step that finished.";

// Seconds as given on the command line; 0 means none. About 115 days at most: a deadline
// past that is no deadline, and the arithmetic on time points stays far from overflow.
base::Result<std::optional<std::chrono::milliseconds>> seconds_option(const char* option, double seconds) {
  constexpr double kLongest = 1e7;
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kLongest) {
    return base::make_error(
        base::ErrorCode::invalid_argument,
        fmt::format("{} {}: expected a number of seconds from 0 (none) to {:.0f}", option, seconds, kLongest));
  }
  if (seconds == 0) {
    return std::optional<std::chrono::milliseconds>();
  }
  return std::optional(std::chrono::milliseconds(std::max<std::int64_t>(1, std::llround(seconds * 1000.0))));
}

base::Result<void> collect_parameters(RunArguments& arguments) {
  auto& parameters = arguments.options.parameters;
  for (const auto& file : arguments.parameter_files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return base::make_error(base::ErrorCode::not_found, fmt::format("-f {}: cannot read the file", file));
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto read = runner::parameters_from_yaml(text, file);
    if (!read) {
      return read.error();
    }
    for (auto& [name, value] : *read) {
      runner::set_parameter(parameters, std::move(name), std::move(value));
    }
  }
  for (const auto& yaml : arguments.parameter_yaml) {
    auto read = runner::parameters_from_yaml(yaml, "-y");
    if (!read) {
      return read.error();
    }
    for (auto& [name, value] : *read) {
      runner::set_parameter(parameters, std::move(name), std::move(value));
    }
  }
  for (std::size_t i = 0; i + 1 < arguments.parameters.size(); i += 2) {
    runner::set_parameter(parameters, arguments.parameters[i], runner::typed_value(arguments.parameters[i + 1]));
  }
  for (std::size_t i = 0; i + 1 < arguments.raw_parameters.size(); i += 2) {
    runner::set_parameter(parameters, arguments.raw_parameters[i], notebook::Json(arguments.raw_parameters[i + 1]));
  }
  return {};
}

int run_command(RunArguments& arguments) {
  auto& options = arguments.options;
  if (!arguments.second_output.empty()) {
    options.outputs.insert(options.outputs.begin(), arguments.second_output);
  }
  if (auto collected = collect_parameters(arguments); !collected) {
    return report(collected.error());
  }
  auto cell = seconds_option("--timeout", arguments.timeout);
  auto total = seconds_option("--total-timeout", arguments.total_timeout);
  auto start = seconds_option("--start-timeout", arguments.start_timeout);
  for (const auto* checked : {&cell, &total, &start}) {
    if (!*checked) {
      return report(checked->error());
    }
  }
  options.cell_timeout = *cell;
  options.total_timeout = *total;
  if (*start) {
    options.startup_timeout = **start;
  }
  options.progress = arguments.no_progress_bar || arguments.progress == "none" ? runner::ProgressMode::none
                     : arguments.progress == "plain"                           ? runner::ProgressMode::plain
                                                                               : runner::ProgressMode::automatic;
  return runner::run(options);
}

bool is_identifier_assignment(std::string_view word) {
  const std::size_t equals = word.find('=');
  if (equals == 0 || equals == std::string_view::npos || word.starts_with("-")) {
    return false;
  }
  return std::ranges::all_of(word.substr(0, equals),
                             [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
}

}  // namespace

std::vector<std::string> normalize_run_arguments(std::vector<std::string> arguments) {
  std::vector<std::string> normalized;
  normalized.reserve(arguments.size() + 4);
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    normalized.push_back(arguments[i]);
    const auto& word = arguments[i];
    const bool takes_pair = word == "-p" || word == "--parameters" || word == "-r" || word == "--parameters_raw" ||
                            word == "--parameters-raw";
    if (takes_pair && i + 1 < arguments.size() && is_identifier_assignment(arguments[i + 1])) {
      const auto& pair = arguments[++i];
      const std::size_t equals = pair.find('=');
      normalized.push_back(pair.substr(0, equals));
      normalized.push_back(pair.substr(equals + 1));
    }
  }
  return normalized;
}

void add_run_command(CLI::App& app, CommandStatus& status) {
  auto arguments = std::make_shared<RunArguments>();
  auto* command =
      app.add_subcommand("run", "Run a runbook (.ipynb or .md) headless on a Jupyter kernel, papermill-style");
  command->footer(kExitCodes);
  auto& options = arguments->options;
  command->add_option("RUNBOOK", options.runbook, "The runbook to run (.ipynb or .md)")->required();
  command->add_option("OUTPUT", arguments->second_output,
                      "Where to write the executed runbook (.ipynb) or a report (.md), as papermill's OUTPUT_PATH");
  command->add_option("-o,--output", options.outputs,
                      "Write the executed runbook (.ipynb: outputs and timings) or a Markdown report (.md); "
                      "repeatable; rewritten atomically after every step");
  command
      ->add_option("-p,--parameters", arguments->parameters,
                   "Set a parameter, typed as papermill types it (True/False, None, integers, floats, else text); "
                   "NAME=VALUE also works; repeatable")
      ->type_name("NAME VALUE")
      ->expected(2)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command
      ->add_option("-r,--parameters_raw,--parameters-raw", arguments->raw_parameters,
                   "Set a parameter to VALUE as text, untyped; repeatable")
      ->type_name("NAME VALUE")
      ->expected(2)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command->add_option("-f,--parameters_file,--parameters-file", arguments->parameter_files,
                      "Read parameters from a YAML mapping; -p and -r given too win");
  command->add_option("-y,--parameters_yaml,--parameters-yaml", arguments->parameter_yaml, "Parameters as YAML text");
  command->add_option("-k,--kernel", options.kernel,
                      "Kernelspec to run on (default: the runbook's, else tejun's own kernel)");
  command->add_option("--cwd", options.working_directory,
                      "Working directory of the kernel (default: the runbook's folder)");
  command->add_option("--step", options.step, "Run only this step (its name, cell id or number)");
  command->add_option("--from", options.from, "Start at this step");
  command->add_option("--to", options.to, "Stop after this step");
  command->add_flag("--allow-errors", options.allow_errors, "Go on after a failing step (the exit code is still 1)");
  command->add_option("--timeout,--execution-timeout", arguments->timeout,
                      "Seconds a step may run before it is interrupted (exit 3); default none");
  command->add_option("--total-timeout", arguments->total_timeout, "Seconds the whole run may take (exit 3)");
  command->add_option("--start-timeout", arguments->start_timeout, "Seconds the kernel may take to start (default 60)");
  command->add_flag("--yes", options.yes, "Answer yes to confirmations (%confirm, [y/n] prompts)");
  command->add_option("--input", options.input_file,
                      "Answers to input requests, one per line, in order ('-' reads them from stdin)");
  command->add_flag("--log-output", options.log_output, "Stream each step's output to stderr as it comes");
  command->add_flag("--json", options.json, "Print a JSON summary of the run on stdout");
  command
      ->add_option("--progress", arguments->progress,
                   "auto (a live display on a terminal, plain lines otherwise), plain or none")
      ->check(CLI::IsMember({"auto", "plain", "none"}));
  command->add_flag("--no-progress-bar", arguments->no_progress_bar, "Same as --progress none (papermill's flag)");
  command->add_flag("--prepare-only", options.prepare_only, "Inject the parameters and write the outputs; run nothing");
  command->callback([arguments, &status] { status.exit_code = run_command(*arguments); });
}

}  // namespace tejun::cli
