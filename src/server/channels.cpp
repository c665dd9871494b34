#include "server/channels.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <set>
#include <variant>

#include "client/kernel_client.hpp"

namespace tejun::server {
namespace {

namespace json = boost::json;

std::optional<client::Channel> channel_named(std::string_view name) {
  if (name == "shell") {
    return client::Channel::shell;
  }
  if (name == "control") {
    return client::Channel::control;
  }
  if (name == "stdin") {
    return client::Channel::stdin_channel;
  }
  return std::nullopt;  // iopub is the kernel's to send
}

json::object object_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? value->as_object() : json::object();
}

// A kernel message as Jupyter's JSON WebSocket protocol sends it to the browser.
std::string to_websocket(client::Channel channel, const protocol::Message& message) {
  json::object packet{{"header", message.header},     {"parent_header", message.parent_header},
                      {"metadata", message.metadata}, {"content", message.content},
                      {"buffers", json::array()},     {"channel", client::to_string(channel)}};
  packet["msg_id"] = message.header.contains("msg_id") ? message.header.at("msg_id") : json::value("");
  packet["msg_type"] = message.header.contains("msg_type") ? message.header.at("msg_type") : json::value("");
  return json::serialize(packet);
}

}  // namespace

ChannelBridge::ChannelBridge(Locate locate, std::function<void()> activity)
    : locate_(std::move(locate)), activity_(std::move(activity)) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_[0] = wake_[1] = -1;
  }
}

ChannelBridge::~ChannelBridge() {
  stop_and_join();
  for (const int fd : wake_) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void ChannelBridge::wake() {
  const char byte = 1;
  [[maybe_unused]] const auto written = ::write(wake_[1], &byte, 1);  // a full pipe is awake already
}

void ChannelBridge::on_open(std::shared_ptr<net::WebSocketSender> sender) {
  sender_ = std::move(sender);
  thread_ = std::thread([this] {
    run();
    finished_ = true;
  });
}

void ChannelBridge::stop_and_join() {
  // Once only: at server shutdown this runs before the event loop is destroyed, and the
  // destructor's call comes after it.
  if (stopped_.exchange(true)) {
    return;
  }
  stopping_ = true;
  wake();
  if (sender_) {
    sender_->close();  // also releases a send waiting for room
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ChannelBridge::on_message(std::string data, bool binary) {
  if (binary) {
    return;  // the v1 binary protocol is not offered, so a client does not send it
  }
  {
    const std::lock_guard lock(mutex_);
    incoming_.push_back(std::move(data));
  }
  wake();
}

void ChannelBridge::on_close() {
  stopping_ = true;
  wake();
}

void ChannelBridge::run() {
  auto where = locate_();
  if (!where) {
    return;
  }
  auto generation = where->first;
  auto kernel = std::make_unique<client::KernelClient>(where->second);
  // After a restart the kernel listens on new ports: connect again, as the client keeps its
  // WebSocket across a restart.
  const auto follow_restarts = [&] {
    auto now = locate_();
    if (now && now->first != generation) {
      generation = now->first;
      kernel = std::make_unique<client::KernelClient>(now->second);
    }
    return now.has_value();
  };
  // A SUB socket misses what the kernel publishes before its subscription has reached it.
  // Until a first iopub message arrives, ask kernel_info on shell every 50 ms (its busy and
  // idle go to iopub); the client's messages wait meanwhile, and the answers to these
  // requests are not forwarded.
  std::set<std::string, std::less<>> nudges;
  const auto nudge_until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto next = std::chrono::steady_clock::now(); !stopping_ && std::chrono::steady_clock::now() < nudge_until;) {
    if (std::chrono::steady_clock::now() >= next) {
      nudges.insert(kernel->send(client::Channel::shell, "kernel_info_request", {}));
      next = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    }
    auto event = kernel->wait(std::chrono::milliseconds(10));
    if (auto* received = std::get_if<client::Received>(&event);
        received != nullptr && received->channel == client::Channel::iopub) {
      break;
    }
  }
  const auto from_nudge = [&nudges](const protocol::Message& message) {
    const auto* parent = message.parent_header.if_contains("msg_id");
    return parent != nullptr && parent->is_string() && nudges.contains(std::string_view(parent->as_string()));
  };

  const int fds[] = {wake_[0]};
  while (!stopping_) {
    auto event = kernel->wait(std::chrono::milliseconds(500), fds);
    if (auto* received = std::get_if<client::Received>(&event)) {
      if (from_nudge(received->message)) {
        continue;
      }
      if (activity_) {
        activity_();
      }
      if (!sender_->send_text(to_websocket(received->channel, received->message))) {
        break;  // the client has gone
      }
      continue;
    }
    if (!follow_restarts()) {
      break;  // the kernel was deleted
    }
    if (!std::holds_alternative<client::FdReady>(event)) {
      continue;
    }
    char drain[256];
    while (::read(wake_[0], drain, sizeof drain) > 0) {
    }
    std::deque<std::string> batch;
    {
      const std::lock_guard lock(mutex_);
      batch.swap(incoming_);
    }
    for (const auto& text : batch) {
      boost::system::error_code error;
      auto value = json::parse(text, error);
      if (error || !value.is_object()) {
        continue;  // not a message: Jupyter Server drops these too
      }
      const auto& packet = value.as_object();
      const auto* name = packet.if_contains("channel");
      const auto channel = name != nullptr && name->is_string() ? channel_named(name->as_string()) : std::nullopt;
      if (!channel) {
        continue;
      }
      protocol::Message message;
      message.header = object_member(packet, "header");
      message.parent_header = object_member(packet, "parent_header");
      message.metadata = object_member(packet, "metadata");
      message.content = object_member(packet, "content");
      kernel->send_message(*channel, message);
      if (activity_) {
        activity_();
      }
    }
  }
  if (sender_) {
    sender_->close();
  }
}

}  // namespace tejun::server
