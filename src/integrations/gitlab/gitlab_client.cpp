#include "integrations/gitlab/gitlab_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "notebook/json_parser.hpp"
#include "notebook/json_writer.hpp"

namespace tejun::integrations::gitlab {
namespace {

constexpr int kAttempts = 3;
constexpr std::size_t kMostPages = 1000;

std::int64_t integer_member(const notebook::JsonObject& object, std::string_view key) {
  std::int64_t value = 0;
  if (const auto* member = notebook::find_member(object, key); member != nullptr && member->is_number()) {
    (void)member->to_int64(value);
  }
  return value;
}

// GitLab's error text: {"message": "..."}, {"message": {"key": [...]}}, or {"error":
// "...", "error_description": "..."}; else the start of the body.
std::string api_message(std::string_view body) {
  auto parsed = notebook::parse_json(body);
  if (parsed && parsed->is_object()) {
    const auto& object = parsed->as_object();
    if (auto description = notebook::string_member(&object, "error_description"); !description.empty()) {
      return description;
    }
    if (const auto* message = notebook::find_member(object, "message"); message != nullptr) {
      return message->is_string() ? message->as_string() : notebook::JsonWriter::compact(*message);
    }
    if (auto error = notebook::string_member(&object, "error"); !error.empty()) {
      return error;
    }
  }
  constexpr std::size_t kLongest = 200;
  std::string start(body.substr(0, kLongest));
  return body.size() > kLongest ? start + "…" : start;
}

GitlabError::Kind kind_of(http::Failure failure) {
  switch (failure) {
    case http::Failure::timed_out:
      return GitlabError::Kind::timed_out;
    case http::Failure::interrupted:
      return GitlabError::Kind::interrupted;
    default:
      return GitlabError::Kind::connection;
  }
}

std::string attempts_text(int attempts) {
  return attempts > 1 ? fmt::format(" (after {} attempts)", attempts) : std::string();
}

}  // namespace

void throw_exception_from_error(const GitlabError& error, const boost::source_location& /*where*/) {
  throw std::runtime_error(error.message);
}

std::string_view role_name(std::int64_t access_level) {
  switch (access_level) {
    case 5:
      return "Minimal Access";
    case 10:
      return "Guest";
    case 20:
      return "Reporter";
    case 30:
      return "Developer";
    case 40:
      return "Maintainer";
    case 50:
      return "Owner";
    default:
      return access_level > 50 ? "Admin" : "no role";
  }
}

GitlabError Client::status_error(const http::Response& response, const Subject& subject) const {
  const auto message = api_message(response.body);
  const auto status = fmt::format("{} {}", response.status, response.reason());
  const auto who = username_ ? fmt::format(" (user @{})", *username_) : std::string();
  switch (response.status) {
    case 401:
      return {GitlabError::Kind::refused,
              fmt::format("GitLab at {} refused the token in {} ({}: {}): it is wrong, expired or revoked. Make a "
                          "personal access token with the api or read_api scope and put it in {}",
                          connection_.url, connection_.token_source, status, message, connection_.token_source)};
    case 403:
      if (message.find("insufficient_scope") != std::string::npos ||
          response.body.find("insufficient_scope") != std::string::npos) {
        return {GitlabError::Kind::forbidden,
                fmt::format("the token in {}{} lacks the scope to read {} ({}: {}): it needs the api or read_api "
                            "scope",
                            connection_.token_source, who, subject.what, status, message)};
      }
      return {GitlabError::Kind::forbidden,
              fmt::format("the token in {}{} may not read {}: that needs {} ({}: {})", connection_.token_source, who,
                          subject.what, subject.needs.empty() ? "more access" : subject.needs, status, message)};
    case 404:
      return {GitlabError::Kind::not_found,
              fmt::format("{} was not found at {}, or the token in {}{} cannot see it ({}: {})",
                          subject.not_found.empty() ? subject.what : subject.not_found, connection_.url,
                          connection_.token_source, who, status, message)};
    default:
      return {GitlabError::Kind::failed, fmt::format("GitLab at {} answered {} for {}{}: {}", connection_.url, status,
                                                     subject.what, attempts_text(response.attempts), message)};
  }
}

GitlabResult<http::Response> Client::request(const std::string& path_and_query, const Subject& subject) {
  http::Request request;
  request.url = connection_.url + "/api/v4/" + path_and_query;
  request.headers = {{"Accept", "application/json"}};
  if (!connection_.token.empty()) {
    // PRIVATE-TOKEN takes personal, project and group tokens; OAuth tokens need Bearer.
    request.headers.emplace_back(
        connection_.token.starts_with("glpat-") ? "PRIVATE-TOKEN" : "Authorization",
        connection_.token.starts_with("glpat-") ? connection_.token : "Bearer " + connection_.token);
  }
  request.timeout = connection_.timeout;
  request.retry.attempts = kAttempts;
  auto response = http::perform(request, waiter_);
  if (!response) {
    const auto& error = response.error();
    return GitlabError{kind_of(error.failure), fmt::format("GitLab: {} while reading {}{}", error.message, subject.what,
                                                           attempts_text(error.attempts))};
  }
  if (response->status < 200 || response->status >= 300) {
    return status_error(*response, subject);
  }
  return std::move(*response);
}

GitlabResult<notebook::Json> Client::get(std::string_view path, const Subject& subject) {
  auto response = request(std::string(path), subject);
  if (!response) {
    return response.error();
  }
  auto parsed = notebook::parse_json(response->body);
  if (!parsed) {
    return GitlabError{GitlabError::Kind::failed,
                       fmt::format("GitLab at {} sent {} that is not JSON ({}): is {} a GitLab URL?", connection_.url,
                                   subject.what, parsed.error().message, connection_.url)};
  }
  return std::move(*parsed);
}

GitlabResult<std::vector<notebook::Json>> Client::get_all(std::string_view path, const Subject& subject) {
  std::vector<notebook::Json> all;
  const char separator = path.find('?') == std::string_view::npos ? '?' : '&';
  std::string page = "1";
  for (std::size_t pages = 0; !page.empty(); ++pages) {
    if (pages == kMostPages) {
      return GitlabError{GitlabError::Kind::failed, fmt::format("GitLab at {} has more than {} pages of {}",
                                                                connection_.url, kMostPages, subject.what)};
    }
    auto response = request(fmt::format("{}{}per_page=100&page={}", path, separator, page), subject);
    if (!response) {
      return response.error();
    }
    auto parsed = notebook::parse_json(response->body);
    if (!parsed || parsed->kind() != notebook::Json::Kind::array) {
      return GitlabError{GitlabError::Kind::failed,
                         fmt::format("GitLab at {} sent {} that is not a JSON list of objects: is {} a GitLab URL?",
                                     connection_.url, subject.what, connection_.url)};
    }
    for (auto& element : parsed->as_array()) {
      all.push_back(std::move(element));
    }
    page = std::string(response->header("X-Next-Page"));
  }
  return all;
}

GitlabResult<User> Client::user() {
  auto json = get("user", {"the signed-in user (GET /user)", "the api, read_api or read_user scope", "the user"});
  if (!json) {
    return json.error();
  }
  if (!json->is_object()) {
    return GitlabError{GitlabError::Kind::failed,
                       fmt::format("GitLab at {} sent a user that is not an object", connection_.url)};
  }
  const auto& object = json->as_object();
  User user;
  user.id = integer_member(object, "id");
  user.username = notebook::string_member(&object, "username");
  user.name = notebook::string_member(&object, "name");
  const auto* admin = notebook::find_member(object, "is_admin");
  user.admin = admin != nullptr && admin->is_bool() && admin->as_bool();
  username_ = user.username;
  return user;
}

GitlabResult<std::string> Client::version() {
  auto json = get("version", {"the GitLab version", "a signed-in user", "the version"});
  if (!json) {
    return json.error();
  }
  return json->is_object() ? notebook::string_member(&json->as_object(), "version") : std::string();
}

GitlabResult<Project> Client::project(std::string_view id_or_path) {
  auto json = get(
      "projects/" + http::escape(id_or_path),
      {fmt::format("project '{}'", id_or_path), "the Guest role or above", fmt::format("project '{}'", id_or_path)});
  if (!json) {
    return json.error();
  }
  if (!json->is_object()) {
    return GitlabError{GitlabError::Kind::failed, fmt::format("GitLab at {} sent project '{}' that is not an object",
                                                              connection_.url, id_or_path)};
  }
  const auto& object = json->as_object();
  Project project;
  project.id = integer_member(object, "id");
  project.path = notebook::string_member(&object, "path_with_namespace");
  project.name = notebook::string_member(&object, "name");
  project.visibility = notebook::string_member(&object, "visibility");
  project.default_branch = notebook::string_member(&object, "default_branch");
  project.web_url = notebook::string_member(&object, "web_url");
  if (const auto* space = notebook::object_member(object, "namespace")) {
    project.in_group = notebook::string_member(space, "kind") == "group";
    project.namespace_path = notebook::string_member(space, "full_path");
  }
  if (const auto* permissions = notebook::object_member(object, "permissions")) {
    for (const std::string_view kind : {"project_access", "group_access"}) {
      if (const auto* access = notebook::object_member(*permissions, kind)) {
        project.access_level = std::max(project.access_level, integer_member(*access, "access_level"));
      }
    }
  }
  return project;
}

GitlabResult<std::vector<Variable>> Client::variables(Owner owner, std::string_view id, std::string_view path) {
  Subject subject;
  std::string route;
  switch (owner) {
    case Owner::instance:
      subject = {"the instance's CI/CD variables", "an administrator", "the instance variables"};
      route = "admin/ci/variables";
      break;
    case Owner::group:
      subject = {fmt::format("the CI/CD variables of group {}", path), fmt::format("the Owner role of group {}", path),
                 fmt::format("group '{}'", path)};
      route = fmt::format("groups/{}/variables", http::escape(id));
      break;
    case Owner::project:
      subject = {fmt::format("the CI/CD variables of project {}", path), "the Maintainer role or above",
                 fmt::format("project '{}'", path)};
      route = fmt::format("projects/{}/variables", http::escape(id));
      break;
  }
  auto list = get_all(route, subject);
  if (!list) {
    return list.error();
  }
  std::vector<Variable> variables;
  variables.reserve(list->size());
  for (const auto& entity : *list) {
    auto variable = variable_from_json(entity);
    if (!variable) {
      return GitlabError{GitlabError::Kind::failed,
                         fmt::format("GitLab at {} sent a variable that is not a CI/CD variable in {}", connection_.url,
                                     subject.what)};
    }
    variables.push_back(std::move(*variable));
  }
  return variables;
}

}  // namespace tejun::integrations::gitlab
