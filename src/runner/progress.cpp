#include "runner/progress.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runner/report.hpp"

namespace tejun::runner {
namespace {

constexpr std::array<std::string_view, 10> kSpinner{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
constexpr std::string_view kGreen = "\x1b[32m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kDim = "\x1b[2m";
constexpr std::string_view kReset = "\x1b[0m";
constexpr std::size_t kErrorLines = 12;

bool stderr_is_terminal() {
  const char* term = std::getenv("TERM");  // NOLINT(concurrency-mt-unsafe): read on the main thread
  return ::isatty(STDERR_FILENO) == 1 && (term == nullptr || std::strcmp(term, "dumb") != 0);
}

void write_stderr(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// The last lines of a step's error, indented under its line.
std::string error_lines(const StepRecord& step) {
  std::string text = strip_ansi(step.evalue);
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  std::string indented = fmt::format("    {}{}", step.ename, text.empty() ? "" : ": ");
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start <= text.size() && lines < kErrorLines) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    indented += (lines == 0 ? "" : "\n      ") + text.substr(start, end - start);
    ++lines;
    start = end + 1;
  }
  return indented + "\n";
}

}  // namespace

Progress::Progress(ProgressMode mode, bool log_output)
    : live_(mode == ProgressMode::automatic && stderr_is_terminal()),
      quiet_(mode == ProgressMode::none),
      log_output_(log_output) {}

void Progress::clear_live_line() {
  if (line_drawn_) {
    write_stderr("\r\x1b[K");
    line_drawn_ = false;
  }
}

void Progress::end_partial_line() {
  if (partial_line_) {
    write_stderr("\n");
    partial_line_ = false;
  }
}

void Progress::draw() {
  if (!live_ || quiet_ || partial_line_) {
    return;
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  write_stderr(fmt::format("\r\x1b[K{} {} {}{}{}", kSpinner[frame_++ % kSpinner.size()], label_, kDim,
                           format_seconds(elapsed), kReset));
  line_drawn_ = true;
}

void Progress::step_started(const StepRecord& step, std::size_t total) {
  label_ = fmt::format("[{}/{}] {}", step.ordinal, total, step.name);
  started_ = std::chrono::steady_clock::now();
  if (quiet_) {
    return;
  }
  if (live_) {
    draw();
  } else {
    write_stderr(fmt::format("{} ...\n", label_));
  }
}

void Progress::tick() {
  draw();
}

void Progress::output(std::string_view text) {
  if (!log_output_ || text.empty()) {
    return;
  }
  clear_live_line();
  write_stderr(text);
  partial_line_ = text.back() != '\n';
}

void Progress::step_finished(const StepRecord& step, std::size_t total) {
  label_ = fmt::format("[{}/{}] {}", step.ordinal, total, step.name);
  end_partial_line();
  clear_live_line();
  if (quiet_) {
    return;
  }
  const bool ok = step.status == StepStatus::ok;
  const std::string what = ok ? "ok" : step.status == StepStatus::failed ? "failed" : to_string(step.status);
  if (live_) {
    write_stderr(fmt::format("{}{}{} {} {}{}{}{}\n", ok ? kGreen : kRed, ok ? "✓" : "✗", kReset, label_, kDim,
                             format_seconds(step.seconds), kReset, ok ? "" : " " + what));
  } else {
    write_stderr(fmt::format("{}: {} in {}\n", label_, what, format_seconds(step.seconds)));
  }
  if (!ok) {
    write_stderr(error_lines(step));
  }
}

void Progress::note(std::string_view line) {
  end_partial_line();
  clear_live_line();
  write_stderr(fmt::format("tejun run: {}\n", line));
  draw();
}

void Progress::finished(const RunRecord& record) {
  end_partial_line();
  clear_live_line();
  std::size_t done = 0;
  for (const auto& step : record.steps) {
    done += step.status == StepStatus::ok ? 1 : 0;
  }
  std::string line =
      fmt::format("{}: {} of {} steps ok in {}", record.outcome, done, record.total, format_seconds(record.seconds));
  if (!record.outputs.empty()) {
    line += fmt::format("; wrote {}", fmt::join(record.outputs, ", "));
  }
  if (!record.reason.empty()) {
    line += "\n  " + record.reason;
  }
  if (quiet_ && record.exit_code == 0) {
    return;
  }
  if (live_) {
    write_stderr(fmt::format("{}{}{} {}\n", record.exit_code == 0 ? kGreen : kRed, record.exit_code == 0 ? "✓" : "✗",
                             kReset, line));
  } else {
    write_stderr(fmt::format("tejun run: {}\n", line));
  }
}

}  // namespace tejun::runner
