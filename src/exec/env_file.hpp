// The .env format that %load_env reads: NAME=value lines, `export ` allowed, # comments,
// values bare, '...' (literal) or "..." (with \" \\ \n \t escapes).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tejun::exec {

using EnvEntries = std::vector<std::pair<std::string, std::string>>;

// Errors carry the line and column of the problem; the caller adds the path.
[[nodiscard]] base::Result<EnvEntries> parse_env_file(std::string_view text);

[[nodiscard]] bool is_variable_name(std::string_view name) noexcept;

}  // namespace tejun::exec
