// Reads JSON text into a Json value, as Python's json module reads it (which is how Jupyter
// reads notebooks): numbers kept as written, NaN and Infinity accepted, the last of repeated
// keys kept. Errors name the line and column.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "base/result.hpp"
#include "notebook/json.hpp"

namespace tejun::notebook {

// Called now and then with how far parsing has got: nothing before that offset is read again
// unless an error is reported, so a caller can release the memory that held it.
using JsonProgress = std::function<void(std::size_t offset)>;

[[nodiscard]] base::Result<Json> parse_json(std::string_view text, const JsonProgress& progress = {});

}  // namespace tejun::notebook
