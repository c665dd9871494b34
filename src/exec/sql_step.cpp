// %%sql steps and %connect: which database a step runs on, its statements one by one with
// their :name parameters bound from the kernel's variables, and errors that say where.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "exec/env_file.hpp"
#include "exec/interpreter.hpp"
#include "exec/sql_results.hpp"
#include "exec/sql_text.hpp"

namespace tejun::exec {

struct Interpreter::SqlTarget {
  enum class Kind : std::uint8_t { postgres, sqlite } kind = Kind::sqlite;
  std::string key;    // in databases_; may hold the password, never shown
  std::string shown;  // for messages: no password
  PgParameters parameters;
  std::string path;       // SQLite: a file or :memory:
  bool embedded = false;  // the in-memory default: nothing was configured
  std::vector<std::string> passwords;
  std::map<std::string, std::optional<std::string>, std::less<>> variables;  // the kernel's, as asked for
};

namespace {

StepError sql_usage(std::string message) {
  return {"SQLError", std::move(message)};
}

// libpq's environment variables and the connection keywords they stand for.
constexpr std::pair<std::string_view, std::string_view> kPgVariables[] = {
    {"PGHOST", "host"},
    {"PGHOSTADDR", "hostaddr"},
    {"PGPORT", "port"},
    {"PGDATABASE", "dbname"},
    {"PGUSER", "user"},
    {"PGPASSWORD", "password"},
    {"PGPASSFILE", "passfile"},
    {"PGSERVICE", "service"},
    {"PGOPTIONS", "options"},
    {"PGAPPNAME", "application_name"},
    {"PGSSLMODE", "sslmode"},
    {"PGSSLROOTCERT", "sslrootcert"},
    {"PGSSLCERT", "sslcert"},
    {"PGSSLKEY", "sslkey"},
    {"PGCONNECT_TIMEOUT", "connect_timeout"},
    {"PGTARGETSESSIONATTRS", "target_session_attrs"},
};

struct SqlOptions {
  std::string connection;
  std::size_t limit = 1000;
  std::optional<std::string> out;
  std::optional<std::chrono::milliseconds> timeout;
};

// The words of the %%sql line; '…' and "…" group.
std::vector<std::string> words(std::string_view args) {
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

base::Result<SqlOptions> parse_sql_options(std::string_view args) {
  SqlOptions options;
  const auto all = words(args);
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

bool is_url(std::string_view text) {
  return text.find("://") != std::string_view::npos || text.starts_with("sqlite:");
}

std::string_view scheme_of(std::string_view url) {
  auto scheme = url.substr(0, url.find(':'));
  return scheme.substr(0, scheme.find('+'));  // postgresql+psycopg2: SQLAlchemy's driver suffix
}

}  // namespace

base::Result<Interpreter::SqlTarget> Interpreter::sql_target(std::string_view connection,
                                                             const std::vector<std::string>& names) {
  SqlTarget target;
  std::string url;
  bool from_step = false;
  if (!connection.empty()) {
    if (is_url(connection)) {
      url = connection;
    } else if (const auto named = named_connections_.find(connection); named != named_connections_.end()) {
      url = named->second.url;
    } else {
      std::string known;
      for (const auto& [name, value] : named_connections_) {
        known += known.empty() ? "" : ", ";
        known += name;
      }
      if (!is_variable_name(connection)) {
        // Not shown: a mistyped URL may hold a password.
        return base::make_error(base::ErrorCode::invalid_argument,
                                "the connection on the %%sql line is neither a URL (postgresql://USER@HOST/DB, "
                                "sqlite:///FILE) nor a %connect name");
      }
      return base::make_error(
          base::ErrorCode::not_found,
          fmt::format(
              "no connection named {} ({}); %connect {} URL makes one, or give a URL: postgresql://USER@HOST/DB "
              "or sqlite:///FILE",
              connection, known.empty() ? "there are none yet" : "there are: " + known, connection));
    }
    from_step = true;
  }
  // One trip to bash for every variable the step needs.
  std::vector<std::string> wanted = names;
  if (from_step) {
    for (auto& name : url_placeholders(url)) {
      wanted.push_back(std::move(name));
    }
  } else {
    wanted.emplace_back("DATABASE_URL");
    for (const auto& [variable, keyword] : kPgVariables) {
      wanted.emplace_back(variable);
    }
  }
  if (!wanted.empty()) {
    std::string script = "for __tejun_n in";
    for (const auto& name : wanted) {
      script += " " + name;
    }
    script += "; do if [[ -v $__tejun_n ]]; then printf '1%s\\0' \"${!__tejun_n}\"; else printf '0\\0'; fi; done";
    auto answer = capture(script);
    if (!answer) {
      return answer.error();
    }
    std::string_view rest = *answer;
    for (const auto& name : wanted) {
      const auto end = rest.find('\0');
      if (end == std::string_view::npos) {
        return base::make_error(base::ErrorCode::io_error, "the shell gave no value for " + name);
      }
      const auto item = rest.substr(0, end);
      target.variables[name] = item.starts_with('1') ? std::optional<std::string>(item.substr(1)) : std::nullopt;
      rest.remove_prefix(end + 1);
    }
  }
  const auto variable = [&target](std::string_view name) -> std::optional<std::string> {
    const auto found = target.variables.find(name);
    return found == target.variables.end() ? std::nullopt : found->second;
  };
  if (from_step) {
    auto filled = fill_url(url, variable);
    if (!filled) {
      return filled.error();
    }
    url = std::move(*filled);
  } else if (auto database_url = variable("DATABASE_URL"); database_url && !database_url->empty()) {
    url = std::move(*database_url);
  }

  if (url.empty()) {
    // libpq's own variables, else the embedded default.
    for (const auto& [name, keyword] : kPgVariables) {
      if (auto value = variable(name); value && !value->empty()) {
        target.parameters.emplace_back(keyword, *value);
        if (keyword == "password") {
          target.passwords.push_back(*value);
        }
      }
    }
    if (target.parameters.empty()) {
      target.kind = SqlTarget::Kind::sqlite;
      target.path = ":memory:";
      target.key = "sqlite::memory:";
      target.shown = "sqlite:// (in memory)";
      target.embedded = true;
      return target;
    }
    target.kind = SqlTarget::Kind::postgres;
    std::string shown;
    for (const auto& [keyword, value] : target.parameters) {
      target.key.append(keyword).append("=").append(value).push_back('\0');
      if (keyword != "password") {
        shown.append(shown.empty() ? "" : " ").append(keyword).append("=").append(value);
      }
    }
    target.shown = "PostgreSQL from the PG* variables (" + shown + ")";
    target.parameters.insert(target.parameters.begin(), {"fallback_application_name", "tejun"});
    target.parameters.emplace_back("client_encoding", "UTF8");
    return target;
  }

  const auto separator = url.find("://");
  if (separator == std::string::npos && url.find('=') != std::string::npos) {
    // libpq's own form, host=… dbname=… (DATABASE_URL may hold one): shown without its text,
    // which may hold a password.
    target.kind = SqlTarget::Kind::postgres;
    target.key = url;
    target.shown = "the libpq connection string in DATABASE_URL";
    target.parameters = {{"fallback_application_name", "tejun"}, {"dbname", url}, {"client_encoding", "UTF8"}};
    target.passwords = postgres_passwords(target.parameters);
    return target;
  }
  const auto scheme = scheme_of(url);
  if (separator == std::string::npos && scheme != "sqlite") {
    return base::make_error(base::ErrorCode::invalid_argument,
                            fmt::format("the connection {} is not a URL (postgresql://USER@HOST/DB or sqlite:///FILE)",
                                        from_step ? "on the %%sql line" : "in DATABASE_URL"));
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    url = std::string(scheme) + url.substr(separator);
    const auto written = url_password(url);
    if (!postgres_url_readable(url) || (written && written->find('/') != std::string_view::npos)) {
      return base::make_error(base::ErrorCode::invalid_argument,
                              fmt::format("{}: libpq cannot read this URL; a user or password with '/', '@', ':' or "
                                          "'%' must be percent-encoded (a {{VAR}} placeholder does that)",
                                          redact_url(url)));
    }
    target.kind = SqlTarget::Kind::postgres;
    target.key = url;
    target.shown = redact_url(url);
    target.parameters = {{"fallback_application_name", "tejun"}, {"dbname", url}, {"client_encoding", "UTF8"}};
    target.passwords = postgres_passwords(target.parameters);
    if (written) {
      target.passwords.emplace_back(*written);
      target.passwords.push_back(percent_decode(*written));
    }
    return target;
  }
  if (scheme == "sqlite") {
    std::string_view path = std::string_view(url).substr(std::string_view("sqlite:").size());
    if (path == "//" || path == "///:memory:" || path == ":memory:") {
      target.path = ":memory:";
    } else if (path.starts_with("////")) {
      target.path = percent_decode(path.substr(3));
    } else if (path.starts_with("///")) {
      target.path = (std::filesystem::path(session_directory()) / percent_decode(path.substr(3))).string();
    } else {
      return base::make_error(base::ErrorCode::invalid_argument,
                              fmt::format("{}: a SQLite URL is sqlite:///RELATIVE/FILE, sqlite:////ABSOLUTE/FILE or "
                                          "sqlite:// (in memory)",
                                          redact_url(url)));
    }
    target.kind = SqlTarget::Kind::sqlite;
    target.key = "sqlite:" + target.path;
    target.shown = target.path == ":memory:" ? "sqlite:// (in memory)" : "sqlite:///" + target.path;
    return target;
  }
  return base::make_error(
      base::ErrorCode::invalid_argument,
      fmt::format("unknown kind of database '{}'; tejun speaks postgresql:// and sqlite://", scheme.substr(0, 40)));
}

SqlDatabase* Interpreter::sql_database(const SqlTarget& target, Context& context, SqlFailure& failure) {
  if (const auto found = databases_.find(target.key); found != databases_.end()) {
    if (found->second->usable()) {
      return found->second.get();
    }
    databases_.erase(found);
  }
  for (const auto& password : target.passwords) {
    secrets_.add(password);
    secrets_.add(percent_encode(password));
  }
  auto opened = target.kind == SqlTarget::Kind::sqlite
                    ? open_sqlite(target.path)
                    : connect_postgres(target.parameters, context.host,
                                       timeout_ ? Clock::now() + *timeout_ : Clock::time_point::max());
  if (opened.database == nullptr) {
    failure = std::move(opened.failure);
    return nullptr;
  }
  auto* database = opened.database.get();
  databases_[target.key] = std::move(opened.database);
  return database;
}

namespace {

// Why a step got no connection, as a step error.
StepError connection_error(const SqlFailure& failure, const std::string& shown,
                           std::optional<std::chrono::milliseconds> timeout) {
  switch (failure.kind) {
    case SqlFailure::Kind::interrupted:
      return {"KeyboardInterrupt", fmt::format("interrupted while connecting to {}", shown)};
    case SqlFailure::Kind::timed_out:
      return {"TimeoutError",
              fmt::format("the step ran longer than {} s (%timeout) while connecting to {}",
                          static_cast<double>(timeout.value_or(std::chrono::milliseconds(0)).count()) / 1000.0, shown)};
    default:
      return {"ConnectionError", fmt::format("cannot connect to {}: {}", shown, failure.message)};
  }
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

std::optional<StepError> Interpreter::open_database(std::string_view connection, const std::vector<std::string>& names,
                                                    Context& context, SqlTarget& target, SqlDatabase*& database) {
  auto resolved = sql_target(connection, names);
  if (!resolved) {
    return StepError{"ConnectionError", resolved.error().message};
  }
  target = std::move(*resolved);
  SqlFailure no_connection;
  database = sql_database(target, context, no_connection);
  if (database == nullptr) {
    return connection_error(no_connection, target.shown, timeout_);
  }
  return std::nullopt;
}

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

std::optional<StepError> Interpreter::run_connect(std::string_view args, Context& context) {
  const auto all = words(args);
  if (all.empty()) {
    std::string text;
    for (const auto& [name, named] : named_connections_) {
      const bool open = databases_.contains(named.key);
      text += fmt::format("{}  {}{}\n", name, redact_url(named.url), open ? "" : "  (not connected)");
    }
    context.host.write_stream(
        StreamName::out, text.empty() ? "no named connections (%connect NAME URL makes one)\n" : secrets_.mask(text));
    return std::nullopt;
  }
  if (all.size() != 2) {
    return StepError{"MagicError", "%connect NAME URL: expected a name and a URL (or nothing, to list them)"};
  }
  const auto& name = all[0];
  if (!is_variable_name(name) || is_url(name)) {
    return StepError{"MagicError", fmt::format("%connect: '{}' is not a valid connection name (letters, digits, _)",
                                               redact_url(name))};
  }
  if (!is_url(all[1])) {
    return StepError{"MagicError", fmt::format("%connect {}: '{}' is not a URL (postgresql://USER@HOST:PORT/DB or "
                                               "sqlite:///FILE)",
                                               name, redact_url(all[1]))};
  }
  SqlTarget target;
  SqlDatabase* database = nullptr;
  if (auto error = open_database(all[1], {}, context, target, database)) {
    return error;
  }
  named_connections_[name] = {all[1], target.key};
  context.host.write_stream(StreamName::out,
                            secrets_.mask(fmt::format("{}: connected to {}\n", name, database->description())));
  return std::nullopt;
}

std::optional<StepError> Interpreter::run_disconnect(std::string_view args, Context& context) {
  const auto found = named_connections_.find(args);
  if (found == named_connections_.end()) {
    return StepError{"MagicError", fmt::format("%disconnect: no connection named {}", args)};
  }
  databases_.erase(found->second.key);
  named_connections_.erase(found);
  context.host.write_stream(StreamName::out, fmt::format("{}: disconnected\n", args));
  return std::nullopt;
}

}  // namespace tejun::exec
