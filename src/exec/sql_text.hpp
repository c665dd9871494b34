// The text side of SQL steps: splitting a step into statements, finding its :name
// parameters, and filling {VAR} placeholders into connection URLs. No database here.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tejun::exec {

// One statement of a step: its text (without the closing ';') and where it starts in the
// text that was split.
struct SqlStatement {
  std::string_view text;
  std::size_t offset = 0;
};

// Splits `sql` at the semicolons that end statements: not those inside '…', E'…', "…",
// $tag$…$tag$, -- comments or /* nested */ comments, nor inside BEGIN … END and CASE … END
// of a CREATE statement (triggers, BEGIN ATOMIC). Statements that hold nothing but blanks
// and comments are left out.
[[nodiscard]] std::vector<SqlStatement> split_sql(std::string_view sql);

// The words of a magic's line (%%sql, %connect): split at blanks, '…' and "…" group.
[[nodiscard]] std::vector<std::string> split_magic_words(std::string_view args);

// A :name placeholder in a statement.
struct SqlParameter {
  std::string name;
  std::size_t offset = 0;  // of the ':' in the statement
};

// The :name placeholders of `statement`, outside quotes and comments; `::type` casts and
// `:=` are not placeholders.
[[nodiscard]] std::vector<SqlParameter> find_sql_parameters(std::string_view statement);

// `statement` with each placeholder replaced by PostgreSQL's $1, $2… (the same name gets the
// same number), and the names in number order.
struct NumberedSql {
  std::string text;
  std::vector<std::string> names;
  // Maps an offset in `text` back to the offset in the original statement.
  [[nodiscard]] std::size_t original_offset(std::size_t offset) const;

  struct Replacement {
    std::size_t new_offset;
    std::size_t old_offset;
    std::size_t new_length;
    std::size_t old_length;
  };
  std::vector<Replacement> replacements;
};
[[nodiscard]] NumberedSql number_sql_parameters(std::string_view statement,
                                                const std::vector<SqlParameter>& parameters);

// Looks a variable up in the kernel's session; nullopt when it is not set.
using VariableLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The names of the {VAR} placeholders in a URL template.
[[nodiscard]] std::vector<std::string> url_placeholders(std::string_view url);

// `text` with every {VAR} replaced by the variable's value as it is. Fails naming the first
// variable that is not set, and `where` the text is ("the request").
[[nodiscard]] base::Result<std::string> fill_placeholders(std::string_view text, const VariableLookup& lookup,
                                                          std::string_view where);

// `url` with every {VAR} replaced: percent-encoded in the user, password, path and query
// parts, as it is in the host[:port] part. Fails naming the first variable that is not set.
[[nodiscard]] base::Result<std::string> fill_url(std::string_view url, const VariableLookup& lookup);

// The password of a URL (scheme://user:PASSWORD@host…) as written, if it has one.
[[nodiscard]] std::optional<std::string_view> url_password(std::string_view url);

// `url` with the password left out: safe to show.
[[nodiscard]] std::string redact_url(std::string_view url);

// The percent-encoded form of `text`: every byte but A-Z a-z 0-9 - . _ ~ as %XX.
[[nodiscard]] std::string percent_encode(std::string_view text);
// %XX sequences back to bytes; anything else as it is.
[[nodiscard]] std::string percent_decode(std::string_view text);

// 1-based line and column (in code points) of byte `offset` in `text`, and that line.
struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;
  std::string_view line_text;
};
[[nodiscard]] TextPosition text_position(std::string_view text, std::size_t offset);

}  // namespace tejun::exec
