#include "integrations/http/http_client.hpp"

// The type-checking macros of curl.h would expand curl().curl_easy_setopt(…) as well.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>

#include "base/shared_library.hpp"
#include "base/text.hpp"

namespace tejun::integrations::http {
namespace {

// libcurl, loaded at the first request (base/shared_library.hpp): the functions used here.
// clang-format off
// NOLINTNEXTLINE(*-macro-usage)
#define TEJUN_LIBCURL(X) \
  X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_setopt) \
  X(curl_easy_strerror) X(curl_getdate) X(curl_global_init) X(curl_multi_add_handle) \
  X(curl_multi_cleanup) X(curl_multi_info_read) X(curl_multi_init) \
  X(curl_multi_remove_handle) X(curl_multi_setopt) X(curl_multi_socket_action) \
  X(curl_slist_append) X(curl_slist_free_all)
// clang-format on
struct LibCurl {
  TEJUN_LIBCURL(TEJUN_SHARED_FUNCTION)
};

// Loads libcurl and sets up its global state, once.
const base::Result<LibCurl>& load_curl() {
  static const auto kLoaded = [] {
    auto loaded = base::load_functions<LibCurl>(
        "libcurl.so.4", "HTTP requests and %gitlab",
        [](base::SharedLibrary& library, LibCurl& table) { return TEJUN_LIBCURL(TEJUN_BIND_FUNCTION) true; });
    if (loaded) {
      loaded->curl_global_init(CURL_GLOBAL_DEFAULT);
    }
    return loaded;
  }();
  return kLoaded;
}

// The table, once perform_once has loaded it.
const LibCurl& curl() {
  return load_curl().value();
}

using base::trim;

std::string seconds_text(std::chrono::milliseconds duration) {
  return fmt::format("{:g} s", static_cast<double>(duration.count()) / 1000.0);
}

// One request's state, shared with libcurl's callbacks.
struct Transfer {
  const Request& request;
  Response response;
  bool aborted = false;
  std::array<char, CURL_ERROR_SIZE> error{};
  std::map<curl_socket_t, int> sockets;  // what libcurl wants to wait for on each socket
  std::optional<Clock::time_point> timer;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::string_view line = trim(std::string_view(data, size * count));
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue or a redirect): its headers replace the last ones.
    transfer.response.status_line = std::string(line);
    transfer.response.headers.clear();
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    transfer.response.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return size * count;
}

std::size_t on_write(char* data, std::size_t /*size*/, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::string_view bytes(data, count);
  auto& response = transfer.response;
  response.body_bytes += bytes.size();
  if (response.body.size() < transfer.request.keep_bytes) {
    response.body.append(bytes.substr(0, transfer.request.keep_bytes - response.body.size()));
  }
  if (transfer.request.on_body && !transfer.request.on_body(bytes)) {
    transfer.aborted = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  return count;
}

int on_socket(CURL* /*easy*/, curl_socket_t socket, int what, void* user, void* /*socket_data*/) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (what == CURL_POLL_REMOVE) {
    transfer.sockets.erase(socket);
  } else {
    transfer.sockets[socket] = what;
  }
  return 0;
}

int on_timer(CURLM* /*multi*/, long milliseconds, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (milliseconds < 0) {
    transfer.timer.reset();
  } else {
    transfer.timer = Clock::now() + std::chrono::milliseconds(milliseconds);
  }
  return 0;
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl().curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { curl().curl_multi_cleanup(multi); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const { curl().curl_slist_free_all(list); }
};

HttpError failure_of(CURLcode code, const Transfer& transfer) {
  const auto origin = url_origin(transfer.request.url);
  const std::string detail = transfer.error[0] != '\0' ? transfer.error.data() : curl().curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return {Failure::timed_out, fmt::format("no complete response from {} within {} (timed out)", origin,
                                              seconds_text(transfer.request.timeout))};
    case CURLE_GOT_NOTHING:
      return {Failure::connection, fmt::format("{} closed the connection without a response", origin)};
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return {Failure::connection, fmt::format("the connection to {} broke: {}", origin, detail)};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return {Failure::connection, fmt::format("could not connect to {}: {}", origin, detail)};
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {Failure::invalid, fmt::format("not a URL tejun can request (http:// or https://): {}", detail)};
    case CURLE_WRITE_ERROR:
      if (transfer.aborted) {
        return {Failure::aborted, "the response body could not be kept, so the transfer was stopped"};
      }
      break;
    default:
      break;
  }
  return {Failure::connection, fmt::format("the request to {} failed: {}", origin, detail)};
}

HttpResult perform_once(const Request& request, Waiter& waiter) {
  if (const auto& loaded = load_curl(); !loaded) {
    return HttpError{Failure::invalid, loaded.error().message + " (on Debian: apt-get install libcurl4)"};
  }
  Transfer transfer{request, {}, false, {}, {}, {}};
  std::unique_ptr<CURL, EasyDeleter> easy(curl().curl_easy_init());
  std::unique_ptr<CURLM, MultiDeleter> multi(curl().curl_multi_init());
  if (!easy || !multi) {
    return HttpError{Failure::invalid, "libcurl could not start a transfer (out of memory?)"};
  }
  CURL* handle = easy.get();
  curl().curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl().curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl().curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl().curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, transfer.error.data());
  curl().curl_easy_setopt(handle, CURLOPT_USERAGENT, "tejun");
  curl().curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");
  curl().curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl().curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
  curl().curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl().curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_write);
  curl().curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  const std::string method = base::ascii_uppercase(request.method);
  if (method == "HEAD") {
    curl().curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (method != "GET" || !request.body.empty()) {
    if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl().curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl().curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    }
    if (method != "POST") {
      curl().curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
  }
  std::unique_ptr<curl_slist, ListDeleter> headers;
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    has_content_type = has_content_type || base::ascii_lowercase(name) == "content-type";
    // "Name;" sends a header with an empty value, "Name:" would remove it.
    const std::string line = value.empty() ? fmt::format("{};", name) : fmt::format("{}: {}", name, value);
    headers.reset(curl().curl_slist_append(headers.release(), line.c_str()));
  }
  // No "Expect: 100-continue" round trip, and no made-up form content type.
  headers.reset(curl().curl_slist_append(headers.release(), "Expect:"));
  if (!has_content_type && !request.body.empty()) {
    headers.reset(curl().curl_slist_append(headers.release(), "Content-Type:"));
  }
  curl().curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());

  curl().curl_multi_setopt(multi.get(), CURLMOPT_SOCKETFUNCTION, &on_socket);
  curl().curl_multi_setopt(multi.get(), CURLMOPT_SOCKETDATA, &transfer);
  curl().curl_multi_setopt(multi.get(), CURLMOPT_TIMERFUNCTION, &on_timer);
  curl().curl_multi_setopt(multi.get(), CURLMOPT_TIMERDATA, &transfer);
  curl().curl_multi_add_handle(multi.get(), handle);

  // libcurl keeps its own time limit; this one only guards against a stalled loop.
  const auto deadline = Clock::now() + request.timeout + std::chrono::seconds(2);
  int running = 1;
  curl().curl_multi_socket_action(multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);
  std::vector<pollfd> fds;
  while (running > 0) {
    fds.clear();
    for (const auto& [socket, what] : transfer.sockets) {
      const auto events =
          static_cast<short>(((what & CURL_POLL_IN) != 0 ? POLLIN : 0) | ((what & CURL_POLL_OUT) != 0 ? POLLOUT : 0));
      fds.push_back({socket, events, 0});
    }
    const auto until = transfer.timer ? std::min(*transfer.timer, deadline) : deadline;
    const auto status = waiter.wait(fds, until);
    if (status == WaitStatus::interrupted) {
      curl().curl_multi_remove_handle(multi.get(), handle);
      return HttpError{Failure::interrupted, "interrupted while waiting for " + url_origin(request.url)};
    }
    bool acted = false;
    if (status == WaitStatus::ready) {
      for (const auto& fd : fds) {
        if (fd.revents == 0) {
          continue;
        }
        const int flags = ((fd.revents & (POLLIN | POLLHUP)) != 0 ? CURL_CSELECT_IN : 0) |
                          ((fd.revents & POLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
                          ((fd.revents & POLLERR) != 0 ? CURL_CSELECT_ERR : 0);
        curl().curl_multi_socket_action(multi.get(), fd.fd, flags, &running);
        acted = true;
      }
    }
    if (!acted || (transfer.timer && Clock::now() >= *transfer.timer)) {
      curl().curl_multi_socket_action(multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);
    }
    if (running > 0 && Clock::now() >= deadline) {
      curl().curl_multi_remove_handle(multi.get(), handle);
      return failure_of(CURLE_OPERATION_TIMEDOUT, transfer);
    }
  }
  CURLcode result = CURLE_OK;
  int queued = 0;
  while (CURLMsg* message = curl().curl_multi_info_read(multi.get(), &queued)) {
    if (message->msg == CURLMSG_DONE) {
      result = message->data.result;
    }
  }
  curl().curl_multi_remove_handle(multi.get(), handle);
  if (result != CURLE_OK) {
    return failure_of(result, transfer);
  }
  curl().curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  return std::move(transfer.response);
}

// How long the server asks to wait (Retry-After: seconds or an HTTP date), if it says.
std::optional<std::chrono::milliseconds> retry_after(const Response& response) {
  const auto value = response.header("Retry-After");
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) && value.size() < 9) {
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  const std::string date(value);
  const auto when = curl().curl_getdate(date.c_str(), nullptr);
  if (when < 0) {
    return std::nullopt;
  }
  const auto seconds = when - static_cast<std::int64_t>(std::time(nullptr));
  return std::chrono::seconds(std::max<std::int64_t>(0, seconds));
}

bool worth_retrying(const HttpResult& result) {
  if (!result) {
    return result.error().failure == Failure::connection;
  }
  return result->status == 429 || result->status >= 500;
}

}  // namespace

void throw_exception_from_error(const HttpError& error, const boost::source_location& /*where*/) {
  throw std::runtime_error(error.message);
}

WaitStatus PollWaiter::wait(std::span<pollfd> fds, Clock::time_point until) {
  while (true) {
    const auto left = until == Clock::time_point::max()
                          ? -1
                          : static_cast<int>(std::max<std::int64_t>(
                                0, std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count()));
    const int ready = ::poll(fds.data(), fds.size(), left);
    if (ready > 0) {
      return WaitStatus::ready;
    }
    if (ready == 0 || Clock::now() >= until) {
      return WaitStatus::timed_out;
    }
  }
}

std::string_view Response::header(std::string_view name) const {
  const std::string wanted = base::ascii_lowercase(name);
  for (const auto& [key, value] : headers) {
    if (base::ascii_lowercase(key) == wanted) {
      return value;
    }
  }
  return {};
}

std::string Response::reason() const {
  // "HTTP/1.1 404 Not Found" → "Not Found"; HTTP/2 has no reason phrase.
  const auto first = status_line.find(' ');
  const auto second = first == std::string::npos ? std::string::npos : status_line.find(' ', first + 1);
  return second == std::string::npos ? std::string() : status_line.substr(second + 1);
}

HttpResult perform(const Request& request, Waiter& waiter) {
  static thread_local std::minstd_rand jitter(std::random_device{}());
  const int attempts = std::max(1, request.retry.attempts);
  for (int attempt = 1;; ++attempt) {
    auto result = perform_once(request, waiter);
    if (result) {
      result->attempts = attempt;
    } else {
      auto error = result.error();
      error.attempts = attempt;
      result = std::move(error);
    }
    if (attempt >= attempts || !worth_retrying(result)) {
      return result;
    }
    auto delay = request.retry.first_delay * (1 << std::min(attempt - 1, 10));
    if (result) {
      if (const auto asked = retry_after(*result)) {
        if (*asked > request.retry.longest_delay) {
          return result;  // the server wants a longer pause than the caller allows
        }
        delay = *asked;
      }
    }
    delay += std::chrono::milliseconds(
        static_cast<std::int64_t>(jitter() % static_cast<std::uint64_t>(delay.count() / 4 + 1)));
    delay = std::min(delay, request.retry.longest_delay);
    if (waiter.wait({}, Clock::now() + delay) == WaitStatus::interrupted) {
      return HttpError{Failure::interrupted, "interrupted while waiting to retry " + url_origin(request.url), attempt};
    }
  }
}

std::string url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::string(url.substr(0, url.find_first_of("/?#")));
  }
  auto authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // never a user or password in a message
  }
  return fmt::format("{}://{}", url.substr(0, scheme_end), authority);
}

std::string escape(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') || (byte >= '0' && byte <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      escaped += c;
    } else {
      escaped += fmt::format("%{:02X}", byte);
    }
  }
  return escaped;
}

}  // namespace tejun::integrations::http
