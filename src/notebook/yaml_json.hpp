// YAML (runbook front matter) to and from Json, with one rule for what a plain, unquoted
// word means: true/false, null, a number, or else a string.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notebook/json.hpp"

namespace tejun::notebook {

// The value an unquoted YAML scalar (or code-block attribute value) stands for.
[[nodiscard]] Json scalar_from_plain_text(std::string_view text);

// Parses a YAML mapping. Errors carry the line and column within `yaml` (1-based).
[[nodiscard]] base::Result<JsonObject> parse_yaml_mapping(std::string_view yaml);

// Block-style YAML for `mapping`, ending with a newline; empty for an empty mapping.
[[nodiscard]] std::string emit_yaml_mapping(const JsonObject& mapping);

}  // namespace tejun::notebook
