#include "exec/http_request.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>

#include "base/text.hpp"

namespace tejun::exec {
namespace {

using base::trim;

bool is_method(std::string_view word) {
  static constexpr std::array<std::string_view, 9> kMethods = {"GET",  "POST",    "PUT",   "PATCH",  "DELETE",
                                                               "HEAD", "OPTIONS", "TRACE", "CONNECT"};
  return std::find(kMethods.begin(), kMethods.end(), base::ascii_uppercase(word)) != kMethods.end();
}

bool is_header_name(std::string_view name) {
  // RFC 9110 token characters.
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

base::Error error_at(std::size_t line, std::string message) {
  auto error = base::make_error(base::ErrorCode::parse_error, fmt::format("line {}: {}", line, message));
  error.where.line = line;
  return error;
}

// One request from `lines` (the text between ### separators), the first of them line `first`.
base::Result<std::optional<HttpRequestText>> parse_one(const std::vector<std::string_view>& lines, std::size_t first) {
  std::size_t i = 0;
  while (i < lines.size()) {
    const auto line = trim(lines[i]);
    if (!line.empty() && !line.starts_with('#') && !line.starts_with("//")) {
      break;
    }
    ++i;
  }
  if (i == lines.size()) {
    return std::optional<HttpRequestText>();
  }
  HttpRequestText request;
  request.line = first + i;
  const auto request_line = trim(lines[i]);
  const auto space = request_line.find_first_of(" \t");
  const auto word = request_line.substr(0, space);
  auto rest = space == std::string_view::npos ? std::string_view() : trim(request_line.substr(space + 1));
  if (is_method(word) && !rest.empty()) {
    request.method = base::ascii_uppercase(word);
  } else if (is_method(word)) {
    return error_at(request.line, fmt::format("{} needs a URL: {} https://host/path", word, word));
  } else {
    request.method = "GET";
    rest = request_line;
  }
  // "URL HTTP/1.1": the version is accepted and ignored (libcurl chooses it).
  if (const auto version = rest.rfind(" HTTP/"); version != std::string_view::npos) {
    rest = trim(rest.substr(0, version));
  }
  if (rest.find_first_of(" \t") != std::string_view::npos) {
    return error_at(request.line,
                    fmt::format("the request line has a space in its URL: '{}' (encode it as %20)", request_line));
  }
  request.url = std::string(rest);
  // A URL may start with a placeholder ({GITLAB_URL}/api/v4/user); libcurl checks the scheme of
  // the filled URL.
  if (!request.url.starts_with("http://") && !request.url.starts_with("https://") && !request.url.starts_with('{')) {
    return error_at(request.line,
                    fmt::format("expected METHOD URL with an http:// or https:// URL, found '{}'", request_line));
  }
  ++i;
  for (; i < lines.size(); ++i) {
    const auto line = trim(lines[i]);
    if (line.empty()) {
      ++i;
      break;
    }
    const auto colon = line.find(':');
    const auto name = colon == std::string_view::npos ? line : trim(line.substr(0, colon));
    if (colon == std::string_view::npos || !is_header_name(name)) {
      return error_at(first + i, fmt::format("expected a header (Name: value) or a blank line before the body, "
                                             "found '{}'",
                                             line));
    }
    request.headers.emplace_back(name, trim(line.substr(colon + 1)));
  }
  std::size_t end = lines.size();
  while (end > i && trim(lines[end - 1]).empty()) {
    --end;
  }
  for (std::size_t j = i; j < end; ++j) {
    request.body += lines[j];
    if (j + 1 < end) {
      request.body += '\n';
    }
  }
  return std::optional<HttpRequestText>(std::move(request));
}

}  // namespace

base::Result<std::vector<HttpRequestText>> parse_http_requests(std::string_view text) {
  std::vector<HttpRequestText> requests;
  std::vector<std::string_view> lines;
  std::size_t first = 1;
  std::size_t number = 0;
  const auto flush = [&]() -> base::Result<void> {
    auto request = parse_one(lines, first);
    if (!request) {
      return request.error();
    }
    if (*request) {
      requests.push_back(std::move(**request));
    }
    lines.clear();
    first = number + 1;
    return {};
  };
  while (!text.empty()) {
    const auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.starts_with("###")) {
      if (auto flushed = flush(); !flushed) {
        return flushed.error();
      }
      continue;
    }
    lines.push_back(line);
  }
  ++number;
  if (auto flushed = flush(); !flushed) {
    return flushed.error();
  }
  if (requests.empty()) {
    return base::make_error(base::ErrorCode::invalid_argument,
                            "the step has no request: write METHOD URL on its first line, then headers, a blank "
                            "line and the body");
  }
  return requests;
}

}  // namespace tejun::exec
