// HTTP requests and responses as the server's handlers see them: plain values, no Beast types,
// so that the modules above compile without Boost.Beast's headers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tejun::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET"
  std::string target;  // as sent: "/api/contents/a%20b?content=0"
  std::string path;    // percent-decoded, without the query: "/api/contents/a b"
  std::multimap<std::string, std::string, std::less<>> query;  // decoded
  HeaderList headers;
  std::string body;
  std::string remote;  // "127.0.0.1:53422"

  // The first header named `name` (ASCII case-insensitive), or "".
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> query_value(std::string_view name) const;
};

struct Response {
  int status = 200;
  HeaderList headers;
  std::string body;

  void set_header(std::string name, std::string value);
  // A JSON body (already serialized) with its content type.
  [[nodiscard]] static Response json(int status, std::string body);
  // Jupyter Server's error body: {"message": "...", "reason": "Not Found"}.
  [[nodiscard]] static Response error(int status, std::string_view message);
  [[nodiscard]] static Response empty(int status);
};

// "Not Found" for 404.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

// %XX to bytes; '+' stays '+' (paths), unless `form` (query strings).
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool form);
// The query string "a=1&b=x%20y" as decoded pairs; nullopt when an escape is broken.
[[nodiscard]] std::optional<std::multimap<std::string, std::string, std::less<>>> parse_query(std::string_view query);
// JSON string literal for `text` (quotes included), for small hand-made bodies.
[[nodiscard]] std::string json_quote(std::string_view text);

}  // namespace tejun::net
