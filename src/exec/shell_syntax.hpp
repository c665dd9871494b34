// Whether a step is ready to run (is_complete_request), decided by bash's own parser.
#pragma once

#include <string>
#include <string_view>

namespace tejun::exec {

enum class Completeness : std::uint8_t { complete, incomplete, invalid, unknown };

[[nodiscard]] const char* to_string(Completeness completeness) noexcept;

// Shell code only (magic lines removed by the caller). `bash_path` parses it with -n.
[[nodiscard]] Completeness shell_completeness(std::string_view code, const std::string& bash_path);

}  // namespace tejun::exec
