#include "notebook/json_writer.hpp"

#include <algorithm>

#include "notebook/python_text.hpp"

namespace tejun::notebook {

std::vector<const JsonMember*> JsonWriter::sorted_members(const JsonObject& object) {
  std::vector<const JsonMember*> members;
  members.reserve(object.size());
  for (const auto& member : object) {
    members.push_back(&member);
  }
  // Byte order of UTF-8 is code point order, which is what Python sorts by.
  std::stable_sort(members.begin(), members.end(),
                   [](const JsonMember* left, const JsonMember* right) { return left->first < right->first; });
  // Of equal keys the last one read wins, as in a Python dict.
  std::vector<const JsonMember*> unique;
  unique.reserve(members.size());
  for (const JsonMember* member : members) {
    if (!unique.empty() && unique.back()->first == member->first) {
      unique.back() = member;
    } else {
      unique.push_back(member);
    }
  }
  return unique;
}

void JsonWriter::new_line() {
  if (style_ == Style::compact) {
    return;
  }
  static constexpr std::string_view kIndent = "\n                                                                ";
  out_.push_back('\n');
  std::size_t indent = levels_.size() * (style_ == Style::readable ? 2 : 1);
  while (indent > 0) {
    const std::size_t piece = std::min(indent, kIndent.size() - 1);
    out_.append(kIndent.substr(1, piece));
    indent -= piece;
  }
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (levels_.empty()) {
    return;
  }
  Level& level = levels_.back();
  if (level.count++ > 0) {
    out_.push_back(',');
  }
  new_line();
}

void JsonWriter::key(std::string_view name) {
  Level& level = levels_.back();
  if (level.count++ > 0) {
    out_.push_back(',');
  }
  new_line();
  append_python_json_string(out_, name);
  out_.append(style_ == Style::compact ? ":" : ": ");
  after_key_ = true;
}

void JsonWriter::begin_object() {
  before_value();
  out_.push_back('{');
  levels_.push_back(Level{.count = 0});
}

void JsonWriter::close(char bracket) {
  const bool had_members = levels_.back().count > 0;
  levels_.pop_back();
  if (had_members) {
    new_line();
  }
  out_.push_back(bracket);
}

void JsonWriter::end_object() {
  close('}');
}

void JsonWriter::begin_array() {
  before_value();
  out_.push_back('[');
  levels_.push_back(Level{.count = 0});
}

void JsonWriter::end_array() {
  close(']');
}

void JsonWriter::string(std::string_view text) {
  before_value();
  append_python_json_string(out_, text);
}

void JsonWriter::lines(std::string_view text) {
  begin_array();
  while (!text.empty()) {
    before_value();
    text.remove_prefix(append_python_json_line(out_, text));
  }
  end_array();
}

void JsonWriter::raw_number(std::string_view text) {
  before_value();
  out_.append(text);
}

void JsonWriter::value(const Json& value) {
  switch (value.kind()) {
    case Json::Kind::null:
      before_value();
      out_.append("null");
      return;
    case Json::Kind::boolean:
      before_value();
      out_.append(value.as_bool() ? "true" : "false");
      return;
    case Json::Kind::number:
      raw_number(value.as_number().text);
      return;
    case Json::Kind::string:
      string(value.as_string());
      return;
    case Json::Kind::array:
      begin_array();
      for (const auto& element : value.as_array()) {
        this->value(element);
      }
      end_array();
      return;
    case Json::Kind::string_array: {
      const auto& strings = value.as_string_array();
      begin_array();
      for (std::size_t i = 0; i < strings.size(); ++i) {
        string(strings[i]);
      }
      end_array();
      return;
    }
    case Json::Kind::object:
      object(value.as_object());
      return;
  }
}

void JsonWriter::object(const JsonObject& object) {
  begin_object();
  if (style_ == Style::readable) {
    for (const auto& [name, member] : object) {
      key(name);
      value(member);
    }
    end_object();
    return;
  }
  for (const JsonMember* member : sorted_members(object)) {
    key(member->first);
    value(member->second);
  }
  end_object();
}

}  // namespace tejun::notebook

namespace tejun::notebook {

std::string JsonWriter::compact(const Json& value) {
  std::string text;
  TextOutput out(text);
  JsonWriter(out, Style::compact).value(value);
  (void)out.flush();  // a string sink cannot fail
  return text;
}

std::string JsonWriter::readable(const Json& value) {
  std::string text;
  TextOutput out(text);
  JsonWriter(out, Style::readable).value(value);
  (void)out.flush();
  return text;
}

}  // namespace tejun::notebook
