#include "net/http_server.hpp"

#include <fmt/format.h>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/utf8.hpp"

namespace tejun::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The request as handlers see it; nullopt when its target is not a valid origin-form path.
// The request as handlers see it, or nullopt and `why` (for a 400).
std::optional<Request> to_request(const http::request<http::string_body>& message, const std::string& remote,
                                  std::string& why) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  const std::string_view target = request.target;
  const auto question = target.find('?');
  auto path = percent_decode(target.substr(0, question), false);
  if (!path || !target.starts_with('/')) {
    why = "the request target is not a valid path (it must start with / and %XX escapes need two hex digits)";
    return std::nullopt;
  }
  if (const auto bad = base::find_invalid_utf8(*path); bad != std::string_view::npos) {
    why = fmt::format("the request path is not valid UTF-8 (byte {} of the decoded path)", bad);
    return std::nullopt;
  }
  request.path = std::move(*path);
  if (question != std::string_view::npos) {
    auto query = parse_query(target.substr(question + 1));
    if (!query) {
      why = "the query string has a broken %XX escape";
      return std::nullopt;
    }
    for (const auto& [name, value] : *query) {
      if (base::find_invalid_utf8(name) != std::string_view::npos ||
          base::find_invalid_utf8(value) != std::string_view::npos) {
        why = "the query string is not valid UTF-8";
        return std::nullopt;
      }
    }
    request.query = std::move(*query);
  }
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = message.body();
  request.remote = remote;
  return request;
}

http::response<http::string_body> to_message(Response response, unsigned version, bool keep_alive) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), version};
  message.set(http::field::server, "tejun");
  for (auto& [name, value] : response.headers) {
    message.insert(name, value);  // several Set-Cookie headers stay several
  }
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  return message;
}

int status_of(const beast::error_code& error) {
  if (error == http::error::body_limit) {
    return 413;
  }
  if (error == http::error::header_limit) {
    return 431;
  }
  return 400;
}

// One WebSocket connection: the stream, and the queue other threads send through.
class Connection final : public WebSocketSender, public std::enable_shared_from_this<Connection> {
 public:
  Connection(beast::tcp_stream stream, asio::any_io_executor executor, std::size_t limit)
      : stream_(std::move(stream)), executor_(std::move(executor)), limit_(limit) {}

  beast::websocket::stream<beast::tcp_stream>& stream() { return stream_; }

  bool send(std::string data, bool binary) override {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [this] { return closed_ || queued_ < limit_; });
    if (closed_) {
      return false;
    }
    queued_ += data.size();
    queue_.push_back({std::move(data), binary});
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(executor_, write_all(shared_from_this()), asio::detached);
    }
    return true;
  }

  void close() override {
    mark_closed();  // nothing more is queued, and a sender waiting for room gives up
    asio::post(executor_, [self = shared_from_this()] {
      self->stream_.async_close(beast::websocket::close_code::normal, [](const beast::error_code&) {});
    });
  }

  void mark_closed() {
    {
      const std::lock_guard lock(mutex_);
      closed_ = true;
    }
    space_.notify_all();
  }

 private:
  static asio::awaitable<void> write_all(std::shared_ptr<Connection> self) {
    while (true) {
      Outgoing next;
      {
        const std::lock_guard lock(self->mutex_);
        if (self->queue_.empty() || self->closed_) {
          self->writing_ = false;
          co_return;
        }
        next = std::move(self->queue_.front());
        self->queue_.pop_front();
      }
      self->stream_.binary(next.binary);
      auto [error, written] = co_await self->stream_.async_write(asio::buffer(next.data), kNoThrow);
      (void)written;
      {
        const std::lock_guard lock(self->mutex_);
        self->queued_ -= next.data.size();
      }
      self->space_.notify_all();
      if (error) {
        self->mark_closed();
        const std::lock_guard lock(self->mutex_);
        self->writing_ = false;
        co_return;
      }
    }
  }

  beast::websocket::stream<beast::tcp_stream> stream_;
  asio::any_io_executor executor_;
  std::size_t limit_;
  std::mutex mutex_;
  std::condition_variable space_;
  struct Outgoing {
    std::string data;
    bool binary = false;
  };
  std::deque<Outgoing> queue_;
  std::size_t queued_ = 0;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

struct HttpServer::State {
  ServerOptions options;
  Handle handle;
  UpgradeHandle upgrade;
  asio::io_context io{options.threads};
  Tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};  // connections being served

  asio::awaitable<void> serve(Tcp::socket socket) {
    ++active;
    struct Leave {
      std::atomic<int>& count;
      ~Leave() { --count; }
    } leave{active};
    beast::error_code ignored;
    const auto endpoint = socket.remote_endpoint(ignored);
    const std::string remote = fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.body_limit);
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      stream.expires_after(options.read_timeout);
      auto [error, bytes] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      (void)bytes;
      if (error == http::error::end_of_stream || error == beast::error::timeout || error == asio::error::eof ||
          error == asio::error::connection_reset || error == asio::error::operation_aborted) {
        break;
      }
      if (error) {
        // A request that cannot be read gets its status and the connection is closed.
        auto message = to_message(Response::error(status_of(error), error.message()), 11, false);
        stream.expires_after(std::chrono::seconds(5));
        co_await http::async_write(stream, message, kNoThrow);
        break;
      }
      auto& incoming = parser.get();
      if (beast::websocket::is_upgrade(incoming)) {
        std::string why;
        auto request = to_request(incoming, remote, why);
        Upgrade decision;
        if (!request) {
          decision.refusal = Response::error(400, why);
        } else if (!upgrade) {
          decision.refusal = Response::error(400, "this server takes no WebSocket connections");
        } else {
          decision = upgrade(*request);
        }
        if (decision.refusal.status != 0 || !decision.handler) {
          if (decision.refusal.status == 0) {
            decision.refusal = Response::error(404, "no WebSocket here");
          }
          auto message = to_message(std::move(decision.refusal), incoming.version(), false);
          co_await http::async_write(stream, message, kNoThrow);
          break;
        }
        co_await serve_websocket(std::move(stream), parser.release(), std::move(decision.handler),
                                 std::move(decision.subprotocol));
        co_return;
      }
      // A transfer coding other than chunked leaves the body's length unknown: what follows
      // could be read as another request (RFC 9112 6.3). Refused, and the connection closed.
      if (const auto coding = incoming.find(http::field::transfer_encoding); coding != incoming.end()) {
        if (!beast::iequals(coding->value(), "chunked")) {
          const bool chunked_last = parser.chunked();
          auto message =
              to_message(Response::error(chunked_last ? 501 : 400,
                                         fmt::format("Transfer-Encoding: {} is not supported: send the body with a "
                                                     "Content-Length or Transfer-Encoding: chunked",
                                                     std::string_view(coding->value()))),
                         incoming.version(), false);
          stream.expires_after(std::chrono::seconds(5));
          co_await http::async_write(stream, message, kNoThrow);
          break;
        }
      }
      const bool keep_alive = incoming.keep_alive() && !stopping;
      Response response;
      std::string why;
      if (auto request = to_request(incoming, remote, why)) {
        try {
          response = handle(*request);
        } catch (const std::exception& exception) {
          response = Response::error(500, fmt::format("internal error: {}", exception.what()));
        }
      } else {
        response = Response::error(400, why);
      }
      auto message = to_message(std::move(response), incoming.version(), keep_alive);
      stream.expires_after(options.read_timeout);
      auto [write_error, written] = co_await http::async_write(stream, message, kNoThrow);
      (void)written;
      if (write_error || !keep_alive) {
        break;
      }
    }
    stream.socket().shutdown(Tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> serve_websocket(beast::tcp_stream stream, http::request<http::string_body> request,
                                        std::shared_ptr<WebSocketHandler> handler, std::string subprotocol) {
    stream.expires_never();
    auto executor = co_await asio::this_coro::executor;
    auto connection = std::make_shared<Connection>(std::move(stream), executor, options.websocket_queue_limit);
    auto& socket = connection->stream();
    auto timeouts = beast::websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.keep_alive_pings = true;
    socket.set_option(timeouts);
    socket.read_message_max(options.websocket_message_limit);
    if (!subprotocol.empty()) {
      socket.set_option(
          beast::websocket::stream_base::decorator([subprotocol](beast::websocket::response_type& response) {
            response.set(http::field::sec_websocket_protocol, subprotocol);
          }));
    }
    auto [accept_error] = co_await socket.async_accept(request, kNoThrow);
    if (accept_error) {
      co_return;
    }
    handler->on_open(connection);
    beast::flat_buffer buffer;
    while (!stopping) {
      auto [error, bytes] = co_await socket.async_read(buffer, kNoThrow);
      (void)bytes;
      if (error) {
        break;
      }
      handler->on_message(beast::buffers_to_string(buffer.data()), !socket.got_text());
      buffer.consume(buffer.size());
    }
    connection->mark_closed();
    handler->on_close();
  }

  asio::awaitable<void> accept() {
    while (!stopping) {
      auto [error, socket] = co_await acceptor.async_accept(kNoThrow);
      if (error) {
        if (stopping || error == asio::error::operation_aborted) {
          break;
        }
        continue;  // EMFILE and the like: try again
      }
      // Small writes go out at once: a step's messages (busy, output, reply, idle) must not
      // wait for the client's delayed ACK (up to 40 ms on Linux) behind the first one.
      beast::error_code ignored;
      socket.set_option(Tcp::no_delay(true), ignored);
      // Each connection on a strand of its own: a WebSocket's reads and writes never overlap.
      asio::co_spawn(asio::make_strand(acceptor.get_executor()), serve(std::move(socket)), asio::detached);
    }
  }
};

HttpServer::HttpServer(ServerOptions options, Handle handle, UpgradeHandle upgrade)
    : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->handle = std::move(handle);
  state_->upgrade = std::move(upgrade);
}

HttpServer::~HttpServer() = default;

base::Result<std::uint16_t> HttpServer::listen() {
  beast::error_code error;
  const auto address = asio::ip::make_address(state_->options.address, error);
  if (error) {
    return base::make_error(base::ErrorCode::invalid_argument,
                            fmt::format("--ip {}: not an IP address", state_->options.address));
  }
  const Tcp::endpoint endpoint(address, state_->options.port);
  auto& acceptor = state_->acceptor;
  if (acceptor.open(endpoint.protocol(), error); !error) {
    acceptor.set_option(asio::socket_base::reuse_address(true), error);
    acceptor.bind(endpoint, error);
  }
  if (!error) {
    acceptor.listen(asio::socket_base::max_listen_connections, error);
  }
  if (error) {
    return base::make_error(
        base::ErrorCode::io_error,
        fmt::format("cannot listen on {}:{}: {}", state_->options.address, state_->options.port, error.message()));
  }
  return acceptor.local_endpoint().port();
}

void HttpServer::run(std::chrono::milliseconds grace) {
  auto& state = *state_;
  asio::signal_set signals(state.io, SIGINT, SIGTERM);
  signals.async_wait([this](const beast::error_code& error, int /*signal*/) {
    if (!error) {
      stop();
    }
  });
  asio::co_spawn(state.io, state.accept(), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 1; i < state.options.threads; ++i) {
    threads.emplace_back([&state] { state.io.run(); });
  }
  // This thread waits for the stop, then gives requests in progress `grace` to finish.
  asio::steady_timer watch(state.io);
  std::function<void(const beast::error_code&)> check;
  auto deadline = std::chrono::steady_clock::time_point::max();
  check = [&](const beast::error_code& /*error*/) {
    if (state.stopping) {
      signals.cancel();
      if (deadline == std::chrono::steady_clock::time_point::max()) {
        deadline = std::chrono::steady_clock::now() + grace;
      }
      if (state.active == 0 || std::chrono::steady_clock::now() >= deadline) {
        state.io.stop();
        return;
      }
    }
    watch.expires_after(std::chrono::milliseconds(50));
    watch.async_wait(check);
  };
  watch.async_wait(check);
  state.io.run();
  for (auto& thread : threads) {
    thread.join();
  }
}

void HttpServer::stop() {
  state_->stopping = true;
  asio::post(state_->io, [state = state_.get()] {
    beast::error_code ignored;
    state->acceptor.close(ignored);
  });
}

}  // namespace tejun::net
