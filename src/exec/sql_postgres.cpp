// PostgreSQL through libpq's asynchronous API: every wait goes through the StepHost, so an
// interrupt cancels the statement on the server (PQcancel) and a %timeout does the same.
// Rows come one at a time (single-row mode), so memory stays bounded whatever the result.
#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <thread>

#include "exec/libpq.hpp"
#include "exec/sql_database.hpp"

namespace tejun::exec {
namespace {

using base::ErrorCode;
using base::make_error;

// How long a connection may take when the kernel's own deadline is further away.
constexpr auto kConnectLimit = std::chrono::seconds(15);
// How long a cancelled statement has to end before its connection is dropped.
constexpr auto kCancelGrace = std::chrono::seconds(5);

// What a column of a type (by OID, from PostgreSQL's pg_type.dat: stable across versions)
// is in Table Schema; types not listed are strings.
struct TypeInfo {
  Oid oid;
  SqlType type;
  SqlType element = SqlType::string;  // arrays
  bool json = false;
};
constexpr TypeInfo kTypes[] = {
    {20, SqlType::integer},                          // int8
    {21, SqlType::integer},                          // int2
    {23, SqlType::integer},                          // int4
    {26, SqlType::integer},                          // oid
    {700, SqlType::number},                          // float4
    {701, SqlType::number},                          // float8
    {1700, SqlType::number},                         // numeric
    {16, SqlType::boolean},                          // bool
    {1082, SqlType::date},                           // date
    {1114, SqlType::datetime},                       // timestamp
    {1184, SqlType::datetime},                       // timestamptz
    {1083, SqlType::time},                           // time
    {1266, SqlType::time},                           // timetz
    {1186, SqlType::duration},                       // interval
    {114, SqlType::object, SqlType::string, true},   // json
    {3802, SqlType::object, SqlType::string, true},  // jsonb
    {1005, SqlType::array, SqlType::integer},        // int2[]
    {1007, SqlType::array, SqlType::integer},        // int4[]
    {1016, SqlType::array, SqlType::integer},        // int8[]
    {1028, SqlType::array, SqlType::integer},        // oid[]
    {1021, SqlType::array, SqlType::number},         // float4[]
    {1022, SqlType::array, SqlType::number},         // float8[]
    {1231, SqlType::array, SqlType::number},         // numeric[]
    {1000, SqlType::array, SqlType::boolean},        // bool[]
    {199, SqlType::array, SqlType::object},          // json[]
    {3807, SqlType::array, SqlType::object},         // jsonb[]
    {1009, SqlType::array},                          // text[]
    {1015, SqlType::array},                          // varchar[]
    {1014, SqlType::array},                          // bpchar[]
    {1003, SqlType::array},                          // name[]
    {2951, SqlType::array},                          // uuid[]
    {1182, SqlType::array},                          // date[]
    {1115, SqlType::array},                          // timestamp[]
    {1185, SqlType::array},                          // timestamptz[]
    {1183, SqlType::array},                          // time[]
    {1187, SqlType::array},                          // interval[]
    {1041, SqlType::array},                          // inet[]
    {651, SqlType::array},                           // cidr[]
};

SqlColumn column_of(const PGresult* result, int index) {
  SqlColumn column;
  column.name = pq().PQfname(result, index);
  const Oid oid = pq().PQftype(result, index);
  for (const auto& known : kTypes) {
    if (known.oid == oid) {
      column.type = known.type;
      column.element = known.element;
      column.json = known.json;
      break;
    }
  }
  return column;
}

std::string field(const PGresult* result, int code) {
  const char* value = pq().PQresultErrorField(result, code);
  return value == nullptr ? std::string() : std::string(value);
}

std::string trimmed_error(const char* message) {
  std::string text = message == nullptr ? std::string() : std::string(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// Byte offset of the 1-based character `position` in `text`.
std::optional<std::size_t> byte_offset(std::string_view text, std::string_view position) {
  std::size_t characters = 0;
  const auto [end, ec] = std::from_chars(position.data(), position.data() + position.size(), characters);
  if (ec != std::errc() || characters == 0) {
    return std::nullopt;
  }
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U && ++seen == characters) {
      return i;
    }
  }
  return text.size();
}

SqlFailure server_failure(const PGresult* result, std::string_view sql) {
  SqlFailure failure;
  failure.kind = SqlFailure::Kind::server;
  failure.message = field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (failure.message.empty()) {
    failure.message = trimmed_error(pq().PQresultErrorMessage(result));
  }
  failure.sqlstate = field(result, PG_DIAG_SQLSTATE);
  failure.detail = field(result, PG_DIAG_MESSAGE_DETAIL);
  failure.hint = field(result, PG_DIAG_MESSAGE_HINT);
  if (const auto position = field(result, PG_DIAG_STATEMENT_POSITION); !position.empty()) {
    failure.position = byte_offset(sql, position);
  }
  return failure;
}

struct ConnDeleter {
  void operator()(PGconn* conn) const noexcept { pq().PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { pq().PQclear(result); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

class Postgres final : public SqlDatabase {
 public:
  explicit Postgres(ConnPtr conn) : conn_(std::move(conn)) {
    pq().PQsetNoticeReceiver(conn_.get(), &Postgres::on_notice, this);
  }

  [[nodiscard]] bool numbered_parameters() const noexcept override { return true; }
  [[nodiscard]] bool usable() const noexcept override {
    return conn_ != nullptr && pq().PQstatus(conn_.get()) == CONNECTION_OK;
  }

  [[nodiscard]] std::string description() const override {
    const char* version = pq().PQparameterStatus(conn_.get(), "server_version");
    return fmt::format("postgresql://{}@{}:{}/{} (PostgreSQL {})", pq().PQuser(conn_.get()), pq().PQhost(conn_.get()),
                       pq().PQport(conn_.get()), pq().PQdb(conn_.get()), version == nullptr ? "?" : version);
  }

  std::optional<SqlFailure> execute(std::string_view sql, std::span<const std::string> /*names*/,
                                    std::span<const std::string> values, SqlSink& sink, StepHost& host,
                                    Clock::time_point deadline) override;

  std::optional<SqlFailure> set_statement_timeout(std::optional<std::chrono::milliseconds> timeout,
                                                  StepHost& host) override;

 private:
  static void on_notice(void* self, const PGresult* result) {
    auto* postgres = static_cast<Postgres*>(self);
    if (postgres->sink_ == nullptr) {
      return;
    }
    const auto severity = field(result, PG_DIAG_SEVERITY);
    auto text =
        fmt::format("{}:  {}\n", severity.empty() ? "NOTICE" : severity, field(result, PG_DIAG_MESSAGE_PRIMARY));
    if (const auto detail = field(result, PG_DIAG_MESSAGE_DETAIL); !detail.empty()) {
      text += fmt::format("DETAIL:  {}\n", detail);
    }
    postgres->sink_->message(StreamName::err, text);
  }

  SqlFailure lost(std::string_view what) const {
    return SqlFailure::of(SqlFailure::Kind::connection,
                          fmt::format("{}: {}", what, trimmed_error(pq().PQerrorMessage(conn_.get()))));
  }

  // Waits for the connection's socket; after an interrupt or the deadline, cancels the
  // statement and gives it kCancelGrace to end. False when the connection was dropped.
  bool wait_readable(StepHost& host, Clock::time_point& deadline, std::optional<SqlFailure>& stopped);
  // The rows of a COPY … TO STDOUT.
  std::optional<SqlFailure> copy_out(SqlSink& sink, StepHost& host, Clock::time_point& deadline,
                                     std::optional<SqlFailure>& stopped);
  void cancel();
  // Sends one statement and reads its results into `sink`.
  std::optional<SqlFailure> run(std::string_view sql, std::span<const std::string> values, SqlSink& sink,
                                StepHost& host, Clock::time_point deadline);
  // Puts statement_timeout back as it was before a step set it, once no transaction is open
  // (a SET inside one would be undone by its ROLLBACK).
  void restore_timeout(StepHost& host);
  // A query that returns at most one value, for the setting of statement_timeout.
  base::Result<std::optional<std::string>> query_value(std::string_view sql, std::span<const std::string> values,
                                                       StepHost& host);

  ConnPtr conn_;
  SqlSink* sink_ = nullptr;
  std::optional<std::string> saved_timeout_;  // statement_timeout before a step set its own
  bool restore_pending_ = false;
};

void Postgres::cancel() {
  PGcancel* handle = pq().PQgetCancel(conn_.get());
  if (handle == nullptr) {
    return;
  }
  // PQcancel opens a connection of its own and blocks while it does: on its own thread, so a
  // server that stopped answering cannot freeze the kernel (the step waits kCancelGrace for
  // the statement to end, then drops the connection).
  std::thread([handle]() {
    std::array<char, 256> error{};
    (void)pq().PQcancel(handle, error.data(), static_cast<int>(error.size()));
    pq().PQfreeCancel(handle);
  }).detach();
}

bool Postgres::wait_readable(StepHost& host, Clock::time_point& deadline, std::optional<SqlFailure>& stopped) {
  pollfd fd{pq().PQsocket(conn_.get()), POLLIN, 0};
  const auto status = host.wait({&fd, 1}, deadline);
  if (status == WaitStatus::ready) {
    return true;
  }
  if (stopped) {
    // Cancelled already, and the statement still runs (or a second interrupt): drop the
    // connection; the next step makes a new one.
    stopped->message += "; the server did not end the statement, so the connection was closed";
    conn_.reset();
    return false;
  }
  if (status == WaitStatus::interrupted) {
    stopped = SqlFailure::of(SqlFailure::Kind::interrupted, "the statement was cancelled on the server (interrupt)");
  } else {
    stopped =
        SqlFailure::of(SqlFailure::Kind::timed_out, "the statement ran past the step's time limit and was cancelled");
  }
  cancel();
  deadline = Clock::now() + kCancelGrace;
  return true;
}

std::optional<SqlFailure> Postgres::copy_out(SqlSink& sink, StepHost& host, Clock::time_point& deadline,
                                             std::optional<SqlFailure>& stopped) {
  // Rows go out in chunks, not a message per row: at 64 KiB, or before a wait once the
  // oldest row has waited 100 ms.
  constexpr std::size_t kChunk = std::size_t{64} * 1024;
  constexpr auto kChunkAge = std::chrono::milliseconds(100);
  std::string chunk;
  auto chunk_started = Clock::now();
  const auto flush = [&]() {
    if (!chunk.empty()) {
      sink.message(StreamName::out, chunk);
      chunk.clear();
    }
  };
  while (true) {
    char* buffer = nullptr;
    const int length = pq().PQgetCopyData(conn_.get(), &buffer, 1);
    if (length > 0) {
      if (chunk.empty()) {
        chunk_started = Clock::now();
      }
      chunk.append(buffer, static_cast<std::size_t>(length));
      pq().PQfreemem(buffer);
      if (chunk.size() >= kChunk) {
        flush();
      }
      continue;
    }
    if (length == -1 || length == -2 || Clock::now() - chunk_started >= kChunkAge) {
      flush();
    }
    if (length == -1) {
      return std::nullopt;
    }
    if (length == -2) {
      return lost("COPY failed");
    }
    if (!wait_readable(host, deadline, stopped)) {
      flush();
      return stopped;
    }
    if (pq().PQconsumeInput(conn_.get()) == 0) {
      flush();
      return lost("the connection was lost");
    }
  }
}

std::optional<SqlFailure> Postgres::execute(std::string_view sql, std::span<const std::string> /*names*/,
                                            std::span<const std::string> values, SqlSink& sink, StepHost& host,
                                            Clock::time_point deadline) {
  if (restore_pending_) {
    restore_timeout(host);
  }
  return run(sql, values, sink, host, deadline);
}

std::optional<SqlFailure> Postgres::run(std::string_view sql, std::span<const std::string> values, SqlSink& sink,
                                        StepHost& host, Clock::time_point deadline) {
  const std::string text(sql);
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& value : values) {
    pointers.push_back(value.c_str());
  }
  const int sent = values.empty() ? pq().PQsendQuery(conn_.get(), text.c_str())
                                  : pq().PQsendQueryParams(conn_.get(), text.c_str(), static_cast<int>(values.size()),
                                                           nullptr, pointers.data(), nullptr, nullptr, 0);
  if (sent == 0) {
    return lost("cannot send the statement");
  }
  (void)pq().PQsetSingleRowMode(conn_.get());
  sink_ = &sink;
  struct Reset {
    SqlSink*& sink;
    ~Reset() { sink = nullptr; }
  } reset{sink_};

  std::optional<SqlFailure> failure;
  std::optional<SqlFailure> stopped;  // interrupted or timed out: the statement was cancelled
  bool in_rows = false;
  std::vector<SqlValue> row;
  const auto fail = [&](SqlFailure reason) {
    if (!failure) {
      failure = std::move(reason);
    }
  };
  const auto finish_rows = [&](bool complete) {
    if (in_rows) {
      in_rows = false;
      if (auto ended = sink.end_rows(complete && !failure); !ended) {
        fail(SqlFailure::of(SqlFailure::Kind::client, ended.error().message));
      }
    }
  };
  while (true) {
    while (conn_ != nullptr && pq().PQisBusy(conn_.get()) == 0) {
      ResultPtr result(pq().PQgetResult(conn_.get()));
      if (result == nullptr) {
        finish_rows(true);
        if (stopped && !failure) {
          // The statement ended on its own before the cancel reached it: it did not fail.
          stopped->message = stopped->kind == SqlFailure::Kind::interrupted
                                 ? "interrupted just as the statement completed (its result stands); the "
                                   "statements after it did not run"
                                 : "the step's time limit passed just as the statement completed (its result "
                                   "stands); the statements after it did not run";
        }
        if (stopped) {
          return stopped;
        }
        return failure;
      }
      switch (pq().PQresultStatus(result.get())) {
        case PGRES_SINGLE_TUPLE:
        case PGRES_TUPLES_OK: {
          const int columns = pq().PQnfields(result.get());
          if (!in_rows) {
            std::vector<SqlColumn> described;
            described.reserve(static_cast<std::size_t>(columns));
            for (int i = 0; i < columns; ++i) {
              described.push_back(column_of(result.get(), i));
            }
            in_rows = true;
            if (auto begun = sink.begin_rows(std::move(described)); !begun) {
              fail(SqlFailure::of(SqlFailure::Kind::client, begun.error().message));
              cancel();
            }
          }
          if (pq().PQresultStatus(result.get()) == PGRES_TUPLES_OK) {
            finish_rows(true);
            break;
          }
          if (failure) {
            break;  // a sink failed: the rest is read and dropped while the cancel arrives
          }
          row.resize(static_cast<std::size_t>(columns));
          for (int i = 0; i < columns; ++i) {
            row[static_cast<std::size_t>(i)] =
                pq().PQgetisnull(result.get(), 0, i) != 0
                    ? SqlValue()
                    : SqlValue(std::string_view(pq().PQgetvalue(result.get(), 0, i),
                                                static_cast<std::size_t>(pq().PQgetlength(result.get(), 0, i))));
          }
          if (auto taken = sink.row(row); !taken) {
            fail(SqlFailure::of(SqlFailure::Kind::client, taken.error().message));
            cancel();
          }
          break;
        }
        case PGRES_COMMAND_OK:
          sink.command(pq().PQcmdStatus(result.get()));
          break;
        case PGRES_COPY_OUT:
          if (auto copied = copy_out(sink, host, deadline, stopped)) {
            return copied;
          }
          break;
        case PGRES_COPY_IN:
          (void)pq().PQputCopyEnd(conn_.get(),
                                  "COPY FROM STDIN has no input in a tejun step (use COPY … FROM 'file' "
                                  "on the server, or a shell step with psql \\copy)");
          break;
        case PGRES_EMPTY_QUERY:
          break;
        default:
          finish_rows(false);
          fail(server_failure(result.get(), sql));
          break;
      }
    }
    if (conn_ == nullptr || !wait_readable(host, deadline, stopped)) {
      finish_rows(false);
      return stopped;
    }
    if (pq().PQconsumeInput(conn_.get()) == 0) {
      finish_rows(false);
      return lost("the connection was lost");
    }
  }
}

// Collects the first value of a result.
class ValueSink final : public SqlSink {
 public:
  std::optional<std::string> value;
  base::Result<void> begin_rows(std::vector<SqlColumn> /*columns*/) override { return {}; }
  base::Result<void> row(std::span<const SqlValue> values) override {
    if (!values.empty() && values[0]) {
      value = std::string(*values[0]);
    }
    return {};
  }
  base::Result<void> end_rows(bool /*complete*/) override { return {}; }
  void command(std::string_view /*tag*/) override {}
  void message(StreamName /*stream*/, std::string_view /*text*/) override {}
};

base::Result<std::optional<std::string>> Postgres::query_value(std::string_view sql,
                                                               std::span<const std::string> values, StepHost& host) {
  ValueSink sink;
  if (auto failure = run(sql, values, sink, host, Clock::now() + kConnectLimit)) {
    return make_error(ErrorCode::io_error, failure->message);
  }
  return sink.value;
}

void Postgres::restore_timeout(StepHost& host) {
  restore_pending_ = false;
  if (!saved_timeout_ || conn_ == nullptr) {
    return;
  }
  if (pq().PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    restore_pending_ = true;  // at the start of a later statement, once the transaction has ended
    return;
  }
  const std::string previous[] = {*saved_timeout_};
  if (auto restored = query_value("select set_config('statement_timeout', $1, false)", previous, host); !restored) {
    restore_pending_ = true;
    return;
  }
  saved_timeout_.reset();
}

std::optional<SqlFailure> Postgres::set_statement_timeout(std::optional<std::chrono::milliseconds> timeout,
                                                          StepHost& host) {
  if (!timeout) {
    restore_timeout(host);
    return std::nullopt;
  }
  if (pq().PQtransactionStatus(conn_.get()) == PQTRANS_INERROR) {
    return std::nullopt;  // nothing runs until ROLLBACK, which needs no time limit
  }
  if (!saved_timeout_) {
    auto current = query_value("show statement_timeout", {}, host);
    if (!current) {
      return SqlFailure::of(SqlFailure::Kind::server, "cannot read statement_timeout: " + current.error().message);
    }
    saved_timeout_ = current->value_or("0");
  }
  restore_pending_ = false;  // this step's end restores it
  const std::string value[] = {std::to_string(timeout->count())};
  if (auto set = query_value("select set_config('statement_timeout', $1, false)", value, host); !set) {
    return SqlFailure::of(SqlFailure::Kind::server, "cannot set statement_timeout: " + set.error().message);
  }
  return std::nullopt;
}

}  // namespace

bool postgres_url_readable(const std::string& url) {
  if (!load_libpq()) {
    return true;  // connecting says what is missing
  }
  char* error = nullptr;
  PQconninfoOption* options = pq().PQconninfoParse(url.c_str(), &error);
  pq().PQfreemem(error);
  pq().PQconninfoFree(options);
  return options != nullptr;
}

std::vector<std::string> postgres_passwords(const PgParameters& parameters) {
  std::vector<std::string> passwords;
  for (const auto& [key, value] : parameters) {
    if (key == "password") {
      passwords.push_back(value);
    } else if (key == "dbname" && load_libpq()) {
      char* error = nullptr;
      PQconninfoOption* options = pq().PQconninfoParse(value.c_str(), &error);
      pq().PQfreemem(error);
      for (auto* option = options; option != nullptr && option->keyword != nullptr; ++option) {
        if (std::string_view(option->keyword) == "password" && option->val != nullptr) {
          passwords.emplace_back(option->val);
        }
      }
      pq().PQconninfoFree(options);
    }
  }
  return passwords;
}

SqlOpened connect_postgres(const PgParameters& parameters, StepHost& host, Clock::time_point deadline) {
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [key, value] : parameters) {
    keywords.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  const auto failed = [](SqlFailure::Kind kind, std::string message) {
    return SqlOpened{nullptr, SqlFailure::of(kind, std::move(message))};
  };
  if (const auto& libpq = load_libpq(); !libpq) {
    return failed(SqlFailure::Kind::connection, libpq.error().message + " (on Debian: apt-get install libpq5)");
  }
  ConnPtr conn(pq().PQconnectStartParams(keywords.data(), values.data(), 1));
  if (conn == nullptr) {
    return failed(SqlFailure::Kind::connection, "out of memory");
  }
  const auto limit = Clock::now() + kConnectLimit;
  auto polling = PGRES_POLLING_WRITING;
  while (true) {
    if (pq().PQstatus(conn.get()) == CONNECTION_BAD || polling == PGRES_POLLING_FAILED) {
      return failed(SqlFailure::Kind::connection, trimmed_error(pq().PQerrorMessage(conn.get())));
    }
    if (polling == PGRES_POLLING_OK) {
      break;
    }
    pollfd fd{pq().PQsocket(conn.get()), static_cast<short>(polling == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    const auto status = host.wait({&fd, 1}, std::min(deadline, limit));
    if (status == WaitStatus::interrupted) {
      return failed(SqlFailure::Kind::interrupted, "interrupted while connecting");
    }
    if (status == WaitStatus::timed_out) {
      if (Clock::now() >= deadline) {
        return failed(SqlFailure::Kind::timed_out, "the step's time limit passed while connecting");
      }
      return failed(SqlFailure::Kind::connection,
                    fmt::format("no connection after {} s (server at \"{}\", port {})",
                                std::chrono::duration_cast<std::chrono::seconds>(kConnectLimit).count(),
                                pq().PQhost(conn.get()), pq().PQport(conn.get())));
    }
    polling = pq().PQconnectPoll(conn.get());
  }
  return {std::make_unique<Postgres>(std::move(conn)), {}};
}

}  // namespace tejun::exec
