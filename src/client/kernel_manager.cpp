#include "client/kernel_manager.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>

#include "base/ids.hpp"
#include "exec/unique_fd.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX, not in unistd.h without _GNU_SOURCE

namespace tejun::client {
namespace {

using base::ErrorCode;
using base::make_error;

constexpr std::size_t kKeyLength = 64;
constexpr std::size_t kDeathReportLines = 20;
// How long to wait for iopub to carry a message before asking kernel_info again: ZMQ
// subscriptions take a moment, and what is published before they arrive is lost.
constexpr auto kIopubProbeInterval = std::chrono::milliseconds(25);

// Five distinct free loopback ports: all bound at once, then released for the kernel.
base::Result<std::array<std::uint16_t, 5>> free_ports() {
  std::array<exec::UniqueFd, 5> sockets;
  std::array<std::uint16_t, 5> ports{};
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    sockets[i] = exec::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (!sockets[i] || ::bind(sockets[i].get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(sockets[i].get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
      return make_error(ErrorCode::io_error, fmt::format("cannot find a free port on 127.0.0.1: {}",
                                                         std::strerror(errno)));  // NOLINT(concurrency-mt-unsafe)
    }
    ports[i] = ntohs(address.sin_port);
  }
  return ports;
}

std::string connection_json(const protocol::ConnectionInfo& info) {
  boost::json::object object{{"transport", info.transport},
                             {"ip", info.ip},
                             {"shell_port", info.shell_port},
                             {"iopub_port", info.iopub_port},
                             {"stdin_port", info.stdin_port},
                             {"control_port", info.control_port},
                             {"hb_port", info.hb_port},
                             {"key", info.key},
                             {"signature_scheme", info.signature_scheme},
                             {"kernel_name", info.kernel_name}};
  return boost::json::serialize(object);
}

// Writes a new file readable by its owner only: it holds the key that signs messages.
base::Result<void> write_private_file(const std::string& path, const std::string& text) {
  exec::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  std::size_t written = 0;
  while (fd && written < text.size()) {
    const ssize_t got = ::write(fd.get(), text.data() + written, text.size() - written);
    if (got < 0 && errno != EINTR) {
      break;
    }
    written += got > 0 ? static_cast<std::size_t>(got) : 0;
  }
  if (!fd || written < text.size()) {
    auto error = make_error(ErrorCode::io_error, fmt::format("cannot write the connection file: {}",
                                                             std::strerror(errno)));  // NOLINT(concurrency-mt-unsafe)
    error.where.path = path;
    ::unlink(path.c_str());
    return error;
  }
  return {};
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// ${NAME} in a kernelspec's env values, from the environment the kernel gets.
std::string substitute(std::string value, const std::map<std::string, std::string>& environment) {
  for (std::size_t at = value.find("${"); at != std::string::npos; at = value.find("${", at)) {
    const std::size_t end = value.find('}', at);
    if (end == std::string::npos) {
      break;
    }
    const auto found = environment.find(value.substr(at + 2, end - at - 2));
    if (found == environment.end()) {
      at = end + 1;
      continue;
    }
    value.replace(at, end - at + 1, found->second);
    at += found->second.size();
  }
  return value;
}

}  // namespace

base::Result<std::unique_ptr<KernelManager>> KernelManager::start(KernelSpec spec, StartOptions options) {
  std::unique_ptr<KernelManager> manager(new KernelManager(std::move(spec), std::move(options)));
  if (auto launched = manager->launch(); !launched) {
    return launched.error();
  }
  return manager;
}

base::Result<void> KernelManager::launch() {
  auto ports = free_ports();
  if (!ports) {
    return ports.error();
  }
  connection_ = {};
  connection_.shell_port = (*ports)[0];
  connection_.iopub_port = (*ports)[1];
  connection_.stdin_port = (*ports)[2];
  connection_.control_port = (*ports)[3];
  connection_.hb_port = (*ports)[4];
  connection_.key = base::random_hex_id(kKeyLength);
  connection_.kernel_name = spec_.name;

  const std::string runtime = jupyter_runtime_dir();
  std::error_code error;
  if (std::filesystem::create_directories(runtime, error)) {
    ::chmod(runtime.c_str(), 0700);  // as jupyter_core makes it; an existing one is left as it is
  }
  if (error) {
    return make_error(ErrorCode::io_error,
                      fmt::format("cannot create the Jupyter runtime directory {}: {}", runtime, error.message()));
  }
  connection_file_ = fmt::format("{}/kernel-{}.json", runtime, base::random_hex_id(16));
  if (auto written = write_private_file(connection_file_, connection_json(connection_)); !written) {
    connection_file_.clear();
    return written.error();
  }

  std::map<std::string, std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    const std::string_view text(*entry);
    const std::size_t equals = text.find('=');
    if (equals != std::string_view::npos) {
      environment.insert_or_assign(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
  }
  for (const auto& [name, value] : options_.environment) {
    environment.insert_or_assign(name, value);
  }
  for (const auto& [name, value] : spec_.env) {
    environment.insert_or_assign(name, substitute(value, environment));
  }
  LaunchOptions launch;
  for (auto word : spec_.argv) {
    replace_all(word, "{connection_file}", connection_file_);
    replace_all(word, "{resource_dir}", spec_.resource_dir);
    launch.argv.push_back(std::move(word));
  }
  for (const auto& [name, value] : environment) {
    launch.environment.push_back(fmt::format("{}={}", name, value));
  }
  launch.working_directory = options_.working_directory;
  auto process = KernelProcess::launch(launch);
  if (!process) {
    remove_connection_file();
    return process.error();
  }
  process_ = std::move(*process);
  client_ = std::make_unique<KernelClient>(connection_);
  if (auto ready = wait_ready(); !ready) {
    process_->kill();
    remove_connection_file();
    return ready.error();
  }
  if (!options_.watch_iopub) {
    client_->stop_iopub();
  }
  return {};
}

base::Result<void> KernelManager::wait_ready() {
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + options_.startup_timeout;
  std::vector<std::string> requests{client_->send(Channel::shell, "kernel_info_request", {})};
  auto next_probe = std::chrono::steady_clock::time_point::max();
  bool replied = false;
  std::vector<int> watched;
  if (process_->exit_fd() >= 0) {
    watched.push_back(process_->exit_fd());
  }
  const bool polls_exit = watched.empty();
  if (options_.cancel_fd >= 0) {
    watched.push_back(options_.cancel_fd);
  }
  const auto is_ours = [&](const protocol::Message& message) {
    const auto* parent = message.parent_header.if_contains("msg_id");
    return parent != nullptr && parent->is_string() &&
           std::ranges::find(requests, std::string_view(parent->get_string())) != requests.end();
  };
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return make_error(ErrorCode::io_error,
                        fmt::format("the kernel '{}' did not answer kernel_info within {} s{}", spec_.name,
                                    options_.startup_timeout.count() / 1000,
                                    process_->output_tail(kDeathReportLines).empty()
                                        ? std::string()
                                        : "; its last lines:\n" + process_->output_tail(kDeathReportLines)));
    }
    if (now >= next_probe) {
      requests.push_back(client_->send(Channel::shell, "kernel_info_request", {}));
      next_probe = now + kIopubProbeInterval;
    }
    const auto until = std::min(deadline, next_probe);
    auto wait_for = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    if (polls_exit) {
      wait_for = std::min(wait_for, std::chrono::milliseconds(50));
    }
    auto event = client_->wait(std::max(wait_for, std::chrono::milliseconds(1)), watched);
    if (const auto* ready = std::get_if<FdReady>(&event);
        ready != nullptr && watched[ready->index] == options_.cancel_fd) {
      return make_error(ErrorCode::invalid_argument, fmt::format("starting the kernel '{}' was cancelled", spec_.name));
    }
    if (std::holds_alternative<FdReady>(event) || (polls_exit && process_->has_exited())) {
      process_->wait_exit(std::chrono::milliseconds(1000));
      return make_error(ErrorCode::io_error, death_report());
    }
    auto* received = std::get_if<Received>(&event);
    if (received == nullptr || !is_ours(received->message)) {
      continue;
    }
    if (received->channel == Channel::shell && received->message.msg_type() == "kernel_info_reply") {
      if (!replied) {
        kernel_info_ = received->message.content;
      }
      replied = true;
      next_probe = std::chrono::steady_clock::now() + kIopubProbeInterval;
    } else if (received->channel == Channel::iopub && replied) {
      // The reply has come and iopub carries our messages: the kernel is ready once stdin is
      // connected too. Replies to the remaining probes are dropped by whoever waits next
      // (they answer no request of theirs).
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (!client_->wait_stdin_connected(std::max(left, std::chrono::milliseconds(0)))) {
        continue;
      }
      return {};
    }
  }
}

bool KernelManager::is_alive() {
  return process_ && !process_->has_exited();
}

void KernelManager::interrupt() {
  if (!is_alive()) {
    return;
  }
  if (spec_.interrupt_mode == "message") {
    client_->send(Channel::control, "interrupt_request", {});
  } else {
    process_->signal_group(SIGINT);
  }
}

bool KernelManager::shutdown(std::chrono::milliseconds grace) {
  if (!process_) {
    return true;
  }
  bool by_itself = process_->has_exited();
  if (!by_itself && client_) {
    client_->send(Channel::control, "shutdown_request", {{"restart", false}});
    by_itself = process_->wait_exit(grace);
  }
  if (!by_itself) {
    process_->kill();
  }
  client_.reset();
  remove_connection_file();
  return by_itself;
}

base::Result<void> KernelManager::restart(std::chrono::milliseconds grace) {
  (void)shutdown(grace);
  process_.reset();
  return launch();
}

std::string KernelManager::death_report() {
  std::string report = fmt::format("the kernel '{}' died", spec_.name);
  if (process_ && process_->has_exited()) {
    report += fmt::format(" ({})", process_->exit_description());
  }
  if (process_) {
    if (auto tail = process_->output_tail(kDeathReportLines); !tail.empty()) {
      report += "; its last lines:\n" + tail;
    }
  }
  return report;
}

void KernelManager::remove_connection_file() {
  if (!connection_file_.empty()) {
    ::unlink(connection_file_.c_str());
    connection_file_.clear();
  }
}

KernelManager::~KernelManager() {
  constexpr auto kGrace = std::chrono::milliseconds(2000);
  (void)shutdown(kGrace);
}

}  // namespace tejun::client
