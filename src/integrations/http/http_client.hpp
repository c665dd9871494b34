// The one HTTP client of tejun (libcurl's multi interface): a request, its response, and a
// wait that the caller owns, so that a kernel step can be interrupted while it waits for a
// server. Retries are for idempotent requests only, and only when asked for.
#pragma once

#include <poll.h>

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tejun::integrations::http {

using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

enum class WaitStatus : std::uint8_t { ready, timed_out, interrupted };

// Waits until one of `fds` is ready or `until` passes; the kernel's waiter also returns
// `interrupted` when the front end asks. PollWaiter is plain poll().
class Waiter {
 public:
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  Waiter(Waiter&&) = delete;
  Waiter& operator=(Waiter&&) = delete;
  virtual ~Waiter() = default;
  virtual WaitStatus wait(std::span<pollfd> fds, Clock::time_point until) = 0;
};

class PollWaiter final : public Waiter {
 public:
  WaitStatus wait(std::span<pollfd> fds, Clock::time_point until) override;
};

struct Retry {
  int attempts = 1;                                 // 1: no retry
  std::chrono::milliseconds first_delay{500};       // doubled at each attempt, with jitter
  std::chrono::milliseconds longest_delay{10'000};  // a Retry-After longer than this fails at once
};

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{30'000};       // the whole exchange, connecting included
  std::size_t keep_bytes = std::size_t{64} << 20;  // body bytes kept in Response::body
  // Receives every body byte as it arrives (after keep_bytes too); false stops the transfer.
  std::function<bool(std::string_view)> on_body;
  Retry retry;
};

struct Response {
  long status = 0;
  std::string status_line;       // "HTTP/1.1 200 OK"
  Headers headers;               // as the server sent them, names as written
  std::string body;              // at most keep_bytes
  std::uint64_t body_bytes = 0;  // all of them
  int attempts = 1;

  // The first header named `name` (ASCII case-insensitive), or "".
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] std::string reason() const;  // "Not Found"
};

enum class Failure : std::uint8_t {
  timed_out,    // no complete response within Request::timeout
  interrupted,  // the waiter said so
  connection,   // resolving, connecting, TLS, or the connection dropped
  aborted,      // on_body returned false
  invalid,      // a bad URL or method
};

struct HttpError {
  Failure failure = Failure::connection;
  std::string message;  // says what and where: "no response from 127.0.0.1:8080 within 2 s"
  int attempts = 1;
};

// Called by HttpResult::value() on an error: reaching it is a bug in the caller.
[[noreturn]] void throw_exception_from_error(const HttpError& error, const boost::source_location& where);

using HttpResult = boost::system::result<Response, HttpError>;

// Performs `request`, retrying (when request.retry allows) on dropped or refused
// connections, 429 and 5xx, after the server's Retry-After or an exponential backoff.
[[nodiscard]] HttpResult perform(const Request& request, Waiter& waiter);

// "https://host:port" of a URL, for messages (no user, password, path or query).
[[nodiscard]] std::string url_origin(std::string_view url);
// Percent-encodes everything but unreserved characters: a path segment or query value.
[[nodiscard]] std::string escape(std::string_view text);

}  // namespace tejun::integrations::http
