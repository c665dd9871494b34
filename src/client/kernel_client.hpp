// The front end's side of a kernel's five ZMQ sockets: signed messages out, verified
// messages in, one wait over all of them (and over any file descriptors the caller adds).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>

#include "protocol/connection_info.hpp"
#include "protocol/message.hpp"

namespace tejun::client {

enum class Channel : std::uint8_t { shell, control, iopub, stdin_channel };

[[nodiscard]] const char* to_string(Channel channel) noexcept;

struct Received {
  Channel channel;
  protocol::Message message;
};
// One of the caller's file descriptors is readable; `index` into the span it gave.
struct FdReady {
  std::size_t index;
};
struct TimedOut {};
using Event = std::variant<Received, FdReady, TimedOut>;

class KernelClient {
 public:
  // Connects (ZMQ connects lazily: the kernel may not be listening yet).
  explicit KernelClient(const protocol::ConnectionInfo& connection);
  KernelClient(const KernelClient&) = delete;
  KernelClient& operator=(const KernelClient&) = delete;
  KernelClient(KernelClient&&) = delete;
  KernelClient& operator=(KernelClient&&) = delete;
  ~KernelClient();

  // Sends a request; returns its msg_id. `parent` is set for replies (input_reply).
  std::string send(Channel channel, std::string_view msg_type, boost::json::object content,
                   const boost::json::object& parent = {});

  // Sends a whole message as it is (header included, as a front end made it): a bridge's
  // forwarding. Its signature is this connection's.
  void send_message(Channel channel, const protocol::Message& message);
  // The next message on any channel, or the first of `fds` to become readable, or nothing
  // within `timeout`. Messages that fail their signature check are dropped and counted.
  [[nodiscard]] Event wait(std::chrono::milliseconds timeout, std::span<const int> fds = {});

  // Waits up to `timeout` until the stdin socket's connection is up: the kernel drops input
  // requests sent before it. True once it is.
  [[nodiscard]] bool wait_stdin_connected(std::chrono::milliseconds timeout);

  // Unsubscribes from iopub: the kernel no longer queues its broadcasts for this client.
  void stop_iopub();

  // Sends a heartbeat and waits up to `timeout` for its echo.
  [[nodiscard]] bool heartbeat(std::chrono::milliseconds timeout);

  [[nodiscard]] const std::string& session() const noexcept { return session_; }
  [[nodiscard]] std::uint64_t rejected_messages() const noexcept { return rejected_; }

 private:
  struct Sockets;
  std::string session_;
  std::unique_ptr<Sockets> sockets_;
  std::uint64_t rejected_ = 0;
};

}  // namespace tejun::client
