// /api/kernels/{id}/channels: a WebSocket bridged to a kernel's ZMQ sockets, in Jupyter's
// JSON WebSocket protocol ({"channel": "shell", "header": …, "content": …}). Each
// connection has its own sockets (so several clients can watch one kernel) and its own
// thread, which waits on the kernel and on the client's messages.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "net/websocket.hpp"
#include "protocol/connection_info.hpp"

namespace tejun::server {

class ChannelBridge final : public net::WebSocketHandler {
 public:
  // Where the kernel listens now, and how many times it has restarted (its ports change);
  // nullopt once it is gone.
  using Locate = std::function<std::optional<std::pair<std::uint64_t, protocol::ConnectionInfo>>()>;

  // `activity` is called for every message that passes (the kernel's last_activity).
  ChannelBridge(Locate locate, std::function<void()> activity);
  ~ChannelBridge() override;
  ChannelBridge(const ChannelBridge&) = delete;
  ChannelBridge& operator=(const ChannelBridge&) = delete;
  ChannelBridge(ChannelBridge&&) = delete;
  ChannelBridge& operator=(ChannelBridge&&) = delete;

  void on_open(std::shared_ptr<net::WebSocketSender> sender) override;
  void on_message(std::string data, bool binary) override;
  void on_close() override;

  // Closes the WebSocket and waits for the bridge's thread to end (server shutdown).
  void stop_and_join();
  [[nodiscard]] bool finished() const noexcept { return finished_; }

 private:
  void run();
  void wake();

  Locate locate_;
  std::function<void()> activity_;
  std::shared_ptr<net::WebSocketSender> sender_;
  std::mutex mutex_;
  std::deque<std::string> incoming_;  // from the client, for the bridge thread
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
  int wake_[2] = {-1, -1};  // a pipe: the bridge thread's wait includes its read end
};

}  // namespace tejun::server
