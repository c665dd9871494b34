#include "exec/sql_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "base/text.hpp"
#include "base/utf8.hpp"
#include "exec/output_filter.hpp"
#include "notebook/json_parser.hpp"
#include "notebook/json_writer.hpp"
#include "notebook/text_output.hpp"

namespace tejun::exec {
namespace {

// A shown value longer than this is cut (the CSV file gets it whole).
constexpr std::size_t kLongestShownValue = 1000;

bool is_numeric(SqlType type) {
  return type == SqlType::integer || type == SqlType::number;
}

// Columns a code point takes in a terminal: 2 for East Asian wide and fullwidth characters
// and emoji, 0 for combining marks, else 1 (as psql and wcwidth count them).
std::size_t column_width(std::uint32_t c) {
  if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x200B && c <= 0x200F) || (c >= 0xFE00 && c <= 0xFE0F)) {
    return 0;
  }
  constexpr std::pair<std::uint32_t, std::uint32_t> kWide[] = {
      {0x1100, 0x115F}, {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
      {0xA000, 0xA4CF}, {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},
      {0xFFE0, 0xFFE6}, {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};
  for (const auto& [first, last] : kWide) {
    if (c >= first && c <= last) {
      return 2;
    }
  }
  return 1;
}

// The width of UTF-8 `text` in terminal columns.
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80U) {
      ++width;
      ++i;
      continue;
    }
    const std::size_t length = byte >= 0xF0U ? 4 : byte >= 0xE0U ? 3 : byte >= 0xC0U ? 2 : 1;
    std::uint32_t code_point = length == 4 ? byte & 0x07U : length == 3 ? byte & 0x0FU : byte & 0x1FU;
    for (std::size_t k = 1; k < length && i + k < text.size(); ++k) {
      code_point = (code_point << 6U) | (static_cast<unsigned char>(text[i + k]) & 0x3FU);
    }
    width += column_width(code_point);
    i += length;
  }
  return width;
}

// A value on one line of the text table: control characters written as escapes.
std::string one_line(std::string_view text) {
  std::string line;
  line.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '\n':
        line += "\\n";
        break;
      case '\r':
        line += "\\r";
        break;
      case '\t':
        line += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20U) {
          line += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          line += c;
        }
    }
  }
  return line;
}

void pad(std::string& out, std::size_t count) {
  out.append(count, ' ');
}

std::string footer(const SqlTable& table) {
  const auto shown = table.rows.size();
  switch (table.state) {
    case SqlTable::State::counting:
      return fmt::format("(first {} row{} shown; counting the rest…)", shown, shown == 1 ? "" : "s");
    case SqlTable::State::stopped:
      return fmt::format("({} row{} received before the statement stopped{})", table.total, table.total == 1 ? "" : "s",
                         shown < table.total ? fmt::format("; {} shown", shown) : std::string());
    case SqlTable::State::complete:
      break;
  }
  if (shown < table.total) {
    return fmt::format("({} of {} rows shown; {} more not shown: raise --limit or write them all with --out FILE)",
                       shown, table.total, table.total - shown);
  }
  return fmt::format("({} row{})", table.total, table.total == 1 ? "" : "s");
}

// JSON's number grammar (no NaN or Infinity, which PostgreSQL's numeric and float allow).
bool is_json_number(std::string_view text) {
  std::size_t i = 0;
  const auto digits = [&]() {
    const auto start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    return i > start;
  };
  if (i < text.size() && text[i] == '-') {
    ++i;
  }
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == text.size();
}

// One element of an array, as JSON: typed like the array's elements.
notebook::Json array_element(std::string text, SqlType element) {
  if (is_numeric(element) && is_json_number(text)) {
    return notebook::JsonNumber{std::move(text)};
  }
  if (element == SqlType::boolean && (text == "t" || text == "f")) {
    return text == "t";
  }
  if (element == SqlType::object) {
    if (auto parsed = notebook::parse_json(text)) {
      return std::move(*parsed);
    }
  }
  return text;
}

// Reads PostgreSQL's text form of arrays: {1,2}, {"a b",NULL}, {{1,2},{3,4}}.
class ArrayReader {
 public:
  ArrayReader(std::string_view text, SqlType element) : text_(text), element_(element) {}

  std::optional<notebook::Json> read() {
    if (text_.starts_with('[')) {  // [0:1]={1,2}: bounds other than 1
      const auto equals = text_.find('=');
      if (equals == std::string_view::npos) {
        return std::nullopt;
      }
      i_ = equals + 1;
    }
    auto array = read_array(1);
    skip_blanks();
    return array && i_ == text_.size() ? array : std::nullopt;
  }

 private:
  static constexpr int kMaxDimensions = 6;  // PostgreSQL's own limit

  void skip_blanks() {
    while (i_ < text_.size() && (text_[i_] == ' ' || text_[i_] == '\t' || text_[i_] == '\n')) {
      ++i_;
    }
  }

  std::optional<notebook::Json> read_array(int depth) {
    if (depth > kMaxDimensions || i_ >= text_.size() || text_[i_] != '{') {
      return std::nullopt;
    }
    ++i_;
    notebook::JsonArray items;
    skip_blanks();
    if (i_ < text_.size() && text_[i_] == '}') {
      ++i_;
      return notebook::Json(std::move(items));
    }
    while (i_ < text_.size()) {
      skip_blanks();
      auto item = read_item(depth);
      if (!item) {
        return std::nullopt;
      }
      items.push_back(std::move(*item));
      skip_blanks();
      if (i_ < text_.size() && text_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < text_.size() && text_[i_] == '}') {
        ++i_;
        return notebook::Json(std::move(items));
      }
      return std::nullopt;
    }
    return std::nullopt;
  }

  std::optional<notebook::Json> read_item(int depth) {
    if (i_ < text_.size() && text_[i_] == '{') {
      return read_array(depth + 1);
    }
    if (i_ < text_.size() && text_[i_] == '"') {
      std::string item;
      ++i_;
      while (i_ < text_.size() && text_[i_] != '"') {
        if (text_[i_] == '\\' && i_ + 1 < text_.size()) {
          ++i_;
        }
        item += text_[i_++];
      }
      if (i_ >= text_.size()) {
        return std::nullopt;
      }
      ++i_;
      return array_element(std::move(item), element_);
    }
    const auto start = i_;
    while (i_ < text_.size() && text_[i_] != ',' && text_[i_] != '}') {
      ++i_;
    }
    auto item = text_.substr(start, i_ - start);
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (item.empty()) {
      return std::nullopt;
    }
    return item == "NULL" ? notebook::Json(nullptr) : array_element(std::string(item), element_);
  }

  std::string_view text_;
  SqlType element_;
  std::size_t i_ = 0;
};

std::optional<notebook::Json> parse_array(std::string_view text, SqlType element) {
  return ArrayReader(text, element).read();
}

// Column names made unique, as keys of the data records.
std::vector<std::string> unique_names(const std::vector<SqlColumn>& columns) {
  std::vector<std::string> names;
  for (const auto& column : columns) {
    std::string name = column.name;
    for (int n = 2; std::find(names.begin(), names.end(), name) != names.end(); ++n) {
      name = fmt::format("{}_{}", column.name, n);
    }
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace

std::string_view table_schema_name(SqlType type) noexcept {
  switch (type) {
    case SqlType::integer:
      return "integer";
    case SqlType::number:
      return "number";
    case SqlType::boolean:
      return "boolean";
    case SqlType::string:
      return "string";
    case SqlType::date:
      return "date";
    case SqlType::datetime:
      return "datetime";
    case SqlType::time:
      return "time";
    case SqlType::duration:
      return "duration";
    case SqlType::object:
      return "object";
    case SqlType::array:
      return "array";
    case SqlType::any:
      break;
  }
  return "any";
}

std::string shown_text(std::string_view text, const Secrets& secrets) {
  std::string shown;
  if (base::find_invalid_utf8(text) == std::string_view::npos) {
    shown.assign(text);
  } else {
    append_repaired_utf8(text, shown);
  }
  if (!secrets.empty()) {
    secrets.mask_in_place(shown);
  }
  return shown;
}

std::optional<std::string> shown_value(const SqlValue& value, const Secrets& secrets) {
  if (!value) {
    return std::nullopt;
  }
  std::string shown = shown_text(*value, secrets);
  if (shown.size() > kLongestShownValue) {
    auto end = kLongestShownValue;
    while (end > 0 && (static_cast<unsigned char>(shown[end]) & 0xC0U) == 0x80U) {
      --end;
    }
    shown.resize(end);
    shown += "…";
  }
  return shown;
}

std::string sql_text_table(const SqlTable& table) {
  const auto count = table.columns.size();
  std::vector<std::size_t> widths(count);
  std::vector<std::vector<std::string>> cells;
  cells.reserve(table.rows.size());
  for (std::size_t c = 0; c < count; ++c) {
    widths[c] = display_width(one_line(table.columns[c].name));
  }
  for (const auto& row : table.rows) {
    auto& line = cells.emplace_back();
    for (std::size_t c = 0; c < count; ++c) {
      line.push_back(row[c] ? one_line(*row[c]) : std::string("NULL"));
      widths[c] = std::max(widths[c], display_width(line.back()));
    }
  }
  std::string text;
  const auto end_line = [&text]() {
    while (text.ends_with(' ')) {
      text.pop_back();
    }
    text += '\n';
  };
  for (std::size_t c = 0; c < count; ++c) {
    const auto name = one_line(table.columns[c].name);
    const auto space = widths[c] - display_width(name);
    text += c == 0 ? " " : " | ";
    pad(text, space / 2);
    text += name;
    pad(text, space - space / 2);
  }
  end_line();
  for (std::size_t c = 0; c < count; ++c) {
    text += c == 0 ? "" : "+";
    text.append(widths[c] + 2, '-');
  }
  text += '\n';
  for (std::size_t r = 0; r < cells.size(); ++r) {
    for (std::size_t c = 0; c < count; ++c) {
      const auto& value = cells[r][c];
      const auto space = widths[c] - display_width(value);
      text += c == 0 ? " " : " | ";
      if (is_numeric(table.columns[c].type) && table.rows[r][c]) {
        pad(text, space);
        text += value;
      } else {
        text += value;
        pad(text, space);
      }
    }
    end_line();
  }
  text += footer(table);
  return text;
}

std::string sql_html_table(const SqlTable& table) {
  std::string html = "<table class=\"tejun-sql\">\n<thead><tr>";
  for (const auto& column : table.columns) {
    html += "<th>";
    base::append_html_escaped(html, column.name);
    html += "</th>";
  }
  html += "</tr></thead>\n<tbody>\n";
  for (const auto& row : table.rows) {
    html += "<tr>";
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      if (!row[c]) {
        html += "<td class=\"null\"><em>NULL</em></td>";
        continue;
      }
      html += is_numeric(table.columns[c].type) ? "<td style=\"text-align: right\">" : "<td>";
      base::append_html_escaped(html, *row[c]);
      html += "</td>";
    }
    html += "</tr>\n";
  }
  html += "</tbody>\n</table>\n<p>";
  base::append_html_escaped(html, footer(table));
  html += "</p>";
  return html;
}

std::string sql_data_resource(const SqlTable& table) {
  std::string json;
  notebook::TextOutput out(json);
  notebook::JsonWriter writer(out, notebook::JsonWriter::Style::compact);
  const auto names = unique_names(table.columns);
  writer.begin_object();
  writer.key("data");
  writer.begin_array();
  for (const auto& row : table.rows) {
    writer.begin_object();
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      writer.key(names[c]);
      const auto& value = row[c];
      const auto type = table.columns[c].type;
      if (!value) {
        writer.value(nullptr);
      } else if (is_numeric(type) && is_json_number(*value)) {
        writer.raw_number(*value);
      } else if (type == SqlType::boolean && (*value == "t" || *value == "f" || *value == "1" || *value == "0" ||
                                              *value == "true" || *value == "false")) {
        writer.value(*value == "t" || *value == "1" || *value == "true");
      } else if (type == SqlType::array) {
        if (auto array = parse_array(*value, table.columns[c].element)) {
          writer.value(*array);
        } else {
          writer.string(*value);
        }
      } else if (table.columns[c].json) {
        auto parsed = notebook::parse_json(*value);
        if (parsed) {
          writer.value(*parsed);
        } else {
          writer.string(*value);
        }
      } else {
        writer.string(*value);
      }
    }
    writer.end_object();
  }
  writer.end_array();
  writer.key("schema");
  writer.begin_object();
  writer.key("fields");
  writer.begin_array();
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    writer.begin_object();
    writer.key("name");
    writer.string(names[c]);
    writer.key("type");
    writer.string(table_schema_name(table.columns[c].type));
    writer.end_object();
  }
  writer.end_array();
  writer.end_object();
  writer.end_object();
  (void)out.flush();
  return json;
}

MimeBundle render_sql_table(const SqlTable& table) {
  return {{"text/plain", sql_text_table(table)},
          {"text/html", sql_html_table(table)},
          {"application/vnd.dataresource+json", sql_data_resource(table)}};
}

void append_csv_field(std::string& line, const SqlValue& value) {
  if (!value) {
    return;
  }
  // One pass over the value: most need no quotes.
  bool quote = value->empty();
  for (const char c : *value) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    line += *value;
    return;
  }
  line += '"';
  for (const char c : *value) {
    if (c == '"') {
      line += '"';
    }
    line += c;
  }
  line += '"';
}

}  // namespace tejun::exec
