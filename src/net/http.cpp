#include "net/http.hpp"

#include <fmt/format.h>

#include "base/text.hpp"
#include "base/utf8.hpp"

namespace tejun::net {
std::string_view Request::header(std::string_view name) const {
  const std::string wanted = base::ascii_lowercase(name);
  for (const auto& [key, value] : headers) {
    if (base::ascii_lowercase(key) == wanted) {
      return value;
    }
  }
  return {};
}

std::optional<std::string> Request::query_value(std::string_view name) const {
  const auto found = query.find(name);
  return found == query.end() ? std::nullopt : std::optional<std::string>(found->second);
}

void Response::set_header(std::string name, std::string value) {
  const std::string wanted = base::ascii_lowercase(name);
  for (auto& [key, existing] : headers) {
    if (base::ascii_lowercase(key) == wanted) {
      existing = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

Response Response::json(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.set_header("Content-Type", "application/json");
  return response;
}

Response Response::error(int status, std::string_view message) {
  return json(status, fmt::format(R"({{"message": {}, "reason": {}}})", json_quote(message),
                                  json_quote(reason_phrase(status))));
}

Response Response::empty(int status) {
  Response response;
  response.status = status;
  return response;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

std::optional<std::string> percent_decode(std::string_view text, bool form) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int high = base::hex_digit_value(text[i + 1]);
      const int low = base::hex_digit_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      decoded += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && form) {
      decoded += ' ';
    } else {
      decoded += c;
    }
  }
  return decoded;
}

std::optional<std::multimap<std::string, std::string, std::less<>>> parse_query(std::string_view query) {
  std::multimap<std::string, std::string, std::less<>> pairs;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (item.empty()) {
      continue;
    }
    const auto equals = item.find('=');
    auto name = percent_decode(item.substr(0, equals), true);
    auto value = percent_decode(equals == std::string_view::npos ? std::string_view() : item.substr(equals + 1), true);
    if (!name || !value) {
      return std::nullopt;
    }
    pairs.emplace(std::move(*name), std::move(*value));
  }
  return pairs;
}

std::string json_quote(std::string_view text) {
  std::string quoted = "\"";
  while (!text.empty()) {
    const char c = text.front();
    const auto length = base::utf8_sequence_length(text);
    if (length == 0) {
      quoted += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      text.remove_prefix(1);
      continue;
    }
    switch (c) {
      case '"':
        quoted += "\\\"";
        break;
      case '\\':
        quoted += "\\\\";
        break;
      case '\n':
        quoted += "\\n";
        break;
      case '\r':
        quoted += "\\r";
        break;
      case '\t':
        quoted += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          quoted += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          quoted += text.substr(0, length);
        }
    }
    text.remove_prefix(length);
  }
  quoted += '"';
  return quoted;
}

}  // namespace tejun::net
