#include "runner/run_record.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

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
