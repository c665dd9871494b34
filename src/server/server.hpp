// `tejun server`: the Jupyter-compatible per-user server (REST API on net::HttpServer).
#pragma once

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
};

// Serves until SIGINT or SIGTERM, then shuts the kernels down. `ready` is called once the
// server listens, with the URL to open (token included).
[[nodiscard]] base::Result<void> run_server(const ServerConfig& config,
                                            const std::function<void(const std::string&)>& ready);

}  // namespace tejun::server
