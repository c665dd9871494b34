// What a SQL result looks like: a psql-like text table, an HTML table and
// application/vnd.dataresource+json (Table Schema types), and RFC 4180 CSV fields. Pure
// functions over rows already taken; the sinks that take them are in sql_sinks.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/secrets.hpp"
#include "exec/sql_database.hpp"
#include "exec/step_host.hpp"

namespace tejun::exec {

// Rows kept to show (the first `limit`); the total is counted while the rest stream by.
struct SqlTable {
  std::vector<SqlColumn> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::size_t total = 0;
  enum class State : std::uint8_t { counting, complete, stopped } state = State::complete;
};

// The Table Schema name of a column type ("integer", "datetime", ...).
[[nodiscard]] std::string_view table_schema_name(SqlType type) noexcept;

// The three MIME types of a result.
[[nodiscard]] MimeBundle render_sql_table(const SqlTable& table);
[[nodiscard]] std::string sql_text_table(const SqlTable& table);
[[nodiscard]] std::string sql_html_table(const SqlTable& table);
[[nodiscard]] std::string sql_data_resource(const SqlTable& table);

// One RFC 4180 field: quoted when it holds , " CR or LF (or is empty and not NULL).
void append_csv_field(std::string& line, const SqlValue& value);

// Text as it may be shown: valid UTF-8 (a database may hold any bytes) and masked.
[[nodiscard]] std::string shown_text(std::string_view text, const Secrets& secrets);
// A value as a table shows it: shown_text, then cut after 1000 bytes (masked before it is
// cut, so no part of a secret stands at the cut); NULL stays nullopt.
[[nodiscard]] std::optional<std::string> shown_value(const SqlValue& value, const Secrets& secrets);

}  // namespace tejun::exec
