// A kernel's connection file: where its five sockets listen and the key that signs messages.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace tejun::protocol {

struct ConnectionInfo {
  std::string transport = "tcp";
  std::string ip = "127.0.0.1";
  std::uint16_t shell_port = 0;
  std::uint16_t iopub_port = 0;
  std::uint16_t stdin_port = 0;
  std::uint16_t control_port = 0;
  std::uint16_t hb_port = 0;
  std::string key;
  std::string signature_scheme = "hmac-sha256";
  std::string kernel_name;

  // "tcp://127.0.0.1:5555" (or "ipc://ip-port" for the ipc transport, as jupyter_client names it).
  [[nodiscard]] std::string endpoint(std::uint16_t port) const;
};

// Parses the JSON text of a connection file; errors name the field that is wrong.
[[nodiscard]] base::Result<ConnectionInfo> parse_connection_info(std::string_view text);

// Reads and parses a connection file; errors carry its path.
[[nodiscard]] base::Result<ConnectionInfo> read_connection_file(const std::string& path);

}  // namespace tejun::protocol
