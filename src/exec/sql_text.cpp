#include "exec/sql_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "base/text.hpp"

namespace tejun::exec {
namespace {

bool is_identifier_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || (static_cast<unsigned char>(c) & 0x80) != 0;
}

bool is_identifier_char(char c) {
  return is_identifier_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '$';
}

// Where the quoted string, quoted identifier, dollar quote or comment that starts at `i` ends
// (the index just past it), or nullopt when none starts there. Unclosed ones run to the end.
std::optional<std::size_t> skip_quoted(std::string_view sql, std::size_t i) {
  const char c = sql[i];
  const auto find_or_end = [&](std::string_view what, std::size_t from) {
    const auto found = sql.find(what, from);
    return found == std::string_view::npos ? sql.size() : found + what.size();
  };
  if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
    const auto newline = sql.find('\n', i);
    return newline == std::string_view::npos ? sql.size() : newline;
  }
  if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
    int depth = 0;
    std::size_t j = i;
    while (j < sql.size()) {
      if (sql.compare(j, 2, "/*") == 0) {
        ++depth;
        j += 2;
      } else if (sql.compare(j, 2, "*/") == 0) {
        j += 2;
        if (--depth == 0) {
          return j;
        }
      } else {
        ++j;
      }
    }
    return sql.size();
  }
  if (c == '\'' || c == '"') {
    // E'…' takes backslash escapes; '' and "" are the quote itself.
    const bool backslashes =
        c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !is_identifier_char(sql[i - 2]));
    std::size_t j = i + 1;
    while (j < sql.size()) {
      if (backslashes && sql[j] == '\\') {
        j += 2;
        continue;
      }
      if (sql[j] == c) {
        if (j + 1 < sql.size() && sql[j + 1] == c) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      ++j;
    }
    return sql.size();
  }
  if (c == '$' && (i == 0 || !is_identifier_char(sql[i - 1]))) {
    std::size_t j = i + 1;
    while (j < sql.size() && sql[j] != '$' && is_identifier_char(sql[j]) &&
           (j > i + 1 || !std::isdigit(static_cast<unsigned char>(sql[j])))) {
      ++j;
    }
    if (j < sql.size() && sql[j] == '$') {
      const auto tag = sql.substr(i, j - i + 1);
      return find_or_end(tag, j + 1);
    }
  }
  return std::nullopt;
}

bool only_blanks_and_comments(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i])) != 0) {
      ++i;
      continue;
    }
    if ((text[i] == '-' || text[i] == '/') && i + 1 < text.size() && text[i + 1] == (text[i] == '-' ? '-' : '*')) {
      i = *skip_quoted(text, i);
      continue;
    }
    return false;
  }
  return true;
}

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

std::vector<SqlStatement> split_sql(std::string_view sql) {
  std::vector<SqlStatement> statements;
  std::size_t start = 0;
  std::size_t i = 0;
  // In a CREATE statement, BEGIN … END (SQLite's triggers, PostgreSQL's BEGIN ATOMIC) and
  // CASE … END hold semicolons that do not end it, as psql counts them.
  bool first_word = true;
  bool in_create = false;
  int depth = 0;
  const auto add = [&](std::size_t end) {
    const auto text = sql.substr(start, end - start);
    if (!only_blanks_and_comments(text)) {
      statements.push_back({text, start});
    }
  };
  while (i < sql.size()) {
    if (const auto skipped = skip_quoted(sql, i)) {
      i = *skipped;
      continue;
    }
    if (is_identifier_start(sql[i]) && (i == 0 || !is_identifier_char(sql[i - 1]))) {
      auto end = i;
      while (end < sql.size() && is_identifier_char(sql[end])) {
        ++end;
      }
      const auto word = base::ascii_lowercase(sql.substr(i, end - i));
      if (first_word) {
        in_create = word == "create";
        first_word = false;
      } else if (in_create && (word == "begin" || word == "case")) {
        ++depth;
      } else if (in_create && word == "end" && depth > 0) {
        --depth;
      }
      i = end;
      continue;
    }
    if (sql[i] == ';' && depth == 0) {
      add(i);
      start = i + 1;
      first_word = true;
      in_create = false;
    }
    ++i;
  }
  add(sql.size());
  return statements;
}

std::vector<std::string> split_magic_words(std::string_view args) {
  std::vector<std::string> result;
  std::size_t i = 0;
  while (i < args.size()) {
    while (i < args.size() && (args[i] == ' ' || args[i] == '\t')) {
      ++i;
    }
    if (i == args.size()) {
      break;
    }
    std::string word;
    while (i < args.size() && args[i] != ' ' && args[i] != '\t') {
      if (args[i] == '"' || args[i] == '\'') {
        const char quote = args[i++];
        while (i < args.size() && args[i] != quote) {
          word += args[i++];
        }
        ++i;
      } else {
        word += args[i++];
      }
    }
    result.push_back(std::move(word));
  }
  return result;
}

std::vector<SqlParameter> find_sql_parameters(std::string_view statement) {
  std::vector<SqlParameter> parameters;
  std::size_t i = 0;
  while (i < statement.size()) {
    if (const auto skipped = skip_quoted(statement, i)) {
      i = *skipped;
      continue;
    }
    if (statement[i] == ':') {
      if (i + 1 < statement.size() && (statement[i + 1] == ':' || statement[i + 1] == '=')) {
        i += 2;  // a ::cast or :=
        continue;
      }
      // Not a[lo:hi] (an array slice), not x::type.
      const bool after_operand = i > 0 && (is_identifier_char(statement[i - 1]) || statement[i - 1] == ']' ||
                                           statement[i - 1] == ')' || statement[i - 1] == ':');
      if (i + 1 < statement.size() && is_identifier_start(statement[i + 1]) && !after_operand) {
        std::size_t end = i + 1;
        while (end < statement.size() && is_identifier_char(statement[end]) && statement[end] != '$') {
          ++end;
        }
        parameters.push_back({std::string(statement.substr(i + 1, end - i - 1)), i});
        i = end;
        continue;
      }
    }
    ++i;
  }
  return parameters;
}

NumberedSql number_sql_parameters(std::string_view statement, const std::vector<SqlParameter>& parameters) {
  NumberedSql numbered;
  std::size_t copied = 0;
  for (const auto& parameter : parameters) {
    numbered.text.append(statement.substr(copied, parameter.offset - copied));
    auto found = std::find(numbered.names.begin(), numbered.names.end(), parameter.name);
    if (found == numbered.names.end()) {
      numbered.names.push_back(parameter.name);
      found = numbered.names.end() - 1;
    }
    const auto placeholder = "$" + std::to_string(found - numbered.names.begin() + 1);
    numbered.replacements.push_back(
        {numbered.text.size(), parameter.offset, placeholder.size(), parameter.name.size() + 1});
    numbered.text += placeholder;
    copied = parameter.offset + parameter.name.size() + 1;
  }
  numbered.text.append(statement.substr(copied));
  return numbered;
}

std::size_t NumberedSql::original_offset(std::size_t offset) const {
  std::ptrdiff_t shift = 0;
  for (const auto& replacement : replacements) {
    if (offset < replacement.new_offset) {
      break;
    }
    if (offset < replacement.new_offset + replacement.new_length) {
      return replacement.old_offset;
    }
    shift = static_cast<std::ptrdiff_t>(replacement.old_offset + replacement.old_length) -
            static_cast<std::ptrdiff_t>(replacement.new_offset + replacement.new_length);
  }
  return static_cast<std::size_t>(static_cast<std::ptrdiff_t>(offset) + shift);
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(text.size());
  for (const char c : text) {
    if (is_unreserved(c)) {
      encoded += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      encoded += '%';
      encoded += kHex[byte >> 4U];
      encoded += kHex[byte & 0xFU];
    }
  }
  return encoded;
}

std::string percent_decode(std::string_view text) {
  const auto hex = [](char c) { return base::hex_digit_value(c); };
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      decoded += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      decoded += text[i];
    }
  }
  return decoded;
}

namespace {

// A {NAME} placeholder at `i` in `url`: its name's length, or 0 when there is none.
std::size_t placeholder_length(std::string_view url, std::size_t i) {
  if (url[i] != '{') {
    return 0;
  }
  const auto close = url.find('}', i + 1);
  if (close == std::string_view::npos || close == i + 1) {
    return 0;
  }
  const auto name = url.substr(i + 1, close - i - 1);
  const bool valid = std::all_of(name.begin(), name.end(),
                                 [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }) &&
                     std::isdigit(static_cast<unsigned char>(name.front())) == 0;
  return valid ? name.size() : 0;
}

// The byte range of the host[:port] part of `url` (after "scheme://" and "user:password@").
std::pair<std::size_t, std::size_t> host_range(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return {0, 0};
  }
  const auto authority = scheme + 3;
  auto end = url.find_first_of("/?#", authority);
  end = end == std::string_view::npos ? url.size() : end;
  const auto at = url.substr(authority, end - authority).rfind('@');
  return {at == std::string_view::npos ? authority : authority + at + 1, end};
}

}  // namespace

std::vector<std::string> url_placeholders(std::string_view url) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (const auto length = placeholder_length(url, i)) {
      names.emplace_back(url.substr(i + 1, length));
      i += length + 1;
    }
  }
  return names;
}

namespace {

base::Error unset_placeholder(std::string_view name, std::string_view where) {
  return base::make_error(
      base::ErrorCode::invalid_argument,
      fmt::format("{{{0}}} in {1}: no variable {0} is set in the kernel (set it with %env {0}=…)", name, where));
}

}  // namespace

base::Result<std::string> fill_placeholders(std::string_view text, const VariableLookup& lookup,
                                            std::string_view where) {
  std::string filled;
  filled.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto length = placeholder_length(text, i);
    if (length == 0) {
      filled += text[i];
      continue;
    }
    const auto name = text.substr(i + 1, length);
    const auto value = lookup(name);
    if (!value) {
      return unset_placeholder(name, where);
    }
    filled += *value;
    i += length + 1;
  }
  return filled;
}

base::Result<std::string> fill_url(std::string_view url, const VariableLookup& lookup) {
  // Where the host part is depends on the placeholders' values; find it in the template
  // with the placeholders blanked, which keeps '@' and '/' of the template itself.
  std::string skeleton(url);
  for (std::size_t i = 0; i < skeleton.size(); ++i) {
    if (const auto length = placeholder_length(skeleton, i)) {
      std::fill_n(skeleton.begin() + static_cast<std::ptrdiff_t>(i), length + 2, 'x');
      i += length + 1;
    }
  }
  const auto [host_begin, host_end] = host_range(skeleton);
  std::string filled;
  for (std::size_t i = 0; i < url.size(); ++i) {
    const auto length = placeholder_length(url, i);
    if (length == 0) {
      filled += url[i];
      continue;
    }
    const auto name = url.substr(i + 1, length);
    const auto value = lookup(name);
    if (!value) {
      return unset_placeholder(name, "the connection URL");
    }
    filled += i >= host_begin && i < host_end ? *value : percent_encode(*value);
    i += length + 1;
  }
  return filled;
}

std::optional<std::string_view> url_password(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return std::nullopt;
  }
  // The user part ends at the last '@' before the query: a password may hold '/' (libpq
  // then fails to read the URL, and the error must not show it either).
  const auto authority = scheme + 3;
  auto end = url.find_first_of("?#", authority);
  end = end == std::string_view::npos ? url.size() : end;
  const auto at = url.substr(authority, end - authority).rfind('@');
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const auto userinfo = url.substr(authority, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  return userinfo.substr(colon + 1);
}

std::string redact_url(std::string_view url) {
  std::string redacted(url);
  if (const auto password = url_password(url)) {
    const auto start = static_cast<std::size_t>(password->data() - url.data());
    redacted = std::string(url.substr(0, start - 1)) + std::string(url.substr(start + password->size()));
  }
  // A password given as a query parameter goes too.
  for (const std::string_view key : {"password=", "PASSWORD="}) {
    const auto query = redacted.find('?');
    if (query == std::string::npos) {
      break;
    }
    auto found = redacted.find(key, query);
    while (found != std::string::npos) {
      const auto value_start = found + key.size();
      const auto value_end = redacted.find('&', value_start);
      redacted.replace(value_start, (value_end == std::string::npos ? redacted.size() : value_end) - value_start,
                       "[MASKED]");
      found = redacted.find(key, value_start);
    }
  }
  return redacted;
}

TextPosition text_position(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  TextPosition position;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++position.line;
      line_start = i + 1;
    }
  }
  for (std::size_t i = line_start; i < offset; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U) {
      ++position.column;
    }
  }
  const auto line_end = text.find('\n', line_start);
  position.line_text = text.substr(line_start, line_end == std::string_view::npos ? text.npos : line_end - line_start);
  if (position.line_text.ends_with('\r')) {
    position.line_text.remove_suffix(1);
  }
  return position;
}

}  // namespace tejun::exec
