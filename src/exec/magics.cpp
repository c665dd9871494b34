// The line and cell magics of the tejun kernel (Interpreter's magic half).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/text.hpp"
#include "exec/env_file.hpp"
#include "exec/interpreter.hpp"
#include "exec/process_tree.hpp"

namespace tejun::exec {
namespace {

StepError magic_error(std::string message) {
  return {"MagicError", std::move(message)};
}

// Queued %env exports past this size are applied at once rather than kept.
constexpr std::size_t kMaxPendingBytes = std::size_t{64} * 1024;

// The value of %env NAME=value as a double-quoted bash word: {OTHER} becomes ${OTHER} (the
// form GitLab's runbooks use), everything else is literal.
std::string interpolated_word(std::string_view value) {
  std::string word = "\"";
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '{') {
      const auto close = value.find('}', i + 1);
      if (close != std::string_view::npos && is_variable_name(value.substr(i + 1, close - i - 1))) {
        word += "${";
        word += value.substr(i + 1, close - i - 1);
        word += '}';
        i = close;
        continue;
      }
    }
    if (c == '"' || c == '\\' || c == '$' || c == '`') {
      word += '\\';
    }
    word += c;
  }
  word += '"';
  return word;
}

// "question" or 'question' → question; anything else as it is.
std::string_view unquote(std::string_view text) {
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front()) {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

std::string format_duration(double seconds) {
  if (seconds < 1.0) {
    return fmt::format("{:.1f} ms", seconds * 1000.0);
  }
  return fmt::format("{:.2f} s", seconds);
}

// User and system CPU seconds of `pid` and its waited-for children.
std::pair<double, double> cpu_times(pid_t pid) {
  const auto stat = process_stat(pid);
  const auto per_second = ticks_per_second();
  return {static_cast<double>(stat.user_ticks) / per_second, static_cast<double>(stat.system_ticks) / per_second};
}

}  // namespace

const std::vector<MagicHelp>& magic_table() {
  static const std::vector<MagicHelp> kTable = {
      {"%cd", "%cd [DIR]", "Changes the session's working directory (home without DIR) and prints it."},
      {"%clear", "%clear", "Clears the step's output in the front end."},
      {"%connect", "%connect [NAME URL]",
       "Connects to a database and names the connection for %%sql NAME: postgresql://USER:PASSWORD@HOST:PORT/DB "
       "or sqlite:///FILE. {VAR} in the URL is replaced by the variable VAR (percent-encoded). Without "
       "arguments lists the connections."},
      {"%confirm", "%confirm \"QUESTION\"",
       "Asks QUESTION through the front end; anything but yes stops the step and the run. "
       "Put it before a dangerous command."},
      {"%disconnect", "%disconnect NAME", "Closes the connection named NAME."},
      {"%env", "%env [NAME | NAME=value]",
       "Without arguments lists the environment; %env NAME shows one variable; %env NAME=value "
       "sets it for every later step. {OTHER} in the value is replaced by the variable OTHER."},
      {"%gitlab", "%gitlab connect|whoami|project|variables [OPTIONS]",
       "Talks to GitLab with the token in GITLAB_ACCESS_TOKEN (or PRIVATE_TOKEN, or --token-env NAME), at GITLAB_URL "
       "(or CI_SERVER_URL, or --url). connect [--project ID_OR_PATH] [--timeout SECONDS] checks the token; whoami "
       "and project [ID_OR_PATH] show who and which project; variables [--environment NAME] [--only K1,K2] "
       "[--prefix P] [--unprotected] loads the project's CI/CD variables as a job on that environment sees them "
       "(instance, groups, project; masked ones print as [MASKED], file ones become paths), all or none."},
      {"%load_env", "%load_env FILE",
       "Sets the variables of a .env file (NAME=value lines, # comments, quoted values)."},
      {"%lsmagic", "%lsmagic", "Lists the magics."},
      {"%secret", "%secret NAME",
       "Asks for a value without echo, sets NAME to it and masks it as [MASKED] in all output."},
      {"%timeout", "%timeout SECONDS", "Stops every later step that runs longer than SECONDS (0 or off: no limit)."},
      {"%%bash", "%%bash", "Runs the rest of the cell as shell code in the session (the default)."},
      {"%%html", "%%html", "Shows the rest of the cell as HTML."},
      {"%%http", "%%http [--timeout SECONDS] [--fail] [--out FILE] [--limit BYTES]",
       "Sends the HTTP request in the rest of the cell (.http format: METHOD URL, header lines, a blank line, the "
       "body; ### between requests) and shows the status, headers and body (JSON pretty-printed). {VAR} is "
       "replaced by the variable VAR. --fail makes 4xx and 5xx fail the step; --out FILE saves the whole body; "
       "--limit cuts the shown body (102400 bytes unless it says otherwise)."},
      {"%%markdown", "%%markdown", "Shows the rest of the cell as Markdown."},
      {"%%sh", "%%sh", "Same as %%bash."},
      {"%%sql", "%%sql [CONNECTION] [--limit N] [--out FILE] [--timeout SECONDS]",
       "Runs the rest of the cell as SQL statements and shows each result as a table (at most N rows, 1000 "
       "unless --limit says otherwise; the total is always counted). CONNECTION is a URL or a %connect name; "
       "without one: DATABASE_URL, else the PG* variables, else an in-memory SQLite database. :name binds the "
       "variable name as a parameter. --out FILE writes every row to FILE as CSV. --timeout sets the "
       "statement timeout."},
      {"%%time", "%%time", "Runs the rest of the cell and prints its wall and CPU time."},
  };
  return kTable;
}

std::optional<StepError> Interpreter::run_env(std::string_view args, Context& context) {
  if (args.empty()) {
    auto listing = capture("env -0");
    if (!listing) {
      return magic_error(listing.error().message);
    }
    std::vector<std::string> lines;
    std::string_view rest = *listing;
    while (!rest.empty()) {
      const auto end = rest.find('\0');
      lines.emplace_back(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    }
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const auto& line : lines) {
      text += text.empty() ? "" : "\n";
      text += line;
    }
    context.host.display({{"text/plain", secrets_.mask(text)}}, true);
    return std::nullopt;
  }
  const auto equals = args.find('=');
  const auto space = args.find_first_of(" \t");
  if (equals == std::string_view::npos && space == std::string_view::npos) {
    if (!is_variable_name(args)) {
      return magic_error(fmt::format("%env: '{}' is not a valid variable name", args));
    }
    auto value = capture(fmt::format("[[ -v {0} ]] && printf 'set:%s' \"${0}\"", args));
    if (!value) {
      return magic_error(fmt::format("%env: {} is not set", args));
    }
    context.host.display({{"text/plain", secrets_.mask(value->substr(4))}}, true);
    return std::nullopt;
  }
  // IPython accepts both NAME=value and NAME value.
  const auto split =
      equals != std::string_view::npos && (space == std::string_view::npos || equals < space) ? equals : space;
  auto name = args.substr(0, split);
  while (!name.empty() && name.back() == ' ') {
    name.remove_suffix(1);
  }
  auto value = args.substr(split + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '=')) {
    value.remove_prefix(1);
  }
  if (!is_variable_name(name)) {
    return magic_error(fmt::format("%env: '{}' is not a valid variable name", name));
  }
  pending_ += fmt::format("export {}={}; ", name, interpolated_word(value));  // same line: keeps line numbers
  if (pending_.size() > kMaxPendingBytes) {
    return run_internal("", context);  // bounded: a long run of %env steps is applied now
  }
  return std::nullopt;
}

std::optional<StepError> Interpreter::run_cd(std::string_view args, Context& context) {
  const auto directory = unquote(args);
  std::string target;
  if (directory.empty() || directory == "~") {
    target = "\"$HOME\"";
  } else if (directory.starts_with("~/")) {
    target = "\"$HOME\"/" + shell_quote(directory.substr(2));
  } else {
    target = shell_quote(directory);
  }
  return run_internal("cd -- " + target + " && pwd", context);
}

std::string Interpreter::session_directory() const {
  std::error_code ec;
  auto directory = std::filesystem::read_symlink("/proc/" + std::to_string(session_.pid()) + "/cwd", ec);
  return ec ? std::filesystem::current_path(ec).string() : directory.string();
}

std::optional<StepError> Interpreter::run_load_env(std::string_view args, Context& context) {
  const auto file = unquote(args);
  if (file.empty()) {
    return magic_error("%load_env: which file? (%load_env FILE)");
  }
  if (auto started = session_.start(); !started) {
    return magic_error(started.error().message);
  }
  std::filesystem::path path(file);
  if (path.is_relative()) {
    path = std::filesystem::path(session_directory()) / path;
  }
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    return magic_error(fmt::format("%load_env: cannot read {}", file));
  }
  const std::string text((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  auto entries = parse_env_file(text);
  if (!entries) {
    const auto& where = entries.error().where;
    return magic_error(fmt::format("%load_env: {}:{}:{}: {}", file, where.line, where.column, entries.error().message));
  }
  std::string command;
  std::string names;
  for (const auto& [name, value] : *entries) {
    command += fmt::format("export {}={}\n", name, shell_quote(value));
    names += names.empty() ? "" : ", ";
    names += name;
  }
  if (auto error = run_internal(command, context)) {
    return error;
  }
  context.host.write_stream(StreamName::out,
                            fmt::format("loaded {} variable{} from {}{}{}\n", entries->size(),
                                        entries->size() == 1 ? "" : "s", file, names.empty() ? "" : ": ", names));
  return std::nullopt;
}

std::optional<StepError> Interpreter::run_timeout(std::string_view args, Context& context) {
  if (args == "0" || args == "off" || args == "none") {
    timeout_.reset();
    context.host.write_stream(StreamName::out, "steps have no time limit\n");
    return std::nullopt;
  }
  double seconds = 0;
  const auto [end, ec] = std::from_chars(args.data(), args.data() + args.size(), seconds);
  constexpr double kLongestTimeout = 1e7;  // about 115 days: past that, use "off"
  if (ec != std::errc() || end != args.data() + args.size() || !(seconds > 0 && seconds <= kLongestTimeout)) {
    return magic_error(fmt::format("%timeout: expected a number of seconds (or off), found '{}'", args));
  }
  timeout_ = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
  context.host.write_stream(StreamName::out, fmt::format("later steps stop after {} s\n", args));
  return std::nullopt;
}

std::optional<StepError> Interpreter::run_confirm(std::string_view args, Context& context) {
  const std::string question(unquote(args).empty() ? std::string_view("Continue?") : unquote(args));
  if (!context.options.allow_stdin) {
    return StepError{"NotConfirmed", fmt::format("%confirm needs an answer, but this front end does not "
                                                 "send input (allow_stdin is false): {}",
                                                 question)};
  }
  // "[yes/no]" is added unless the question says how to answer already.
  const std::string lower = base::ascii_lowercase(question);
  const bool says_how = lower.find("yes/no") != std::string::npos || lower.find("y/n") != std::string::npos;
  auto answer = context.host.ask(question + (says_how ? " " : " [yes/no] "), false);
  if (!answer) {
    return StepError{"NotConfirmed", fmt::format("{}: {}", question, answer.error().message)};
  }
  std::string reply;
  for (const char c : *answer) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      reply += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (reply != "yes" && reply != "y") {
    return StepError{"NotConfirmed", fmt::format("not confirmed: {} (the answer was '{}')", question, *answer)};
  }
  return std::nullopt;
}

std::optional<StepError> Interpreter::run_secret(std::string_view args, Context& context) {
  if (!is_variable_name(args)) {
    return magic_error(fmt::format("%secret: '{}' is not a valid variable name (%secret NAME)", args));
  }
  if (!context.options.allow_stdin) {
    return magic_error(
        fmt::format("%secret {} needs input, but this front end does not send input "
                    "(allow_stdin is false)",
                    args));
  }
  auto value = context.host.ask(std::string(args) + ": ", true);
  if (!value) {
    return magic_error(fmt::format("%secret {}: {}", args, value.error().message));
  }
  if (value->empty()) {
    return magic_error(fmt::format("%secret {}: the value is empty", args));
  }
  secrets_.add(*value);
  // The value goes in on stdin, so it is in no command line, trace or history.
  return run_internal(fmt::format("IFS= read -r -d '' {0}; export {0}", args), context, *value + '\0');
}

std::optional<StepError> Interpreter::run_time(std::string_view body, Context& context) {
  if (auto started = session_.start(); !started) {
    return magic_error(started.error().message);
  }
  const auto before = cpu_times(session_.pid());
  const auto start = Clock::now();
  auto error = run_step(body, context);
  const auto wall = std::chrono::duration<double>(Clock::now() - start).count();
  const auto after = session_.pid() > 0 ? cpu_times(session_.pid()) : before;
  const auto user = std::max(0.0, after.first - before.first);
  const auto system = std::max(0.0, after.second - before.second);
  context.host.write_stream(
      StreamName::out, fmt::format("CPU times: user {}, sys {}, total {}\nWall time: {}\n", format_duration(user),
                                   format_duration(system), format_duration(user + system), format_duration(wall)));
  return error;
}

}  // namespace tejun::exec
