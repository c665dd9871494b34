// What a run shows on stderr while it goes: on a terminal a live line per step (n of N, name,
// elapsed time, then ✓ or ✗); otherwise plain lines. --log-output adds the steps' output.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "runner/run_record.hpp"
#include "runner/runner.hpp"

namespace tejun::runner {

class Progress {
 public:
  Progress(ProgressMode mode, bool log_output);

  [[nodiscard]] bool live() const noexcept { return live_; }
  void step_started(const StepRecord& step, std::size_t total);
  // Redraws the live line (elapsed time); a no-op for plain lines.
  void tick();
  // A piece of a step's output, for --log-output.
  void output(std::string_view text);
  void step_finished(const StepRecord& step, std::size_t total);
  // A line of its own (warnings, notices).
  void note(std::string_view line);
  void finished(const RunRecord& record);

 private:
  void clear_live_line();
  void end_partial_line();
  void draw();

  bool live_ = false;
  bool quiet_ = false;
  bool log_output_ = false;
  bool partial_line_ = false;  // the last output piece did not end a line
  bool line_drawn_ = false;
  std::size_t frame_ = 0;
  std::string label_;  // "[2/5] disk"
  std::chrono::steady_clock::time_point started_;
};

}  // namespace tejun::runner
