#include "server/channels.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <set>
#include <variant>

#include "client/kernel_client.hpp"

namespace tejun::server {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// A bridge whose client does not say who it is ends with its connection; one that no client
// ever took ends after this.
constexpr auto kUnclaimedLimit = std::chrono::seconds(10);
constexpr auto kSweepInterval = std::chrono::seconds(5);

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

// About how many bytes a message takes on the wire, without serializing it: the sum of its
// strings and a little for every other value.
std::size_t weight(const json::value& value) {
  if (value.is_string()) {
    return value.as_string().size() + 2;
  }
  std::size_t total = 8;
  if (value.is_object()) {
    for (const auto& member : value.as_object()) {
      total += member.key().size() + weight(member.value());
    }
  } else if (value.is_array()) {
    for (const auto& element : value.as_array()) {
      total += weight(element);
    }
  }
  return total;
}

std::size_t weight(const protocol::Message& message) {
  std::size_t total = 256;
  for (const auto* part : {&message.header, &message.parent_header, &message.metadata, &message.content}) {
    for (const auto& member : *part) {
      total += member.key().size() + weight(member.value());
    }
  }
  for (const auto& buffer : message.buffers) {
    total += buffer.size();
  }
  return total;
}

// A status message of the server's own: a kernel restarting or dead, as jupyter_server says it.
protocol::Message status_message(std::string_view state, std::string_view session) {
  protocol::Message message;
  message.header = protocol::make_header("status", session, "tejun-server");
  message.content = {{"execution_state", state}};
  return message;
}

}  // namespace

// One WebSocket connection of the bridge's client.
class ChannelBridge::ClientEnd final : public net::WebSocketHandler {
 public:
  ClientEnd(std::shared_ptr<ChannelBridge> bridge, WireProtocol protocol)
      : bridge_(std::move(bridge)), protocol_(protocol) {}
  void on_open(std::shared_ptr<net::WebSocketSender> sender) override {
    sender_ = std::move(sender);
    bridge_->attach(sender_, protocol_);
  }
  void on_message(std::string data, bool binary) override { bridge_->receive(std::move(data), binary); }
  void on_close() override { bridge_->detach(sender_.get()); }

 private:
  std::shared_ptr<ChannelBridge> bridge_;
  WireProtocol protocol_;
  std::shared_ptr<net::WebSocketSender> sender_;
};

ChannelBridge::ChannelBridge(Kernels& kernels, std::string kernel_id, std::string session_key)
    : kernels_(kernels), kernel_id_(std::move(kernel_id)), session_key_(std::move(session_key)) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_[0] = wake_[1] = -1;
  }
  thread_ = std::thread([this] {
    run();
    finished_ = true;
  });
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

std::shared_ptr<net::WebSocketHandler> ChannelBridge::connect(WireProtocol protocol) {
  const std::lock_guard lock(mutex_);
  if (ending_) {
    return nullptr;
  }
  return std::make_shared<ClientEnd>(shared_from_this(), protocol);
}

void ChannelBridge::attach(const std::shared_ptr<net::WebSocketSender>& sender, WireProtocol protocol) {
  std::shared_ptr<net::WebSocketSender> replaced;
  {
    const std::lock_guard lock(mutex_);
    if (ending_) {
      replaced = sender;  // too late: this client connects again and gets a new bridge
    } else {
      replaced = std::exchange(sender_, sender);
      protocol_ = protocol;
    }
  }
  if (replaced) {
    replaced->close();  // a stale connection of the same client
  }
  kernels_.count_connection(kernel_id_, +1);
  wake();
}

void ChannelBridge::detach(const net::WebSocketSender* sender) {
  kernels_.count_connection(kernel_id_, -1);
  {
    const std::lock_guard lock(mutex_);
    if (sender_.get() != sender) {
      return;  // already replaced
    }
    sender_.reset();
    detached_at_ = Clock::now();
    if (session_key_.empty()) {
      ending_ = true;
      stopping_ = true;
    }
  }
  wake();
}

void ChannelBridge::receive(std::string data, bool binary) {
  {
    const std::lock_guard lock(mutex_);
    incoming_.emplace_back(std::move(data), binary);
  }
  wake();
}

void ChannelBridge::stop_and_join() {
  // Once only: at server shutdown this runs before the event loop is destroyed, and the
  // destructor's call comes after it.
  if (stopped_.exchange(true)) {
    return;
  }
  stopping_ = true;
  wake();
  std::shared_ptr<net::WebSocketSender> sender;
  {
    const std::lock_guard lock(mutex_);
    sender = sender_;
  }
  if (sender) {
    sender->close();  // also releases a send waiting for room
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ChannelBridge::deliver(std::string channel, protocol::Message message) {
  const auto bytes = weight(message);
  pending_bytes_ += bytes;
  pending_.push_back({std::move(channel), std::move(message), bytes});
  flush();
}

void ChannelBridge::flush() {
  while (!pending_.empty() && !stopping_) {
    std::shared_ptr<net::WebSocketSender> sender;
    WireProtocol protocol{};
    {
      const std::lock_guard lock(mutex_);
      sender = sender_;
      protocol = protocol_;
    }
    if (!sender) {
      break;
    }
    std::string packet;
    const bool notice = dropped_ > 0;
    if (notice) {
      // Said where the output went, in the output of the step whose messages were dropped.
      protocol::Message message;
      message.header = protocol::make_header("stream", session_key_, "tejun-server");
      message.parent_header = pending_.front().message.parent_header;
      message.content = {{"name", "stderr"},
                         {"text", fmt::format("\n[tejun server: {} messages ({} bytes) sent while this client was "
                                              "disconnected were dropped; it keeps the last {} MiB]\n",
                                              dropped_, dropped_bytes_, kMissedLimit >> 20)}};
      packet = encode(protocol, "iopub", message);
    } else {
      packet = encode(protocol, pending_.front().channel, pending_.front().message);
    }
    if (!sender->send(std::move(packet), protocol == WireProtocol::v1)) {
      const std::lock_guard lock(mutex_);
      if (sender_ == sender) {  // gone: keep the rest for when it comes back
        sender_.reset();
        detached_at_ = Clock::now();
        if (session_key_.empty()) {
          ending_ = true;
          stopping_ = true;
        }
      }
      continue;
    }
    if (notice) {
      dropped_ = dropped_bytes_ = 0;
      continue;
    }
    pending_bytes_ -= pending_.front().bytes;
    pending_.pop_front();
  }
  while (pending_bytes_ > kMissedLimit && pending_.size() > 1) {
    ++dropped_;
    dropped_bytes_ += pending_.front().bytes;
    pending_bytes_ -= pending_.front().bytes;
    pending_.pop_front();
  }
}

bool ChannelBridge::should_end() {
  const std::lock_guard lock(mutex_);
  if (ending_) {
    return true;
  }
  if (sender_ || Clock::now() - detached_at_ <
                     (session_key_.empty() ? Clock::duration(kUnclaimedLimit) : Clock::duration(kReplayWindow))) {
    return false;
  }
  ending_ = true;
  return true;
}

void ChannelBridge::run() {
  auto link = kernels_.link(kernel_id_);
  if (!link) {
    return;
  }
  auto generation = link->generation;
  bool told_dead = link->dead;
  auto kernel = std::make_unique<client::KernelClient>(link->connection);
  // A SUB socket misses what the kernel publishes before its subscription has reached it.
  // Until a first iopub message arrives, ask kernel_info on shell every 50 ms (its busy and
  // idle go to iopub); the answers to these requests are not forwarded.
  std::set<std::string, std::less<>> nudges;
  const auto nudge = [&] {
    const auto until = Clock::now() + std::chrono::seconds(10);
    for (auto next = Clock::now(); !stopping_ && Clock::now() < until;) {
      if (Clock::now() >= next) {
        nudges.insert(kernel->send(client::Channel::shell, "kernel_info_request", {}));
        next = Clock::now() + std::chrono::milliseconds(50);
      }
      auto event = kernel->wait(std::chrono::milliseconds(10));
      if (auto* received = std::get_if<client::Received>(&event);
          received != nullptr && received->channel == client::Channel::iopub) {
        return;
      }
    }
  };
  const auto from_nudge = [&nudges](const protocol::Message& message) {
    const auto* parent = message.parent_header.if_contains("msg_id");
    return parent != nullptr && parent->is_string() && nudges.contains(std::string_view(parent->as_string()));
  };
  // Forwards what the client sent since the last look.
  const auto forward = [&] {
    std::deque<std::pair<std::string, bool>> batch;
    {
      const std::lock_guard lock(mutex_);
      batch.swap(incoming_);
    }
    for (auto& [data, binary] : batch) {
      std::string name;
      protocol::Message message;
      if (!decode_client_message(data, binary, name, message)) {
        continue;  // not a message: Jupyter Server drops these too
      }
      if (const auto channel = channel_named(name)) {
        kernel->send_message(*channel, message);
        kernels_.touch(kernel_id_);
      }
    }
  };
  nudge();

  const int fds[] = {wake_[0]};
  while (!stopping_) {
    auto event = kernel->wait(std::chrono::milliseconds(500), fds);
    forward();  // also while the kernel streams: an interrupt or input_reply must not wait
    if (auto* received = std::get_if<client::Received>(&event)) {
      if (from_nudge(received->message)) {
        continue;
      }
      std::string_view state;
      if (received->channel == client::Channel::iopub && received->message.msg_type() == "status") {
        if (const auto* value = received->message.content.if_contains("execution_state");
            value != nullptr && value->is_string()) {
          state = value->as_string();
        }
      }
      kernels_.touch(kernel_id_, state);
      deliver(client::to_string(received->channel), std::move(received->message));
      continue;
    }
    if (std::holds_alternative<client::FdReady>(event)) {
      char drain[256];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
    }
    flush();  // a client that came back gets what it missed
    auto now = kernels_.link(kernel_id_);
    if (!now) {
      break;  // the kernel was deleted
    }
    if (now->generation != generation) {
      // Restarted: new ports, so connect again. A restart the server made after the kernel
      // died is told to the client as jupyter_server tells it, with the status "restarting"
      // (JupyterLab then says the kernel is autorestarting and reconnects); a client's own
      // restart (REST) is not.
      generation = now->generation;
      if (now->auto_restarted) {
        deliver("iopub", status_message("restarting", session_key_));
      }
      told_dead = now->dead;
      if (now->dead) {
        deliver("iopub", status_message("dead", session_key_));
      }
      kernel = std::make_unique<client::KernelClient>(now->connection);
      nudges.clear();
      nudge();
    } else if (now->dead && !told_dead) {
      told_dead = true;
      deliver("iopub", status_message("dead", session_key_));
    }
    if (should_end()) {
      break;
    }
  }
  std::shared_ptr<net::WebSocketSender> sender;
  {
    const std::lock_guard lock(mutex_);
    ending_ = true;
    sender = sender_;
  }
  if (sender) {
    sender->close();
  }
}

ChannelBridges::ChannelBridges(Kernels& kernels) : kernels_(kernels) {
  sweeper_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, kSweepInterval, [this] { return stopping_; });
      sweep();
    }
  });
}

ChannelBridges::~ChannelBridges() {
  stop_all();
}

void ChannelBridges::sweep() {
  const auto before = bridges_.size();
  std::erase_if(bridges_, [](const auto& bridge) { return bridge->finished(); });
  if (bridges_.size() < before) {
    ::malloc_trim(0);  // a bridge that relayed a large output leaves its buffers' pages to glibc
  }
}

std::shared_ptr<net::WebSocketHandler> ChannelBridges::connect(const std::string& kernel_id,
                                                               const std::string& session_key, WireProtocol protocol) {
  const std::lock_guard lock(mutex_);
  sweep();
  if (!session_key.empty()) {
    for (const auto& bridge : bridges_) {
      if (bridge->kernel_id() == kernel_id && bridge->session_key() == session_key) {
        if (auto handler = bridge->connect(protocol)) {
          return handler;
        }
      }
    }
  }
  auto bridge = std::make_shared<ChannelBridge>(kernels_, kernel_id, session_key);
  bridges_.push_back(bridge);
  return bridge->connect(protocol);
}

void ChannelBridges::stop_all() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sweeper_.joinable()) {
    sweeper_.join();
  }
  const std::lock_guard lock(mutex_);
  for (const auto& bridge : bridges_) {
    bridge->stop_and_join();
  }
  bridges_.clear();
}

}  // namespace tejun::server
