#include "notebook/step_attributes.hpp"

#include <fmt/format.h>

#include "notebook/json_parser.hpp"
#include "notebook/json_writer.hpp"
#include "notebook/yaml_json.hpp"

namespace tejun::notebook {
namespace {

using base::ErrorCode;
using base::Result;

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

base::Error attribute_error(std::size_t offset, std::string message) {
  base::Error error = base::make_error(ErrorCode::parse_error, std::move(message));
  error.where.column = offset + 1;
  return error;
}

// Reads `key=value` pairs from text[at] up to the closing '}'.
class AttributeReader {
 public:
  AttributeReader(std::string_view text, std::size_t at) : text_(text), at_(at) {}

  Result<JsonObject> read() {
    JsonObject attributes;
    ++at_;  // '{'
    while (true) {
      skip_spaces();
      if (at_ >= text_.size()) {
        return attribute_error(at_, "attributes are not closed: expected '}'");
      }
      if (text_[at_] == '}') {
        ++at_;
        break;
      }
      const std::size_t key_start = at_;
      while (at_ < text_.size() && is_key_char(text_[at_])) {
        ++at_;
      }
      if (at_ == key_start) {
        return attribute_error(at_, fmt::format("expected an attribute name, found '{}'", text_[at_]));
      }
      std::string key(text_.substr(key_start, at_ - key_start));
      if (at_ < text_.size() && text_[at_] == '=') {
        ++at_;
        auto value = read_value(key);
        if (!value) {
          return value.error();
        }
        set_member(attributes, key, std::move(*value));
      } else {
        set_member(attributes, key, Json(true));  // a bare name is a flag
      }
    }
    skip_spaces();
    if (at_ < text_.size()) {
      return attribute_error(at_, "unexpected text after the attributes' closing '}'");
    }
    return attributes;
  }

 private:
  void skip_spaces() {
    while (at_ < text_.size() && is_space(text_[at_])) {
      ++at_;
    }
  }

  Result<Json> read_value(const std::string& key) {
    if (at_ < text_.size() && (text_[at_] == '"' || text_[at_] == '\'')) {
      return read_quoted(key);
    }
    const std::size_t start = at_;
    while (at_ < text_.size() && !is_space(text_[at_]) && text_[at_] != '}') {
      ++at_;
    }
    if (at_ == start) {
      return attribute_error(at_, fmt::format("attribute '{}' has '=' but no value", key));
    }
    return scalar_from_plain_text(text_.substr(start, at_ - start));
  }

  Result<Json> read_quoted(const std::string& key) {
    const char quote = text_[at_];
    const std::size_t start = at_++;
    std::string value;
    while (at_ < text_.size() && text_[at_] != quote) {
      if (text_[at_] == '\\' && quote == '"' && at_ + 1 < text_.size()) {
        ++at_;
      }
      value.push_back(text_[at_++]);
    }
    if (at_ >= text_.size()) {
      return attribute_error(start, fmt::format("the value of attribute '{}' has no closing {}", key, quote));
    }
    ++at_;
    return Json(std::move(value));
  }

  std::string_view text_;
  std::size_t at_;
};

Result<JsonObject> read_json_attributes(std::string_view text, std::size_t at) {
  auto json = parse_json(text.substr(at));
  if (!json) {
    base::Error error = json.error();
    error.where.column = at + (error.where.line <= 1 ? error.where.column : 1);
    error.where.line = 0;
    return error;
  }
  if (!json->is_object()) {
    return attribute_error(at, "JSON attributes must be an object");
  }
  return std::move(json->as_object());
}

bool needs_quotes(const std::string& text) {
  if (text.empty() || !scalar_from_plain_text(text).is_string()) {
    return true;
  }
  for (char c : text) {
    if (is_space(c) || c == '}' || c == '"' || c == '\'' || c == '{') {
      return true;
    }
  }
  return false;
}

std::string quote(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
    }
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

bool fits_simple_form(const JsonObject& attributes) {
  for (const auto& [key, value] : attributes) {
    if (key.empty() || value.is_array() || value.is_object()) {
      return false;
    }
    for (char c : key) {
      if (!is_key_char(c)) {
        return false;
      }
    }
    if (value.is_string() && value.as_string().find_first_of("\n\r") != std::string::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<StepInfo> parse_step_info(std::string_view info) {
  StepInfo step;
  std::size_t at = 0;
  while (at < info.size() && is_space(info[at])) {
    ++at;
  }
  const std::size_t word_start = at;
  while (at < info.size() && !is_space(info[at]) && info[at] != '{') {
    ++at;
  }
  step.language = std::string(info.substr(word_start, at - word_start));
  while (at < info.size() && is_space(info[at])) {
    ++at;
  }
  if (at >= info.size()) {
    return step;
  }
  if (info[at] != '{') {
    return attribute_error(at, "expected attributes in braces, like {name=check-replicas}, after the language");
  }
  const std::size_t next = info.find_first_not_of(" \t", at + 1);
  const bool json_form = next != std::string_view::npos && (info[next] == '"' || info[next] == '}') &&
                         info.find(':') != std::string_view::npos;
  auto attributes = json_form ? read_json_attributes(info, at) : AttributeReader(info, at).read();
  if (!attributes) {
    return attributes.error();
  }
  step.attributes = std::move(*attributes);
  return step;
}

std::string format_step_info(const StepInfo& step) {
  std::string info = step.language;
  if (step.attributes.empty()) {
    return info;
  }
  if (!info.empty()) {
    info.push_back(' ');
  }
  if (!fits_simple_form(step.attributes)) {
    return info + JsonWriter::compact(Json(step.attributes));
  }
  info.push_back('{');
  bool first = true;
  for (const auto& [key, value] : step.attributes) {
    if (!first) {
      info.push_back(' ');
    }
    first = false;
    info += key;
    info.push_back('=');
    if (value.is_string()) {
      info += needs_quotes(value.as_string()) ? quote(value.as_string()) : value.as_string();
    } else {
      info += JsonWriter::compact(value);
    }
  }
  info.push_back('}');
  return info;
}

}  // namespace tejun::notebook
