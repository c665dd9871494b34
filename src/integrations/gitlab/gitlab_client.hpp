// A client for the parts of GitLab's REST API v4 that runbooks use: who the token belongs
// to, a project, and the CI/CD variables of the instance, a group and a project. Errors say
// which token, what was asked for and what access it needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integrations/gitlab/gitlab_variables.hpp"
#include "integrations/http/http_client.hpp"
#include "notebook/json.hpp"

namespace tejun::integrations::gitlab {

struct Connection {
  std::string url;                            // https://gitlab.example.com, no trailing slash
  std::string token;                          // a personal, project or OAuth access token
  std::string token_source;                   // where it came from, for messages: "$GITLAB_ACCESS_TOKEN"
  std::chrono::milliseconds timeout{30'000};  // per request
};

struct User {
  std::int64_t id = 0;
  std::string username;
  std::string name;
  bool admin = false;
};

struct Project {
  std::int64_t id = 0;
  std::string path;  // path_with_namespace: ops/runbooks
  std::string name;
  std::string visibility;
  std::string default_branch;
  std::string web_url;
  bool in_group = false;          // false: a personal project, with no group variables
  std::string namespace_path;     // full path of the group (or user) that holds it
  std::int64_t access_level = 0;  // the token's user's, from permissions (0: none or unknown)
};

struct GitlabError {
  enum class Kind : std::uint8_t {
    refused,    // 401: the token is wrong, expired or revoked
    forbidden,  // 403
    not_found,  // 404
    failed,     // another status, or a response that is not what the API documents
    timed_out,
    interrupted,
    connection,
  };
  Kind kind = Kind::failed;
  std::string message;
};

[[noreturn]] void throw_exception_from_error(const GitlabError& error, const boost::source_location& where);

template <class T>
using GitlabResult = boost::system::result<T, GitlabError>;

// What a request is for, so that its errors can say so.
struct Subject {
  std::string what;       // "the CI/CD variables of project ops/runbooks"
  std::string needs;      // "the Maintainer role or above"
  std::string not_found;  // "project 'ops/runbooks'"
};

class Client {
 public:
  Client(Connection connection, http::Waiter& waiter) : connection_(std::move(connection)), waiter_(waiter) {}

  [[nodiscard]] const Connection& connection() const noexcept { return connection_; }

  GitlabResult<User> user();
  GitlabResult<std::string> version();
  GitlabResult<Project> project(std::string_view id_or_path);

  // Every variable of one level, all pages. `id` is the project's or group's id or full
  // path (empty for the instance), `name` its path for messages.
  enum class Owner : std::uint8_t { instance, group, project };
  GitlabResult<std::vector<Variable>> variables(Owner owner, std::string_view id, std::string_view name);

  // GET api/v4/<path>, parsed; retried on 429/5xx and dropped connections.
  GitlabResult<notebook::Json> get(std::string_view path, const Subject& subject);
  // Every element of a paginated list (X-Next-Page), at most 1000 pages.
  GitlabResult<std::vector<notebook::Json>> get_all(std::string_view path, const Subject& subject);

 private:
  GitlabResult<http::Response> request(const std::string& path_and_query, const Subject& subject);
  [[nodiscard]] GitlabError status_error(const http::Response& response, const Subject& subject) const;

  Connection connection_;
  http::Waiter& waiter_;
  std::optional<std::string> username_;  // once known, named in 403 errors
};

// The GitLab role names of access levels: 40 → "Maintainer".
[[nodiscard]] std::string_view role_name(std::int64_t access_level);

}  // namespace tejun::integrations::gitlab
