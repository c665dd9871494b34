// The model → nbformat's on-disk JSON, byte for byte as nbformat.write produces it: keys
// sorted, one-space indent, multi-line strings split into lines, a final newline.
#include "notebook/ipynb.hpp"

#include <algorithm>
#include <functional>

#include "notebook/json_writer.hpp"

namespace tejun::notebook {
namespace {

// The fields of one object, gathered so they can be written in sorted key order.
class FieldList {
 public:
  explicit FieldList(JsonWriter& writer) : writer_(writer) {}

  void add(std::string_view key, std::function<void()> write) {
    fields_.push_back(Field{.key = key, .write = std::move(write)});
  }
  void add_value(std::string_view key, const Json& value) {
    add(key, [this, &value] { writer_.value(value); });
  }
  void add_object(std::string_view key, const JsonObject& object) {
    add(key, [this, &object] { writer_.object(object); });
  }
  void add_string(std::string_view key, const std::string& text) {
    add(key, [this, &text] { writer_.string(text); });
  }
  void add_lines(std::string_view key, const std::string& text) {
    add(key, [this, &text] { writer_.lines(text); });
  }
  // Fields kept as read. Added after the known ones, so a known field of the same name wins.
  void add_extra(const JsonObject& extra) {
    for (const auto& member : extra) {
      add_value(member.first, member.second);
    }
  }

  void write() {
    std::stable_sort(fields_.begin(), fields_.end(),
                     [](const Field& left, const Field& right) { return left.key < right.key; });
    writer_.begin_object();
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i > 0 && fields_[i].key == fields_[i - 1].key) {
        continue;
      }
      writer_.key(fields_[i].key);
      fields_[i].write();
    }
    writer_.end_object();
  }

 private:
  struct Field {
    std::string_view key;
    std::function<void()> write;
  };

  JsonWriter& writer_;
  std::vector<Field> fields_;
};

// nbformat splits text MIME values into lines, and two non-text types that are text too.
bool splits_into_lines(std::string_view mime_type) {
  return mime_type.starts_with("text/") || mime_type == "application/javascript" || mime_type == "image/svg+xml";
}

void write_mime_bundle(JsonWriter& writer, const MimeBundle& bundle) {
  writer.begin_object();
  for (const JsonMember* member : JsonWriter::sorted_members(bundle)) {
    writer.key(member->first);
    if (member->second.is_string() && splits_into_lines(member->first)) {
      writer.lines(member->second.as_string());
    } else {
      writer.value(member->second);
    }
  }
  writer.end_object();
}

void write_output(JsonWriter& writer, const Output& output) {
  FieldList fields(writer);
  const std::string type_name = output.type == OutputType::unknown ? output.type_name : to_string(output.type);
  fields.add_string("output_type", type_name);
  switch (output.type) {
    case OutputType::stream:
      fields.add_string("name", output.name);
      fields.add_lines("text", output.text);
      break;
    case OutputType::execute_result:
      fields.add_value("execution_count", output.execution_count);
      [[fallthrough]];
    case OutputType::display_data:
      fields.add("data", [&] { write_mime_bundle(writer, output.data); });
      fields.add_object("metadata", output.metadata);
      break;
    case OutputType::error:
      fields.add_string("ename", output.ename);
      fields.add_string("evalue", output.evalue);
      fields.add("traceback", [&] {
        writer.begin_array();
        for (const auto& line : output.traceback) {
          writer.string(line);
        }
        writer.end_array();
      });
      break;
    case OutputType::unknown:
      break;
  }
  fields.add_extra(output.extra);
  fields.write();
}

void write_attachments(JsonWriter& writer, const JsonObject& attachments) {
  writer.begin_object();
  for (const JsonMember* member : JsonWriter::sorted_members(attachments)) {
    writer.key(member->first);
    if (member->second.is_object()) {
      write_mime_bundle(writer, member->second.as_object());
    } else {
      writer.value(member->second);
    }
  }
  writer.end_object();
}

void write_cell(JsonWriter& writer, const Cell& cell) {
  FieldList fields(writer);
  const std::string type_name = cell.type == CellType::unknown ? cell.type_name : to_string(cell.type);
  fields.add_string("cell_type", type_name);
  fields.add_object("metadata", cell.metadata);
  if (!cell.id.empty()) {
    fields.add_string("id", cell.id);
  }
  if (cell.type != CellType::unknown) {
    fields.add_lines("source", cell.source);
  } else if (const Json* source = find_member(cell.extra, "source"); source && source->is_string()) {
    fields.add_lines("source", source->as_string());  // nbformat splits any cell's source
  }
  if (cell.type == CellType::code) {
    fields.add_value("execution_count", cell.execution_count);
    fields.add("outputs", [&] {
      writer.begin_array();
      for (const Output& output : cell.outputs) {
        write_output(writer, output);
      }
      writer.end_array();
    });
  } else if (cell.has_attachments) {
    fields.add("attachments", [&] { write_attachments(writer, cell.attachments); });
  }
  fields.add_extra(cell.extra);
  fields.write();
}

}  // namespace

void write_ipynb(const Notebook& notebook, TextOutput& out) {
  JsonWriter writer(out);
  FieldList fields(writer);
  const Json nbformat = Json::integer(notebook.nbformat);
  const Json nbformat_minor = Json::integer(notebook.nbformat_minor);
  fields.add("cells", [&] {
    writer.begin_array();
    for (const Cell& cell : notebook.cells) {
      write_cell(writer, cell);
    }
    writer.end_array();
  });
  fields.add_object("metadata", notebook.metadata);
  fields.add_value("nbformat", nbformat);
  fields.add_value("nbformat_minor", nbformat_minor);
  fields.add_extra(notebook.extra);
  fields.write();
  out.push_back('\n');
}

std::string to_ipynb(const Notebook& notebook) {
  std::string text;
  TextOutput out(text);
  write_ipynb(notebook, out);
  (void)out.flush();  // a string sink cannot fail
  return text;
}

}  // namespace tejun::notebook
