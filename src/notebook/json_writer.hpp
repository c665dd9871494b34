// Writes JSON exactly as Python's json.dumps(indent=1, sort_keys=True, ensure_ascii=False)
// does, which is how Jupyter writes notebooks, so files written by Jupyter round-trip
// without a diff; compact, on one line; or readable, for people (indented by two, members
// in the order they came).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "notebook/json.hpp"
#include "notebook/text_output.hpp"

namespace tejun::notebook {

class JsonWriter {
 public:
  enum class Style : std::uint8_t { python, compact, readable };

  explicit JsonWriter(TextOutput& out, Style style = Style::python) : out_(out), style_(style) {}

  // A whole value; object members sorted by key (the last of equal keys wins).
  void value(const Json& value);
  void object(const JsonObject& object);
  void string(std::string_view text);
  // `text` split as str.splitlines(True) splits it, written as an array of strings.
  void lines(std::string_view text);
  void raw_number(std::string_view text);

  void begin_object();
  // The caller gives keys in sorted order.
  void key(std::string_view name);
  void end_object();
  void begin_array();
  void end_array();

  // An object's members in the order Python writes them: sorted, duplicates dropped.
  [[nodiscard]] static std::vector<const JsonMember*> sorted_members(const JsonObject& object);
  // One line, no spaces: {"a":1,"b":[true]}.
  [[nodiscard]] static std::string compact(const Json& value);
  // Indented by two spaces, members in their order: a response body shown to a person.
  [[nodiscard]] static std::string readable(const Json& value);

 private:
  struct Level {
    std::size_t count;
  };
  void before_value();
  void close(char bracket);
  void new_line();

  TextOutput& out_;
  Style style_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

}  // namespace tejun::notebook
