#include "kernel/kernel_sockets.hpp"

#include <fmt/format.h>

#include <sched.h>
#include <array>
#include <chrono>
#include <thread>

namespace tejun::kernel {
namespace {

using base::ErrorCode;
using base::make_error;

// Output waits for a slow subscriber instead of being dropped; this bounds the queue (and so
// the kernel's memory) to a few MB of output.
constexpr int kIopubHighWaterMark = 64;
constexpr auto kIopubSendLimit = std::chrono::seconds(10);
constexpr auto kFullWait = std::chrono::milliseconds(1);

// libzmq's I/O thread runs as SCHED_BATCH (allowed without privileges): woken by a send, it
// does not preempt the kernel's thread, so the messages of a request (busy, execute_input,
// the reply, idle) go out in one burst. Without it, when both threads share a CPU, each send
// switched to the I/O thread and back, and a magic step took 1.1 ms instead of 0.5 ms
// (docs/benchmarks.md). Set before the first socket starts the thread.
zmq::context_t& with_batch_io_thread(zmq::context_t& context) {
  context.set(zmq::ctxopt::thread_sched_policy, SCHED_BATCH);
  return context;
}

}  // namespace

KernelSockets::KernelSockets()
    : shell(with_batch_io_thread(context), zmq::socket_type::router),
      control(context, zmq::socket_type::router),
      stdin_socket(context, zmq::socket_type::router),
      iopub(context, zmq::socket_type::xpub) {}

base::Result<std::unique_ptr<KernelSockets>> KernelSockets::bind(const protocol::ConnectionInfo& info) {
  auto sockets = std::make_unique<KernelSockets>();
  zmq::socket_t heartbeat(sockets->context, zmq::socket_type::router);
  sockets->iopub.set(zmq::sockopt::sndhwm, kIopubHighWaterMark);
  sockets->iopub.set(zmq::sockopt::xpub_nodrop, 1);
  for (auto* socket : {&sockets->shell, &sockets->control, &sockets->stdin_socket, &sockets->iopub, &heartbeat}) {
    socket->set(zmq::sockopt::linger, 1000);
  }
  const std::array<std::pair<zmq::socket_t*, std::uint16_t>, 5> bindings{{{&sockets->shell, info.shell_port},
                                                                          {&sockets->control, info.control_port},
                                                                          {&sockets->stdin_socket, info.stdin_port},
                                                                          {&sockets->iopub, info.iopub_port},
                                                                          {&heartbeat, info.hb_port}}};
  for (const auto& [socket, port] : bindings) {
    const auto endpoint = info.endpoint(port);
    try {
      socket->bind(endpoint);
    } catch (const zmq::error_t& error) {
      return make_error(ErrorCode::io_error, fmt::format("cannot listen on {}: {}", endpoint, error.what()));
    }
  }
  sockets->heartbeat_ = std::thread([socket = std::move(heartbeat)]() mutable {
    try {
      zmq::proxy(socket, socket);
    } catch (const zmq::error_t&) {
      // ETERM: the context is shutting down, which is how this thread is told to end.
    }
    socket.close();
  });
  return sockets;
}

KernelSockets::~KernelSockets() {
  shell.close();
  control.close();
  stdin_socket.close();
  iopub.close();
  context.shutdown();
  if (heartbeat_.joinable()) {
    heartbeat_.join();
  }
  context.close();
}

std::vector<std::string> receive_frames(zmq::socket_t& socket) {
  std::vector<std::string> frames;
  zmq::message_t frame;
  while (true) {
    const auto received = socket.recv(frame, frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
    if (!received) {
      return frames;
    }
    frames.emplace_back(frame.to_string());
    if (!frame.more()) {
      return frames;
    }
  }
}

bool send_frames(zmq::socket_t& socket, const std::vector<std::string>& frames) {
  const auto deadline = std::chrono::steady_clock::now() + kIopubSendLimit;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    while (!socket.send(zmq::buffer(frames[i]), flags | zmq::send_flags::dontwait)) {
      // Full (iopub, slow subscriber): wait for room, within a bound. Not with a poll for
      // POLLOUT: an XPUB always reports it (it could always drop), so that poll returned at
      // once and this thread spun, starving libzmq's I/O thread (SCHED_BATCH), the one that
      // makes room: a 50 MB output through a slow client crawled at 2 MB/s, then stalled.
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      std::this_thread::sleep_for(kFullWait);
    }
  }
  return true;
}

}  // namespace tejun::kernel
