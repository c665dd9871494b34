#include "notebook/json_fields.hpp"

#include <fmt/format.h>

namespace tejun::notebook {

using base::Error;
using base::ErrorCode;
using base::Result;

std::string pointer_to(std::string_view parent, std::string_view token) {
  std::string pointer(parent);
  pointer.push_back('/');
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer.push_back(c);
    }
  }
  return pointer;
}

std::string pointer_to(std::string_view parent, std::size_t index) {
  return fmt::format("{}/{}", parent, index);
}

Error schema_error(std::string pointer, std::string message) {
  Error error = base::make_error(ErrorCode::schema_error, std::move(message));
  error.where.pointer = std::move(pointer);
  return error;
}

Error wrong_kind(std::string pointer, std::string_view expected, const Json& found) {
  return schema_error(std::move(pointer), fmt::format("expected {}, found {}", expected, kind_name(found.kind())));
}

// Removes `key` from `object` and returns its value (the last one, if repeated).
std::optional<Json> take(JsonObject& object, std::string_view key) {
  std::optional<Json> found;
  std::erase_if(object, [&](JsonMember& member) {
    if (member.first != key) {
      return false;
    }
    found = std::move(member.second);
    return true;
  });
  return found;
}

// A multi-line string: a string, or an array of strings that nbformat joins.
Result<std::string> take_text(JsonObject& object, std::string_view key, const std::string& pointer, bool required) {
  std::optional<Json> value = take(object, key);
  const std::string at = pointer_to(pointer, key);
  if (!value) {
    if (required) {
      return schema_error(at, fmt::format("missing \"{}\"", key));
    }
    return std::string{};
  }
  switch (value->kind()) {
    case Json::Kind::string:
      return std::move(value->as_string());
    case Json::Kind::string_array:
      return std::move(value->as_string_array()).take_joined();
    case Json::Kind::array:
      // Arrays of strings are read as string arrays: this one is empty or holds a non-string.
      for (std::size_t i = 0; i < value->as_array().size(); ++i) {
        if (!value->as_array()[i].is_string()) {
          return wrong_kind(pointer_to(at, i), "a string", value->as_array()[i]);
        }
      }
      return std::string{};
    default:
      return wrong_kind(at, "a string or an array of strings", *value);
  }
}

Result<std::string> take_string(JsonObject& object, std::string_view key, const std::string& pointer) {
  std::optional<Json> value = take(object, key);
  if (!value) {
    return schema_error(pointer_to(pointer, key), fmt::format("missing \"{}\"", key));
  }
  if (!value->is_string()) {
    return wrong_kind(pointer_to(pointer, key), "a string", *value);
  }
  return std::move(value->as_string());
}

Result<JsonObject> take_object(JsonObject& object, std::string_view key, const std::string& pointer) {
  std::optional<Json> value = take(object, key);
  if (!value) {
    return JsonObject{};
  }
  if (!value->is_object()) {
    return wrong_kind(pointer_to(pointer, key), "an object", *value);
  }
  return std::move(value->as_object());
}

Result<Json> take_execution_count(JsonObject& object, const std::string& pointer) {
  std::optional<Json> value = take(object, "execution_count");
  if (!value) {
    return Json(nullptr);
  }
  std::int64_t count = 0;
  if (!value->is_null() && !value->to_int64(count)) {
    return wrong_kind(pointer_to(pointer, "execution_count"), "an integer or null", *value);
  }
  return std::move(*value);
}

}  // namespace tejun::notebook
