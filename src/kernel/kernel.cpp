#include "kernel/kernel.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <csignal>

#include "base/ids.hpp"

namespace tejun::kernel {
namespace {

using base::ErrorCode;
using base::make_error;

// The write end of the self-pipe that turns SIGINT and SIGTERM into something poll() sees.
// A signal handler can reach nothing else, so this one file-scope variable is unavoidable.
int signal_pipe_write = -1;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

void on_signal(int signal) {
  const int saved = errno;
  const auto byte = static_cast<char>(signal);
  [[maybe_unused]] const auto written = ::write(signal_pipe_write, &byte, 1);
  errno = saved;
}

std::array<int, 2> install_signal_pipe() {
  std::array<int, 2> fds{-1, -1};
  if (::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
    return fds;
  }
  signal_pipe_write = fds[1];
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error value, not a death
  return fds;
}

}  // namespace

Kernel::Kernel(protocol::ConnectionInfo info, std::unique_ptr<KernelSockets> sockets,
               std::shared_ptr<spdlog::logger> logger, const KernelOptions& options)
    : info_(std::move(info)),
      sockets_(std::move(sockets)),
      logger_(std::move(logger)),
      signer_(info_.key),
      session_id_(base::random_hex_id(32)),
      interpreter_(exec::ShellOptions{options.bash_path}) {}

Kernel::~Kernel() = default;

int Kernel::run() {
  const auto signal_pipe = install_signal_pipe();
  signal_read_ = signal_pipe[0];
  publish_status("starting", nullptr);
  // bash starts with the first step that needs it (a few milliseconds): an idle kernel, and
  // one that only runs SQL or HTTP steps, has no shell process (3 MiB of RSS less).
  logger_->debug("kernel ready shell_port={} iopub_port={} control_port={}", info_.shell_port, info_.iopub_port,
                 info_.control_port);
  std::vector<zmq::pollitem_t> items = control_items();
  items.push_back({sockets_->shell.handle(), 0, ZMQ_POLLIN, 0});
  while (!stopping_) {
    poll_serving_control(items, std::chrono::milliseconds(-1));
    if (!stopping_ && (items[2].revents & ZMQ_POLLIN) != 0) {
      on_shell_message();
    }
  }
  ::close(signal_pipe[0]);
  ::close(signal_pipe[1]);
  return exit_status_;
}

std::vector<zmq::pollitem_t> Kernel::control_items() {
  return {{sockets_->control.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, signal_read_, ZMQ_POLLIN, 0}};
}

int Kernel::poll_serving_control(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout) {
  int ready = 0;
  try {
    ready = zmq::poll(items.data(), items.size(), timeout);
  } catch (const zmq::error_t& error) {
    if (error.num() != EINTR) {
      throw;
    }
    for (auto& item : items) {
      item.revents = 0;  // a signal: the self-pipe is readable on the next poll
    }
    return 0;
  }
  // An interrupt with no step running has nothing to stop.
  if ((items[1].revents & ZMQ_POLLIN) != 0 && check_signals() && current_ != nullptr) {
    interrupt_pending_ = true;
  }
  if ((items[0].revents & ZMQ_POLLIN) != 0) {
    on_control_message();
    if (stopping_ && current_ != nullptr) {
      interrupt_pending_ = true;  // shutdown while a step runs: stop the step first
    }
  }
  return ready;
}

bool Kernel::check_signals() {
  std::array<char, 16> signals{};
  bool interrupted = false;
  while (true) {
    const auto count = ::read(signal_read_, signals.data(), signals.size());
    if (count <= 0) {
      break;
    }
    interrupted = true;  // SIGINT interrupts; SIGTERM also stops the kernel
    if (std::find(signals.begin(), signals.begin() + count, static_cast<char>(SIGTERM)) != signals.begin() + count) {
      logger_->info("SIGTERM: shutting down");
      stopping_ = true;
    }
  }
  return interrupted;
}

std::optional<protocol::Message> Kernel::receive(zmq::socket_t& socket, const char* channel) {
  auto frames = receive_frames(socket);
  if (frames.empty()) {
    return std::nullopt;
  }
  auto message = protocol::decode_message(std::move(frames), signer_);
  if (!message) {
    // Never acted on: a bad signature means the sender does not hold the key.
    logger_->warn("dropped a message on {}: {}", channel, message.error().message);
    return std::nullopt;
  }
  return std::move(*message);
}

void Kernel::on_shell_message() {
  while (auto request = receive(sockets_->shell, "shell")) {
    dispatch(*request, false);
    if (stopping_) {
      return;
    }
  }
}

void Kernel::on_control_message() {
  while (auto request = receive(sockets_->control, "control")) {
    dispatch(*request, true);
  }
}

void Kernel::reply(zmq::socket_t& socket, const protocol::Message& request, std::string_view msg_type,
                   boost::json::object content) {
  const auto message = protocol::make_child(request, msg_type, session_id_, std::move(content));
  send_frames(socket, protocol::encode_message(message, signer_));
}

void Kernel::publish(std::string_view msg_type, boost::json::object content, const protocol::Message* parent) {
  protocol::Message message;
  if (parent != nullptr) {
    message = protocol::make_child(*parent, msg_type, session_id_, std::move(content));
    message.identities.clear();
  } else {
    message.header = protocol::make_header(msg_type, session_id_, "tejun");
    message.content = std::move(content);
  }
  message.identities.emplace_back("kernel." + session_id_ + "." + std::string(msg_type));
  if (!send_frames(sockets_->iopub, protocol::encode_message(message, signer_))) {
    logger_->warn("iopub subscriber too slow: dropped a {} message", msg_type);
  }
}

void Kernel::publish_status(const char* state, const protocol::Message* parent) {
  publish("status", {{"execution_state", state}}, parent);
}

// StepHost: what running steps see.

void Kernel::write_stream(exec::StreamName name, std::string_view text) {
  if (current_silent_) {
    return;
  }
  publish("stream", {{"name", name == exec::StreamName::out ? "stdout" : "stderr"}, {"text", text}}, current_);
}

namespace {

// A MIME bundle as Jupyter sends it: JSON types (application/json, …+json) as JSON values,
// everything else as text.
boost::json::object bundle_data(const exec::MimeBundle& bundle) {
  boost::json::object data;
  for (const auto& [mime, text] : bundle) {
    const bool json = mime.starts_with("application/") && (mime.ends_with("/json") || mime.ends_with("+json"));
    boost::system::error_code ec;
    if (json) {
      auto value = boost::json::parse(text, ec);
      if (!ec) {
        data[mime] = std::move(value);
        continue;
      }
    }
    data[mime] = text;
  }
  return data;
}

}  // namespace

void Kernel::display(const exec::MimeBundle& bundle, bool is_result) {
  if (current_silent_) {
    return;
  }
  if (is_result) {
    publish("execute_result",
            {{"execution_count", execution_count_}, {"data", bundle_data(bundle)}, {"metadata", boost::json::object()}},
            current_);
  } else {
    publish("display_data",
            {{"data", bundle_data(bundle)}, {"metadata", boost::json::object()}, {"transient", boost::json::object()}},
            current_);
  }
}

void Kernel::display_with_id(const exec::MimeBundle& bundle, std::string_view display_id) {
  publish_display("display_data", bundle, display_id);
}

void Kernel::update_display(const exec::MimeBundle& bundle, std::string_view display_id) {
  publish_display("update_display_data", bundle, display_id);
}

void Kernel::publish_display(const char* msg_type, const exec::MimeBundle& bundle, std::string_view display_id) {
  if (!current_silent_) {
    publish(msg_type,
            {{"data", bundle_data(bundle)},
             {"metadata", boost::json::object()},
             {"transient", {{"display_id", display_id}}}},
            current_);
  }
}

void Kernel::clear_output() {
  if (!current_silent_) {
    publish("clear_output", {{"wait", false}}, current_);
  }
}

base::Result<std::string> Kernel::ask(std::string_view prompt, bool password, int gives_up,
                                      exec::Clock::time_point until) {
  if (!current_allow_stdin_ || current_ == nullptr) {
    return make_error(ErrorCode::invalid_argument, "this front end does not send input (allow_stdin is false)");
  }
  // Answers that arrive late from an earlier question are not answers to this one.
  while (!receive_frames(sockets_->stdin_socket).empty()) {
  }
  protocol::Message request =
      protocol::make_child(*current_, "input_request", session_id_,
                           {{"prompt", interpreter_.secrets().mask(prompt)}, {"password", password}});
  send_frames(sockets_->stdin_socket, protocol::encode_message(request, signer_));
  std::vector<zmq::pollitem_t> items = control_items();
  items.push_back({sockets_->stdin_socket.handle(), 0, ZMQ_POLLIN, 0});
  items.push_back({nullptr, gives_up, ZMQ_POLLIN, 0});  // poll skips a negative descriptor
  while (true) {
    poll_serving_control(items, exec::time_left(until));
    if (interrupt_pending_ || stopping_) {
      interrupt_pending_ = false;
      return make_error(ErrorCode::invalid_argument, "interrupted while waiting for input");
    }
    if ((items[3].revents & ZMQ_POLLIN) != 0) {
      return make_error(ErrorCode::invalid_argument, "the step ended before the answer came");
    }
    if (exec::Clock::now() >= until) {
      return make_error(ErrorCode::invalid_argument, "no answer before the step's time limit");
    }
    if ((items[2].revents & ZMQ_POLLIN) != 0) {
      auto answer = receive(sockets_->stdin_socket, "stdin");
      if (answer && answer->msg_type() == "input_reply") {
        const auto* value = answer->content.if_contains("value");
        return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
      }
    }
  }
}

exec::WaitStatus Kernel::wait(std::span<pollfd> fds, exec::Clock::time_point until) {
  std::vector<zmq::pollitem_t> items = control_items();
  // zmq_poll has its own event bits (ZMQ_POLLOUT is not POLLOUT).
  for (const auto& fd : fds) {
    const short events = static_cast<short>(((fd.events & POLLIN) != 0 ? ZMQ_POLLIN : 0) |
                                            ((fd.events & POLLOUT) != 0 ? ZMQ_POLLOUT : 0));
    items.push_back({nullptr, fd.fd, events, 0});
  }
  while (true) {
    if (interrupt_pending_) {
      interrupt_pending_ = false;
      return exec::WaitStatus::interrupted;
    }
    if (poll_serving_control(items, exec::time_left(until)) == 0 && exec::Clock::now() >= until) {
      return exec::WaitStatus::timed_out;
    }
    bool any = false;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      const auto revents = items[i + 2].revents;
      fds[i].revents =
          static_cast<short>(((revents & ZMQ_POLLIN) != 0 ? POLLIN : 0) | ((revents & ZMQ_POLLOUT) != 0 ? POLLOUT : 0) |
                             ((revents & ZMQ_POLLERR) != 0 ? POLLERR : 0));
      any = any || fds[i].revents != 0;
    }
    if (interrupt_pending_) {
      interrupt_pending_ = false;
      return exec::WaitStatus::interrupted;
    }
    if (any) {
      return exec::WaitStatus::ready;
    }
  }
}

}  // namespace tejun::kernel
