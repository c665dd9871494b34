#include "exec/env_file.hpp"

#include <fmt/format.h>

#include "base/text.hpp"

namespace tejun::exec {
namespace {

using base::ErrorCode;

base::Error line_error(std::size_t line, std::size_t column, std::string message) {
  auto error = base::make_error(ErrorCode::parse_error, std::move(message));
  error.where.line = line;
  error.where.column = column;
  return error;
}

using base::trim;

}  // namespace

bool is_variable_name(std::string_view name) noexcept {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (const char c : name) {
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

base::Result<EnvEntries> parse_env_file(std::string_view text) {
  EnvEntries entries;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const auto newline = text.find('\n');
    const auto raw = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    auto line = trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.starts_with("export ")) {
      line = trim(line.substr(7));
    }
    const auto equals = line.find('=');
    const auto column = static_cast<std::size_t>(line.data() - raw.data()) + 1;
    if (equals == std::string_view::npos) {
      return line_error(number, column, "expected NAME=value");
    }
    const auto name = trim(line.substr(0, equals));
    if (!is_variable_name(name)) {
      return line_error(number, column, fmt::format("'{}' is not a valid variable name", name));
    }
    auto value = trim(line.substr(equals + 1));
    std::string parsed;
    if (!value.empty() && (value.front() == '\'' || value.front() == '"')) {
      const char quote = value.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < value.size(); ++i) {
        const char c = value[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < value.size()) {
          const char next = value[++i];
          parsed += next == 'n' ? '\n' : next == 't' ? '\t' : next;
          continue;
        }
        parsed += c;
      }
      if (!closed) {
        return line_error(number, column, fmt::format("the value of {} has no closing {}", name, quote));
      }
      const auto after = trim(value.substr(i + 1));
      if (!after.empty() && after.front() != '#') {
        return line_error(number, column, fmt::format("unexpected text after the quoted value of {}", name));
      }
    } else {
      if (const auto comment = value.find(" #"); comment != std::string_view::npos) {
        value = trim(value.substr(0, comment));
      }
      parsed.assign(value);
    }
    entries.emplace_back(std::string(name), std::move(parsed));
  }
  return entries;
}

}  // namespace tejun::exec
