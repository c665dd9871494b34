// The runbook model: a notebook of prose and step cells, with their outputs. Both file forms
// (.ipynb and Markdown) read into it and write from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "notebook/json.hpp"

namespace tejun::notebook {

enum class CellType : std::uint8_t { code, markdown, raw, unknown };
enum class OutputType : std::uint8_t { stream, display_data, execute_result, error, unknown };

// MIME type → value. Text values are whole strings here (nbformat stores them split into
// lines on disk); JSON MIME types (application/json, application/*+json) hold JSON values.
using MimeBundle = JsonObject;

struct Output {
  OutputType type = OutputType::stream;
  std::string type_name;               // the output_type as written, for unknown types
  std::string name;                    // stream: "stdout" or "stderr"
  std::string text;                    // stream
  MimeBundle data;                     // display_data, execute_result
  JsonObject metadata;                 // display_data, execute_result
  Json execution_count;                // execute_result: a number or null
  std::string ename;                   // error
  std::string evalue;                  // error
  std::vector<std::string> traceback;  // error
  JsonObject extra;                    // fields nbformat does not define for this type, kept as read
};

struct Cell {
  CellType type = CellType::code;
  std::string type_name;  // the cell_type as written, for unknown types
  std::string id;         // nbformat 4.5+; empty when absent
  std::string source;
  JsonObject metadata;
  bool has_attachments = false;  // markdown and raw cells: whether "attachments" was present
  JsonObject attachments;        // name → MimeBundle
  std::vector<Output> outputs;   // code
  Json execution_count;          // code: a number or null
  JsonObject extra;              // fields nbformat does not define for this type, kept as read

  // A step's fence and info string as read from Markdown, reused on writing while they still
  // say what the cell says. Not stored in .ipynb files.
  std::string markdown_fence;
  std::string markdown_info;
};

struct Notebook {
  std::int64_t nbformat = 4;
  std::int64_t nbformat_minor = 5;
  JsonObject metadata;
  std::vector<Cell> cells;
  JsonObject extra;  // top-level fields nbformat does not define, kept as read

  // Markdown front matter as it was read, so a Markdown round trip keeps it byte for byte
  // while it still says what the metadata says. Not stored in .ipynb files.
  std::string markdown_front_matter;

  [[nodiscard]] bool has_cell_ids() const noexcept { return nbformat > 4 || (nbformat == 4 && nbformat_minor >= 5); }
};

[[nodiscard]] const char* to_string(CellType type) noexcept;
[[nodiscard]] const char* to_string(OutputType type) noexcept;

// Whether nbformat stores values of this MIME type as JSON rather than as text.
[[nodiscard]] bool is_json_mime_type(std::string_view mime_type) noexcept;

// A new cell id, as Jupyter makes them: 8 random hex digits.
[[nodiscard]] std::string new_cell_id();

// Gives every cell an id where the format wants one and replaces duplicate ids, as Jupyter
// does when it reads a notebook.
void repair_cell_ids(Notebook& notebook);

}  // namespace tejun::notebook
