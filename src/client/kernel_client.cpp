#include "client/kernel_client.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>
#include <zmq.hpp>

#include "base/ids.hpp"

namespace tejun::client {
namespace {

constexpr int kReconnectMs = 10;  // the kernel may bind a moment after we connect
constexpr int kIopubQueue = 64;   // messages held before the kernel is made to wait
constexpr std::size_t kSessionIdLength = 32;

// `identity`: the kernel answers input requests to the stdin socket with the same ZMQ
// identity as the shell socket that sent the request, so the DEALERs share the session's.
// One libzmq context for every client of the process (its I/O thread serves them all): a
// server bridges hundreds of WebSockets, each with a client, and a context of its own would
// cost each two threads. Never destroyed: terminating it would wait for every socket.
// Its socket limit is raised from libzmq's default of 1023 (a server with 200 kernels has 2800
// sockets) to the most this libzmq allows; the process's open-files limit still applies.
zmq::context_t& shared_context() {
  static auto* context = [] {
    auto* made = new zmq::context_t(1);  // NOLINT(cppcoreguidelines-owning-memory)
    made->set(zmq::ctxopt::max_sockets, made->get(zmq::ctxopt::socket_limit));
    return made;
  }();
  return *context;
}

zmq::socket_t connected(zmq::context_t& context, zmq::socket_type type, const std::string& endpoint,
                        const std::string& identity = {}) {
  zmq::socket_t socket(context, type);
  if (!identity.empty()) {
    socket.set(zmq::sockopt::routing_id, identity);
  }
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::reconnect_ivl, kReconnectMs);
  if (type == zmq::socket_type::sub) {
    // A small queue: when we read slower than the kernel publishes, libzmq stops reading
    // the connection and the kernel's iopub (no-drop, high-water mark 64) waits. Output is
    // slowed down, never dropped, and never piles up here (1000 messages of 64 KiB would).
    socket.set(zmq::sockopt::rcvhwm, kIopubQueue);
    socket.set(zmq::sockopt::subscribe, "");
  }
  socket.connect(endpoint);
  return socket;
}

std::vector<std::string> receive_frames(zmq::socket_t& socket) {
  std::vector<std::string> frames;
  zmq::message_t frame;
  while (socket.recv(frame, frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none)) {
    frames.emplace_back(frame.to_string());
    if (!frame.more()) {
      break;
    }
  }
  return frames;
}

}  // namespace

const char* to_string(Channel channel) noexcept {
  switch (channel) {
    case Channel::shell:
      return "shell";
    case Channel::control:
      return "control";
    case Channel::iopub:
      return "iopub";
    case Channel::stdin_channel:
      return "stdin";
  }
  return "?";
}

struct KernelClient::Sockets {
  Sockets(const protocol::ConnectionInfo& info, const std::string& identity)
      : signer(info.key),
        endpoint_hb(info.endpoint(info.hb_port)),
        shell(connected(context, zmq::socket_type::dealer, info.endpoint(info.shell_port), identity)),
        control(connected(context, zmq::socket_type::dealer, info.endpoint(info.control_port), identity)),
        iopub(connected(context, zmq::socket_type::sub, info.endpoint(info.iopub_port))),
        stdin_socket(context, zmq::socket_type::dealer),
        hb(connected(context, zmq::socket_type::req, endpoint_hb)) {
    // The kernel's stdin is a ROUTER: what it sends before our connection is up is dropped,
    // so the handshake is watched (input requests must not vanish).
    const std::string monitor_endpoint = "inproc://stdin-monitor-" + identity;
    zmq_socket_monitor(stdin_socket.handle(), monitor_endpoint.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    stdin_monitor.connect(monitor_endpoint);
    stdin_socket.set(zmq::sockopt::linger, 0);
    stdin_socket.set(zmq::sockopt::reconnect_ivl, kReconnectMs);
    stdin_socket.set(zmq::sockopt::routing_id, identity);
    stdin_socket.connect(info.endpoint(info.stdin_port));
  }

  zmq::socket_t& socket(Channel channel) {
    switch (channel) {
      case Channel::shell:
        return shell;
      case Channel::control:
        return control;
      case Channel::iopub:
        return iopub;
      case Channel::stdin_channel:
        return stdin_socket;
    }
    return shell;
  }

  protocol::MessageSigner signer;
  std::string endpoint_hb;
  zmq::context_t& context = shared_context();
  zmq::socket_t shell;
  zmq::socket_t control;
  zmq::socket_t iopub;
  zmq::socket_t stdin_socket;
  zmq::socket_t hb;
  zmq::socket_t stdin_monitor{context, zmq::socket_type::pair};
  bool stdin_connected = false;
};

KernelClient::KernelClient(const protocol::ConnectionInfo& connection)
    : session_(base::random_hex_id(kSessionIdLength)), sockets_(std::make_unique<Sockets>(connection, session_)) {}

KernelClient::~KernelClient() = default;

std::string KernelClient::send(Channel channel, std::string_view msg_type, boost::json::object content,
                               const boost::json::object& parent) {
  protocol::Message message;
  message.header = protocol::make_header(msg_type, session_, "tejun");
  message.parent_header = parent;
  message.content = std::move(content);
  std::string id(message.msg_id());
  send_message(channel, message);
  return id;
}

void KernelClient::send_message(Channel channel, const protocol::Message& message) {
  const auto frames = protocol::encode_message(message, sockets_->signer);
  auto& socket = sockets_->socket(channel);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    (void)socket.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

Event KernelClient::wait(std::chrono::milliseconds timeout, std::span<const int> fds) {
  constexpr std::array kChannels{Channel::shell, Channel::control, Channel::stdin_channel, Channel::iopub};
  std::vector<zmq::pollitem_t> items;
  items.reserve(kChannels.size() + fds.size());
  for (const auto channel : kChannels) {
    items.push_back({sockets_->socket(channel).handle(), 0, ZMQ_POLLIN, 0});
  }
  for (const int fd : fds) {
    items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Messages first: replies and output already queued are taken before a timeout or an
    // exit is reported, so nothing the kernel said is lost.
    for (std::size_t i = 0; i < kChannels.size(); ++i) {
      auto frames = receive_frames(sockets_->socket(kChannels[i]));
      if (frames.empty()) {
        continue;
      }
      auto message = protocol::decode_message(std::move(frames), sockets_->signer);
      if (!message) {
        ++rejected_;
        continue;
      }
      return Received{kChannels[i], std::move(*message)};
    }
    for (auto& item : items) {
      item.revents = 0;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int ready = 0;
    try {
      ready = zmq::poll(items.data(), items.size(), std::max(left, std::chrono::milliseconds(0)));
    } catch (const zmq::error_t& error) {
      if (error.num() != EINTR) {
        throw;
      }
      continue;  // a signal: its handler's fd, if the caller gave one, is readable now
    }
    if (ready == 0 && left.count() <= 0) {
      return TimedOut{};
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if ((items[kChannels.size() + i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) != 0) {
        // Still take any message that arrived together with the fd event first.
        bool messages_waiting = false;
        for (std::size_t c = 0; c < kChannels.size(); ++c) {
          messages_waiting = messages_waiting || (items[c].revents & ZMQ_POLLIN) != 0;
        }
        if (!messages_waiting) {
          return FdReady{i};
        }
      }
    }
    if (ready == 0 && std::chrono::steady_clock::now() >= deadline) {
      return TimedOut{};
    }
  }
}

bool KernelClient::wait_stdin_connected(std::chrono::milliseconds timeout) {
  auto& monitor = sockets_->stdin_monitor;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!sockets_->stdin_connected) {
    zmq::message_t event;
    if (monitor.recv(event, zmq::recv_flags::dontwait)) {
      // Two frames: the event (16-bit id, 32-bit value), then the endpoint.
      std::uint16_t id = 0;
      if (event.size() >= sizeof id) {
        std::memcpy(&id, event.data(), sizeof id);
      }
      zmq::message_t endpoint;
      (void)monitor.recv(endpoint, zmq::recv_flags::dontwait);
      sockets_->stdin_connected = id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
      continue;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    std::array<zmq::pollitem_t, 1> items{{{monitor.handle(), 0, ZMQ_POLLIN, 0}}};
    try {
      (void)zmq::poll(items.data(), items.size(), left);
    } catch (const zmq::error_t& error) {
      if (error.num() != EINTR) {
        throw;
      }
    }
  }
  return true;
}

void KernelClient::stop_iopub() {
  sockets_->iopub.set(zmq::sockopt::unsubscribe, "");
}

bool KernelClient::heartbeat(std::chrono::milliseconds timeout) {
  auto& hb = sockets_->hb;
  (void)hb.send(zmq::str_buffer("ping"), zmq::send_flags::none);
  std::array<zmq::pollitem_t, 1> items{{{hb.handle(), 0, ZMQ_POLLIN, 0}}};
  if (zmq::poll(items.data(), items.size(), timeout) > 0) {
    zmq::message_t echo;
    if (hb.recv(echo)) {
      return true;
    }
  }
  // A REQ socket without its reply cannot send again: start a new one.
  sockets_->hb = connected(sockets_->context, zmq::socket_type::req, sockets_->endpoint_hb);
  return false;
}

}  // namespace tejun::client
