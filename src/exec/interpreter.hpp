// Runs the steps of a runbook kernel: magics first (%env, %cd, %secret, %%time, ...), then
// shell code in the one session. Pure logic over StepHost: the kernel only calls it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/secrets.hpp"
#include "exec/shell_session.hpp"
#include "exec/shell_syntax.hpp"
#include "exec/sql_database.hpp"
#include "exec/step_host.hpp"
#include "integrations/gitlab/gitlab_client.hpp"

namespace tejun::exec {

struct StepError {
  std::string ename;   // what kind of failure: "exit status 2", "KeyboardInterrupt", "MagicError"
  std::string evalue;  // what happened, masked; for shell steps the last lines of stderr
};

struct ExecuteOptions {
  bool allow_stdin = false;
};

struct Completion {
  std::vector<std::string> matches;
  std::size_t cursor_start = 0;
  std::size_t cursor_end = 0;
};

struct MagicHelp {
  std::string_view name;   // "%env" or "%%time"
  std::string_view usage;  // "%env [NAME[=value]]"
  std::string_view help;
};

// Every magic with its help, in the order %lsmagic lists them.
[[nodiscard]] const std::vector<MagicHelp>& magic_table();

class Interpreter {
 public:
  explicit Interpreter(ShellOptions options);
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  Interpreter(Interpreter&&) = delete;
  Interpreter& operator=(Interpreter&&) = delete;
  ~Interpreter();  // removes the files of GitLab file variables

  // Runs one step; nullopt when it succeeded. The error's evalue is masked.
  std::optional<StepError> execute(std::string_view code, StepHost& host, const ExecuteOptions& options);

  [[nodiscard]] Completeness is_complete(std::string_view code);
  [[nodiscard]] Completion complete(std::string_view code, std::size_t cursor);
  // Help for the magic under the cursor, if there is one.
  [[nodiscard]] std::optional<std::string> inspect(std::string_view code, std::size_t cursor) const;

  [[nodiscard]] const Secrets& secrets() const noexcept { return secrets_; }
  void add_secret(std::string value) { secrets_.add(std::move(value)); }
  ShellSession& session() noexcept { return session_; }

 private:
  struct Context {
    StepHost& host;
    const ExecuteOptions& options;
  };
  struct SqlTarget;

  std::optional<StepError> run_step(std::string_view code, Context& context);
  std::optional<StepError> run_shell(std::string_view code, Context& context);
  std::optional<StepError> run_cell_magic(std::string_view name, std::string_view args, std::string_view body,
                                          Context& context);
  std::optional<StepError> run_line_magic(std::string_view name, std::string_view args, Context& context);
  std::optional<StepError> run_env(std::string_view args, Context& context);
  std::optional<StepError> run_cd(std::string_view args, Context& context);
  std::optional<StepError> run_load_env(std::string_view args, Context& context);
  std::optional<StepError> run_timeout(std::string_view args, Context& context);
  std::optional<StepError> run_confirm(std::string_view args, Context& context);
  std::optional<StepError> run_secret(std::string_view args, Context& context);
  std::optional<StepError> run_time(std::string_view body, Context& context);
  // SQL steps (sql_step.cpp).
  std::optional<StepError> run_sql(std::string_view args, std::string_view body, Context& context);
  std::optional<StepError> run_connect(std::string_view args, Context& context);
  std::optional<StepError> run_disconnect(std::string_view args, Context& context);
  // The database a target resolves to, connected (or reused); null with `failure` set when
  // it cannot be had.
  SqlDatabase* sql_database(const SqlTarget& target, Context& context, SqlFailure& failure);
  base::Result<SqlTarget> sql_target(std::string_view connection, const std::vector<std::string>& names);
  // sql_target, then sql_database: the step's error when there is no database.
  std::optional<StepError> open_database(std::string_view connection, const std::vector<std::string>& names,
                                         Context& context, SqlTarget& target, SqlDatabase*& database);
  // HTTP steps (http_step.cpp) and %gitlab (gitlab_magic.cpp).
  std::optional<StepError> run_http(std::string_view args, std::string_view body, Context& context);
  std::optional<StepError> run_gitlab(std::string_view args, Context& context);
  std::optional<StepError> gitlab_connect(const std::vector<std::string>& words, Context& context, bool quiet);
  std::optional<StepError> gitlab_variables(const std::vector<std::string>& words, Context& context);
  std::optional<StepError> run_internal(const std::string& command, Context& context, std::string input = {});
  // The session's values of `names` (bash variables, exported or not), in one trip to bash;
  // nullopt for a name that is not set.
  base::Result<std::map<std::string, std::optional<std::string>, std::less<>>> session_variables(
      const std::vector<std::string>& names);
  [[nodiscard]] std::string session_directory() const;
  // Runs `code` quietly after the pending %env assignments and returns its stdout.
  base::Result<std::string> capture(std::string_view code);
  // The pending %env assignments, taken: they go in front of the next code bash runs.
  std::string take_pending();

  ShellOptions options_;
  Secrets secrets_;
  ShellSession session_;
  std::optional<std::chrono::milliseconds> timeout_;  // from %timeout, for every later step
  // `%env NAME=value` costs no trip to bash: its export runs just before the next code bash
  // runs, in order, so interpolation sees the same values it would have seen at once.
  std::string pending_;
  // Open database connections by what they connect to (URL with the password, or the
  // libpq parameters): reused by every step that resolves to the same thing.
  std::map<std::string, std::unique_ptr<SqlDatabase>, std::less<>> databases_;
  // %connect NAME URL: the URL as written ({VAR} placeholders filled at each use), and the
  // key in databases_ it resolved to last.
  struct NamedConnection {
    std::string url;
    std::string key;
  };
  std::map<std::string, NamedConnection, std::less<>> named_connections_;
  // %gitlab connect: where, with which token, as whom, and the default project.
  struct GitlabLink {
    integrations::gitlab::Connection connection;
    integrations::gitlab::User user;
    std::optional<integrations::gitlab::Project> project;  // the default project, if one was given
  };
  std::optional<GitlabLink> gitlab_;
  // The private folder (0700) that holds file-type GitLab variables; removed with the kernel.
  std::string variable_files_;
  int variable_loads_ = 0;  // each load writes its files into a folder of its own
};

// `code` without its leading line magics, blank lines and comments, and without a %%bash,
// %%sh or %%time first line: the shell code bash will see (for is_complete).
[[nodiscard]] std::string_view shell_part(std::string_view code);

}  // namespace tejun::exec
