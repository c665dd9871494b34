// Reads JSON text, whole or in chunks, into a Json value; errors name the line and column.
#pragma once

#include <memory>
#include <string_view>

#include "base/result.hpp"
#include "notebook/json.hpp"

namespace tejun::notebook {

class JsonParser {
 public:
  JsonParser();
  ~JsonParser();
  JsonParser(const JsonParser&) = delete;
  JsonParser& operator=(const JsonParser&) = delete;
  JsonParser(JsonParser&&) = delete;
  JsonParser& operator=(JsonParser&&) = delete;

  // Feeds the next piece of the text; fails as soon as the text cannot be JSON.
  base::Result<void> write(std::string_view chunk);
  // Ends the text and returns the value.
  base::Result<Json> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

[[nodiscard]] base::Result<Json> parse_json(std::string_view text);

}  // namespace tejun::notebook
