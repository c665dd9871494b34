// Routes: a method and a path pattern to a handler. Patterns are literal segments, `{name}`
// (one segment) and a last `{name*}` (the rest of the path, possibly empty or with slashes).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.hpp"

namespace tejun::net {

using Params = std::map<std::string, std::string, std::less<>>;
using Handler = std::function<Response(const Request&, const Params&)>;

class Router {
 public:
  void add(std::string method, std::string_view pattern, Handler handler);

  // The response of the matching route: 404 when no pattern matches, 405 (with Allow) when
  // one matches with another method.
  [[nodiscard]] Response dispatch(const Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  [[nodiscard]] static std::optional<Params> match(const Route& route, std::string_view path);

  std::vector<Route> routes_;
};

}  // namespace tejun::net
