#include "server/server.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <vector>

#include "base/ids.hpp"
#include "base/sha256.hpp"
#include "base/utf8.hpp"
#include "client/kernel_specs.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"
#include "server/channels.hpp"
#include "server/contents.hpp"
#include "server/contents_format.hpp"
#include "server/kernels.hpp"
#include "server/metrics.hpp"
#include "server/ui.hpp"

namespace tejun::server {
namespace {

using net::Params;
using net::Request;
using net::Response;

constexpr std::string_view kCookie = "tejun-token";
constexpr std::string_view kXsrfCookie = "_xsrf";
constexpr std::string_view kApiVersion = "2.14.0";  // the Jupyter Server REST API this follows

std::string cookie_value(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    const auto semicolon = cookies.find(';');
    auto item = cookies.substr(0, semicolon);
    cookies.remove_prefix(semicolon == std::string_view::npos ? cookies.size() : semicolon + 1);
    while (item.starts_with(' ')) {
      item.remove_prefix(1);
    }
    if (item.starts_with(name) && item.size() > name.size() && item[name.size()] == '=') {
      return std::string(item.substr(name.size() + 1));
    }
  }
  return {};
}

std::string kernelspecs_json() {
  const auto specs = client::find_kernel_specs();
  std::string body = R"({"default": "tejun", "kernelspecs": {)";
  bool first = true;
  bool has_tejun = false;
  auto add = [&](const client::KernelSpec& spec) {
    std::string argv;
    for (const auto& word : spec.argv) {
      argv += argv.empty() ? "" : ", ";
      argv += net::json_quote(word);
    }
    std::string env;
    for (const auto& [name, value] : spec.env) {
      env += env.empty() ? "" : ", ";
      env += fmt::format("{}: {}", net::json_quote(name), net::json_quote(value));
    }
    body += first ? "" : ", ";
    first = false;
    body += fmt::format(
        R"({0}: {{"name": {0}, "spec": {{"argv": [{1}], "display_name": {2}, "language": {3}, "interrupt_mode": {4}, )"
        R"("env": {{{5}}}, "metadata": {{}}}}, "resources": {{}}}})",
        net::json_quote(spec.name), argv, net::json_quote(spec.display_name), net::json_quote(spec.language),
        net::json_quote(spec.interrupt_mode), env);
  };
  for (const auto& spec : specs) {
    has_tejun = has_tejun || spec.name == "tejun";
    add(spec);
  }
  if (!has_tejun) {
    add(client::builtin_kernel_spec());
  }
  return body + "}}";
}

}  // namespace

base::Result<void> run_server(const ServerConfig& config, const std::function<void(const std::string&)>& ready) {
  std::string base = config.base_url;
  if (!base.starts_with('/')) {
    base.insert(0, "/");
  }
  if (!base.ends_with('/')) {
    base += '/';
  }
  const std::string token = config.token.empty() ? base::random_hex_id(48) : config.token;
  // Events (a kernel died, was culled) go to the same log as requests.
  const auto log_event = [&config](const std::string& message) {
    const auto line = config.log_format == "json"
                          ? fmt::format(R"({{"time": "{}", "event": {}}})", iso_now(), net::json_quote(message))
                          : fmt::format("{} {}", iso_now(), message);
    std::fprintf(stderr, "%s\n", line.c_str());
  };
  Contents contents(config.root);
  Kernels kernels(contents.root(), log_event);
  kernels.start_monitor({config.cull_idle_timeout, config.cull_interval, config.cull_connected, config.cull_busy});
  ChannelBridges bridges(kernels);
  const std::string started = iso_now();
  const std::string xsrf = base::random_hex_id(32);
  Metrics metrics;

  net::Router router;
  router.add("GET", "/api", [](const Request&, const Params&) {
    return Response::json(200, fmt::format(R"({{"version": "{}"}})", kApiVersion));
  });
  router.add("GET", "/api/status", [&](const Request&, const Params&) {
    return Response::json(200, fmt::format(R"({{"started": "{}", "last_activity": "{}", "connections": {}, )"
                                           R"("kernels": {}}})",
                                           started, iso_now(), kernels.connections(), kernels.count()));
  });
  router.add("GET", "/api/me", [](const Request&, const Params&) {
    return Response::json(200, R"({"identity": {"username": "tejun", "name": "tejun", "display_name": "tejun", )"
                               R"("initials": "T", "avatar_url": null, "color": null}, "permissions": {}})");
  });
  router.add("GET", "/api/kernelspecs",
             [](const Request&, const Params&) { return Response::json(200, kernelspecs_json()); });
  // Checkpoints live under a file's path: …/a.ipynb/checkpoints[/ID].
  router.add("GET", "/api/contents/{path*}", [&](const Request& r, const Params& p) {
    if (p.at("path").ends_with("/checkpoints")) {
      return contents.list_checkpoints(p.at("path").substr(0, p.at("path").size() - 12));
    }
    return contents.get(p.at("path"), r);
  });
  router.add("PUT", "/api/contents/{path*}",
             [&](const Request& r, const Params& p) { return contents.put(p.at("path"), r); });
  router.add("PATCH", "/api/contents/{path*}",
             [&](const Request& r, const Params& p) { return contents.patch(p.at("path"), r); });
  router.add("DELETE", "/api/contents/{path*}", [&](const Request&, const Params& p) {
    const auto& path = p.at("path");
    if (const auto marker = path.rfind("/checkpoints/"); marker != std::string::npos) {
      return contents.delete_checkpoint(path.substr(0, marker), path.substr(marker + 13));
    }
    return contents.remove(path);
  });
  router.add("POST", "/api/contents/{path*}", [&](const Request& r, const Params& p) {
    const auto& path = p.at("path");
    if (path.ends_with("/checkpoints")) {
      return contents.create_checkpoint(path.substr(0, path.size() - 12));
    }
    if (const auto marker = path.rfind("/checkpoints/"); marker != std::string::npos) {
      return contents.restore_checkpoint(path.substr(0, marker), path.substr(marker + 13));
    }
    return contents.post(path, r);
  });
  router.add("GET", "/api/kernels", [&](const Request&, const Params&) { return kernels.list(); });
  router.add("POST", "/api/kernels", [&](const Request& r, const Params&) { return kernels.start(r); });
  router.add("GET", "/api/kernels/{id}", [&](const Request&, const Params& p) { return kernels.get(p.at("id")); });
  router.add("DELETE", "/api/kernels/{id}",
             [&](const Request&, const Params& p) { return kernels.remove(p.at("id")); });
  router.add("POST", "/api/kernels/{id}/interrupt",
             [&](const Request&, const Params& p) { return kernels.interrupt(p.at("id")); });
  router.add("POST", "/api/kernels/{id}/restart",
             [&](const Request&, const Params& p) { return kernels.restart(p.at("id")); });
  router.add("GET", "/api/sessions", [&](const Request&, const Params&) { return kernels.list_sessions(); });
  router.add("POST", "/api/sessions", [&](const Request& r, const Params&) { return kernels.create_session(r); });
  router.add("GET", "/api/sessions/{id}",
             [&](const Request&, const Params& p) { return kernels.get_session(p.at("id")); });
  router.add("PATCH", "/api/sessions/{id}",
             [&](const Request& r, const Params& p) { return kernels.patch_session(p.at("id"), r); });
  router.add("DELETE", "/api/sessions/{id}",
             [&](const Request&, const Params& p) { return kernels.remove_session(p.at("id")); });

  router.add("GET", "/metrics", [&](const Request&, const Params&) {
    auto response = Response::empty(200);
    response.body = metrics.exposition(kernels.count(), kernels.connections());
    response.set_header("Content-Type", "text/plain; version=0.0.4");
    return response;
  });

  // Every endpoint but the API version (and /healthz) needs the token: in the Authorization
  // header, the ?token= query (then kept in an HttpOnly cookie), or that cookie. A browser's
  // state-changing request, authenticated by the cookie, must also echo the _xsrf cookie in
  // X-XSRFToken, so that another site cannot make the browser send it. The answer's status is
  // 0 when the request may go on (its headers: cookies to set), else the refusal to send.
  const auto authorize = [&](Request& request) -> Response {
    const auto authorization = request.header("Authorization");
    if (request.path == "/api" || request.path == "/api/") {
      return Response::empty(0);
    }
    if (authorization.starts_with("token ") || authorization.starts_with("Bearer ")) {
      if (base::constant_time_equal(authorization.substr(authorization.find(' ') + 1), token)) {
        return Response::empty(0);
      }
    }
    if (auto query = request.query_value("token"); query && base::constant_time_equal(*query, token)) {
      auto granted = Response::empty(0);
      granted.headers.emplace_back("Set-Cookie",
                                   fmt::format("{}={}; Path={}; HttpOnly; SameSite=Strict", kCookie, token, base));
      if (cookie_value(request.header("Cookie"), kXsrfCookie).empty()) {
        granted.headers.emplace_back("Set-Cookie",
                                     fmt::format("{}={}; Path={}; SameSite=Strict", kXsrfCookie, xsrf, base));
      }
      return granted;
    }
    const auto cookies = request.header("Cookie");
    const auto cookie = cookie_value(cookies, kCookie);
    if (cookie.empty() || !base::constant_time_equal(cookie, token)) {
      return Response::error(403, "Forbidden: give the server's token (Authorization: token …, or ?token=…)");
    }
    const bool changes_state = request.method != "GET" && request.method != "HEAD" && request.method != "OPTIONS";
    const auto echoed = request.header("X-XSRFToken");
    const auto expected = cookie_value(cookies, kXsrfCookie);
    if (changes_state && (echoed.empty() || expected.empty() || !base::constant_time_equal(echoed, expected))) {
      return Response::error(403,
                             "Forbidden: a request authenticated by cookie must carry the _xsrf cookie's value "
                             "in X-XSRFToken");
    }
    return Response::empty(0);
  };

  const auto serve = [&](const Request& original) -> Response {
    if (original.path == "/healthz") {
      return Response::json(200, R"({"status": "ok"})");
    }
    if (!(original.path + "/").starts_with(base)) {
      return Response::error(404, fmt::format("not under the server's base URL {}", base));
    }
    Request request = original;
    request.path = "/" + original.path.substr(std::min(original.path.size(), base.size()));
    auto granted = authorize(request);
    // The UI: {base} leads to {base}ui/; a browser that is not signed in gets a page that asks
    // for the token; a token in the address is swapped for the cookie and taken out of it.
    const bool ui = request.path == "/" || request.path == "/ui" || request.path.starts_with("/ui/");
    if (ui && granted.status != 0) {
      return ui_sign_in_page(base, "This server needs its token.");
    }
    if (granted.status != 0) {
      return granted;
    }
    if (ui && (request.method == "GET" || request.method == "HEAD")) {
      const bool page = request.path.starts_with("/ui/");
      if (!page || request.query_value("token")) {
        auto moved = Response::empty(302);
        moved.set_header("Location", page ? base + request.path.substr(1) : base + "ui/");
        moved.set_header("Cache-Control", "no-store");
        for (auto& header : granted.headers) {
          moved.headers.push_back(std::move(header));
        }
        return moved;
      }
      return serve_ui_file(request, std::string_view(request.path).substr(4));
    }
    // Every body of the API is JSON, which is UTF-8.
    if (const auto bad = base::find_invalid_utf8(request.body); bad != std::string_view::npos) {
      return Response::error(400, fmt::format("the request body is not valid UTF-8 (byte {}): it must be JSON, "
                                              "which is UTF-8",
                                              bad));
    }
    auto response = router.dispatch(request);
    for (auto& header : granted.headers) {
      response.headers.push_back(std::move(header));
    }
    return response;
  };

  // One log line per request, with an id the response carries too. The query is never
  // logged: it may hold the token.
  const auto log_request = [&config](const Request& request, int status, std::string_view id, double milliseconds) {
    const std::string line =
        config.log_format == "json"
            ? fmt::format(R"({{"time": "{}", "request_id": "{}", "remote": {}, "method": {}, "path": {}, )"
                          R"("status": {}, "ms": {:.3f}}})",
                          iso_now(), id, net::json_quote(request.remote), net::json_quote(request.method),
                          net::json_quote(request.path), status, milliseconds)
            : fmt::format("{} {} {} {} {} {:.3f} ms {}", iso_now(), id, request.method, request.path, status,
                          milliseconds, request.remote);
    std::fprintf(stderr, "%s\n", line.c_str());
  };
  const auto handle = [&](const Request& request) -> Response {
    const auto start = std::chrono::steady_clock::now();
    auto response = serve(request);
    const auto took = std::chrono::steady_clock::now() - start;
    metrics.record(request.method, response.status, took);
    const auto id = base::random_hex_id(16);
    response.set_header("X-Request-Id", id);
    const double milliseconds = std::chrono::duration<double, std::milli>(took).count();
    log_request(request, response.status, id, milliseconds);
    return response;
  };

  // WebSocket upgrades: /api/kernels/ID/channels, with the token (a browser sends the cookie
  // or ?token=) and, when the client says where it comes from, the same origin as the server.
  // The binary subprotocol when the client offers it, else the JSON one. Logged like requests
  // (status 101 when accepted).
  const auto decide = [&](const Request& original, Request& request) -> net::Upgrade {
    if (!(original.path + "/").starts_with(base)) {
      return {Response::error(404, "not under the server's base URL"), nullptr, {}};
    }
    request.path = "/" + original.path.substr(std::min(original.path.size(), base.size()));
    if (auto granted = authorize(request); granted.status != 0) {
      return {std::move(granted), nullptr, {}};
    }
    if (const auto origin = request.header("Origin"); !origin.empty()) {
      const auto scheme = origin.find("://");
      const auto host = scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
      if (host != request.header("Host")) {
        return {Response::error(403, fmt::format("a WebSocket from origin {} is refused: only pages of this server "
                                                 "may connect",
                                                 origin)),
                nullptr,
                {}};
      }
    }
    constexpr std::string_view kPrefix = "/api/kernels/";
    constexpr std::string_view kSuffix = "/channels";
    if (!request.path.starts_with(kPrefix) || !request.path.ends_with(kSuffix) ||
        request.path.size() <= kPrefix.size() + kSuffix.size()) {
      return {Response::error(404, fmt::format("no WebSocket at {}", request.path)), nullptr, {}};
    }
    const std::string id = request.path.substr(kPrefix.size(), request.path.size() - kPrefix.size() - kSuffix.size());
    if (!kernels.contains(id)) {
      return {Response::error(404, fmt::format("Kernel does not exist: {}", id)), nullptr, {}};
    }
    bool v1 = false;
    for (auto offered = request.header("Sec-WebSocket-Protocol"); !offered.empty();) {
      const auto comma = offered.find(',');
      auto name = offered.substr(0, comma);
      offered.remove_prefix(comma == std::string_view::npos ? offered.size() : comma + 1);
      while (name.starts_with(' ')) {
        name.remove_prefix(1);
      }
      while (name.ends_with(' ')) {
        name.remove_suffix(1);
      }
      v1 = v1 || name == kV1Protocol;
    }
    auto handler =
        bridges.connect(id, request.query_value("session_id").value_or(""), v1 ? WireProtocol::v1 : WireProtocol::json);
    return {Response::empty(0), std::move(handler), v1 ? std::string(kV1Protocol) : std::string()};
  };
  const auto upgrade = [&](const Request& original) -> net::Upgrade {
    const auto start = std::chrono::steady_clock::now();
    Request request = original;
    auto decision = decide(original, request);
    const int status = decision.handler ? 101 : decision.refusal.status;
    metrics.record_websocket(status);
    log_request(request, status, base::random_hex_id(16),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    return decision;
  };

  net::ServerOptions options;
  options.address = config.ip;
  options.port = config.port;
  net::HttpServer http(options, handle, upgrade);
  auto port = http.listen();
  if (!port) {
    return port.error();
  }
  const std::string host = config.ip.find(':') != std::string::npos ? "[" + config.ip + "]" : config.ip;
  ready(fmt::format("http://{}:{}{}?token={}", host, *port, base, token));
  http.run();
  bridges.stop_all();  // before the event loop their WebSockets belong to is destroyed
  kernels.shutdown_all();
  return {};
}

}  // namespace tejun::server
