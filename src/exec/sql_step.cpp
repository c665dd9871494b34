// %%sql steps: the options of the magic line, the statements one by one with their :name
// parameters bound from the kernel's variables, and errors that say where. Which database
// a step runs on is in sql_connections.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "exec/env_file.hpp"
#include "exec/interpreter.hpp"
#include "exec/sql_sinks.hpp"
#include "exec/sql_target.hpp"
#include "exec/sql_text.hpp"

namespace tejun::exec {

namespace {

StepError sql_usage(std::string message) {
  return {"SQLError", std::move(message)};
}

struct SqlOptions {
  std::string connection;
  std::size_t limit = 1000;
  std::optional<std::string> out;
  std::optional<std::chrono::milliseconds> timeout;
};

base::Result<SqlOptions> parse_sql_options(std::string_view args) {
  SqlOptions options;
  const auto all = split_magic_words(args);
  const auto invalid = [](std::string message) {
    return base::make_error(base::ErrorCode::invalid_argument, std::move(message));
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& word = all[i];
    if (!word.starts_with("--")) {
      if (!options.connection.empty()) {
        return invalid(
            fmt::format("%%sql takes one connection, found '{}' after '{}' (%%sql [CONNECTION] "
                        "[--limit N] [--out FILE] [--timeout SECONDS])",
                        word, redact_url(options.connection)));
      }
      options.connection = word;
      continue;
    }
    const auto equals = word.find('=');
    const std::string name = word.substr(0, equals);
    std::string value;
    if (equals != std::string::npos) {
      value = word.substr(equals + 1);
    } else if (i + 1 < all.size()) {
      value = all[++i];
    } else {
      return invalid(fmt::format("%%sql {} needs a value", name));
    }
    if (name == "--limit") {
      std::size_t limit = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit > 10'000'000) {
        return invalid(fmt::format("%%sql --limit: expected a number of rows (0 to 10000000), found '{}'", value));
      }
      options.limit = limit;
    } else if (name == "--out") {
      if (value.empty()) {
        return invalid("%%sql --out needs a file name");
      }
      options.out = value;
    } else if (name == "--timeout") {
      double seconds = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      constexpr double kLongest = 2147483;  // statement_timeout is a number of milliseconds in an int
      if (ec != std::errc() || end != value.data() + value.size() || !(seconds > 0 && seconds <= kLongest)) {
        return invalid(
            fmt::format("%%sql --timeout: expected a number of seconds (at most {}), found '{}'", kLongest, value));
      }
      options.timeout = std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds * 1000)));
    } else {
      return invalid(
          fmt::format("%%sql: unknown option {}; the options are --limit N, --out FILE and "
                      "--timeout SECONDS",
                      name));
    }
  }
  return options;
}

}  // namespace

namespace {

// The error of a failed statement, with where it is in the step.
StepError statement_error(const SqlFailure& failure, std::string_view code, std::size_t statement_offset,
                          std::string_view statement, const NumberedSql* numbered, std::size_t statement_number,
                          std::size_t statements) {
  StepError error;
  switch (failure.kind) {
    case SqlFailure::Kind::interrupted:
      error.ename = "KeyboardInterrupt";
      break;
    case SqlFailure::Kind::timed_out:
      error.ename = "TimeoutError";
      break;
    case SqlFailure::Kind::connection:
      error.ename = "ConnectionError";
      break;
    default:
      error.ename = "SQLError";
  }
  const bool sqlstate = failure.sqlstate.size() == 5;
  if (failure.kind == SqlFailure::Kind::server) {
    error.evalue = sqlstate ? fmt::format("ERROR {}: {}", failure.sqlstate, failure.message)
                            : fmt::format("ERROR: {}{}", failure.message,
                                          failure.sqlstate.empty() ? "" : " (SQLite: " + failure.sqlstate + ")");
  } else {
    error.evalue = failure.message;
  }
  if (statements > 1) {
    error.evalue += fmt::format(" (statement {} of {}{})", statement_number, statements,
                                statement_number < statements ? "; the ones after it did not run" : "");
  }
  if (failure.position) {
    auto offset = *failure.position;
    if (numbered != nullptr) {
      offset = numbered->original_offset(offset);
    }
    const auto position = text_position(code, statement_offset + offset);
    std::string caret;
    for (std::size_t i = 1; i < position.column; ++i) {
      caret += position.line_text.size() > i - 1 && position.line_text[i - 1] == '\t' ? '\t' : ' ';
    }
    error.evalue += fmt::format("\nat line {}, column {} of the SQL:\n  {}\n  {}^", position.line, position.column,
                                position.line_text, caret);
  }
  if (!failure.position && failure.kind == SqlFailure::Kind::server && !statement.empty()) {
    // No position from the database: say which statement, by its first line.
    const auto start = statement.find_first_not_of(" \t\r\n");
    const auto position = text_position(code, statement_offset + (start == std::string_view::npos ? 0 : start));
    error.evalue += fmt::format("\nin the statement at line {} of the SQL:\n  {}", position.line, position.line_text);
  }
  if (!failure.detail.empty()) {
    error.evalue += "\nDETAIL: " + failure.detail;
  }
  if (!failure.hint.empty()) {
    error.evalue += "\nHINT: " + failure.hint;
  }
  return error;
}

}  // namespace

std::optional<StepError> Interpreter::run_sql(std::string_view args, std::string_view body, Context& context) {
  auto options = parse_sql_options(args);
  if (!options) {
    return StepError{"MagicError", options.error().message};
  }
  const auto statements = split_sql(body);
  // Positions count in the SQL, the lines after %%sql: what a runbook's ```sql fence holds
  // (tejun run adds the %%sql line).
  const std::string_view code = body;

  std::vector<std::vector<SqlParameter>> parameters;
  std::vector<std::string> names;
  for (const auto& statement : statements) {
    auto& found = parameters.emplace_back(find_sql_parameters(statement.text));
    for (const auto& parameter : found) {
      if (!is_variable_name(parameter.name)) {
        const auto position = text_position(code, statement.offset + parameter.offset);
        return sql_usage(fmt::format(":{} (line {}, column {} of the SQL) is not a variable name the kernel can have",
                                     parameter.name, position.line, position.column));
      }
      if (std::find(names.begin(), names.end(), parameter.name) == names.end()) {
        names.push_back(parameter.name);
      }
    }
  }
  SqlTarget target;
  SqlDatabase* database = nullptr;
  if (auto error = open_database(options->connection, names, context, target, database)) {
    return error;
  }
  for (std::size_t s = 0; s < statements.size(); ++s) {
    for (const auto& parameter : parameters[s]) {
      if (!target.variables[parameter.name]) {
        const auto position = text_position(code, statements[s].offset + parameter.offset);
        return sql_usage(
            fmt::format(":{} (line {}, column {} of the SQL): no variable {} is set in the kernel; set it first "
                        "(%env {}=value), its value is then bound as a parameter",
                        parameter.name, position.line, position.column, parameter.name, parameter.name));
      }
    }
  }
  if (statements.empty()) {
    return std::nullopt;
  }

  std::unique_ptr<SqlSink> sink;
  if (options->out) {
    std::filesystem::path path(*options->out);
    if (options->out->starts_with("~/")) {
      const char* home = std::getenv("HOME");
      path = std::filesystem::path(home == nullptr ? "/" : home) / options->out->substr(2);
    } else if (path.is_relative()) {
      path = std::filesystem::path(session_directory()) / path;
    }
    sink = std::make_unique<CsvSink>(context.host, secrets_, path.string(), *options->out);
  } else {
    sink = std::make_unique<DisplaySink>(context.host, secrets_, options->limit);
  }
  SqlDatabase& db = *database;
  const auto deadline = timeout_ ? Clock::now() + *timeout_ : Clock::time_point::max();
  std::optional<StepError> error;
  if (options->timeout) {
    if (auto failure = db.set_statement_timeout(options->timeout, context.host)) {
      error = statement_error(*failure, code, 0, {}, nullptr, 1, 1);
    }
  }
  for (std::size_t s = 0; s < statements.size() && !error; ++s) {
    const auto& statement = statements[s];
    std::vector<std::string> values;
    std::optional<NumberedSql> numbered;
    std::vector<std::string> order;
    if (db.numbered_parameters() && !parameters[s].empty()) {
      numbered = number_sql_parameters(statement.text, parameters[s]);
      order = numbered->names;
    } else {
      for (const auto& parameter : parameters[s]) {
        if (std::find(order.begin(), order.end(), parameter.name) == order.end()) {
          order.push_back(parameter.name);
        }
      }
    }
    values.reserve(order.size());
    for (const auto& name : order) {
      values.push_back(*target.variables[name]);
    }
    const std::string_view sql = numbered ? std::string_view(numbered->text) : statement.text;
    if (auto failure = db.execute(sql, order, values, *sink, context.host, deadline)) {
      error = statement_error(*failure, code, statement.offset, statement.text, numbered ? &*numbered : nullptr, s + 1,
                              statements.size());
      if (failure->kind == SqlFailure::Kind::timed_out && timeout_) {
        error->evalue += fmt::format(" (%timeout {} s)", static_cast<double>(timeout_->count()) / 1000.0);
      }
    }
  }
  if (options->timeout && db.usable()) {
    (void)db.set_statement_timeout(std::nullopt, context.host);
  }
  if (!db.usable()) {
    databases_.erase(target.key);
  }
  if (error && target.embedded && error->ename == "SQLError") {
    error->evalue +=
        "\n(this step ran on the kernel's in-memory SQLite database: no connection was given and "
        "neither DATABASE_URL nor PG* variables are set)";
  }
  return error;
}

}  // namespace tejun::exec
