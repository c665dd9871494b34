// A kernel as a child process: started in its own process group, its stdout and stderr kept
// (the last lines, for the report when it dies), always reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "exec/unique_fd.hpp"

namespace tejun::client {

struct LaunchOptions {
  std::vector<std::string> argv;
  std::vector<std::string> environment;  // NAME=VALUE, the whole environment of the child
  std::string working_directory;         // empty: this process's
  bool die_with_parent = true;           // SIGKILL the kernel if this process dies
};

class KernelProcess {
 public:
  // Starts argv[0] (searched in PATH when it has no slash). An error when it cannot be run.
  [[nodiscard]] static base::Result<std::unique_ptr<KernelProcess>> launch(const LaunchOptions& options);

  KernelProcess(const KernelProcess&) = delete;
  KernelProcess& operator=(const KernelProcess&) = delete;
  KernelProcess(KernelProcess&&) = delete;
  KernelProcess& operator=(KernelProcess&&) = delete;
  // Kills the process group if the kernel is still running, and reaps it.
  ~KernelProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Readable once the process has exited (a pidfd); -1 when the system has none, and then
  // callers poll has_exited() instead.
  [[nodiscard]] int exit_fd() const noexcept { return exit_fd_.get(); }

  // Reaps the process if it has exited; true once it has.
  bool has_exited();
  // Waits up to `limit` for the process to exit; true once it has.
  bool wait_exit(std::chrono::milliseconds limit);
  // Sends `signal` to the kernel's process group (the kernel and what it started).
  void signal_group(int signal) const;
  // SIGKILL to the process group, then reaps.
  void kill();

  // "exit status 1", "killed by signal 9 (SIGKILL)"; empty while it runs.
  [[nodiscard]] std::string exit_description() const;
  [[nodiscard]] std::optional<int> exit_status() const noexcept { return status_; }
  // The last `lines` lines the kernel wrote to its stdout and stderr.
  [[nodiscard]] std::string output_tail(std::size_t lines) const;

 private:
  struct OutputTail;
  KernelProcess(pid_t pid, exec::UniqueFd exit_fd, std::unique_ptr<OutputTail> tail);

  pid_t pid_;
  exec::UniqueFd exit_fd_;
  std::optional<int> status_;  // the wait status once reaped
  std::unique_ptr<OutputTail> tail_;
};

}  // namespace tejun::client
