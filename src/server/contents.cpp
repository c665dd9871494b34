#include "server/contents.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <set>

#include "base/utf8.hpp"
#include "notebook/file_io.hpp"
#include "notebook/ipynb.hpp"
#include "notebook/markdown.hpp"
#include "notebook/runbook_file.hpp"
#include "notebook/text_output.hpp"
#include "server/contents_format.hpp"

namespace tejun::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using net::Response;

std::string api_join(std::string_view directory, std::string_view name) {
  return directory.empty() ? std::string(name) : fmt::format("{}/{}", directory, name);
}

std::string_view api_name(std::string_view api_path) {
  const auto slash = api_path.rfind('/');
  return slash == std::string_view::npos ? api_path : api_path.substr(slash + 1);
}

Response json_response(int status, const json::value& value) {
  return Response::json(status, json::serialize(value));
}

// The notebook JSON of a runbook file (.ipynb as it is, Markdown through the converter).
base::Result<json::value> notebook_json(const fs::path& path) {
  auto notebook = notebook::read_runbook(path.string());
  if (!notebook) {
    return notebook.error();
  }
  boost::system::error_code error;
  auto value = json::parse(notebook::to_ipynb(*notebook), error);
  if (error) {
    return base::make_error(base::ErrorCode::parse_error, "the notebook could not be written as JSON");
  }
  rejoin_notebook(value);
  return value;
}

bool is_hidden(std::string_view name) {
  return name.starts_with('.');
}

}  // namespace

bool is_safe_api_path(std::string_view api_path) noexcept {
  if (api_path.find('\0') != std::string_view::npos || api_path.starts_with('/') ||
      api_path.find('\\') != std::string_view::npos) {
    return false;
  }
  std::string_view rest = api_path;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment == ".." || segment == ".") {
      return false;
    }
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
  }
  return true;
}

Contents::Contents(const fs::path& root) {
  std::error_code ec;
  root_ = fs::canonical(root, ec);
  if (ec) {
    root_ = fs::absolute(root);
  }
}

std::optional<fs::path> Contents::locate(std::string_view api_path, Response& refused) const {
  int status = 0;
  auto path = resolve(api_path, status);
  if (!path) {
    refused = Response::error(status, path.error().message);
    return std::nullopt;
  }
  return std::move(*path);
}

base::Result<fs::path> Contents::resolve(std::string_view api_path, int& status) const {
  const std::string clean = trim_slashes(api_path);
  if (!is_safe_api_path(clean)) {
    status = 400;
    return base::make_error(base::ErrorCode::invalid_argument,
                            fmt::format("'{}' is not a path inside the server's root (no '..', no absolute paths, no "
                                        "NUL bytes)",
                                        std::string(clean.begin(), std::find(clean.begin(), clean.end(), '\0'))));
  }
  const fs::path path = clean.empty() ? root_ : root_ / clean;
  // Every existing part of the path must stay inside the root once symbolic links are
  // followed; a part that does not exist yet (a file to create) cannot lead anywhere.
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(path, ec);
  if (ec) {
    status = 400;
    return base::make_error(base::ErrorCode::invalid_argument, fmt::format("'{}': {}", clean, ec.message()));
  }
  const auto relative = real.lexically_relative(root_);
  if (relative.empty() || *relative.begin() == "..") {
    status = 403;
    return base::make_error(base::ErrorCode::invalid_argument,
                            fmt::format("'{}' leads outside the server's root (a symbolic link?)", clean));
  }
  status = 200;
  return path;
}

namespace {

struct Model {
  json::object object;
  std::string type;
};

// The model of `path` (api path `api_path`) without content.
std::optional<Model> base_model(const fs::path& path, const std::string& api_path, const std::string& wanted_type) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return std::nullopt;
  }
  Model model;
  const std::string name = api_path.empty() ? "" : std::string(api_name(api_path));
  if (S_ISDIR(info.st_mode)) {
    model.type = "directory";
  } else if (name.ends_with(".ipynb") || (wanted_type == "notebook" && is_markdown(name))) {
    model.type = "notebook";
  } else {
    model.type = "file";
  }
  auto& object = model.object;
  object["name"] = name;
  object["path"] = api_path;
  object["type"] = model.type;
  object["writable"] = ::access(path.c_str(), W_OK) == 0;
  object["created"] = iso_time(info.st_ctim);
  object["last_modified"] = iso_time(info.st_mtim);
  object["mimetype"] = nullptr;
  object["content"] = nullptr;
  object["format"] = nullptr;
  object["size"] = S_ISDIR(info.st_mode) ? json::value(nullptr) : json::value(static_cast<std::int64_t>(info.st_size));
  object["hash"] = nullptr;
  object["hash_algorithm"] = nullptr;
  return model;
}

// The model of a file just written, without content, with its Location.
Response model_response(const fs::path& path, const std::string& api_path, const std::string& type, int status) {
  auto model = base_model(path, api_path, type);
  if (!model) {
    return Response::error(500, fmt::format("{} is gone after it was written", api_path));
  }
  auto response = json_response(status, model->object);
  response.set_header("Location", "/api/contents/" + api_path);
  return response;
}

}  // namespace

Response Contents::get(const std::string& api_path_raw, const net::Request& request) const {
  const std::string api_path = trim_slashes(api_path_raw);
  Response refused;
  auto path = locate(api_path, refused);
  if (!path) {
    return refused;
  }
  const std::string wanted_type = request.query_value("type").value_or("");
  const std::string wanted_format = request.query_value("format").value_or("");
  const bool with_content = request.query_value("content").value_or("1") != "0";
  auto model = base_model(*path, api_path, wanted_type);
  if (!model || (is_hidden(api_name(api_path)) && !api_path.empty())) {
    return Response::error(404, fmt::format("No such file or directory: {}", api_path));
  }
  if (!wanted_type.empty() && wanted_type != model->type && !(wanted_type == "file" && model->type == "notebook")) {
    return Response::error(
        400, fmt::format("{} is a {}, not a {}", api_path.empty() ? "/" : api_path, model->type, wanted_type));
  }
  if (wanted_type == "file") {
    model->type = "file";
    model->object["type"] = "file";
  }
  if (!with_content) {
    return json_response(200, model->object);
  }
  auto& object = model->object;
  if (model->type == "directory") {
    json::array children;
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(*path, ec)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (is_hidden(name)) {
        continue;
      }
      const auto child_path = api_join(api_path, name);
      int child_status = 0;
      auto child = resolve(child_path, child_status);
      if (!child) {
        continue;  // a link out of the root is not listed
      }
      if (auto child_model = base_model(*child, child_path, "")) {
        children.emplace_back(std::move(child_model->object));
      }
    }
    object["content"] = std::move(children);
    object["format"] = "json";
    return json_response(200, object);
  }
  if (model->type == "notebook") {
    auto content = notebook_json(*path);
    if (!content) {
      return Response::error(400, fmt::format("{} is not a notebook: {}", api_path, content.error().to_string()));
    }
    object["content"] = std::move(*content);
    object["format"] = "json";
    object["mimetype"] = nullptr;
    return json_response(200, object);
  }
  auto bytes = read_bytes(*path);
  if (!bytes) {
    return Response::error(403, fmt::format("{} cannot be read", api_path));
  }
  const bool text = base::find_invalid_utf8(*bytes) == std::string_view::npos;
  if (wanted_format == "text" && !text) {
    return Response::error(400, fmt::format("{} is not UTF-8 text: ask for format=base64", api_path));
  }
  const bool as_text = wanted_format == "text" || (wanted_format.empty() && text);
  object["content"] = as_text ? json::value(json::string(*bytes)) : json::value(json::string(base64(*bytes)));
  object["format"] = as_text ? "text" : "base64";
  object["mimetype"] = mimetype_of(api_path, as_text);
  return json_response(200, object);
}

Response Contents::put(const std::string& api_path_raw, const net::Request& request) const {
  const std::string api_path = trim_slashes(api_path_raw);
  Response refused;
  auto path = locate(api_path, refused);
  if (!path) {
    return refused;
  }
  if (api_path.empty()) {
    return Response::error(400, "cannot replace the root folder");
  }
  boost::system::error_code error;
  auto body = json::parse(request.body, error);
  if (error || !body.is_object()) {
    return Response::error(400, "the body must be a JSON object: a model with type, format and content");
  }
  const auto& model = body.as_object();
  const auto string_field = [&model](std::string_view key) -> std::string {
    const auto* value = model.if_contains(key);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
  };
  const std::string type = string_field("type");
  const std::string format = string_field("format");
  const auto* content = model.if_contains("content");
  std::error_code ec;
  const bool existed = fs::exists(*path, ec);
  if (!fs::is_directory(path->parent_path(), ec)) {
    return Response::error(404, fmt::format("the folder of {} does not exist", api_path));
  }
  // Someone else's save since this client read the file: refuse rather than overwrite.
  if (const auto seen = string_field("last_modified"); !seen.empty() && existed) {
    struct stat info {};
    const auto then = parse_iso_time(seen);
    if (!then) {
      return Response::error(400, fmt::format("last_modified '{}' is not an ISO 8601 time", seen));
    }
    if (::stat(path->c_str(), &info) == 0 && micros_of(info.st_mtim) > *then) {
      return Response::error(409, fmt::format("{} changed on disk at {}, after the {} this save is based on; reload it "
                                              "or save under another name",
                                              api_path, iso_time(info.st_mtim), seen));
    }
  }
  if (type == "directory") {
    if (existed && !fs::is_directory(*path, ec)) {
      return Response::error(400, fmt::format("{} exists and is not a directory", api_path));
    }
    fs::create_directory(*path, ec);
    if (ec) {
      return Response::error(500, fmt::format("cannot create {}: {}", api_path, ec.message()));
    }
  } else if (type == "notebook") {
    if (content == nullptr || !content->is_object()) {
      return Response::error(400, "a notebook's content must be the notebook as a JSON object");
    }
    auto notebook = notebook::read_ipynb(json::serialize(*content));
    if (!notebook) {
      return Response::error(400, fmt::format("not a valid notebook: {}", notebook.error().to_string()));
    }
    // A Markdown runbook stays Markdown; anything else is written as .ipynb.
    auto written = is_markdown(api_path)
                       ? notebook::write_runbook(*notebook, path->string())
                       : notebook::write_file_atomically(
                             path->string(), [&](notebook::TextOutput& out) { notebook::write_ipynb(*notebook, out); });
    if (!written) {
      return Response::error(500, fmt::format("cannot save {}: {}", api_path, written.error().message));
    }
  } else if (type == "file") {
    if (content == nullptr || !content->is_string()) {
      return Response::error(400, "a file's content must be a string (format text or base64)");
    }
    std::string bytes(content->as_string());
    if (format == "base64") {
      auto decoded = unbase64(bytes);
      if (!decoded) {
        return Response::error(400, "the content is not valid base64");
      }
      bytes = std::move(*decoded);
    } else if (format != "text") {
      return Response::error(400, fmt::format("format must be text or base64, found '{}'", format));
    }
    auto written =
        notebook::write_file_atomically(path->string(), [&bytes](notebook::TextOutput& out) { out.append(bytes); });
    if (!written) {
      return Response::error(500, fmt::format("cannot save {}: {}", api_path, written.error().message));
    }
  } else {
    return Response::error(400, fmt::format("type must be notebook, file or directory, found '{}'", type));
  }
  return model_response(*path, api_path, type, existed ? 200 : 201);
}

Response Contents::post(const std::string& api_path_raw, const net::Request& request) const {
  const std::string directory = trim_slashes(api_path_raw);
  Response refused;
  auto folder = locate(directory, refused);
  if (!folder) {
    return refused;
  }
  std::error_code ec;
  if (!fs::is_directory(*folder, ec)) {
    return Response::error(404, fmt::format("no such directory: {}", directory));
  }
  json::object model;
  if (!request.body.empty()) {
    boost::system::error_code error;
    auto body = json::parse(request.body, error);
    if (error || !body.is_object()) {
      return Response::error(400, "the body must be a JSON object");
    }
    model = body.as_object();
  }
  const auto field = [&model](std::string_view key) -> std::string {
    const auto* value = model.if_contains(key);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
  };
  const std::string copy_from = trim_slashes(field("copy_from"));
  std::string type = field("type");
  std::string stem = "Untitled";
  std::string extension;
  if (!copy_from.empty()) {
    const auto name = std::string(api_name(copy_from));
    const auto dot = name.rfind('.');
    stem = (dot == std::string::npos || dot == 0 ? name : name.substr(0, dot)) + "-Copy";
    extension = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
  } else if (type == "directory") {
    stem = "Untitled Folder";
  } else if (type == "notebook" || type.empty()) {
    type = "notebook";
    extension = ".ipynb";
  } else if (type == "file") {
    stem = "untitled";
    extension = field("ext").empty() ? ".txt" : field("ext");
    if (!extension.starts_with('.')) {
      extension.insert(0, ".");
    }
  } else {
    return Response::error(400, fmt::format("type must be notebook, file or directory, found '{}'", type));
  }
  // The first free name: Untitled.ipynb, Untitled1.ipynb, ... (a copy starts at -Copy1).
  std::string name;
  for (int n = copy_from.empty() ? 0 : 1;; ++n) {
    // Jupyter's numbering: "Untitled1.ipynb", but "Untitled Folder 1".
    const std::string number = n == 0 ? std::string() : (type == "directory" ? " " : "") + std::to_string(n);
    name = fmt::format("{}{}{}", stem, number, extension);
    if (!fs::exists(*folder / name, ec)) {
      break;
    }
  }
  const std::string api_path = api_join(directory, name);
  const fs::path target = *folder / name;
  if (!copy_from.empty()) {
    auto source = locate(copy_from, refused);
    if (!source) {
      return refused;
    }
    if (!fs::is_regular_file(*source, ec)) {
      return Response::error(404, fmt::format("no such file to copy: {}", copy_from));
    }
    auto bytes = read_bytes(*source);
    if (!bytes) {
      return Response::error(403, fmt::format("{} cannot be read", copy_from));
    }
    auto written =
        notebook::write_file_atomically(target.string(), [&bytes](notebook::TextOutput& out) { out.append(*bytes); });
    if (!written) {
      return Response::error(500, fmt::format("cannot write {}: {}", api_path, written.error().message));
    }
  } else if (type == "directory") {
    fs::create_directory(target, ec);
    if (ec) {
      return Response::error(500, fmt::format("cannot create {}: {}", api_path, ec.message()));
    }
  } else {
    notebook::Notebook empty;
    auto written = type == "notebook" ? notebook::write_runbook(empty, target.string())
                                      : notebook::write_file_atomically(target.string(), [](notebook::TextOutput&) {});
    if (!written) {
      return Response::error(500, fmt::format("cannot create {}: {}", api_path, written.error().message));
    }
  }
  return model_response(target, api_path, "", 201);
}

Response Contents::patch(const std::string& api_path_raw, const net::Request& request) const {
  const std::string api_path = trim_slashes(api_path_raw);
  Response refused;
  auto path = locate(api_path, refused);
  if (!path) {
    return refused;
  }
  boost::system::error_code error;
  auto body = json::parse(request.body, error);
  const auto* new_value = !error && body.is_object() ? body.as_object().if_contains("path") : nullptr;
  if (new_value == nullptr || !new_value->is_string()) {
    return Response::error(400, "the body must be {\"path\": \"new/path\"}");
  }
  const std::string new_api_path = trim_slashes(new_value->as_string());
  auto target = locate(new_api_path, refused);
  if (!target) {
    return refused;
  }
  std::error_code ec;
  if (api_path.empty() || !fs::exists(*path, ec)) {
    return Response::error(404, fmt::format("No such file or directory: {}", api_path));
  }
  if (new_api_path != api_path && fs::exists(*target, ec)) {
    return Response::error(409, fmt::format("File already exists: {}", new_api_path));
  }
  fs::rename(*path, *target, ec);
  if (ec) {
    return Response::error(ec == std::errc::no_such_file_or_directory ? 404 : 500,
                           fmt::format("cannot rename {} to {}: {}", api_path, new_api_path, ec.message()));
  }
  auto model = base_model(*target, new_api_path, "");
  return model ? json_response(200, model->object) : Response::error(500, "the renamed file is gone");
}

Response Contents::remove(const std::string& api_path_raw) const {
  const std::string api_path = trim_slashes(api_path_raw);
  Response refused;
  auto path = locate(api_path, refused);
  if (!path) {
    return refused;
  }
  std::error_code ec;
  if (api_path.empty()) {
    return Response::error(400, "cannot delete the root folder");
  }
  if (!fs::exists(fs::symlink_status(*path, ec))) {
    return Response::error(404, fmt::format("File or directory does not exist: {}", api_path));
  }
  if (fs::is_directory(fs::symlink_status(*path, ec))) {
    bool empty = true;
    for (const auto& entry : fs::directory_iterator(*path, ec)) {
      if (entry.path().filename() != kCheckpointFolder) {
        empty = false;
        break;
      }
    }
    if (!empty) {
      return Response::error(400, fmt::format("Directory {} not empty", api_path));
    }
    fs::remove_all(*path, ec);
  } else {
    fs::remove(*path, ec);
  }
  if (ec) {
    return Response::error(500, fmt::format("cannot delete {}: {}", api_path, ec.message()));
  }
  return Response::empty(204);
}

}  // namespace tejun::server
