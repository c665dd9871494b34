#include "net/router.hpp"

#include <fmt/format.h>

namespace tejun::net {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  while (path.starts_with('/')) {
    path.remove_prefix(1);
  }
  while (!path.empty()) {
    const auto slash = path.find('/');
    segments.emplace_back(path.substr(0, slash));
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
  }
  return segments;
}

}  // namespace

void Router::add(std::string method, std::string_view pattern, Handler handler) {
  routes_.push_back({std::move(method), split_path(pattern), std::move(handler)});
}

std::optional<Params> Router::match(const Route& route, std::string_view path) {
  Params params;
  std::string_view rest = path;
  while (rest.starts_with('/')) {
    rest.remove_prefix(1);
  }
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    const auto& segment = route.segments[i];
    if (segment.size() > 3 && segment.starts_with('{') && segment.ends_with("*}")) {
      // The rest of the path, slashes included; a trailing slash is not part of it.
      std::string_view tail = rest;
      while (tail.ends_with('/')) {
        tail.remove_suffix(1);
      }
      params[segment.substr(1, segment.size() - 3)] = std::string(tail);
      return params;
    }
    const auto slash = rest.find('/');
    const auto part = rest.substr(0, slash);
    if (part.empty() && !(segment.empty())) {
      return std::nullopt;
    }
    if (segment.size() > 2 && segment.starts_with('{') && segment.ends_with('}')) {
      params[segment.substr(1, segment.size() - 2)] = std::string(part);
    } else if (part != segment) {
      return std::nullopt;
    }
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
  }
  while (rest.starts_with('/')) {
    rest.remove_prefix(1);
  }
  return rest.empty() ? std::optional<Params>(std::move(params)) : std::nullopt;
}

Response Router::dispatch(const Request& request) const {
  std::string allowed;
  for (const auto& route : routes_) {
    auto params = match(route, request.path);
    if (!params) {
      continue;
    }
    if (route.method == request.method) {
      return route.handler(request, *params);
    }
    allowed += allowed.empty() ? route.method : ", " + route.method;
  }
  if (!allowed.empty()) {
    auto response = Response::error(
        405, fmt::format("{} is not allowed on {} (allowed: {})", request.method, request.path, allowed));
    response.set_header("Allow", allowed);
    return response;
  }
  return Response::error(404, fmt::format("no such resource: {}", request.path));
}

}  // namespace tejun::net
