// The five sockets of a kernel, bound to the ports of its connection file, and the heartbeat
// echo that runs on a thread of its own so that a busy kernel still answers it.
#pragma once

#include <zmq.hpp>

#include <string>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "protocol/connection_info.hpp"

namespace tejun::kernel {

class KernelSockets {
 public:
  static base::Result<std::unique_ptr<KernelSockets>> bind(const protocol::ConnectionInfo& info);

  KernelSockets();
  KernelSockets(const KernelSockets&) = delete;
  KernelSockets& operator=(const KernelSockets&) = delete;
  KernelSockets(KernelSockets&&) = delete;
  KernelSockets& operator=(KernelSockets&&) = delete;
  ~KernelSockets();

  zmq::context_t context{1};
  zmq::socket_t shell;
  zmq::socket_t control;
  zmq::socket_t stdin_socket;
  zmq::socket_t iopub;

 private:
  std::thread heartbeat_;
};

// Receives all frames of one message; empty when none was waiting (non-blocking).
[[nodiscard]] std::vector<std::string> receive_frames(zmq::socket_t& socket);

// Sends the frames of one message. On iopub a slow subscriber makes this wait (bounded)
// rather than drop output.
bool send_frames(zmq::socket_t& socket, const std::vector<std::string>& frames);

}  // namespace tejun::kernel
