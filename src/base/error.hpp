// The one error type of tejun: a code, a message safe to show a user, detail for
// logs only, and where in the input the problem is.
#pragma once

#include <cstdint>
#include <string>

namespace tejun::base {

enum class ErrorCode : std::uint8_t {
  invalid_argument,  // the caller asked for something that cannot be done
  parse_error,       // the input is not well-formed (JSON, YAML, Markdown front matter)
  schema_error,      // well-formed input with the wrong shape (a notebook field of the wrong type)
  unsupported,       // a well-formed input tejun does not handle (nbformat 3)
  not_found,
  io_error,
};

[[nodiscard]] const char* to_string(ErrorCode code) noexcept;

// Where a problem is: a file, a line and column (1-based; 0 when unknown), a JSON pointer.
struct SourceLocation {
  std::string path;
  std::uint64_t line = 0;
  std::uint64_t column = 0;
  std::string pointer;
};

struct Error {
  ErrorCode code = ErrorCode::invalid_argument;
  std::string message;  // safe to show a user; never contains a secret
  std::string detail;   // for logs only
  SourceLocation where;

  // "path:line:column: message" or "path: at /cells/3/source: message".
  [[nodiscard]] std::string to_string() const;

  // Returns a copy that names the file, for errors raised before the path was known.
  [[nodiscard]] Error in_file(std::string path) const;
};

[[nodiscard]] Error make_error(ErrorCode code, std::string message);

}  // namespace tejun::base
