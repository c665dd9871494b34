// `tejun server`: the Jupyter-compatible per-user server (REST API on net::HttpServer).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/result.hpp"

namespace tejun::server {

struct ServerConfig {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 8888;  // 0: a free port
  std::string root = ".";
  std::string token;  // empty: a random one, printed with the URL
  std::string base_url = "/";
  std::string log_format = "plain";  // or "json": one line per request on stderr
  // Idle kernels: shut down after this long without activity (0: never), looked for every
  // cull_interval; kernels with a client connected, or busy, only when these say so.
  std::chrono::seconds cull_idle_timeout{0};
  std::chrono::seconds cull_interval{300};
  bool cull_connected = false;
  bool cull_busy = false;
};

// Serves until SIGINT or SIGTERM, then shuts the kernels down. `ready` is called once the
// server listens, with the URL to open (token included).
[[nodiscard]] base::Result<void> run_server(const ServerConfig& config,
                                            const std::function<void(const std::string&)>& ready);

}  // namespace tejun::server
