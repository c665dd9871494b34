// /api/contents on a root folder, as Jupyter Server documents it: models of files, notebooks
// and directories; saves that are atomic and refuse a stale last_modified; rename, copy,
// new untitled files, delete, and one checkpoint per file. No path can leave the root.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.hpp"
#include "net/http.hpp"

namespace tejun::server {

class Contents {
 public:
  explicit Contents(const std::filesystem::path& root);

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

  // The file an API path ("dir/a.ipynb", "" for the root) names, inside the root. Fails with
  // a message for `..`, absolute paths, NUL bytes and symbolic links that lead outside; the
  // status to answer is in `status`.
  [[nodiscard]] base::Result<std::filesystem::path> resolve(std::string_view api_path, int& status) const;

  net::Response get(const std::string& api_path, const net::Request& request) const;
  net::Response put(const std::string& api_path, const net::Request& request) const;
  net::Response post(const std::string& api_path, const net::Request& request) const;
  net::Response patch(const std::string& api_path, const net::Request& request) const;
  net::Response remove(const std::string& api_path) const;

  net::Response list_checkpoints(const std::string& api_path) const;
  net::Response create_checkpoint(const std::string& api_path) const;
  net::Response restore_checkpoint(const std::string& api_path, const std::string& id) const;
  net::Response delete_checkpoint(const std::string& api_path, const std::string& id) const;

 private:
  // resolve(), with the error as the response to give.
  [[nodiscard]] std::optional<std::filesystem::path> locate(std::string_view api_path, net::Response& refused) const;

  // The file and its checkpoint `id`, which must exist.
  [[nodiscard]] std::optional<std::pair<std::filesystem::path, std::filesystem::path>> existing_checkpoint(
      const std::string& api_path, const std::string& id, net::Response& refused) const;

  std::filesystem::path root_;  // canonical
};

// "a/../b" and friends: whether an API path is one the server accepts at all (no NUL, not
// absolute, no `..` segment). Exposed for tests.
[[nodiscard]] bool is_safe_api_path(std::string_view api_path) noexcept;

}  // namespace tejun::server
