#include "runner/output_recorder.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

namespace tejun::runner {
namespace {

using notebook::Json;
using notebook::Output;
using notebook::OutputType;

std::string string_field(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

// A MIME bundle: text types as whole strings (a list of lines is joined), JSON types as JSON.
notebook::MimeBundle to_bundle(const boost::json::value* data) {
  notebook::MimeBundle bundle;
  if (data == nullptr || !data->is_object()) {
    return bundle;
  }
  for (const auto& [key, value] : data->get_object()) {
    if (!notebook::is_json_mime_type(key) && value.is_array()) {
      std::string joined;
      for (const auto& line : value.get_array()) {
        if (line.is_string()) {
          joined += line.get_string();
        }
      }
      bundle.emplace_back(std::string(key), Json(std::move(joined)));
    } else {
      bundle.emplace_back(std::string(key), to_notebook_json(value));
    }
  }
  return bundle;
}

notebook::JsonObject to_object(const boost::json::value* value) {
  if (value == nullptr || !value->is_object()) {
    return {};
  }
  auto converted = to_notebook_json(*value);
  return std::move(converted.as_object());
}

}  // namespace

Json to_notebook_json(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return Json(nullptr);
    case boost::json::kind::bool_:
      return Json(value.get_bool());
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return Json(notebook::JsonNumber{boost::json::serialize(value)});
    case boost::json::kind::string:
      return Json(std::string(value.get_string()));
    case boost::json::kind::array: {
      notebook::JsonArray array;
      array.reserve(value.get_array().size());
      for (const auto& item : value.get_array()) {
        array.push_back(to_notebook_json(item));
      }
      return Json(std::move(array));
    }
    case boost::json::kind::object: {
      notebook::JsonObject object;
      object.reserve(value.get_object().size());
      for (const auto& [key, item] : value.get_object()) {
        object.emplace_back(std::string(key), to_notebook_json(item));
      }
      return Json(std::move(object));
    }
  }
  return Json(nullptr);
}

std::string log_text(const protocol::Message& message) {
  const auto type = message.msg_type();
  const auto& content = message.content;
  if (type == "stream") {
    return string_field(content, "text");
  }
  if (type == "error") {
    std::string text;
    if (const auto* traceback = content.if_contains("traceback"); traceback != nullptr && traceback->is_array()) {
      for (const auto& line : traceback->get_array()) {
        text += line.is_string() ? std::string(line.get_string()) + "\n" : "";
      }
    }
    return text.empty() ? fmt::format("{}: {}\n", string_field(content, "ename"), string_field(content, "evalue"))
                        : text;
  }
  if (type == "display_data" || type == "execute_result") {
    const auto* data = content.if_contains("data");
    const auto* plain = data != nullptr && data->is_object() ? data->get_object().if_contains("text/plain") : nullptr;
    if (plain != nullptr && plain->is_string()) {
      return std::string(plain->get_string()) + "\n";
    }
  }
  return {};
}

void OutputRecorder::clear(std::size_t cell, std::vector<Output>& outputs) {
  outputs.clear();
  clear_before_next_ = false;
  // What was shown there is gone: a later update of its display id has nothing to change.
  for (auto& [id, places] : displays_) {
    std::erase_if(places, [cell](const auto& place) { return place.first == cell; });
  }
}

void OutputRecorder::remember_display(const protocol::Message& message, std::size_t cell, std::size_t output) {
  const auto* transient = message.content.if_contains("transient");
  if (transient == nullptr || !transient->is_object()) {
    return;
  }
  auto id = string_field(transient->get_object(), "display_id");
  if (!id.empty()) {
    displays_[id].emplace_back(cell, output);
  }
}

const Output* OutputRecorder::apply(notebook::Notebook& notebook, std::size_t cell_index,
                                    const protocol::Message& message) {
  const auto type = message.msg_type();
  const auto& content = message.content;
  auto& outputs = notebook.cells[cell_index].outputs;

  if (type == "clear_output") {
    const auto* wait = content.if_contains("wait");
    if (wait != nullptr && wait->is_bool() && wait->get_bool()) {
      clear_before_next_ = true;
    } else {
      clear(cell_index, outputs);
    }
    return nullptr;
  }
  if (type == "update_display_data") {
    const auto* transient = content.if_contains("transient");
    const auto id = transient != nullptr && transient->is_object() ? string_field(transient->get_object(), "display_id")
                                                                   : std::string();
    const auto found = displays_.find(id);
    if (found == displays_.end()) {
      return nullptr;
    }
    const Output* changed = nullptr;
    for (const auto& [cell, index] : found->second) {
      auto& shown = notebook.cells[cell].outputs;
      if (index < shown.size()) {
        shown[index].data = to_bundle(content.if_contains("data"));
        shown[index].metadata = to_object(content.if_contains("metadata"));
        changed = &shown[index];
      }
    }
    return changed;
  }

  Output output;
  if (type == "stream") {
    output.type = OutputType::stream;
    output.name = string_field(content, "name");
    output.text = string_field(content, "text");
  } else if (type == "display_data" || type == "execute_result") {
    output.type = type == "display_data" ? OutputType::display_data : OutputType::execute_result;
    output.data = to_bundle(content.if_contains("data"));
    output.metadata = to_object(content.if_contains("metadata"));
    if (output.type == OutputType::execute_result) {
      const auto* count = content.if_contains("execution_count");
      output.execution_count = count != nullptr ? to_notebook_json(*count) : Json(nullptr);
    }
  } else if (type == "error") {
    output.type = OutputType::error;
    output.ename = string_field(content, "ename");
    output.evalue = string_field(content, "evalue");
    if (const auto* traceback = content.if_contains("traceback"); traceback != nullptr && traceback->is_array()) {
      for (const auto& line : traceback->get_array()) {
        if (line.is_string()) {
          output.traceback.emplace_back(line.get_string());
        }
      }
    }
  } else {
    return nullptr;  // status, execute_input and anything else are not outputs
  }

  if (clear_before_next_) {
    clear(cell_index, outputs);
  }
  if (output.type == OutputType::stream && !outputs.empty() && outputs.back().type == OutputType::stream &&
      outputs.back().name == output.name) {
    outputs.back().text += output.text;
    return &outputs.back();
  }
  outputs.push_back(std::move(output));
  if (type == "display_data") {
    remember_display(message, cell_index, outputs.size() - 1);
  }
  return &outputs.back();
}

}  // namespace tejun::runner
