// SQLite, the embedded default: the same surface as PostgreSQL. Statements step on the
// kernel's thread; a progress handler looks at the front end every few milliseconds so that
// an interrupt or a time limit stops the statement (sqlite3 returns SQLITE_INTERRUPT).
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "exec/sql_database.hpp"

namespace tejun::exec {
namespace {

// How often (in virtual machine instructions, then in time) a running statement looks at
// the front end.
constexpr int kProgressInstructions = 10000;
constexpr auto kProgressInterval = std::chrono::milliseconds(20);

std::string upper(std::string_view text) {
  std::string result(text);
  std::ranges::transform(result, result.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return result;
}

// A column's type from its declared type (SQLite's affinity rules), or from the first
// value when the column is an expression.
SqlType declared_type(const char* declared, int value_type) {
  if (declared == nullptr) {
    switch (value_type) {
      case SQLITE_INTEGER:
        return SqlType::integer;
      case SQLITE_FLOAT:
        return SqlType::number;
      default:
        return SqlType::string;
    }
  }
  const auto type = upper(declared);
  if (type.find("INT") != std::string::npos) {
    return SqlType::integer;
  }
  if (type.find("BOOL") != std::string::npos) {
    return SqlType::boolean;
  }
  if (type.find("REAL") != std::string::npos || type.find("FLOA") != std::string::npos ||
      type.find("DOUB") != std::string::npos || type.find("NUMERIC") != std::string::npos ||
      type.find("DECIMAL") != std::string::npos) {
    return SqlType::number;
  }
  if (type.find("TIMESTAMP") != std::string::npos || type.find("DATETIME") != std::string::npos) {
    return SqlType::datetime;
  }
  if (type.find("DATE") != std::string::npos) {
    return SqlType::date;
  }
  if (type.find("JSON") != std::string::npos) {
    return SqlType::object;
  }
  return SqlType::string;
}

SqlColumn column_of(sqlite3_stmt* statement, int index, int first_value_type) {
  SqlColumn column{sqlite3_column_name(statement, index),
                   declared_type(sqlite3_column_decltype(statement, index), first_value_type), false};
  column.json = column.type == SqlType::object;
  return column;
}

// The columns of a statement; `stepped` when it has a row whose values can stand in for the
// declared types of expressions.
std::vector<SqlColumn> describe(sqlite3_stmt* statement, bool stepped) {
  const int count = sqlite3_column_count(statement);
  std::vector<SqlColumn> columns;
  columns.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    columns.push_back(column_of(statement, i, stepped ? sqlite3_column_type(statement, i) : SQLITE_TEXT));
  }
  return columns;
}

// psql's command tags, for the statements SQLite runs without rows.
std::string command_tag(std::string_view sql, int changes) {
  std::size_t i = 0;
  const auto word = [&]() {
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i])) != 0) {
      ++i;
    }
    const auto start = i;
    while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])) != 0) {
      ++i;
    }
    return upper(sql.substr(start, i - start));
  };
  const std::string first = word();
  if (first == "INSERT" || first == "REPLACE") {
    return fmt::format("INSERT 0 {}", changes);
  }
  if (first == "UPDATE" || first == "DELETE") {
    return fmt::format("{} {}", first, changes);
  }
  if (first == "CREATE" || first == "DROP" || first == "ALTER") {
    auto second = word();
    if (second == "TEMP" || second == "TEMPORARY" || second == "UNIQUE" || second == "VIRTUAL") {
      second = word();
    }
    return fmt::format("{} {}", first, second);
  }
  return std::string(first);
}

struct DbDeleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};

class Sqlite final : public SqlDatabase {
 public:
  Sqlite(std::unique_ptr<sqlite3, DbDeleter> db, std::string path) : db_(std::move(db)), path_(std::move(path)) {
    sqlite3_progress_handler(db_.get(), kProgressInstructions, &Sqlite::on_progress, this);
  }

  [[nodiscard]] bool numbered_parameters() const noexcept override { return false; }
  [[nodiscard]] bool usable() const noexcept override { return true; }
  [[nodiscard]] std::string description() const override {
    return fmt::format("sqlite://{} (SQLite {})", path_ == ":memory:" ? "" : "/" + path_, sqlite3_libversion());
  }

  std::optional<SqlFailure> execute(std::string_view sql, std::span<const std::string> names,
                                    std::span<const std::string> values, SqlSink& sink, StepHost& host,
                                    Clock::time_point deadline) override;

  std::optional<SqlFailure> set_statement_timeout(std::optional<std::chrono::milliseconds> timeout,
                                                  StepHost& /*host*/) override {
    timeout_ = timeout;
    return std::nullopt;
  }

 private:
  static int on_progress(void* self) {
    auto* sqlite = static_cast<Sqlite*>(self);
    if (sqlite->host_ == nullptr) {
      return 0;
    }
    const auto now = Clock::now();
    if (now >= sqlite->deadline_) {
      sqlite->stopped_ = SqlFailure::Kind::timed_out;
      return 1;
    }
    if (now - sqlite->last_look_ < kProgressInterval) {
      return 0;
    }
    sqlite->last_look_ = now;
    if (sqlite->host_->wait({}, now) == WaitStatus::interrupted) {
      sqlite->stopped_ = SqlFailure::Kind::interrupted;
      return 1;
    }
    return 0;
  }

  SqlFailure failure(std::string_view sql, const char* fallback = nullptr) const {
    SqlFailure failure;
    failure.kind = SqlFailure::Kind::server;
    failure.message = fallback != nullptr ? fallback : sqlite3_errmsg(db_.get());
    failure.sqlstate = sqlite3_errstr(sqlite3_extended_errcode(db_.get()));
    const int offset = sqlite3_error_offset(db_.get());
    if (offset >= 0 && static_cast<std::size_t>(offset) <= sql.size()) {
      failure.position = static_cast<std::size_t>(offset);
    }
    return failure;
  }

  std::unique_ptr<sqlite3, DbDeleter> db_;
  std::string path_;
  std::optional<std::chrono::milliseconds> timeout_;
  StepHost* host_ = nullptr;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point last_look_;
  std::optional<SqlFailure::Kind> stopped_;
};

std::optional<SqlFailure> Sqlite::execute(std::string_view sql, std::span<const std::string> names,
                                          std::span<const std::string> values, SqlSink& sink, StepHost& host,
                                          Clock::time_point deadline) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, &tail) != SQLITE_OK) {
    return failure(sql);
  }
  std::unique_ptr<sqlite3_stmt, StatementDeleter> statement(raw);
  const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
  if (rest.find_first_not_of(" \t\r\n") != std::string_view::npos && !rest.starts_with("--")) {
    // The statements were split where SQLite sees one statement go on: say so rather than
    // leave the rest unrun.
    auto split =
        SqlFailure::of(SqlFailure::Kind::client, "SQLite read this as more than one statement; put a ';' between them");
    split.position = static_cast<std::size_t>(tail - sql.data());
    return split;
  }
  if (statement == nullptr) {
    return std::nullopt;  // only a comment
  }
  for (int i = 1; i <= sqlite3_bind_parameter_count(statement.get()); ++i) {
    const char* name = sqlite3_bind_parameter_name(statement.get(), i);
    const auto found = name == nullptr || name[0] != ':'
                           ? names.end()
                           : std::find(names.begin(), names.end(), std::string_view(name + 1));
    if (found == names.end()) {
      return SqlFailure::of(SqlFailure::Kind::client,
                            fmt::format("parameter {} is not a :name parameter; tejun binds only :name placeholders, "
                                        "from the kernel's variables",
                                        name == nullptr ? "?" : name));
    }
    const auto& value = values[static_cast<std::size_t>(found - names.begin())];
    sqlite3_bind_text(statement.get(), i, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }

  host_ = &host;
  deadline_ = timeout_ ? std::min(deadline, Clock::now() + *timeout_) : deadline;
  last_look_ = Clock::now();
  stopped_.reset();
  struct Reset {
    StepHost*& host;
    ~Reset() { host = nullptr; }
  } reset{host_};

  const int columns = sqlite3_column_count(statement.get());
  bool begun = false;
  std::vector<SqlValue> row(static_cast<std::size_t>(columns));
  std::vector<std::string> blobs(static_cast<std::size_t>(columns));
  while (true) {
    const int stepped = sqlite3_step(statement.get());
    if (stepped == SQLITE_DONE) {
      break;
    }
    if (stepped != SQLITE_ROW) {
      if (begun) {
        (void)sink.end_rows(false);
      }
      if (stopped_) {
        if (*stopped_ == SqlFailure::Kind::interrupted) {
          return SqlFailure::of(*stopped_, "the statement was stopped (interrupt)");
        }
        auto late = SqlFailure::of(
            *stopped_, timeout_ ? fmt::format("canceling statement due to statement timeout ({} ms)", timeout_->count())
                                : std::string("the statement ran past the step's time limit and was stopped"));
        late.sqlstate = "57014";
        return late;
      }
      return failure(sql);
    }
    if (!begun) {
      begun = true;
      if (auto started = sink.begin_rows(describe(statement.get(), true)); !started) {
        return SqlFailure::of(SqlFailure::Kind::client, started.error().message);
      }
    }
    for (int i = 0; i < columns; ++i) {
      const auto index = static_cast<std::size_t>(i);
      switch (sqlite3_column_type(statement.get(), i)) {
        case SQLITE_NULL:
          row[index].reset();
          break;
        case SQLITE_BLOB: {
          // As PostgreSQL shows bytea: \x and hex digits.
          const auto* bytes = static_cast<const unsigned char*>(sqlite3_column_blob(statement.get(), i));
          const int size = sqlite3_column_bytes(statement.get(), i);
          blobs[index] = "\\x";
          for (int b = 0; b < size; ++b) {
            blobs[index] += fmt::format("{:02x}", bytes[b]);
          }
          row[index] = blobs[index];
          break;
        }
        default: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), i));
          row[index] = std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(statement.get(), i)));
          break;
        }
      }
    }
    if (auto taken = sink.row(row); !taken) {
      (void)sink.end_rows(false);
      return SqlFailure::of(SqlFailure::Kind::client, taken.error().message);
    }
  }
  if (columns > 0) {
    if (!begun) {
      if (auto started = sink.begin_rows(describe(statement.get(), false)); !started) {
        return SqlFailure::of(SqlFailure::Kind::client, started.error().message);
      }
    }
    if (auto ended = sink.end_rows(true); !ended) {
      return SqlFailure::of(SqlFailure::Kind::client, ended.error().message);
    }
    return std::nullopt;
  }
  sink.command(command_tag(sql, sqlite3_changes(db_.get())));
  return std::nullopt;
}

}  // namespace

SqlOpened open_sqlite(const std::string& path) {
  sqlite3* raw = nullptr;
  const int opened =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  std::unique_ptr<sqlite3, DbDeleter> db(raw);
  if (opened != SQLITE_OK) {
    return {nullptr, SqlFailure::of(SqlFailure::Kind::connection,
                                    fmt::format("cannot open the SQLite database {}: {}", path,
                                                db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(opened)))};
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), 5000);
  return {std::make_unique<Sqlite>(std::move(db), path), {}};
}

}  // namespace tejun::exec
