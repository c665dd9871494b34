#include "server/ui.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/text.hpp"
#include "server/ui_assets.hpp"

namespace tejun::server {
namespace {

using net::Response;

bool accepts_gzip(std::string_view accept_encoding) {
  const std::string lower = base::ascii_lowercase(accept_encoding);
  const auto at = lower.find("gzip");
  if (at == std::string::npos) {
    return false;
  }
  // "gzip;q=0" refuses it.
  const auto rest = std::string_view(lower).substr(at + 4);
  const auto end = rest.find(',');
  const auto parameters = rest.substr(0, end);
  return parameters.find("q=0") == std::string_view::npos || parameters.find("q=0.") != std::string_view::npos;
}

std::string html_escape(std::string_view text) {
  std::string out;
  base::append_html_escaped(out, text);
  return out;
}

void set_security_headers(Response& response) {
  response.set_header("Content-Security-Policy", std::string(kUiContentSecurityPolicy));
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
}

}  // namespace

Response serve_ui_file(const net::Request& request, std::string_view path) {
  if (path.empty()) {
    path = "index.html";
  }
  const auto assets = ui_assets();
  const auto asset = std::ranges::find_if(assets, [path](const UiAsset& candidate) { return candidate.path == path; });
  if (asset == assets.end()) {
    return Response::error(404, fmt::format("the UI has no file {}", path));
  }
  Response response;
  response.status = 200;
  response.set_header("Content-Type", std::string(asset->content_type));
  response.set_header("Vary", "Accept-Encoding");
  if (accepts_gzip(request.header("Accept-Encoding"))) {
    response.body = std::string(asset->gzipped);
    response.set_header("Content-Encoding", "gzip");
  } else {
    response.body = std::string(asset->bytes);
  }
  // Vite names what it builds by its hash: such a file never changes.
  response.set_header("Cache-Control",
                      path.starts_with("assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  set_security_headers(response);
  return response;
}

Response ui_sign_in_page(std::string_view base, std::string_view message) {
  Response response;
  response.status = 403;
  response.set_header("Content-Type", "text/html; charset=utf-8");
  response.set_header("Cache-Control", "no-store");
  response.body = fmt::format(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\"><meta name=\"color-scheme\" content=\"light dark\">"
      "<title>tejun: sign in</title></head><body style=\"font: 16px system-ui, sans-serif; max-width: 34em; "
      "margin: 4em auto; padding: 0 1em\"><h1>tejun</h1><p>{}</p><form method=\"get\" action=\"{}ui/\">"
      "<label>Token <input name=\"token\" type=\"password\" autocomplete=\"current-password\" autofocus "
      "required></label> <button type=\"submit\">Sign in</button></form><p>tejun server printed a URL with "
      "the token when it started; opening that URL signs you in too.</p></body></html>",
      html_escape(message), html_escape(base));
  set_security_headers(response);
  return response;
}

}  // namespace tejun::server
