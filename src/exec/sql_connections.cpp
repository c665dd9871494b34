// Which database a SQL step runs on: a URL, a %connect name, DATABASE_URL, the PG*
// variables, or the embedded SQLite; connections kept and reused; %connect, %disconnect.
#include <fmt/format.h>

#include <filesystem>

#include "exec/env_file.hpp"
#include "exec/interpreter.hpp"
#include "exec/sql_target.hpp"
#include "exec/sql_text.hpp"

namespace tejun::exec {
namespace {

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
    auto values = session_variables(wanted);
    if (!values) {
      return values.error();
    }
    target.variables = std::move(*values);
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

std::optional<StepError> Interpreter::run_connect(std::string_view args, Context& context) {
  const auto all = split_magic_words(args);
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
