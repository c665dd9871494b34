#include "notebook/json_parser.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <fmt/format.h>

namespace tejun::notebook {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

constexpr std::size_t kMaxDepth = 512;

// Builds Json values from the parser's events. Arrays start in the compact string form and
// fall back to the general form at their first element that is not a string.
class Builder {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  bool on_document_begin(error_code& /*ec*/) { return true; }
  bool on_document_end(error_code& /*ec*/) { return true; }

  bool on_object_begin(error_code& /*ec*/) {
    stack_.push_back(Frame{.value = JsonObject{}, .key = {}});
    return true;
  }
  bool on_object_end(std::size_t /*n*/, error_code& /*ec*/) {
    Json value = std::move(stack_.back().value);
    stack_.pop_back();
    drop_repeated_keys(value.as_object());
    add(std::move(value));
    return true;
  }
  bool on_array_begin(error_code& /*ec*/) {
    stack_.push_back(Frame{.value = JsonStringArray{}, .key = {}});
    return true;
  }
  bool on_array_end(std::size_t /*n*/, error_code& /*ec*/) {
    Json value = std::move(stack_.back().value);
    stack_.pop_back();
    if (value.kind() == Json::Kind::string_array && value.as_string_array().empty()) {
      value = JsonArray{};
    }
    add(std::move(value));
    return true;
  }
  bool on_key_part(string_view part, std::size_t /*n*/, error_code& /*ec*/) {
    stack_.back().key.append(part.data(), part.size());
    return true;
  }
  bool on_key(string_view part, std::size_t /*n*/, error_code& /*ec*/) {
    stack_.back().key.append(part.data(), part.size());
    return true;
  }
  bool on_string_part(string_view part, std::size_t /*n*/, error_code& /*ec*/) {
    if (in_string_array()) {
      stack_.back().value.as_string_array().append_to_open_element({part.data(), part.size()});
    } else {
      text_.append(part.data(), part.size());
    }
    return true;
  }
  bool on_string(string_view part, std::size_t /*n*/, error_code& /*ec*/) {
    if (in_string_array()) {
      auto& array = stack_.back().value.as_string_array();
      array.append_to_open_element({part.data(), part.size()});
      array.close_element();
      return true;
    }
    text_.append(part.data(), part.size());
    add(Json(std::exchange(text_, {})));
    return true;
  }
  bool on_number_part(string_view part, error_code& /*ec*/) {
    text_.append(part.data(), part.size());
    return true;
  }
  bool on_int64(std::int64_t /*value*/, string_view part, error_code& /*ec*/) { return number(part); }
  bool on_uint64(std::uint64_t /*value*/, string_view part, error_code& /*ec*/) { return number(part); }
  bool on_double(double /*value*/, string_view part, error_code& /*ec*/) { return number(part); }
  bool on_bool(bool value, error_code& /*ec*/) {
    add(Json(value));
    return true;
  }
  bool on_null(error_code& /*ec*/) {
    add(Json(nullptr));
    return true;
  }
  bool on_comment_part(string_view /*part*/, error_code& /*ec*/) { return true; }
  bool on_comment(string_view /*part*/, error_code& /*ec*/) { return true; }

  Json take_root() { return std::move(root_); }

 private:
  struct Frame {
    Json value;
    std::string key;
  };

  // Of members with the same key only the last one counts, as in Python's json module.
  static void drop_repeated_keys(JsonObject& object) {
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

  bool in_string_array() const {
    return !stack_.empty() && stack_.back().value.kind() == Json::Kind::string_array;
  }

  bool number(string_view part) {
    text_.append(part.data(), part.size());
    add(Json(JsonNumber{std::exchange(text_, {})}));
    return true;
  }

  void add(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return;
    }
    Frame& top = stack_.back();
    switch (top.value.kind()) {
      case Json::Kind::object:
        top.value.as_object().emplace_back(std::exchange(top.key, {}), std::move(value));
        return;
      case Json::Kind::string_array: {
        JsonArray general;
        const auto& strings = top.value.as_string_array();
        general.reserve(strings.size() + 1);
        for (std::size_t i = 0; i < strings.size(); ++i) {
          general.emplace_back(std::string(strings[i]));
        }
        top.value = std::move(general);
        top.value.as_array().push_back(std::move(value));
        return;
      }
      default:
        top.value.as_array().push_back(std::move(value));
        return;
    }
  }

  std::vector<Frame> stack_;
  std::string text_;
  Json root_;
};

json::parse_options parser_options() {
  json::parse_options options;
  options.max_depth = kMaxDepth;
  return options;
}

}  // namespace

struct JsonParser::Impl {
  json::basic_parser<Builder> parser{parser_options()};
  std::uint64_t line = 1;    // line of the first byte not yet fed
  std::uint64_t column = 1;  // its column, in bytes
  bool started = false;

  base::Error error_at(std::string_view chunk, std::size_t offset, const error_code& ec) const {
    std::uint64_t error_line = line;
    std::uint64_t error_column = column;
    advance(chunk.substr(0, offset), error_line, error_column);
    base::Error error = base::make_error(base::ErrorCode::parse_error,
                                         fmt::format("invalid JSON: {}", ec.message()));
    error.where.line = error_line;
    error.where.column = error_column;
    return error;
  }

  static void advance(std::string_view text, std::uint64_t& at_line, std::uint64_t& at_column) {
    const auto newlines = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
    if (newlines == 0) {
      at_column += text.size();
      return;
    }
    at_line += newlines;
    at_column = text.size() - text.rfind('\n');
  }

  base::Result<void> feed(std::string_view chunk, bool more) {
    if (!started) {
      started = true;
      constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
      if (chunk.starts_with(kByteOrderMark)) {
        chunk.remove_prefix(kByteOrderMark.size());
      }
    }
    error_code ec;
    const std::size_t used = parser.write_some(more, chunk.data(), chunk.size(), ec);
    if (ec) {
      return error_at(chunk, used, ec);
    }
    // The parser stops at the end of the value; anything but whitespace after it is an error.
    const std::size_t extra = chunk.find_first_not_of(" \t\r\n", used);
    if (extra != std::string_view::npos) {
      return error_at(chunk, extra, json::error::extra_data);
    }
    advance(chunk, line, column);
    return {};
  }
};

JsonParser::JsonParser() : impl_(std::make_unique<Impl>()) {}
JsonParser::~JsonParser() = default;

base::Result<void> JsonParser::write(std::string_view chunk) {
  return impl_->feed(chunk, true);
}

base::Result<Json> JsonParser::finish() {
  if (auto fed = impl_->feed({}, false); !fed) {
    return fed.error();
  }
  return impl_->parser.handler().take_root();
}

base::Result<Json> parse_json(std::string_view text) {
  JsonParser parser;
  if (auto fed = parser.write(text); !fed) {
    return fed.error();
  }
  return parser.finish();
}

}  // namespace tejun::notebook
