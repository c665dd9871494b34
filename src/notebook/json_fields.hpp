// Taking typed fields out of parsed JSON objects, with errors that carry a JSON pointer
// (RFC 6901) to the field: what the .ipynb reader is made of.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notebook/json.hpp"

namespace tejun::notebook {

// `parent` + "/" + `token`, with '~' and '/' escaped as RFC 6901 says.
[[nodiscard]] std::string pointer_to(std::string_view parent, std::string_view token);
[[nodiscard]] std::string pointer_to(std::string_view parent, std::size_t index);

[[nodiscard]] base::Error schema_error(std::string pointer, std::string message);
// "expected <expected>, found <what `found` is>".
[[nodiscard]] base::Error wrong_kind(std::string pointer, std::string_view expected, const Json& found);

// Removes `key` from `object` and returns its value (the last one, if repeated).
[[nodiscard]] std::optional<Json> take(JsonObject& object, std::string_view key);

// A multi-line string: a string, or an array of strings that nbformat joins. A missing
// field is an error when `required`, else the empty string.
[[nodiscard]] base::Result<std::string> take_text(JsonObject& object, std::string_view key, const std::string& pointer,
                                                  bool required);
[[nodiscard]] base::Result<std::string> take_string(JsonObject& object, std::string_view key,
                                                    const std::string& pointer);
// An object; a missing one is empty.
[[nodiscard]] base::Result<JsonObject> take_object(JsonObject& object, std::string_view key,
                                                   const std::string& pointer);
// An integer or null; a missing one is null.
[[nodiscard]] base::Result<Json> take_execution_count(JsonObject& object, const std::string& pointer);

}  // namespace tejun::notebook
