// One shell step from start to end: forwards its output while it runs, answers its reads
// from stdin, and stops it on interrupt or deadline (private to shell_session.cpp).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "exec/output_filter.hpp"
#include "exec/process_tree.hpp"
#include "exec/shell_session.hpp"

namespace tejun::exec {

class StepRun {
 public:
  StepRun(ShellSession& session, StepHost& host, const StepLimits& limits);
  ShellResult run(std::string_view code);

 private:
  struct Stream {
    StreamName name;
    OutputFilter filter;
    std::string pending;  // filtered text not yet sent
  };

  bool read_output(int fd, Stream& stream);  // false when nothing was there
  void read_status();
  std::string& read_buffer();
  void write_pending_input();
  void discard_unread_input();
  [[nodiscard]] std::size_t unread_input() const;  // bytes in the step's stdin pipe
  void flush(Stream& stream);
  void flush_all();
  [[nodiscard]] bool flush_due(Clock::time_point now) const;
  void drain_and_finish();
  void probe_stdin(Clock::time_point now);
  void begin_stop(ShellEnd why);
  void escalate(Clock::time_point now);
  [[nodiscard]] Clock::time_point next_wake() const;

  ShellSession& session_;
  StepHost& host_;
  StepLimits limits_;
  std::array<Stream, 2> streams_;
  Clock::time_point pending_since_ = Clock::time_point::max();
  Clock::time_point probe_at_;
  std::optional<int> status_;
  bool session_ended_ = false;
  std::optional<ShellEnd> stopping_;
  ProcessEpoch started_;  // processes started after this belong to this step
  [[nodiscard]] std::vector<pid_t> step_processes() const;
  Clock::time_point stop_started_;
  int escalation_ = 0;
  std::string stderr_tail_;
  std::string read_buffer_;
  std::string pending_input_;  // an answer not yet taken by the pipe
  std::string last_line_;      // the text after the last newline sent: a program's prompt
};

}  // namespace tejun::exec
