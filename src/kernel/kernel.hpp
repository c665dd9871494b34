// The tejun kernel process: a dispatcher from msg_type to handler over the kernel's sockets,
// busy and idle around every request, and the StepHost that running steps talk to.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/interpreter.hpp"
#include "kernel/kernel_sockets.hpp"
#include "protocol/message.hpp"

namespace tejun::kernel {

struct KernelOptions {
  std::string connection_file;
  std::string bash_path = "/bin/bash";
};

class Kernel final : private exec::StepHost {
 public:
  Kernel(protocol::ConnectionInfo info, std::unique_ptr<KernelSockets> sockets, std::shared_ptr<spdlog::logger> logger,
         const KernelOptions& options);
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  Kernel(Kernel&&) = delete;
  Kernel& operator=(Kernel&&) = delete;
  ~Kernel() override;

  // Serves requests until a shutdown_request or SIGTERM; returns the process exit status.
  int run();

 private:
  using Handler = void (Kernel::*)(const protocol::Message&);
  struct HistoryEntry {
    int line;
    std::string input;
  };

  // Transport.
  void on_shell_message();
  void on_control_message();
  std::optional<protocol::Message> receive(zmq::socket_t& socket, const char* channel);
  void dispatch(const protocol::Message& request, bool control);
  void reply(zmq::socket_t& socket, const protocol::Message& request, std::string_view msg_type,
             boost::json::object content);
  void publish(std::string_view msg_type, boost::json::object content, const protocol::Message* parent);
  void publish_status(const char* state, const protocol::Message* parent);
  // A display_data or update_display_data that carries `display_id` in its transient.
  void publish_display(const char* msg_type, const exec::MimeBundle& bundle, std::string_view display_id);
  bool check_signals();  // true when an interrupt arrived
  // Control socket and signal pipe, the first two items of every wait.
  std::vector<zmq::pollitem_t> control_items();
  // Polls `items` (control_items() first), serves control requests and notes interrupts;
  // returns how many items are ready (0 on timeout or a signal).
  int poll_serving_control(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout);

  // Handlers (shell and control).
  void kernel_info(const protocol::Message& request);
  void execute(const protocol::Message& request);
  void complete(const protocol::Message& request);
  void is_complete(const protocol::Message& request);
  void inspect(const protocol::Message& request);
  void history(const protocol::Message& request);
  void comm_info(const protocol::Message& request);
  void shutdown(const protocol::Message& request);
  void interrupt(const protocol::Message& request);
  void abort_queued_executions(std::vector<protocol::Message>& queued);

  // StepHost.
  void write_stream(exec::StreamName name, std::string_view text) override;
  void display(const exec::MimeBundle& bundle, bool is_result) override;
  void display_with_id(const exec::MimeBundle& bundle, std::string_view display_id) override;
  void update_display(const exec::MimeBundle& bundle, std::string_view display_id) override;
  void clear_output() override;
  base::Result<std::string> ask(std::string_view prompt, bool password, int gives_up,
                                exec::Clock::time_point until) override;
  exec::WaitStatus wait(std::span<pollfd> fds, exec::Clock::time_point until) override;

  protocol::ConnectionInfo info_;
  std::unique_ptr<KernelSockets> sockets_;
  std::shared_ptr<spdlog::logger> logger_;
  protocol::MessageSigner signer_;
  std::string session_id_;
  exec::Interpreter interpreter_;
  int execution_count_ = 0;
  std::vector<HistoryEntry> history_;
  // The request being executed: outputs go to its front end.
  const protocol::Message* current_ = nullptr;
  bool current_silent_ = false;
  bool current_allow_stdin_ = false;
  zmq::socket_t* current_socket_ = nullptr;
  int signal_read_ = -1;  // the read end of the SIGINT/SIGTERM self-pipe
  bool interrupt_pending_ = false;
  bool stopping_ = false;
  int exit_status_ = 0;
};

// The kernel_info_reply content (also used by `tejun kernel install` tests).
[[nodiscard]] boost::json::object kernel_info_content();

}  // namespace tejun::kernel
