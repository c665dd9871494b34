#include "runner/parameters.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "base/text.hpp"
#include "exec/shell_session.hpp"
#include "notebook/json_writer.hpp"
#include "notebook/markdown.hpp"
#include "notebook/yaml_json.hpp"

namespace tejun::runner {
namespace {

using base::ErrorCode;
using base::make_error;
using notebook::Json;
using notebook::JsonNumber;

std::string_view trim(std::string_view text) {
  return base::trim(text, " \t\n\r\f\v");
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Digits with single underscores between them (Python's numeric literal rule); appends the
// digits to `out` and returns how many characters were taken.
std::size_t take_digits(std::string_view text, std::string& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_digit(text[i])) {
      out += text[i++];
    } else if (text[i] == '_' && i > 0 && is_digit(text[i - 1]) && i + 1 < text.size() && is_digit(text[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

// Python's int(): [sign] digits; the canonical decimal form, or nothing.
std::optional<std::string> python_int(std::string_view text) {
  std::string sign;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    sign = text[0] == '-' ? "-" : "";
    text.remove_prefix(1);
  }
  std::string digits;
  if (text.empty() || take_digits(text, digits) != text.size() || digits.empty()) {
    return std::nullopt;
  }
  const std::size_t first = std::min(digits.find_first_not_of('0'), digits.size() - 1);
  digits.erase(0, first);
  return digits == "0" ? digits : sign + digits;
}

// Python's float(): the JSON text of the value (shortest round trip; Infinity and NaN as
// Python's json writes them), or nothing.
std::optional<std::string> python_float(std::string_view text) {
  std::string sign;
  std::string_view rest = text;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    sign = rest[0] == '-' ? "-" : "";
    rest.remove_prefix(1);
  }
  const std::string word = base::ascii_lowercase(rest);
  if (word == "inf" || word == "infinity") {
    return sign + "Infinity";
  }
  if (word == "nan") {
    return std::string("NaN");
  }
  std::string plain = sign;
  std::size_t i = take_digits(rest, plain);
  bool any_digits = i > 0;
  if (i < rest.size() && rest[i] == '.') {
    plain += '.';
    const std::size_t fraction = take_digits(rest.substr(i + 1), plain);
    any_digits = any_digits || fraction > 0;
    i += 1 + fraction;
  }
  if (!any_digits) {
    return std::nullopt;
  }
  if (i < rest.size() && (rest[i] == 'e' || rest[i] == 'E')) {
    plain += 'e';
    ++i;
    if (i < rest.size() && (rest[i] == '+' || rest[i] == '-')) {
      plain += rest[i++];
    }
    const std::size_t exponent = take_digits(rest.substr(i), plain);
    if (exponent == 0) {
      return std::nullopt;
    }
    i += exponent;
  }
  if (i != rest.size()) {
    return std::nullopt;
  }
  const double value = std::strtod(plain.c_str(), nullptr);
  if (std::isinf(value)) {
    return sign + "Infinity";
  }
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  std::string shortest(buffer.data(), end);
  if (shortest.find_first_of(".en") == std::string::npos) {
    shortest += ".0";  // Python's repr of a float always shows it is one
  }
  return shortest;
}

bool is_identifier(std::string_view name) {
  if (name.empty() || is_digit(name[0])) {
    return false;
  }
  return std::ranges::all_of(name, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
}

void append_python_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;  // UTF-8 is Python 3's source encoding
        }
    }
  }
  out += '"';
}

void append_python_literal(std::string& out, const Json& value) {
  switch (value.kind()) {
    case Json::Kind::null:
      out += "None";
      return;
    case Json::Kind::boolean:
      out += value.as_bool() ? "True" : "False";
      return;
    case Json::Kind::number: {
      const auto& text = value.as_number().text;
      out += text == "Infinity"    ? "float('inf')"
             : text == "-Infinity" ? "float('-inf')"
             : text == "NaN"       ? "float('nan')"
                                   : text;
      return;
    }
    case Json::Kind::string:
      append_python_string(out, value.as_string());
      return;
    case Json::Kind::string_array:
    case Json::Kind::array: {
      out += '[';
      if (value.kind() == Json::Kind::string_array) {
        const auto& items = value.as_string_array();
        for (std::size_t i = 0; i < items.size(); ++i) {
          out += i == 0 ? "" : ", ";
          append_python_string(out, items[i]);
        }
      } else {
        bool first = true;
        for (const auto& item : value.as_array()) {
          out += first ? "" : ", ";
          first = false;
          append_python_literal(out, item);
        }
      }
      out += ']';
      return;
    }
    case Json::Kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.as_object()) {
        out += first ? "" : ", ";
        first = false;
        append_python_string(out, key);
        out += ": ";
        append_python_literal(out, item);
      }
      out += '}';
      return;
    }
  }
}

// What a shell variable holds for a value: strings and numbers as they are, booleans as
// true/false, null as empty, lists and mappings as their JSON text.
std::string shell_value(const Json& value) {
  switch (value.kind()) {
    case Json::Kind::null:
      return {};
    case Json::Kind::boolean:
      return value.as_bool() ? "true" : "false";
    case Json::Kind::number:
      return value.as_number().text;
    case Json::Kind::string:
      return value.as_string();
    default:
      return notebook::JsonWriter::compact(value);
  }
}

}  // namespace

bool has_tag(const notebook::Cell& cell, std::string_view tag) {
  const auto* tags = notebook::find_member(cell.metadata, "tags");
  std::vector<std::string> names;
  return tags != nullptr && tags->to_strings(names) && std::ranges::find(names, tag) != names.end();
}

Json typed_value(std::string_view text) {
  // papermill's _resolve_type: exact words first, then int(), then float().
  if (text == "True" || text == "true") {
    return Json(true);
  }
  if (text == "False" || text == "false") {
    return Json(false);
  }
  if (text == "None" || text == "null") {
    return Json(nullptr);
  }
  const std::string_view trimmed = trim(text);
  if (auto integer = python_int(trimmed)) {
    return Json(JsonNumber{std::move(*integer)});
  }
  if (auto real = python_float(trimmed)) {
    return Json(JsonNumber{std::move(*real)});
  }
  return Json(std::string(text));
}

void set_parameter(Parameters& parameters, std::string name, Json value) {
  for (auto& parameter : parameters) {
    if (parameter.name == name) {
      parameter.value = std::move(value);
      return;
    }
  }
  parameters.push_back({std::move(name), std::move(value)});
}

base::Result<Parameters> parameters_from_yaml(std::string_view yaml, const std::string& source) {
  auto mapping = notebook::parse_yaml_mapping(yaml);
  if (!mapping) {
    return mapping.error().in_file(source);
  }
  Parameters parameters;
  for (auto& [name, value] : *mapping) {
    set_parameter(parameters, std::move(name), std::move(value));
  }
  return parameters;
}

base::Result<ParameterLanguage> parameter_language(std::string_view language) {
  const std::string lower = base::ascii_lowercase(language);
  if (lower == "python" || lower == "python3") {
    return ParameterLanguage::python;
  }
  if (lower == "bash" || lower == "sh" || lower == "shell" || lower.empty()) {
    return ParameterLanguage::shell;
  }
  return make_error(ErrorCode::unsupported,
                    fmt::format("cannot write parameters for a kernel of language '{}' (tejun writes them for "
                                "python and bash kernels)",
                                language));
}

base::Result<std::string> parameters_source(const Parameters& parameters, ParameterLanguage language) {
  std::string source = "# Parameters\n";
  for (const auto& [name, value] : parameters) {
    if (!is_identifier(name)) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("parameter '{}' is not a valid {} variable name (letters, digits and _, not "
                                    "starting with a digit)",
                                    name, language == ParameterLanguage::python ? "Python" : "shell"));
    }
    if (language == ParameterLanguage::python) {
      source += name + " = ";
      append_python_literal(source, value);
    } else {
      source += "export " + name + "=" + exec::shell_quote(shell_value(value));
    }
    source += '\n';
  }
  return source;
}

base::Result<Injection> inject_parameters(notebook::Notebook& notebook, const Parameters& given,
                                          ParameterLanguage language) {
  Injection injection;
  std::erase_if(notebook.cells, [](const notebook::Cell& cell) { return has_tag(cell, kInjectedParametersTag); });

  // A Markdown runbook's front matter declares its parameters and their defaults.
  const auto* tejun = notebook::find_member(notebook.metadata, notebook::kTejunMetadataKey);
  const auto* defaults =
      tejun != nullptr && tejun->is_object() ? notebook::find_member(tejun->as_object(), "parameters") : nullptr;
  if (defaults != nullptr && defaults->is_object()) {
    for (const auto& [name, value] : defaults->as_object()) {
      set_parameter(injection.effective, name, value);
    }
  }
  for (const auto& [name, value] : given) {
    if (defaults != nullptr && defaults->is_object() && notebook::find_member(defaults->as_object(), name) == nullptr) {
      injection.warnings.push_back(
          fmt::format("parameter '{}' is not declared in the runbook's front matter; it is set anyway", name));
    }
    set_parameter(injection.effective, name, value);
  }
  if (injection.effective.empty()) {
    return injection;
  }
  auto source = parameters_source(injection.effective, language);
  if (!source) {
    return source.error();
  }

  const auto tagged =
      std::ranges::find_if(notebook.cells, [](const auto& cell) { return has_tag(cell, kParametersTag); });
  std::size_t at = 0;
  if (tagged != notebook.cells.end()) {
    at = static_cast<std::size_t>(tagged - notebook.cells.begin()) + 1;
  } else {
    const auto first_step =
        std::ranges::find_if(notebook.cells, [](const auto& cell) { return cell.type == notebook::CellType::code; });
    at = static_cast<std::size_t>(first_step - notebook.cells.begin());
    if (defaults == nullptr && !given.empty()) {
      injection.warnings.emplace_back(
          "the runbook has no cell tagged 'parameters'; the parameters are set before its first step");
    }
  }
  notebook::Cell cell;
  cell.type = notebook::CellType::code;
  cell.source = std::move(*source);
  cell.metadata.emplace_back("tags", notebook::JsonArray{Json(std::string(kInjectedParametersTag))});
  if (notebook.has_cell_ids()) {
    cell.id = notebook::new_cell_id();
  }
  notebook.cells.insert(notebook.cells.begin() + static_cast<std::ptrdiff_t>(at), std::move(cell));
  injection.cell = at;
  return injection;
}

}  // namespace tejun::runner
