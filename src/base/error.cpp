#include "base/error.hpp"

#include <fmt/format.h>

#include <utility>

namespace tejun::base {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid argument";
    case ErrorCode::parse_error:
      return "parse error";
    case ErrorCode::schema_error:
      return "schema error";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::not_found:
      return "not found";
    case ErrorCode::io_error:
      return "I/O error";
  }
  return "error";
}

std::string Error::to_string() const {
  std::string out = where.path;
  if (where.line > 0) {
    out += fmt::format("{}{}:{}", out.empty() ? "line " : ":", where.line, where.column);
  }
  if (!where.pointer.empty()) {
    out += fmt::format("{}at {}", out.empty() ? "" : ": ", where.pointer);
  }
  if (!out.empty()) {
    out += ": ";
  }
  out += message;
  return out;
}

Error Error::in_file(std::string path) const {
  Error copy = *this;
  copy.where.path = std::move(path);
  return copy;
}

Error make_error(ErrorCode code, std::string message) {
  return Error{.code = code, .message = std::move(message), .detail = {}, .where = {}};
}

}  // namespace tejun::base
