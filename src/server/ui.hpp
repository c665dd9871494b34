// Serves the embedded runbook UI under {base}ui/ (server/ui_assets.hpp).
#pragma once

#include <string_view>

#include "net/http.hpp"

namespace tejun::server {

// The Content-Security-Policy of every UI page: scripts and styles from the server only (no
// inline script), connections to the server only, no plugins, not framed by other sites.
inline constexpr std::string_view kUiContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'";

// `path` is relative to the UI's folder ("" or "index.html" for the page, "assets/x.js"). A
// file's gzipped form goes to clients that accept gzip. Hashed assets are cached for a year,
// the page is revalidated every time.
[[nodiscard]] net::Response serve_ui_file(const net::Request& request, std::string_view path);

// The page a browser gets when it is not signed in: a form that asks for the token (no script).
[[nodiscard]] net::Response ui_sign_in_page(std::string_view base, std::string_view message);

}  // namespace tejun::server
