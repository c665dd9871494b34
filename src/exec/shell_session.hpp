// One bash process per kernel that runs every shell step, so that variables, the working
// directory and functions set by one step are there in the next, as in a terminal.
//
// Steps reach bash on its stdin (bash -s), each runs (in the function __tejun_run) with its
// own stdin redirected to the pipe of the front end's answers and ends by writing its exit
// status on another pipe, so stdout and stderr carry nothing but the step's output. An
// interrupt sends SIGINT to the step's process tree, then SIGTERM, then SIGKILL, and bash
// skips the rest of the step without losing its state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "exec/secrets.hpp"
#include "exec/step_host.hpp"
#include "exec/unique_fd.hpp"

namespace tejun::exec {

struct ShellOptions {
  std::string bash_path = "/bin/bash";
};

struct StepLimits {
  Clock::time_point deadline = Clock::time_point::max();
  bool allow_stdin = false;
  std::string input;  // written to the step's stdin before it runs (a secret, never in code)
};

enum class ShellEnd : std::uint8_t {
  exited,         // the step ran to its end; `status` is its exit status
  interrupted,    // stopped by an interrupt from the front end
  timed_out,      // stopped at its deadline
  input_refused,  // a program waited for input the front end cannot give (allow_stdin false)
  session_ended,  // bash itself exited (`exit`, `set -e`, a crash); a new one starts next time
};

struct ShellResult {
  ShellEnd end = ShellEnd::exited;
  int status = 0;
  std::string stderr_tail;  // the last lines of stderr, masked, for the error message
  std::string note;         // what else the user should know (a new session was started)
};

class ShellSession {
 public:
  ShellSession(ShellOptions options, const Secrets& secrets);
  ShellSession(const ShellSession&) = delete;
  ShellSession& operator=(const ShellSession&) = delete;
  ShellSession(ShellSession&&) = delete;
  ShellSession& operator=(ShellSession&&) = delete;
  ~ShellSession();

  // Starts bash now rather than at the first step.
  base::Result<void> start();

  // Runs `code` in the session; output goes to `host` while it runs.
  ShellResult run(std::string_view code, StepHost& host, const StepLimits& limits);

  // Runs `code` without showing anything and returns its stdout, unmasked (for %env, SQL
  // connections and parameters): callers mask what they show of it.
  base::Result<std::string> capture(std::string_view code);

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  friend class StepRun;

  void stop_process() noexcept;
  void reap() noexcept;
  void close_pipes() noexcept;
  void remove_runner_file() noexcept;
  bool await_ready() noexcept;  // false when bash exited instead of reading the prelude
  // Reads what bash wrote on the status pipe; false at its end (bash has gone).
  bool read_statuses();
  // The next step status among the complete lines read ("ready" lines are taken on the way).
  [[nodiscard]] std::optional<int> take_status();

  ShellOptions options_;
  const Secrets* secrets_;
  pid_t pid_ = 0;
  int exit_status_ = 0;  // of the last bash that ended
  UniqueFd commands_;    // bash's stdin: we write steps (step_text)
  UniqueFd statuses_;    // bash writes "STATUS\n" after each step
  UniqueFd stdout_;
  UniqueFd stderr_;
  UniqueFd stdin_;           // the write end of bash's stdin: answers from the front end
  UniqueFd stdin_reader_;    // a copy of its read end, to drop answers no step read
  std::string stdin_link_;   // "pipe:[inode]" of bash's stdin, to recognise readers
  std::string status_line_;  // a status read in part
  std::string runner_dir_;   // holds the file that defines __tejun_run, until bash has read it
};

// Quotes `text` for bash as one word ('...' with ' written as '\'').
[[nodiscard]] std::string shell_quote(std::string_view text);

// What bash reads to run `code` as one step: the code in a variable, __tejun_run to eval it,
// then the status report.
[[nodiscard]] std::string step_text(std::string_view code);

// Writes all of `text`; false when the reader has gone.
bool write_all(int fd, std::string_view text);

}  // namespace tejun::exec
