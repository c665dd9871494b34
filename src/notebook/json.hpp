// A JSON value that keeps what nbformat files need to survive a round trip: numbers as
// written, object members in order (sorted only when written), and arrays of strings in a
// compact form, so that a notebook's outputs cost about their own size in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tejun::notebook {

class Json;

// A number kept as its JSON text, so that 1.0, 1e5 and 12345678901234567890 are written back
// exactly as they were read.
struct JsonNumber {
  std::string text;
  friend bool operator==(const JsonNumber&, const JsonNumber&) = default;
};

// An array whose elements are all strings: one buffer and the end offset of each element.
class JsonStringArray {
 public:
  // The buffer the next element is appended to, in place; close_element() ends it.
  std::string& open_buffer() { return text_; }
  void close_element() { ends_.push_back(text_.size()); }

  [[nodiscard]] std::size_t size() const noexcept { return ends_.size(); }
  [[nodiscard]] bool empty() const noexcept { return ends_.empty(); }
  [[nodiscard]] std::string_view operator[](std::size_t index) const noexcept;
  // All elements concatenated: what nbformat calls "rejoining" a multi-line string.
  [[nodiscard]] const std::string& joined() const noexcept { return text_; }
  [[nodiscard]] std::string take_joined() && { return std::move(text_); }
  [[nodiscard]] std::vector<std::string> to_vector() const;

  friend bool operator==(const JsonStringArray&, const JsonStringArray&) = default;

 private:
  std::string text_;
  std::vector<std::size_t> ends_;
};

using JsonArray = std::vector<Json>;
using JsonMember = std::pair<std::string, Json>;
using JsonObject = std::vector<JsonMember>;

class Json {
 public:
  enum class Kind : std::uint8_t { null, boolean, number, string, array, string_array, object };

  Json() = default;
  Json(std::nullptr_t) {}              // NOLINT(google-explicit-constructor): JSON literals read naturally
  Json(bool value) : value_(value) {}  // NOLINT(google-explicit-constructor)
  Json(JsonNumber value) : value_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Json(std::string value) : value_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Json(const char* value) : value_(std::string(value)) {}    // NOLINT(google-explicit-constructor)
  Json(JsonArray value) : value_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Json(JsonStringArray value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Json(JsonObject value) : value_(std::move(value)) {}       // NOLINT(google-explicit-constructor)

  [[nodiscard]] static Json integer(std::int64_t value);

  [[nodiscard]] Kind kind() const noexcept { return static_cast<Kind>(value_.index()); }
  [[nodiscard]] bool is_null() const noexcept { return kind() == Kind::null; }
  [[nodiscard]] bool is_bool() const noexcept { return kind() == Kind::boolean; }
  [[nodiscard]] bool is_number() const noexcept { return kind() == Kind::number; }
  [[nodiscard]] bool is_string() const noexcept { return kind() == Kind::string; }
  [[nodiscard]] bool is_object() const noexcept { return kind() == Kind::object; }
  // True for both array representations.
  [[nodiscard]] bool is_array() const noexcept { return kind() == Kind::array || kind() == Kind::string_array; }

  [[nodiscard]] bool as_bool() const { return std::get<bool>(value_); }
  [[nodiscard]] const JsonNumber& as_number() const { return std::get<JsonNumber>(value_); }
  [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(value_); }
  [[nodiscard]] std::string& as_string() { return std::get<std::string>(value_); }
  [[nodiscard]] const JsonArray& as_array() const { return std::get<JsonArray>(value_); }
  [[nodiscard]] JsonArray& as_array() { return std::get<JsonArray>(value_); }
  [[nodiscard]] const JsonStringArray& as_string_array() const { return std::get<JsonStringArray>(value_); }
  [[nodiscard]] JsonStringArray& as_string_array() { return std::get<JsonStringArray>(value_); }
  [[nodiscard]] const JsonObject& as_object() const { return std::get<JsonObject>(value_); }
  [[nodiscard]] JsonObject& as_object() { return std::get<JsonObject>(value_); }

  // An array of strings (either form) as a vector; false when some element is not a string.
  [[nodiscard]] bool to_strings(std::vector<std::string>& out) const;

  // The number as a signed integer, when it is one that fits.
  [[nodiscard]] bool to_int64(std::int64_t& out) const;

  friend bool operator==(const Json& left, const Json& right);

 private:
  std::variant<std::nullptr_t, bool, JsonNumber, std::string, JsonArray, JsonStringArray, JsonObject> value_;
};

// Object helpers: objects are small, so a linear search is the fast one. The last member
// with a key wins, as in Python's json module.
[[nodiscard]] const Json* find_member(const JsonObject& object, std::string_view key);
[[nodiscard]] Json* find_member(JsonObject& object, std::string_view key);
// The member `key` when it is an object, else null.
[[nodiscard]] const JsonObject* object_member(const JsonObject& object, std::string_view key);
// The member `key` of `object` (which may be null) when it is a string, else "".
[[nodiscard]] std::string string_member(const JsonObject* object, std::string_view key);
void set_member(JsonObject& object, std::string_view key, Json value);
bool erase_member(JsonObject& object, std::string_view key);
// Removes all but the last of members with the same key, as Python's json module reads them.
void keep_last_of_repeated_keys(JsonObject& object);

[[nodiscard]] const char* kind_name(Json::Kind kind) noexcept;

}  // namespace tejun::notebook
