#include "server/contents_format.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

namespace tejun::server {

namespace json = boost::json;

bool is_markdown(std::string_view name) {
  return name.ends_with(".md") || name.ends_with(".markdown");
}
// ISO 8601 in UTC with microseconds, as Jupyter Server writes them.
std::string iso_time(const struct timespec& time) {
  std::tm utc{};
  gmtime_r(&time.tv_sec, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, time.tv_nsec / 1000);
}

// Microseconds since the epoch of an ISO 8601 UTC time as iso_time writes it (other offsets
// and precisions too); nullopt when it is not one.
std::optional<std::int64_t> parse_iso_time(std::string_view text) {
  std::tm parts{};
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  char rest[40] = {};
  const std::string copy(text.substr(0, 39));
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%39s", &year, &month, &day, &hour, &minute, &second, rest) <
      6) {
    return std::nullopt;
  }
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  std::int64_t micros = static_cast<std::int64_t>(timegm(&parts)) * 1'000'000;
  std::string_view tail = rest;
  if (tail.starts_with('.')) {
    std::int64_t fraction = 0;
    int digits = 0;
    tail.remove_prefix(1);
    while (!tail.empty() && tail.front() >= '0' && tail.front() <= '9') {
      if (digits < 6) {
        fraction = fraction * 10 + (tail.front() - '0');
        ++digits;
      }
      tail.remove_prefix(1);
    }
    while (digits++ < 6) {
      fraction *= 10;
    }
    micros += fraction;
  }
  if (tail.size() >= 6 && (tail.front() == '+' || tail.front() == '-')) {
    const int sign = tail.front() == '+' ? 1 : -1;
    const int offset_hours = (tail[1] - '0') * 10 + (tail[2] - '0');
    const int offset_minutes = (tail[4] - '0') * 10 + (tail[5] - '0');
    micros -= static_cast<std::int64_t>(sign) * (offset_hours * 3600 + offset_minutes * 60) * 1'000'000;
  }
  return micros;
}

std::int64_t micros_of(const struct timespec& time) {
  return static_cast<std::int64_t>(time.tv_sec) * 1'000'000 + time.tv_nsec / 1000;
}

std::string mimetype_of(std::string_view name, bool text) {
  if (name.ends_with(".json") || name.ends_with(".ipynb")) {
    return "application/json";
  }
  if (is_markdown(name)) {
    return "text/markdown";
  }
  if (name.ends_with(".html")) {
    return "text/html";
  }
  if (name.ends_with(".png")) {
    return "image/png";
  }
  return text ? "text/plain" : "application/octet-stream";
}

std::string base64(std::string_view bytes) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  encoded.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16U) |
                   (static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8U) |
                   static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
    encoded += kAlphabet[(n >> 18U) & 63U];
    encoded += kAlphabet[(n >> 12U) & 63U];
    encoded += kAlphabet[(n >> 6U) & 63U];
    encoded += kAlphabet[n & 63U];
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16U;
    if (i + 1 < bytes.size()) {
      n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
    }
    encoded += kAlphabet[(n >> 18U) & 63U];
    encoded += kAlphabet[(n >> 12U) & 63U];
    encoded += i + 1 < bytes.size() ? kAlphabet[(n >> 6U) & 63U] : '=';
    encoded += '=';
  }
  return encoded;
}

std::optional<std::string> unbase64(std::string_view text) {
  std::string decoded;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int value = -1;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      value = 62;
    } else if (c == '/' || c == '_') {
      value = 63;
    } else if (c == '=' || c == '\n' || c == '\r') {
      continue;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6U) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return decoded;
}

// An array of strings as one string (nbformat's "rejoin": multi-line fields are served as
// strings, as Jupyter Server serves them).
namespace {

void rejoin(json::value& value) {
  if (!value.is_array()) {
    return;
  }
  std::string joined;
  for (const auto& part : value.as_array()) {
    if (!part.is_string()) {
      return;
    }
    joined += part.as_string();
  }
  value = json::string(joined);
}

}  // namespace

void rejoin_notebook(json::value& notebook) {
  auto* cells = notebook.is_object() ? notebook.as_object().if_contains("cells") : nullptr;
  if (cells == nullptr || !cells->is_array()) {
    return;
  }
  for (auto& cell : cells->as_array()) {
    if (!cell.is_object()) {
      continue;
    }
    if (auto* source = cell.as_object().if_contains("source")) {
      rejoin(*source);
    }
    if (auto* attachments = cell.as_object().if_contains("attachments");
        attachments != nullptr && attachments->is_object()) {
      for (auto& [name, bundle] : attachments->as_object()) {
        if (bundle.is_object()) {
          for (auto& [mime, content] : bundle.as_object()) {
            if (!mime.ends_with("json")) {
              rejoin(content);
            }
          }
        }
      }
    }
    auto* outputs = cell.as_object().if_contains("outputs");
    if (outputs == nullptr || !outputs->is_array()) {
      continue;
    }
    for (auto& output : outputs->as_array()) {
      if (!output.is_object()) {
        continue;
      }
      if (auto* text = output.as_object().if_contains("text")) {
        rejoin(*text);
      }
      if (auto* data = output.as_object().if_contains("data"); data != nullptr && data->is_object()) {
        for (auto& [mime, content] : data->as_object()) {
          if (!mime.ends_with("json")) {
            rejoin(content);
          }
        }
      }
    }
  }
}

std::string trim_slashes(std::string_view path) {
  while (path.starts_with('/')) {
    path.remove_prefix(1);
  }
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  return std::string(path);
}

std::optional<std::string> read_bytes(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    return std::nullopt;
  }
  return std::string((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
}

std::string iso_now() {
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  return iso_time(now);
}

}  // namespace tejun::server
