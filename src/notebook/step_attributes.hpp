// The info string of a fenced code block: its language and its attributes, written
// `sh {name=restart-db confirm=true}` or in Runme's JSON form `sh {"name":"restart-db"}`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notebook/json.hpp"

namespace tejun::notebook {

struct StepInfo {
  std::string language;   // the first word; empty when the info string starts with '{'
  JsonObject attributes;  // in the order written
};

// Errors carry the column within `info` (1-based) where reading stopped.
[[nodiscard]] base::Result<StepInfo> parse_step_info(std::string_view info);

// The info string for `step`: `{key=value ...}`, or the JSON form when a value is an array or
// object or a key is not a plain word.
[[nodiscard]] std::string format_step_info(const StepInfo& step);

}  // namespace tejun::notebook
