#include "runner/run_record.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <ctime>

namespace tejun::runner {

const char* to_string(StepStatus status) noexcept {
  switch (status) {
    case StepStatus::pending:
      return "pending";
    case StepStatus::running:
      return "running";
    case StepStatus::ok:
      return "ok";
    case StepStatus::failed:
      return "failed";
    case StepStatus::timed_out:
      return "timed_out";
    case StepStatus::interrupted:
      return "interrupted";
    case StepStatus::kernel_died:
      return "kernel_died";
    case StepStatus::skipped:
      return "skipped";
  }
  return "?";
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", seconds, micros);
}

std::optional<double> parse_utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then optional fraction, then Z or +00:00 (or nothing).
  constexpr std::size_t kSecondsEnd = 19;
  if (text.size() < kSecondsEnd || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto field = [&](std::size_t at, std::size_t length, int& out) {
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, out);
    return ec == std::errc() && end == text.data() + at + length;
  };
  std::tm time{};
  int year = 0;
  int month = 0;
  if (!field(0, 4, year) || !field(5, 2, month) || !field(8, 2, time.tm_mday) || !field(11, 2, time.tm_hour) ||
      !field(14, 2, time.tm_min) || !field(17, 2, time.tm_sec)) {
    return std::nullopt;
  }
  time.tm_year = year - 1900;
  time.tm_mon = month - 1;
  double seconds = static_cast<double>(::timegm(&time));
  std::size_t at = kSecondsEnd;
  if (at < text.size() && text[at] == '.') {
    double scale = 0.1;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
      seconds += scale * (text[at] - '0');
      scale /= 10;
    }
  }
  const std::string_view zone = text.substr(at);
  if (!zone.empty() && zone != "Z" && zone != "+00:00") {
    return std::nullopt;
  }
  return seconds;
}

std::string strip_ansi(std::string_view text) {
  std::string plain;
  plain.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      std::size_t end = i + 2;
      while (end < text.size() && (static_cast<unsigned char>(text[end]) < 0x40 || text[end] > 0x7e)) {
        ++end;
      }
      i = end;  // past the final byte
      continue;
    }
    plain += text[i];
  }
  return plain;
}

}  // namespace tejun::runner
