// An HTTP/1.1 server on Boost.Beast and Asio (C++20 coroutines): one coroutine per
// connection, keep-alive, request size and time limits, graceful stop. Handlers are plain
// functions of a Request (net/http.hpp); they run on the server's threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "net/http.hpp"
#include "net/websocket.hpp"

namespace tejun::net {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8888;  // 0: any free port
  std::size_t body_limit = std::size_t{100} << 20;
  std::size_t header_limit = std::size_t{64} << 10;
  std::chrono::seconds read_timeout{60};  // a request that does not arrive in time is dropped
  int threads = 4;
  std::size_t websocket_queue_limit = std::size_t{8} << 20;  // bytes waiting to be written
  std::size_t websocket_message_limit = std::size_t{64} << 20;
};

class HttpServer {
 public:
  using Handle = std::function<Response(const Request&)>;
  // Decides on a WebSocket upgrade request (without one, upgrades get 400).
  using UpgradeHandle = std::function<Upgrade(const Request&)>;

  HttpServer(ServerOptions options, Handle handle, UpgradeHandle upgrade = {});
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  HttpServer(HttpServer&&) = delete;
  HttpServer& operator=(HttpServer&&) = delete;
  ~HttpServer();

  // Binds and listens; the port in use (the one chosen when options.port is 0).
  [[nodiscard]] base::Result<std::uint16_t> listen();
  // Serves until stop() or SIGINT/SIGTERM; then stops accepting, lets requests in progress
  // finish (up to `grace`) and returns.
  void run(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Thread-safe.
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tejun::net
