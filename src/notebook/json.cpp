#include "notebook/json.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

namespace tejun::notebook {

std::string_view JsonStringArray::operator[](std::size_t index) const noexcept {
  const std::size_t begin = index == 0 ? 0 : ends_[index - 1];
  return std::string_view(text_).substr(begin, ends_[index] - begin);
}

std::vector<std::string> JsonStringArray::to_vector() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) {
    out.emplace_back((*this)[i]);
  }
  return out;
}

Json Json::integer(std::int64_t value) {
  return Json(JsonNumber{std::to_string(value)});
}

bool Json::to_strings(std::vector<std::string>& out) const {
  out.clear();
  if (kind() == Kind::string_array) {
    out = as_string_array().to_vector();
    return true;
  }
  if (kind() != Kind::array) {
    return false;
  }
  for (const auto& element : as_array()) {
    if (!element.is_string()) {
      return false;
    }
    out.push_back(element.as_string());
  }
  return true;
}

bool Json::to_int64(std::int64_t& out) const {
  if (!is_number()) {
    return false;
  }
  const std::string& text = as_number().text;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool operator==(const Json& left, const Json& right) {
  // The two array forms are one JSON value: compare them element by element.
  if (left.is_array() && right.is_array() && left.kind() != right.kind()) {
    std::vector<std::string> left_strings;
    std::vector<std::string> right_strings;
    return left.to_strings(left_strings) && right.to_strings(right_strings) && left_strings == right_strings;
  }
  return left.value_ == right.value_;
}

const Json* find_member(const JsonObject& object, std::string_view key) {
  for (auto it = object.rbegin(); it != object.rend(); ++it) {
    if (it->first == key) {
      return &it->second;
    }
  }
  return nullptr;
}

const JsonObject* object_member(const JsonObject& object, std::string_view key) {
  const auto* value = find_member(object, key);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

std::string string_member(const JsonObject* object, std::string_view key) {
  const auto* value = object == nullptr ? nullptr : find_member(*object, key);
  return value != nullptr && value->is_string() ? value->as_string() : std::string();
}

Json* find_member(JsonObject& object, std::string_view key) {
  return const_cast<Json*>(find_member(std::as_const(object), key));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

void set_member(JsonObject& object, std::string_view key, Json value) {
  if (Json* existing = find_member(object, key)) {
    *existing = std::move(value);
    return;
  }
  object.emplace_back(std::string(key), std::move(value));
}

bool erase_member(JsonObject& object, std::string_view key) {
  const auto removed = std::erase_if(object, [&](const JsonMember& member) { return member.first == key; });
  return removed > 0;
}

void keep_last_of_repeated_keys(JsonObject& object) {
  constexpr std::size_t kLinearLimit = 32;
  std::vector<bool> repeated(object.size(), false);
  bool any = false;
  if (object.size() <= kLinearLimit) {
    for (std::size_t i = 0; i < object.size(); ++i) {
      for (std::size_t j = i + 1; j < object.size() && !repeated[i]; ++j) {
        repeated[i] = object[i].first == object[j].first;
      }
      any = any || repeated[i];
    }
  } else {
    std::unordered_set<std::string_view> seen;
    for (std::size_t i = object.size(); i-- > 0;) {
      repeated[i] = !seen.insert(object[i].first).second;
      any = any || repeated[i];
    }
  }
  if (!any) {
    return;
  }
  std::size_t index = 0;
  std::erase_if(object, [&](const JsonMember&) { return repeated[index++]; });
}

const char* kind_name(Json::Kind kind) noexcept {
  switch (kind) {
    case Json::Kind::null:
      return "null";
    case Json::Kind::boolean:
      return "a boolean";
    case Json::Kind::number:
      return "a number";
    case Json::Kind::string:
      return "a string";
    case Json::Kind::array:
    case Json::Kind::string_array:
      return "an array";
    case Json::Kind::object:
      return "an object";
  }
  return "a value";
}

}  // namespace tejun::notebook
