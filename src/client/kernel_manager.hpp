// Starting, driving and stopping one kernel from its kernelspec, as jupyter_client's
// KernelManager does: fresh ports and key in a private connection file, the kernel in its own
// process group, ready once it has answered kernel_info, always reaped.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "base/result.hpp"
#include "client/kernel_client.hpp"
#include "client/kernel_process.hpp"
#include "client/kernel_specs.hpp"
#include "protocol/connection_info.hpp"

namespace tejun::client {

struct StartOptions {
  std::string working_directory;  // empty: this process's
  // Added to (and overriding) this process's environment, before the kernelspec's own env.
  std::vector<std::pair<std::string, std::string>> environment;
  std::chrono::milliseconds startup_timeout{60'000};
  int cancel_fd = -1;  // when readable while the kernel starts, starting is given up
  // False: once the kernel is up, this manager's client stops receiving iopub. For a caller
  // that never reads it (a server, whose WebSocket bridges have clients of their own): the
  // kernel waits for every subscriber, so an unread one would hold up its output.
  bool watch_iopub = true;
};

class KernelManager {
 public:
  // Starts the kernel and waits until it answers kernel_info and its iopub messages reach
  // us. On failure nothing is left running; a kernel that exits while starting is reported
  // with its exit status and the last lines it wrote.
  [[nodiscard]] static base::Result<std::unique_ptr<KernelManager>> start(KernelSpec spec, StartOptions options);

  KernelManager(const KernelManager&) = delete;
  KernelManager& operator=(const KernelManager&) = delete;
  KernelManager(KernelManager&&) = delete;
  KernelManager& operator=(KernelManager&&) = delete;
  // Shuts the kernel down (briefly) if still running; removes the connection file.
  ~KernelManager();

  [[nodiscard]] KernelClient& client() noexcept { return *client_; }
  [[nodiscard]] KernelProcess& process() noexcept { return *process_; }
  [[nodiscard]] const KernelSpec& spec() const noexcept { return spec_; }
  [[nodiscard]] const boost::json::object& kernel_info() const noexcept { return kernel_info_; }
  [[nodiscard]] const std::string& connection_file() const noexcept { return connection_file_; }
  // Where the kernel listens now (new ports after each restart).
  [[nodiscard]] const protocol::ConnectionInfo& connection() const noexcept { return connection_; }

  // Whether the kernel process is still there.
  [[nodiscard]] bool is_alive();
  // Interrupts the running request: SIGINT to the kernel's process group, or an
  // interrupt_request on control, as the kernelspec's interrupt_mode says.
  void interrupt();
  // Asks the kernel to shut down and waits up to `grace`; then kills its process group.
  // Always reaps. Returns true when the kernel went by itself.
  bool shutdown(std::chrono::milliseconds grace);
  // Shuts down and starts the same kernelspec again (new ports, same options).
  [[nodiscard]] base::Result<void> restart(std::chrono::milliseconds grace);

  // "the kernel 'python3' died (killed by signal 9 (SIGKILL))" and the last lines it wrote.
  [[nodiscard]] std::string death_report();

 private:
  KernelManager(KernelSpec spec, StartOptions options) : spec_(std::move(spec)), options_(std::move(options)) {}
  [[nodiscard]] base::Result<void> launch();
  [[nodiscard]] base::Result<void> wait_ready();
  void remove_connection_file();

  KernelSpec spec_;
  StartOptions options_;
  protocol::ConnectionInfo connection_;
  std::string connection_file_;
  std::unique_ptr<KernelProcess> process_;
  std::unique_ptr<KernelClient> client_;
  boost::json::object kernel_info_;
};

}  // namespace tejun::client
