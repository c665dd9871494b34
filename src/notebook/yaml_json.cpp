#include "notebook/yaml_json.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>
#include <charconv>
#include <regex>

#include "notebook/json_writer.hpp"

namespace tejun::notebook {
namespace {

using base::ErrorCode;
using base::Result;

bool is_integer_text(std::string_view text) {
  static const std::regex kInteger("[-+]?[0-9]+");
  return std::regex_match(text.begin(), text.end(), kInteger);
}

bool is_float_text(std::string_view text) {
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  return std::regex_match(text.begin(), text.end(), kFloat);
}

// JSON has no '+' sign, leading zeros or bare '.5': numbers are rewritten in JSON form.
Json json_number(std::string_view text) {
  if (is_integer_text(text)) {
    std::int64_t value = 0;
    const std::string_view digits = text.starts_with('+') ? text.substr(1) : text;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc() && ptr == digits.data() + digits.size()) {
      return Json::integer(value);
    }
  }
  double value = 0;
  const std::string_view digits = text.starts_with('+') ? text.substr(1) : text;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Json(std::string(text));
  }
  std::array<char, 64> buffer{};
  auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  std::string json(buffer.data(), end);
  if (json.find_first_of(".eEn") == std::string::npos) {
    json += ".0";  // keep it a float, as YAML wrote it
  }
  return Json(JsonNumber{std::move(json)});
}

Result<Json> to_json(const YAML::Node& node);

Result<Json> mapping_to_json(const YAML::Node& node) {
  JsonObject object;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      base::Error error = base::make_error(ErrorCode::schema_error, "a mapping key must be a plain word or string");
      error.where.line = static_cast<std::uint64_t>(entry.first.Mark().line) + 1;
      error.where.column = static_cast<std::uint64_t>(entry.first.Mark().column) + 1;
      return error;
    }
    auto value = to_json(entry.second);
    if (!value) {
      return value.error();
    }
    set_member(object, entry.first.Scalar(), std::move(*value));
  }
  return Json(std::move(object));
}

Result<Json> to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      // "!" marks a quoted scalar: always a string.
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {
        return Json(node.Scalar());
      }
      return scalar_from_plain_text(node.Scalar());
    case YAML::NodeType::Sequence: {
      JsonArray array;
      for (const auto& element : node) {
        auto value = to_json(element);
        if (!value) {
          return value.error();
        }
        array.push_back(std::move(*value));
      }
      return Json(std::move(array));
    }
    case YAML::NodeType::Map:
      return mapping_to_json(node);
  }
  return Json(nullptr);
}

void emit(YAML::Emitter& out, const Json& value) {
  switch (value.kind()) {
    case Json::Kind::null:
      out << YAML::Null;
      return;
    case Json::Kind::boolean:
      out << (value.as_bool() ? "true" : "false");
      return;
    case Json::Kind::number:
      out << value.as_number().text;
      return;
    case Json::Kind::string: {
      const std::string& text = value.as_string();
      // A string that would read back as something else is quoted.
      if (!scalar_from_plain_text(text).is_string() || text.empty()) {
        out << YAML::DoubleQuoted;
      }
      out << text;
      return;
    }
    case Json::Kind::array:
    case Json::Kind::string_array: {
      out << YAML::BeginSeq;
      if (value.kind() == Json::Kind::string_array) {
        for (const auto& text : value.as_string_array().to_vector()) {
          emit(out, Json(text));
        }
      } else {
        for (const auto& element : value.as_array()) {
          emit(out, element);
        }
      }
      out << YAML::EndSeq;
      return;
    }
    case Json::Kind::object:
      out << YAML::BeginMap;
      for (const auto& [key, member] : value.as_object()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, member);
      }
      out << YAML::EndMap;
      return;
  }
}

}  // namespace

Json scalar_from_plain_text(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return Json(nullptr);
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return Json(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return Json(false);
  }
  if (is_integer_text(text) || is_float_text(text)) {
    return json_number(text);
  }
  return Json(std::string(text));
}

Result<JsonObject> parse_yaml_mapping(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& exception) {
    base::Error error = base::make_error(ErrorCode::parse_error, fmt::format("invalid YAML: {}", exception.msg));
    error.where.line = static_cast<std::uint64_t>(exception.mark.line) + 1;
    error.where.column = static_cast<std::uint64_t>(exception.mark.column) + 1;
    return error;
  }
  if (root.IsNull() || !root.IsDefined()) {
    return JsonObject{};
  }
  if (!root.IsMap()) {
    base::Error error = base::make_error(ErrorCode::schema_error, "expected a YAML mapping (key: value lines)");
    error.where.line = static_cast<std::uint64_t>(root.Mark().line) + 1;
    error.where.column = static_cast<std::uint64_t>(root.Mark().column) + 1;
    return error;
  }
  auto json = mapping_to_json(root);
  if (!json) {
    return json.error();
  }
  return std::move(json->as_object());
}

std::string emit_yaml_mapping(const JsonObject& mapping) {
  if (mapping.empty()) {
    return {};
  }
  YAML::Emitter out;
  emit(out, Json(mapping));
  std::string text = out.c_str();
  text.push_back('\n');
  return text;
}

}  // namespace tejun::notebook
