#include "notebook/notebook.hpp"

#include <unordered_set>

#include "base/ids.hpp"

namespace tejun::notebook {

const char* to_string(CellType type) noexcept {
  switch (type) {
    case CellType::code:
      return "code";
    case CellType::markdown:
      return "markdown";
    case CellType::raw:
      return "raw";
    case CellType::unknown:
      break;
  }
  return "unknown";
}

const char* to_string(OutputType type) noexcept {
  switch (type) {
    case OutputType::stream:
      return "stream";
    case OutputType::display_data:
      return "display_data";
    case OutputType::execute_result:
      return "execute_result";
    case OutputType::error:
      return "error";
    case OutputType::unknown:
      break;
  }
  return "unknown";
}

bool is_json_mime_type(std::string_view mime_type) noexcept {
  return mime_type == "application/json" || (mime_type.starts_with("application/") && mime_type.ends_with("+json"));
}

std::string new_cell_id() {
  return base::random_hex_id(8);
}

void repair_cell_ids(Notebook& notebook) {
  if (!notebook.has_cell_ids()) {
    return;
  }
  std::unordered_set<std::string> seen;
  for (Cell& cell : notebook.cells) {
    while (cell.id.empty() || seen.contains(cell.id)) {
      cell.id = new_cell_id();
    }
    seen.insert(cell.id);
  }
}

}  // namespace tejun::notebook
