// %gitlab: connect to GitLab with the session's token, check who and which project, and
// load CI/CD variables into the session the way a GitLab CI job sees them.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "exec/env_file.hpp"
#include "exec/host_waiter.hpp"
#include "exec/interpreter.hpp"
#include "exec/sql_table.hpp"
#include "exec/sql_text.hpp"

namespace tejun::exec {
namespace {

namespace gitlab = integrations::gitlab;

constexpr std::string_view kUsage =
    "%gitlab connect [--url URL] [--project ID_OR_PATH] [--token-env NAME] [--timeout SECONDS] | whoami | "
    "project [ID_OR_PATH] | variables [--environment NAME] [--only K1,K2] [--prefix P] [--unprotected]";

StepError gitlab_error(const gitlab::GitlabError& error) {
  return {error.kind == gitlab::GitlabError::Kind::interrupted ? "KeyboardInterrupt" : "GitLabError", error.message};
}

StepError usage_error(std::string message) {
  return {"MagicError", std::move(message)};
}

// --name value / --name=value / --flag options of a %gitlab subcommand.
struct Options {
  std::map<std::string, std::string, std::less<>> values;
  std::vector<std::string> positional;
};

base::Result<Options> parse_options(const std::vector<std::string>& words, std::string_view subcommand,
                                    std::initializer_list<std::string_view> with_value,
                                    std::initializer_list<std::string_view> flags, std::size_t positional) {
  Options options;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto& word = words[i];
    if (!word.starts_with("--")) {
      if (options.positional.size() == positional) {
        return base::make_error(base::ErrorCode::invalid_argument,
                                fmt::format("%gitlab {}: unexpected '{}' ({})", subcommand, word, kUsage));
      }
      options.positional.push_back(word);
      continue;
    }
    const auto equals = word.find('=');
    const std::string name = word.substr(0, equals);
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      options.values[name] = "true";
      continue;
    }
    if (std::find(with_value.begin(), with_value.end(), name) == with_value.end()) {
      return base::make_error(base::ErrorCode::invalid_argument,
                              fmt::format("%gitlab {}: unknown option {} ({})", subcommand, name, kUsage));
    }
    if (equals != std::string::npos) {
      options.values[name] = word.substr(equals + 1);
    } else if (i + 1 < words.size()) {
      options.values[name] = words[++i];
    } else {
      return base::make_error(base::ErrorCode::invalid_argument,
                              fmt::format("%gitlab {} {} needs a value", subcommand, name));
    }
  }
  return options;
}

std::string option(const Options& options, std::string_view name) {
  const auto found = options.values.find(name);
  return found == options.values.end() ? std::string() : found->second;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      items.emplace_back(item);
    }
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
  }
  return items;
}

// Creates a private folder (0700) for file variables under $TMPDIR or /tmp.
base::Result<std::string> make_private_folder() {
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read before any thread changes it
  std::string pattern =
      (tmp != nullptr && *tmp != '\0' ? std::string(tmp) : std::string("/tmp")) + "/tejun-gitlab-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return base::make_error(
        base::ErrorCode::io_error,
        fmt::format("cannot make a private folder for file variables in {}: {}",
                    std::filesystem::path(pattern).parent_path().string(), std::generic_category().message(errno)));
  }
  return pattern;
}

base::Result<void> write_private_file(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return base::make_error(base::ErrorCode::io_error,
                            fmt::format("cannot create {}: {}", path, std::generic_category().message(errno)));
  }
  std::size_t written = 0;
  while (written < content.size()) {
    const auto n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return base::make_error(base::ErrorCode::io_error,
                              fmt::format("cannot write {}: {}", path, std::generic_category().message(error)));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    return base::make_error(base::ErrorCode::io_error,
                            fmt::format("cannot write {}: {}", path, std::generic_category().message(errno)));
  }
  return {};
}

// A value as the table shows it: one line, at most 60 characters.
std::string table_value(std::string_view value) {
  constexpr std::size_t kWidest = 60;
  std::string shown;
  for (const char c : value) {
    if (c == '\n') {
      shown += "\\n";
    } else if (c == '\t') {
      shown += "\\t";
    } else {
      shown += c;
    }
  }
  if (shown.size() > kWidest) {
    std::size_t cut = kWidest;
    while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0U) == 0x80U) {
      --cut;  // not inside a UTF-8 sequence
    }
    shown = shown.substr(0, cut) + "…";
  }
  return shown;
}

std::optional<std::chrono::milliseconds> parse_seconds(std::string_view text) {
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || !(seconds > 0 && seconds <= 3600)) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds * 1000)));
}

}  // namespace

std::optional<StepError> Interpreter::run_gitlab(std::string_view args, Context& context) {
  auto words = split_magic_words(args);
  if (words.empty()) {
    return usage_error(fmt::format("%gitlab needs a subcommand: {}", kUsage));
  }
  const std::string subcommand = words.front();
  words.erase(words.begin());
  if (subcommand == "connect") {
    return gitlab_connect(words, context, false);
  }
  if (subcommand != "whoami" && subcommand != "project" && subcommand != "variables") {
    return usage_error(fmt::format("%gitlab: unknown subcommand '{}' ({})", subcommand, kUsage));
  }
  if (subcommand == "variables") {
    return gitlab_variables(words, context);
  }
  if (!gitlab_) {
    if (auto error = gitlab_connect({}, context, true)) {
      return error;
    }
  }
  HostWaiter waiter(context.host);
  gitlab::Client client(gitlab_->connection, waiter);
  if (subcommand == "whoami") {
    if (!words.empty()) {
      return usage_error("%gitlab whoami takes no arguments");
    }
    auto user = client.user();
    if (!user) {
      return gitlab_error(user.error());
    }
    auto version = client.version();
    if (!version) {
      return gitlab_error(version.error());
    }
    context.host.write_stream(
        StreamName::out,
        secrets_.mask(fmt::format("@{} ({}), user #{}{}; token from {}; GitLab {} at {}\n", user->username, user->name,
                                  user->id, user->admin ? ", administrator" : "", gitlab_->connection.token_source,
                                  *version, gitlab_->connection.url)));
    return std::nullopt;
  }
  auto parsed = parse_options(words, "project", {}, {}, 1);
  if (!parsed) {
    return usage_error(parsed.error().message);
  }
  std::string wanted = parsed->positional.empty() ? std::string() : parsed->positional.front();
  if (wanted.empty()) {
    if (!gitlab_->project) {
      return usage_error(
          "%gitlab project: which project? Give its id or path, or connect with --project (or set GITLAB_PROJECT_ID)");
    }
    wanted = std::to_string(gitlab_->project->id);
  }
  auto project = client.project(wanted);
  if (!project) {
    return gitlab_error(project.error());
  }
  context.host.write_stream(
      StreamName::out, secrets_.mask(fmt::format("{} (#{}) \"{}\", {}, default branch {}; your role: {}; {}\n",
                                                 project->path, project->id, project->name, project->visibility,
                                                 project->default_branch.empty() ? "(none)" : project->default_branch,
                                                 gitlab::role_name(project->access_level), project->web_url)));
  return std::nullopt;
}

std::optional<StepError> Interpreter::gitlab_connect(const std::vector<std::string>& words, Context& context,
                                                     bool quiet) {
  auto parsed = parse_options(words, "connect", {"--url", "--project", "--token-env", "--timeout"}, {}, 0);
  if (!parsed) {
    return usage_error(parsed.error().message);
  }
  const auto token_env = option(*parsed, "--token-env");
  if (!token_env.empty() && !is_variable_name(token_env)) {
    return usage_error(fmt::format("%gitlab connect --token-env: '{}' is not a variable name", token_env));
  }
  std::vector<std::string> names = {"GITLAB_URL",    "CI_SERVER_URL",       "GITLAB_PROJECT_ID",
                                    "CI_PROJECT_ID", "GITLAB_ACCESS_TOKEN", "PRIVATE_TOKEN"};
  if (!token_env.empty()) {
    names.push_back(token_env);
  }
  auto values = session_variables(names);
  if (!values) {
    return usage_error("%gitlab connect: " + values.error().message);
  }
  const auto first_set =
      [&values](std::initializer_list<std::string_view> candidates) -> std::pair<std::string, std::string> {
    for (const auto name : candidates) {
      const auto found = values->find(name);
      if (found != values->end() && found->second && !found->second->empty()) {
        return {std::string(name), *found->second};
      }
    }
    return {};
  };

  gitlab::Connection connection;
  connection.url = option(*parsed, "--url");
  if (connection.url.empty()) {
    connection.url = first_set({"GITLAB_URL", "CI_SERVER_URL"}).second;
  }
  if (connection.url.empty()) {
    return usage_error(
        "%gitlab connect: which GitLab? Give --url https://gitlab.example.com, or set GITLAB_URL (or "
        "CI_SERVER_URL)");
  }
  while (connection.url.ends_with('/')) {
    connection.url.pop_back();
  }
  if (connection.url.ends_with("/api/v4")) {
    connection.url.resize(connection.url.size() - 7);
  }
  if (!connection.url.starts_with("http://") && !connection.url.starts_with("https://")) {
    return usage_error(fmt::format("%gitlab connect: the GitLab URL must start with https:// (or http://), found '{}'",
                                   connection.url));
  }
  const auto [token_name, token] =
      token_env.empty() ? first_set({"GITLAB_ACCESS_TOKEN", "PRIVATE_TOKEN"}) : first_set({token_env});
  if (token.empty()) {
    return usage_error(
        token_env.empty()
            ? "%gitlab connect: no token: set GITLAB_ACCESS_TOKEN (or PRIVATE_TOKEN), or name the "
              "variable that holds it with --token-env NAME (%secret GITLAB_ACCESS_TOKEN asks for one "
              "without echo)"
            : fmt::format("%gitlab connect --token-env {}: {} is not set or empty", token_env, token_env));
  }
  secrets_.add(token);
  connection.token = token;
  connection.token_source = "$" + token_name;
  if (const auto timeout = option(*parsed, "--timeout"); !timeout.empty()) {
    const auto milliseconds = parse_seconds(timeout);
    if (!milliseconds) {
      return usage_error(
          fmt::format("%gitlab connect --timeout: expected a number of seconds (at most 3600), found '{}'", timeout));
    }
    connection.timeout = *milliseconds;
  }
  if (timeout_) {
    connection.timeout = std::min(connection.timeout, *timeout_);
  }
  auto project_name = option(*parsed, "--project");
  if (project_name.empty()) {
    project_name = first_set({"GITLAB_PROJECT_ID", "CI_PROJECT_ID"}).second;
  }

  HostWaiter waiter(context.host);
  gitlab::Client client(connection, waiter);
  auto user = client.user();
  if (!user) {
    return gitlab_error(user.error());
  }
  GitlabLink link{connection, *user, std::nullopt};
  if (!project_name.empty()) {
    auto project = client.project(project_name);
    if (!project) {
      return gitlab_error(project.error());
    }
    link.project = std::move(*project);
  }
  gitlab_ = std::move(link);
  if (!quiet) {
    context.host.write_stream(
        StreamName::out,
        secrets_.mask(fmt::format(
            "connected to {} as @{} ({}){}\n", gitlab_->connection.url, gitlab_->user.username, gitlab_->user.name,
            gitlab_->project ? fmt::format("; project {} (#{})", gitlab_->project->path, gitlab_->project->id)
                             : std::string())));
  }
  return std::nullopt;
}

std::optional<StepError> Interpreter::gitlab_variables(const std::vector<std::string>& words, Context& context) {
  auto parsed =
      parse_options(words, "variables", {"--environment", "--only", "--prefix", "--project"}, {"--unprotected"}, 0);
  if (!parsed) {
    return usage_error(parsed.error().message);
  }
  if (!gitlab_) {
    if (auto error = gitlab_connect({}, context, true)) {
      return error;
    }
  }
  HostWaiter waiter(context.host);
  gitlab::Client client(gitlab_->connection, waiter);
  std::optional<gitlab::Project> project = gitlab_->project;
  if (const auto other = option(*parsed, "--project"); !other.empty()) {
    auto found = client.project(other);
    if (!found) {
      return gitlab_error(found.error());
    }
    project = std::move(*found);
  }
  if (!project) {
    return usage_error(
        "%gitlab variables: which project? Connect with --project ID_OR_PATH (or set "
        "GITLAB_PROJECT_ID), or give --project");
  }
  std::optional<std::string> environment;
  if (auto name = option(*parsed, "--environment"); !name.empty()) {
    environment = std::move(name);
  }
  const auto only = split_list(option(*parsed, "--only"));
  const auto prefix = option(*parsed, "--prefix");
  const bool protected_ref = option(*parsed, "--unprotected").empty();

  // The levels a job gets, outermost first. One the token may not read is skipped, and said so.
  std::vector<gitlab::VariableLevel> levels;
  std::string notices;
  const auto skip = [&notices](std::string_view level, std::string_view needs, const gitlab::GitlabError& error) {
    notices +=
        fmt::format("%gitlab variables: skipped {} ({}): reading them needs {}\n", level,
                    error.kind == gitlab::GitlabError::Kind::forbidden ? "403 Forbidden" : "404 Not Found", needs);
  };
  if (gitlab_->user.admin) {
    auto instance = client.variables(gitlab::Client::Owner::instance, "", "");
    if (instance) {
      levels.push_back({"instance", std::move(*instance)});
    } else if (instance.error().kind == gitlab::GitlabError::Kind::forbidden) {
      skip("the instance variables", "an administrator", instance.error());
    } else {
      return gitlab_error(instance.error());
    }
  } else {
    notices += fmt::format(
        "%gitlab variables: skipped the instance variables: reading them needs an administrator, "
        "and @{} is not one\n",
        gitlab_->user.username);
  }
  if (project->in_group) {
    std::string group;
    std::string_view rest = project->namespace_path;
    while (!rest.empty()) {
      const auto slash = rest.find('/');
      group += group.empty() ? "" : "/";
      group += rest.substr(0, slash);
      rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
      auto variables = client.variables(gitlab::Client::Owner::group, group, group);
      if (variables) {
        levels.push_back({"group " + group, std::move(*variables)});
      } else if (variables.error().kind == gitlab::GitlabError::Kind::forbidden ||
                 variables.error().kind == gitlab::GitlabError::Kind::not_found) {
        skip(fmt::format("the variables of group {}", group),
             fmt::format("the Owner role of group {} or of a parent group", group), variables.error());
      } else {
        return gitlab_error(variables.error());
      }
    }
  }
  auto own = client.variables(gitlab::Client::Owner::project, std::to_string(project->id), project->path);
  if (!own) {
    return gitlab_error(own.error());
  }
  levels.push_back({"project " + project->path, std::move(*own)});

  auto job = gitlab::job_variables(levels, environment, protected_ref);
  // Masked values are secrets before anything about them is shown.
  for (const auto& entry : job) {
    if (entry.variable.masked) {
      secrets_.add(entry.variable.value);
    }
  }
  std::vector<std::string> missing;
  for (const auto& key : only) {
    if (std::none_of(job.begin(), job.end(), [&key](const auto& entry) { return entry.variable.key == key; })) {
      missing.push_back(key);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& key : missing) {
      list += list.empty() ? key : ", " + key;
    }
    return StepError{"GitLabError",
                     fmt::format("%gitlab variables --only: {} {} not among the variables a job on {} gets from {}; "
                                 "nothing was loaded",
                                 list, missing.size() == 1 ? "is" : "are",
                                 environment ? "environment " + *environment : "no environment", project->path)};
  }

  // File variables get a path in a folder of this load; references expand against the job's
  // values (a file variable's is its path), in one pass, as the runner does.
  std::string folder;
  if (std::any_of(job.begin(), job.end(), [](const auto& entry) { return entry.variable.file; })) {
    if (variable_files_.empty()) {
      auto made = make_private_folder();
      if (!made) {
        return StepError{"GitLabError", "%gitlab variables: " + made.error().message};
      }
      variable_files_ = std::move(*made);
    }
    folder = fmt::format("{}/{}", variable_files_, ++variable_loads_);
    if (::mkdir(folder.c_str(), 0700) != 0) {
      return StepError{"GitLabError", fmt::format("%gitlab variables: cannot make {}: {}", folder,
                                                  std::generic_category().message(errno))};
    }
  }
  std::map<std::string, std::string, std::less<>> job_values;
  for (const auto& entry : job) {
    job_values[entry.variable.key] = entry.variable.file ? folder + "/" + entry.variable.key : entry.variable.value;
  }
  const auto lookup = [&job_values](std::string_view name) -> const std::string* {
    const auto found = job_values.find(name);
    return found == job_values.end() ? nullptr : &found->second;
  };
  struct Loaded {
    const gitlab::JobVariable* entry;
    std::string value;  // what the session gets (a file variable's path)
  };
  std::vector<Loaded> loaded;
  for (const auto& entry : job) {
    const auto& variable = entry.variable;
    if ((!only.empty() && std::find(only.begin(), only.end(), variable.key) == only.end()) ||
        !variable.key.starts_with(prefix)) {
      continue;
    }
    std::string value = variable.value;
    if (!variable.raw) {
      std::vector<std::string> unknown;
      value = gitlab::expand(variable.value, lookup, unknown);
      for (const auto& name : unknown) {
        notices += fmt::format("%gitlab variables: ${} in {} is not a variable the job gets; it is left as written\n",
                               name, variable.key);
      }
      if (variable.masked) {
        secrets_.add(value);
      }
    }
    if (variable.file) {
      const auto path = job_values[variable.key];
      if (auto written = write_private_file(path, value); !written) {
        std::error_code ignored;
        std::filesystem::remove_all(folder, ignored);
        return StepError{"GitLabError", "%gitlab variables: " + written.error().message};
      }
      value = path;
    }
    loaded.push_back({&entry, std::move(value)});
  }

  // One trip to bash sets them all or none: the values go in on stdin, never in a command line.
  std::string script;
  std::string input;
  std::string exports;
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    script += fmt::format("IFS= read -r -d '' __tejun_g{} && ", i);
    exports += fmt::format(" {}=\"$__tejun_g{}\"", loaded[i].entry->variable.key, i);
    input += loaded[i].value;
    input += '\0';
  }
  if (!loaded.empty()) {
    script += "export" + exports + "; __tejun_s=$?; unset";
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      script += fmt::format(" __tejun_g{}", i);
    }
    script += "; (exit $__tejun_s)";
    if (auto error = run_internal(script, context, std::move(input))) {
      if (!folder.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(folder, ignored);
      }
      error->evalue = "%gitlab variables: the session did not take the variables: " + error->evalue;
      return error;
    }
  }
  if (!notices.empty()) {
    context.host.write_stream(StreamName::err, secrets_.mask(notices));
  }

  SqlTable table;
  for (const std::string_view name : {"NAME", "LEVEL", "SCOPE", "TYPE", "MASKED", "PROTECTED", "RAW", "VALUE"}) {
    table.columns.push_back({std::string(name), SqlType::string, false, SqlType::string});
  }
  for (const auto& [entry, value] : loaded) {
    const auto& variable = entry->variable;
    table.rows.push_back({variable.key, entry->level, variable.environment_scope,
                          std::string(variable.file ? "file" : "env_var"), std::string(variable.masked ? "yes" : "no"),
                          std::string(variable.is_protected ? "yes" : "no"), std::string(variable.raw ? "yes" : "no"),
                          variable.masked ? std::string(kMaskedText) : table_value(value)});
  }
  table.total = table.rows.size();
  auto bundle = render_sql_table(table);
  const auto title = fmt::format("loaded {} variable{} from {} ({}):", loaded.size(), loaded.size() == 1 ? "" : "s",
                                 project->path, environment ? "environment " + *environment : "no environment");
  for (auto& [mime, text] : bundle) {
    if (mime == "text/plain") {
      text = fmt::format("{}\n{}", title, text);
    }
    secrets_.mask_in_place(text);
  }
  context.host.display(bundle, false);
  return std::nullopt;
}

}  // namespace tejun::exec
