// A database connection as SQL steps use it: statements sent one at a time, results pushed
// row by row into a sink as they arrive (never the whole result in memory), waits done
// through the StepHost so that an interrupt or a deadline cancels the statement.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "exec/step_host.hpp"

namespace tejun::exec {

// A column's type, as Table Schema names it (application/vnd.dataresource+json).
enum class SqlType : std::uint8_t {
  integer,
  number,
  boolean,
  string,
  date,
  datetime,
  time,
  duration,
  object,
  array,
  any
};

struct SqlColumn {
  std::string name;
  SqlType type = SqlType::string;
  bool json = false;                  // values are JSON text (json, jsonb)
  SqlType element = SqlType::string;  // arrays: the elements' type (values are PostgreSQL's {…} text)
};

// A value as text; nullopt is SQL NULL.
using SqlValue = std::optional<std::string_view>;

// Receives one statement's results as they arrive.
class SqlSink {
 public:
  SqlSink() = default;
  SqlSink(const SqlSink&) = delete;
  SqlSink& operator=(const SqlSink&) = delete;
  SqlSink(SqlSink&&) = delete;
  SqlSink& operator=(SqlSink&&) = delete;
  virtual ~SqlSink() = default;

  virtual base::Result<void> begin_rows(std::vector<SqlColumn> columns) = 0;
  // A failure stops the statement (a full disk under --out).
  virtual base::Result<void> row(std::span<const SqlValue> values) = 0;
  // `complete` is false when the statement failed or was stopped part way.
  virtual base::Result<void> end_rows(bool complete) = 0;
  // A statement that returns no rows: its command tag ("INSERT 0 3").
  virtual void command(std::string_view tag) = 0;
  // A NOTICE or WARNING from the server, or text of COPY … TO STDOUT.
  virtual void message(StreamName stream, std::string_view text) = 0;
};

struct SqlFailure {
  enum class Kind : std::uint8_t {
    server,       // the database refused the statement
    connection,   // the connection could not be made or was lost
    interrupted,  // the front end interrupted; the statement was cancelled
    timed_out,    // the kernel's %timeout passed; the statement was cancelled
    client,       // tejun's own side: a sink failed, a parameter is missing
  };
  Kind kind = Kind::server;
  std::string message;
  std::string sqlstate;
  std::string detail;
  std::string hint;
  std::optional<std::size_t> position;  // byte offset in the statement as sent

  // A failure that is only a kind and a message.
  [[nodiscard]] static SqlFailure of(Kind kind, std::string message) {
    SqlFailure failure;
    failure.kind = kind;
    failure.message = std::move(message);
    return failure;
  }
};

class SqlDatabase {
 public:
  SqlDatabase() = default;
  SqlDatabase(const SqlDatabase&) = delete;
  SqlDatabase& operator=(const SqlDatabase&) = delete;
  SqlDatabase(SqlDatabase&&) = delete;
  SqlDatabase& operator=(SqlDatabase&&) = delete;
  virtual ~SqlDatabase() = default;

  // Whether parameters are written $1, $2… (PostgreSQL) rather than :name (SQLite).
  [[nodiscard]] virtual bool numbered_parameters() const noexcept = 0;
  // What to show for this connection: URL without password, server version.
  [[nodiscard]] virtual std::string description() const = 0;
  // False once the connection is lost: it is made again for the next step.
  [[nodiscard]] virtual bool usable() const noexcept = 0;

  // Runs one statement; `values` are the parameters' values in order (by number, or in
  // the order of `names` for named ones). nullopt when it succeeded.
  virtual std::optional<SqlFailure> execute(std::string_view sql, std::span<const std::string> names,
                                            std::span<const std::string> values, SqlSink& sink, StepHost& host,
                                            Clock::time_point deadline) = 0;
  // The statement time limit for the steps that follow; nullopt restores what was there.
  virtual std::optional<SqlFailure> set_statement_timeout(std::optional<std::chrono::milliseconds> timeout,
                                                          StepHost& host) = 0;
};

// Connection parameters for PostgreSQL: keyword → value, as libpq takes them; a "dbname"
// may be a whole postgresql:// URL.
using PgParameters = std::vector<std::pair<std::string, std::string>>;

// A connection, or why there is none (`failure`, when `database` is null).
struct SqlOpened {
  std::unique_ptr<SqlDatabase> database;
  SqlFailure failure;
};

// Connects, waiting through `host`: an interrupt stops it (Kind::interrupted), so does the
// step's deadline (Kind::timed_out); any other failure says where it tried and why.
[[nodiscard]] SqlOpened connect_postgres(const PgParameters& parameters, StepHost& host, Clock::time_point deadline);
// Whether libpq can read `url` (its own error would quote the piece it stumbled on, which
// may be part of a password).
[[nodiscard]] bool postgres_url_readable(const std::string& url);
// The password libpq would use for `parameters`, if one is given (to mask it).
[[nodiscard]] std::vector<std::string> postgres_passwords(const PgParameters& parameters);

// Opens a SQLite database: a file path, or ":memory:".
[[nodiscard]] SqlOpened open_sqlite(const std::string& path);

}  // namespace tejun::exec
