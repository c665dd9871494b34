// /api/kernels/{id}/channels: a WebSocket bridged to a kernel's ZMQ sockets, in Jupyter's JSON
// WebSocket protocol ({"channel": "shell", "header": …}) or its binary subprotocol
// v1.kernel.websocket.jupyter.org. Each bridge has its own sockets (so several clients can
// watch one kernel) and its own thread, which waits on the kernel and on its client.
//
// A client that says who it is (?session_id=, as JupyterLab does) keeps its bridge when its
// connection drops: the bridge goes on receiving, holds what the kernel sends (up to
// kMissedLimit bytes, the oldest dropped first, for kReplayWindow) and hands it over, in
// order, when that client connects again. The same sockets also mean replies to its pending
// requests still reach it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/websocket.hpp"
#include "protocol/message.hpp"
#include "server/channels_wire.hpp"
#include "server/kernels.hpp"

namespace tejun::server {

inline constexpr std::size_t kMissedLimit = std::size_t{32} << 20;
inline constexpr auto kReplayWindow = std::chrono::minutes(15);

class ChannelBridge final : public std::enable_shared_from_this<ChannelBridge> {
 public:
  // A bridge to kernel `kernel_id` of `kernels`, for the client `session_key` ("": a client
  // that does not say, whose bridge ends with its connection).
  ChannelBridge(Kernels& kernels, std::string kernel_id, std::string session_key);
  ~ChannelBridge();
  ChannelBridge(const ChannelBridge&) = delete;
  ChannelBridge& operator=(const ChannelBridge&) = delete;
  ChannelBridge(ChannelBridge&&) = delete;
  ChannelBridge& operator=(ChannelBridge&&) = delete;

  // The handler of one WebSocket connection of this bridge's client; null when the bridge is
  // ending (then make a new one). A connection that comes while another is open replaces it.
  [[nodiscard]] std::shared_ptr<net::WebSocketHandler> connect(WireProtocol protocol);

  // Closes the WebSocket and waits for the bridge's thread to end (server shutdown).
  void stop_and_join();
  [[nodiscard]] bool finished() const noexcept { return finished_; }
  [[nodiscard]] const std::string& kernel_id() const noexcept { return kernel_id_; }
  [[nodiscard]] const std::string& session_key() const noexcept { return session_key_; }

 private:
  class ClientEnd;
  struct Pending {
    std::string channel;
    protocol::Message message;
    std::size_t bytes = 0;
  };

  void attach(const std::shared_ptr<net::WebSocketSender>& sender, WireProtocol protocol);
  void detach(const net::WebSocketSender* sender);
  void receive(std::string data, bool binary);
  void wake();
  void run();
  // Queues a message for the client and sends what it can; what no client takes stays.
  void deliver(std::string channel, protocol::Message message);
  void flush();
  [[nodiscard]] bool should_end();

  Kernels& kernels_;
  std::string kernel_id_;
  std::string session_key_;
  std::deque<Pending> pending_;  // the bridge thread's: not yet sent, oldest first
  std::size_t pending_bytes_ = 0;
  std::size_t dropped_ = 0;  // messages dropped from pending_ since the last flush
  std::size_t dropped_bytes_ = 0;
  std::mutex mutex_;  // guards what follows
  std::shared_ptr<net::WebSocketSender> sender_;
  WireProtocol protocol_ = WireProtocol::json;
  std::chrono::steady_clock::time_point detached_at_ = std::chrono::steady_clock::now();
  bool ending_ = false;
  std::deque<std::pair<std::string, bool>> incoming_;  // from the client, for the bridge thread
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
  int wake_[2] = {-1, -1};  // a pipe: the bridge thread's wait includes its read end
};

// The server's bridges: a client that comes back (same kernel, same session_id) gets its own.
// Bridges that have ended are released every few seconds (their thread joined, their pipe
// closed), and the memory they freed is given back to the system.
class ChannelBridges {
 public:
  explicit ChannelBridges(Kernels& kernels);
  ~ChannelBridges();
  ChannelBridges(const ChannelBridges&) = delete;
  ChannelBridges& operator=(const ChannelBridges&) = delete;
  ChannelBridges(ChannelBridges&&) = delete;
  ChannelBridges& operator=(ChannelBridges&&) = delete;

  [[nodiscard]] std::shared_ptr<net::WebSocketHandler> connect(const std::string& kernel_id,
                                                               const std::string& session_key, WireProtocol protocol);
  // Stops every bridge (server shutdown, before the event loop goes).
  void stop_all();

 private:
  void sweep();  // under mutex_

  Kernels& kernels_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<ChannelBridge>> bridges_;
  std::thread sweeper_;
};

}  // namespace tejun::server
