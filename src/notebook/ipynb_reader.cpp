// nbformat's on-disk JSON → the model: checks each field's type, rejoins multi-line strings
// and drops transient fields as nbformat's reader does.
#include "notebook/ipynb.hpp"

#include <fmt/format.h>

#include <optional>

#include "notebook/file_io.hpp"
#include "notebook/json_fields.hpp"
#include "notebook/json_parser.hpp"

namespace tejun::notebook {
namespace {

using base::Error;
using base::ErrorCode;
using base::Result;

// Text values of a MIME bundle are rejoined; JSON MIME types stay as they are.
void rejoin_mime_bundle(MimeBundle& bundle) {
  for (auto& [mime_type, value] : bundle) {
    if (value.kind() == Json::Kind::string_array && !is_json_mime_type(mime_type)) {
      value = Json(std::move(value.as_string_array()).take_joined());
    }
  }
}

Result<MimeBundle> take_mime_bundle(JsonObject& object, std::string_view key, const std::string& pointer) {
  auto bundle = take_object(object, key, pointer);
  if (bundle) {
    rejoin_mime_bundle(*bundle);
  }
  return bundle;
}

Result<Output> read_output(Json&& json, const std::string& pointer) {
  if (!json.is_object()) {
    return wrong_kind(pointer, "an output object", json);
  }
  JsonObject& fields = json.as_object();
  Output output;
  auto type = take_string(fields, "output_type", pointer);
  if (!type) {
    return type.error();
  }
  if (*type == "stream") {
    output.type = OutputType::stream;
    auto name = take_string(fields, "name", pointer);
    if (!name) {
      return name.error();
    }
    output.name = std::move(*name);
    auto text = take_text(fields, "text", pointer, true);
    if (!text) {
      return text.error();
    }
    output.text = std::move(*text);
  } else if (*type == "display_data" || *type == "execute_result") {
    output.type = *type == "display_data" ? OutputType::display_data : OutputType::execute_result;
    auto data = take_mime_bundle(fields, "data", pointer);
    if (!data) {
      return data.error();
    }
    output.data = std::move(*data);
    auto metadata = take_object(fields, "metadata", pointer);
    if (!metadata) {
      return metadata.error();
    }
    output.metadata = std::move(*metadata);
    if (output.type == OutputType::execute_result) {
      auto count = take_execution_count(fields, pointer);
      if (!count) {
        return count.error();
      }
      output.execution_count = std::move(*count);
    }
  } else if (*type == "error") {
    output.type = OutputType::error;
    auto ename = take_string(fields, "ename", pointer);
    if (!ename) {
      return ename.error();
    }
    auto evalue = take_string(fields, "evalue", pointer);
    if (!evalue) {
      return evalue.error();
    }
    output.ename = std::move(*ename);
    output.evalue = std::move(*evalue);
    if (auto traceback = take(fields, "traceback")) {
      if (!traceback->to_strings(output.traceback)) {
        return wrong_kind(pointer_to(pointer, "traceback"), "an array of strings", *traceback);
      }
    }
  } else {
    output.type = OutputType::unknown;
    output.type_name = std::move(*type);
    // nbformat rejoins a "text" array of any output type it does not know.
    if (Json* text = find_member(fields, "text"); text && text->kind() == Json::Kind::string_array) {
      *text = Json(std::move(text->as_string_array()).take_joined());
    }
  }
  output.extra = std::move(fields);
  return output;
}

Result<void> read_code_fields(Cell& cell, JsonObject& fields, const std::string& pointer) {
  auto count = take_execution_count(fields, pointer);
  if (!count) {
    return count.error();
  }
  cell.execution_count = std::move(*count);
  std::optional<Json> outputs = take(fields, "outputs");
  if (!outputs) {
    return {};
  }
  const std::string at = pointer_to(pointer, "outputs");
  if (!outputs->is_array()) {
    return wrong_kind(at, "an array of outputs", *outputs);
  }
  if (outputs->kind() == Json::Kind::string_array) {
    return wrong_kind(pointer_to(at, 0), "an output object", Json("string"));
  }
  JsonArray& list = outputs->as_array();
  cell.outputs.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto output = read_output(std::move(list[i]), pointer_to(at, i));
    if (!output) {
      return output.error();
    }
    cell.outputs.push_back(std::move(*output));
  }
  return {};
}

Result<void> read_attachments(Cell& cell, JsonObject& fields, const std::string& pointer) {
  std::optional<Json> attachments = take(fields, "attachments");
  if (!attachments) {
    return {};
  }
  const std::string at = pointer_to(pointer, "attachments");
  if (!attachments->is_object()) {
    return wrong_kind(at, "an object", *attachments);
  }
  for (auto& [name, bundle] : attachments->as_object()) {
    if (!bundle.is_object()) {
      return wrong_kind(pointer_to(at, name), "a MIME bundle object", bundle);
    }
    rejoin_mime_bundle(bundle.as_object());
  }
  cell.has_attachments = true;
  cell.attachments = std::move(attachments->as_object());
  return {};
}

bool is_valid_cell_id(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  for (char c : id) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed) {
      return false;
    }
  }
  return true;
}

Result<Cell> read_cell(Json&& json, const std::string& pointer) {
  if (!json.is_object()) {
    return wrong_kind(pointer, "a cell object", json);
  }
  JsonObject& fields = json.as_object();
  Cell cell;
  auto type = take_string(fields, "cell_type", pointer);
  if (!type) {
    return type.error();
  }
  if (*type == "code") {
    cell.type = CellType::code;
  } else if (*type == "markdown") {
    cell.type = CellType::markdown;
  } else if (*type == "raw") {
    cell.type = CellType::raw;
  } else {
    cell.type = CellType::unknown;
    cell.type_name = std::move(*type);
  }
  if (std::optional<Json> id = take(fields, "id")) {
    if (!id->is_string() || !is_valid_cell_id(id->as_string())) {
      return schema_error(pointer_to(pointer, "id"), "a cell id must be 1 to 64 letters, digits, '-' or '_'");
    }
    cell.id = std::move(id->as_string());
  }
  auto metadata = take_object(fields, "metadata", pointer);
  if (!metadata) {
    return metadata.error();
  }
  cell.metadata = std::move(*metadata);
  erase_member(cell.metadata, "trusted");  // transient: nbformat never stores it
  if (cell.type == CellType::unknown) {
    // Kept as read, but nbformat rejoins any cell's source.
    if (Json* source = find_member(fields, "source"); source && source->kind() == Json::Kind::string_array) {
      *source = Json(std::move(source->as_string_array()).take_joined());
    }
    cell.extra = std::move(fields);
    return cell;
  }
  auto source = take_text(fields, "source", pointer, true);
  if (!source) {
    return source.error();
  }
  cell.source = std::move(*source);
  auto specific =
      cell.type == CellType::code ? read_code_fields(cell, fields, pointer) : read_attachments(cell, fields, pointer);
  if (!specific) {
    return specific.error();
  }
  cell.extra = std::move(fields);
  return cell;
}

Result<std::int64_t> take_version(JsonObject& fields, std::string_view key) {
  std::optional<Json> value = take(fields, key);
  std::int64_t version = 0;
  if (!value) {
    return schema_error(pointer_to("", key), fmt::format("missing \"{}\": this is not a Jupyter notebook", key));
  }
  if (!value->to_int64(version)) {
    return wrong_kind(pointer_to("", key), "an integer", *value);
  }
  return version;
}

}  // namespace

Result<Notebook> notebook_from_json(Json&& root) {
  if (!root.is_object()) {
    return wrong_kind("", "a notebook object", root);
  }
  JsonObject& fields = root.as_object();
  Notebook notebook;
  auto major = take_version(fields, "nbformat");
  if (!major) {
    return major.error();
  }
  if (*major != 4) {
    Error error = base::make_error(ErrorCode::unsupported,
                                   fmt::format("nbformat {} is not supported: tejun reads nbformat 4 "
                                               "(upgrade it with `jupyter nbconvert --to notebook --nbformat 4`)",
                                               *major));
    error.where.pointer = "/nbformat";
    return error;
  }
  auto minor = take_version(fields, "nbformat_minor");
  if (!minor) {
    return minor.error();
  }
  notebook.nbformat = *major;
  notebook.nbformat_minor = *minor;
  auto metadata = take_object(fields, "metadata", "");
  if (!metadata) {
    return metadata.error();
  }
  notebook.metadata = std::move(*metadata);
  for (std::string_view transient : {"orig_nbformat", "orig_nbformat_minor", "signature"}) {
    erase_member(notebook.metadata, transient);
  }
  std::optional<Json> cells = take(fields, "cells");
  if (!cells) {
    return schema_error("/cells", "missing \"cells\"");
  }
  if (cells->kind() != Json::Kind::array) {
    return cells->kind() == Json::Kind::string_array ? wrong_kind("/cells/0", "a cell object", Json("string"))
                                                     : wrong_kind("/cells", "an array of cells", *cells);
  }
  JsonArray& list = cells->as_array();
  notebook.cells.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto cell = read_cell(std::move(list[i]), pointer_to("/cells", i));
    if (!cell) {
      return cell.error();
    }
    notebook.cells.push_back(std::move(*cell));
  }
  notebook.extra = std::move(fields);
  repair_cell_ids(notebook);
  return notebook;
}

Result<Notebook> read_ipynb(std::string_view text) {
  auto json = parse_json(text);
  if (!json) {
    return json.error();
  }
  return notebook_from_json(std::move(*json));
}

Result<Notebook> read_ipynb_file(const std::string& path) {
  Result<Json> json = Json();
  if (auto file = MappedFile::open(path)) {
    json = parse_json(file->text(), [&](std::size_t offset) { file->release_before(offset); });
  } else if (file.error().code == ErrorCode::not_found) {
    return file.error();
  } else {
    // Not mappable (empty, a pipe): read it whole.
    auto text = read_file(path);
    if (!text) {
      return text.error();
    }
    json = parse_json(*text);
  }
  if (!json) {
    return json.error().in_file(path);
  }
  auto notebook = notebook_from_json(std::move(*json));
  if (!notebook) {
    return notebook.error().in_file(path);
  }
  return notebook;
}

}  // namespace tejun::notebook
