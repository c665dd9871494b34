#include "exec/interpreter.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "base/text.hpp"

namespace tejun::exec {
namespace {

using base::trim;

// Splits "%name args" (without the percent signs) into name and args.
std::pair<std::string_view, std::string_view> split_magic(std::string_view line) {
  const auto space = line.find_first_of(" \t");
  if (space == std::string_view::npos) {
    return {line, {}};
  }
  return {line.substr(0, space), trim(line.substr(space + 1))};
}

// How long a command a magic runs in the session (export, cd) may take.
constexpr std::chrono::milliseconds kInternalLimit = std::chrono::seconds(10);

struct CellMagic {
  std::string_view name;
  std::string_view args;
  std::string_view body;
};

// The %%name line of a step that starts with one, and the rest of the step.
std::optional<CellMagic> cell_magic(std::string_view code) {
  if (!code.starts_with("%%")) {
    return std::nullopt;
  }
  const auto newline = code.find('\n');
  const auto [name, args] =
      split_magic(trim(code.substr(2, newline == std::string_view::npos ? code.npos : newline - 2)));
  return CellMagic{name, args, newline == std::string_view::npos ? std::string_view() : code.substr(newline + 1)};
}

bool runs_shell(std::string_view cell_magic_name) {
  return cell_magic_name == "bash" || cell_magic_name == "sh" || cell_magic_name == "time";
}

// Takes the next line of a step's leading part (line magics, blank lines, comments) off
// `code`; nullopt once the shell code begins.
std::optional<std::string_view> take_leading_line(std::string_view& code) {
  if (code.empty()) {
    return std::nullopt;
  }
  const auto newline = code.find('\n');
  const auto line = trim(code.substr(0, newline));
  if (!line.empty() && line.front() != '%' && line.front() != '#') {
    return std::nullopt;
  }
  code.remove_prefix(newline == std::string_view::npos ? code.size() : newline + 1);
  return line;
}

StepError shell_error(const ShellResult& result, std::chrono::milliseconds timeout) {
  switch (result.end) {
    case ShellEnd::exited:
      return {fmt::format("exit status {}", result.status),
              result.stderr_tail.empty() ? fmt::format("the step exited with status {}", result.status)
                                         : result.stderr_tail};
    case ShellEnd::interrupted:
      return {"KeyboardInterrupt",
              "the step was interrupted" + (result.note.empty() ? std::string() : "; " + result.note)};
    case ShellEnd::timed_out:
      return {"TimeoutError", fmt::format("the step ran longer than {} s (%timeout) and was stopped",
                                          static_cast<double>(timeout.count()) / 1000.0)};
    case ShellEnd::input_refused:
      return {"StdinNotAllowed",
              "the step waits for input on stdin, but this front end does not send input "
              "(allow_stdin is false): give the input in the step (a pipe or a here-document)"};
    case ShellEnd::session_ended:
      break;
  }
  return {"ShellExited", fmt::format("the shell session ended with status {} (exit or set -e in a step?); a new "
                                     "session starts with the next step, without the variables and functions set "
                                     "before{}",
                                     result.status, result.stderr_tail.empty() ? "" : "\n" + result.stderr_tail)};
}

// The names of the cell magics (`cell`) or the line magics, joined by `separator`.
std::string magic_names(bool cell, std::string_view separator) {
  std::string names;
  for (const auto& magic : magic_table()) {
    if (magic.name.starts_with("%%") == cell) {
      names += names.empty() ? "" : separator;
      names += magic.name;
    }
  }
  return names;
}

}  // namespace

std::string_view shell_part(std::string_view code) {
  if (const auto magic = cell_magic(code)) {
    return runs_shell(magic->name) ? shell_part(magic->body) : std::string_view();
  }
  while (take_leading_line(code)) {
  }
  return code;
}

Interpreter::Interpreter(ShellOptions options) : options_(options), session_(std::move(options), secrets_) {
  // A token or password the kernel was started with (the hub injects GITLAB_ACCESS_TOKEN) is
  // masked from the first step on.
  constexpr std::size_t kShortest = 8;  // as GitLab: shorter values would mask ordinary words
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals != std::string_view::npos && text.size() - equals - 1 >= kShortest &&
        is_secret_name(text.substr(0, equals))) {
      secrets_.add(std::string(text.substr(equals + 1)));
    }
  }
}

Interpreter::~Interpreter() {
  if (!variable_files_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(variable_files_, ignored);
  }
}

std::optional<StepError> Interpreter::execute(std::string_view code, StepHost& host, const ExecuteOptions& options) {
  Context context{host, options};
  auto error = run_step(code, context);
  if (error) {
    // The one place a step's error is masked: every path above may carry a secret into it.
    secrets_.mask_in_place(error->evalue);
  }
  return error;
}

std::optional<StepError> Interpreter::run_step(std::string_view code, Context& context) {
  if (const auto magic = cell_magic(code)) {
    return run_cell_magic(magic->name, magic->args, magic->body, context);
  }
  // Line magics lead the step; the first other line starts its shell code.
  while (const auto line = take_leading_line(code)) {
    if (line->starts_with('%')) {
      const auto [name, args] = split_magic(line->substr(1));
      if (auto error = run_line_magic(name, args, context)) {
        return error;
      }
    }
  }
  if (trim(code).empty()) {
    return std::nullopt;
  }
  return run_shell(code, context);
}

std::optional<StepError> Interpreter::run_shell(std::string_view code, Context& context) {
  StepLimits limits;
  limits.allow_stdin = context.options.allow_stdin;
  if (timeout_) {
    limits.deadline = Clock::now() + *timeout_;
  }
  const auto result = session_.run(take_pending() + std::string(code), context.host, limits);
  if (result.end == ShellEnd::exited && result.status == 0) {
    return std::nullopt;
  }
  auto error = shell_error(result, timeout_.value_or(std::chrono::milliseconds(0)));
  return error;
}

std::optional<StepError> Interpreter::run_internal(const std::string& command, Context& context, std::string input) {
  const auto result =
      session_.run(take_pending() + command, context.host, {Clock::now() + kInternalLimit, false, std::move(input)});
  if (result.end == ShellEnd::exited && result.status == 0) {
    return std::nullopt;
  }
  auto error = shell_error(result, kInternalLimit);
  error.ename = "MagicError";
  return error;
}

std::optional<StepError> Interpreter::run_cell_magic(std::string_view name, std::string_view args,
                                                     std::string_view body, Context& context) {
  if (name == "bash" || name == "sh") {
    if (!args.empty()) {
      return StepError{"MagicError", fmt::format("%%{} takes no arguments; the step runs in the "
                                                 "kernel's shell session",
                                                 name)};
    }
    return trim(body).empty() ? std::nullopt : run_shell(body, context);
  }
  if (name == "time") {
    if (body.starts_with("%%")) {
      return StepError{"MagicError", "%%time must be followed by the code to time, not another cell magic"};
    }
    return run_time(body, context);
  }
  if (name == "sql") {
    return run_sql(args, body, context);
  }
  if (name == "http") {
    return run_http(args, body, context);
  }
  if (name == "markdown" || name == "html") {
    const std::string text = secrets_.mask(body);
    context.host.display({{name == "html" ? "text/html" : "text/markdown", text}, {"text/plain", text}}, false);
    return std::nullopt;
  }
  return StepError{"MagicError",
                   fmt::format("unknown cell magic %%{}; the cell magics are: {}", name, magic_names(true, " "))};
}

std::optional<StepError> Interpreter::run_line_magic(std::string_view name, std::string_view args, Context& context) {
  using LineMagic = std::optional<StepError> (Interpreter::*)(std::string_view, Context&);
  static const std::unordered_map<std::string_view, LineMagic> kLineMagics = {
      {"env", &Interpreter::run_env},           {"cd", &Interpreter::run_cd},
      {"load_env", &Interpreter::run_load_env}, {"timeout", &Interpreter::run_timeout},
      {"confirm", &Interpreter::run_confirm},   {"secret", &Interpreter::run_secret},
      {"connect", &Interpreter::run_connect},   {"disconnect", &Interpreter::run_disconnect},
      {"gitlab", &Interpreter::run_gitlab}};
  if (const auto found = kLineMagics.find(name); found != kLineMagics.end()) {
    return (this->*(found->second))(args, context);
  }
  if (name == "clear") {
    context.host.clear_output();
    return std::nullopt;
  }
  if (name == "lsmagic") {
    context.host.display(
        {{"text/plain", "Line magics:  " + magic_names(false, "  ") + "\nCell magics:  " + magic_names(true, "  ")}},
        true);
    return std::nullopt;
  }
  return StepError{"MagicError", fmt::format("unknown magic %{}; the line magics are: {} "
                                             "(cell magics: see %lsmagic)",
                                             name, magic_names(false, " "))};
}

std::string Interpreter::take_pending() {
  std::string pending = std::move(pending_);
  pending_.clear();
  return pending;
}

base::Result<std::string> Interpreter::capture(std::string_view code) {
  return session_.capture(take_pending() + std::string(code));
}

base::Result<std::map<std::string, std::optional<std::string>, std::less<>>> Interpreter::session_variables(
    const std::vector<std::string>& names) {
  std::map<std::string, std::optional<std::string>, std::less<>> values;
  if (names.empty()) {
    return values;
  }
  std::string script = "for __tejun_n in";
  for (const auto& name : names) {
    script += " " + name;
  }
  script += "; do if [[ -v $__tejun_n ]]; then printf '1%s\\0' \"${!__tejun_n}\"; else printf '0\\0'; fi; done";
  auto answer = capture(script);
  if (!answer) {
    return answer.error();
  }
  std::string_view rest = *answer;
  for (const auto& name : names) {
    const auto end = rest.find('\0');
    if (end == std::string_view::npos) {
      return base::make_error(base::ErrorCode::io_error, "the shell gave no value for " + name);
    }
    const auto item = rest.substr(0, end);
    values[name] = item.starts_with('1') ? std::optional<std::string>(item.substr(1)) : std::nullopt;
    rest.remove_prefix(end + 1);
  }
  return values;
}

Completeness Interpreter::is_complete(std::string_view code) {
  // A display magic (%%markdown, %%html) has no shell part: any text is complete.
  const auto shell = shell_part(code);
  if (trim(shell).empty()) {
    return Completeness::complete;
  }
  return shell_completeness(shell, options_.bash_path);
}

std::optional<std::string> Interpreter::inspect(std::string_view code, std::size_t cursor) const {
  cursor = std::min(cursor, code.size());
  auto start = cursor;
  while (start > 0 && code[start - 1] != ' ' && code[start - 1] != '\n' && code[start - 1] != '\t') {
    --start;
  }
  auto end = cursor;
  while (end < code.size() && code[end] != ' ' && code[end] != '\n' && code[end] != '\t') {
    ++end;
  }
  auto word = code.substr(start, end - start);
  while (word.ends_with('?')) {
    word.remove_suffix(1);
  }
  if (!word.starts_with('%')) {
    return std::nullopt;
  }
  for (const auto& magic : magic_table()) {
    if (magic.name == word || (magic.name.starts_with("%%") && magic.name.substr(1) == word)) {
      return fmt::format("{}\n\n{}", magic.usage, magic.help);
    }
  }
  return std::nullopt;
}

}  // namespace tejun::exec
