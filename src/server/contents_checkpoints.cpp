// One checkpoint per file, kept where Jupyter keeps them: .ipynb_checkpoints/NAME-checkpoint.EXT
// beside the file.
#include <fmt/format.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include "notebook/file_io.hpp"
#include "notebook/text_output.hpp"
#include "server/contents.hpp"
#include "server/contents_format.hpp"

namespace tejun::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using net::Response;

constexpr std::string_view kCheckpointId = "checkpoint";

Response json_response(int status, const json::value& value) {
  return Response::json(status, json::serialize(value));
}

}  // namespace

namespace {

fs::path checkpoint_path(const fs::path& path) {
  const auto stem = path.stem().string();
  return path.parent_path() / kCheckpointFolder / fmt::format("{}-checkpoint{}", stem, path.extension().string());
}

json::object checkpoint_model(const fs::path& checkpoint) {
  struct stat info {};
  ::stat(checkpoint.c_str(), &info);
  return {{"id", kCheckpointId}, {"last_modified", iso_time(info.st_mtim)}};
}

}  // namespace

Response Contents::list_checkpoints(const std::string& api_path) const {
  Response refused;
  auto path = locate(trim_slashes(api_path), refused);
  if (!path) {
    return refused;
  }
  json::array list;
  std::error_code ec;
  if (const auto checkpoint = checkpoint_path(*path); fs::exists(checkpoint, ec)) {
    list.emplace_back(checkpoint_model(checkpoint));
  }
  return json_response(200, list);
}

Response Contents::create_checkpoint(const std::string& api_path) const {
  Response refused;
  auto path = locate(trim_slashes(api_path), refused);
  if (!path) {
    return refused;
  }
  std::error_code ec;
  if (!fs::is_regular_file(*path, ec)) {
    return Response::error(404, fmt::format("no such file: {}", api_path));
  }
  const auto checkpoint = checkpoint_path(*path);
  fs::create_directories(checkpoint.parent_path(), ec);
  auto bytes = read_bytes(*path);
  if (ec || !bytes) {
    return Response::error(500, fmt::format("cannot make a checkpoint of {}", api_path));
  }
  auto written =
      notebook::write_file_atomically(checkpoint.string(), [&bytes](notebook::TextOutput& out) { out.append(*bytes); });
  if (!written) {
    return Response::error(500,
                           fmt::format("cannot write the checkpoint of {}: {}", api_path, written.error().message));
  }
  auto response = json_response(201, checkpoint_model(checkpoint));
  response.set_header("Location",
                      fmt::format("/api/contents/{}/checkpoints/{}", trim_slashes(api_path), kCheckpointId));
  return response;
}

std::optional<std::pair<fs::path, fs::path>> Contents::existing_checkpoint(const std::string& api_path,
                                                                           const std::string& id,
                                                                           Response& refused) const {
  auto path = locate(trim_slashes(api_path), refused);
  if (!path) {
    return std::nullopt;
  }
  auto checkpoint = checkpoint_path(*path);
  std::error_code ec;
  if (id != kCheckpointId || !fs::exists(checkpoint, ec)) {
    refused = Response::error(404, fmt::format("no checkpoint {} of {}", id, api_path));
    return std::nullopt;
  }
  return std::pair{std::move(*path), std::move(checkpoint)};
}

Response Contents::restore_checkpoint(const std::string& api_path, const std::string& id) const {
  Response refused;
  const auto found = existing_checkpoint(api_path, id, refused);
  if (!found) {
    return refused;
  }
  const auto& [path, checkpoint] = *found;
  auto bytes = read_bytes(checkpoint);
  auto written = bytes ? notebook::write_file_atomically(path.string(),
                                                         [&bytes](notebook::TextOutput& out) { out.append(*bytes); })
                       : base::Result<void>(base::make_error(base::ErrorCode::io_error, "unreadable"));
  if (!written) {
    return Response::error(500, fmt::format("cannot restore {}: {}", api_path, written.error().message));
  }
  return Response::empty(204);
}

Response Contents::delete_checkpoint(const std::string& api_path, const std::string& id) const {
  Response refused;
  const auto found = existing_checkpoint(api_path, id, refused);
  if (!found) {
    return refused;
  }
  std::error_code ec;
  if (!fs::remove(found->second, ec)) {
    return Response::error(500, fmt::format("cannot delete the checkpoint of {}: {}", api_path, ec.message()));
  }
  return Response::empty(204);
}

}  // namespace tejun::server
