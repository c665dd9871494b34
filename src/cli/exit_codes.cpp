#include "cli/exit_codes.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace tejun::cli {

int exit_code_for(const base::Error& error) noexcept {
  return error.code == base::ErrorCode::io_error ? kExitFailure : kExitUsage;
}

int report(const base::Error& error) {
  std::string line = error.to_string();
  // One line: a message that spans lines would be read as several errors.
  for (char& c : line) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  fmt::print(stderr, "tejun: {}\n", line);
  return exit_code_for(error);
}

}  // namespace tejun::cli
