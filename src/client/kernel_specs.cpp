#include "client/kernel_specs.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <system_error>

#include "base/text.hpp"

namespace tejun::client {
namespace {

using base::ErrorCode;
using base::make_error;

constexpr std::string_view kBuiltinName = "tejun";

std::string environment(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  return value == nullptr ? std::string() : std::string(value);
}

std::string user_data_dir() {
  if (auto dir = environment("JUPYTER_DATA_DIR"); !dir.empty()) {
    return dir;
  }
  if (auto xdg = environment("XDG_DATA_HOME"); !xdg.empty()) {
    return xdg + "/jupyter";
  }
  return environment("HOME") + "/.local/share/jupyter";
}

base::Error spec_error(const std::string& file, std::string message) {
  auto error = make_error(ErrorCode::schema_error, std::move(message));
  error.where.path = file;
  return error;
}

std::string self_executable() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string("tejun") : path.string();
}

}  // namespace

std::vector<std::string> jupyter_data_dirs() {
  std::vector<std::string> dirs;
  const std::string path = environment("JUPYTER_PATH");
  std::size_t start = 0;
  while (start <= path.size() && !path.empty()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    if (end > start) {
      dirs.emplace_back(path.substr(start, end - start));
    }
    start = end + 1;
  }
  dirs.push_back(user_data_dir());
  dirs.emplace_back("/usr/local/share/jupyter");
  dirs.emplace_back("/usr/share/jupyter");
  return dirs;
}

std::string jupyter_runtime_dir() {
  if (auto dir = environment("JUPYTER_RUNTIME_DIR"); !dir.empty()) {
    return dir;
  }
  return user_data_dir() + "/runtime";
}

base::Result<KernelSpec> read_kernel_spec(const std::string& dir, std::string name) {
  const std::string file = dir + "/kernel.json";
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    auto error = make_error(ErrorCode::not_found, "cannot read the kernelspec");
    error.where.path = file;
    return error;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code parse_error;
  const auto root = boost::json::parse(text, parse_error);
  if (parse_error || !root.is_object()) {
    return spec_error(file, "not a JSON object" + (parse_error ? ": " + parse_error.message() : std::string()));
  }
  const auto& object = root.get_object();
  KernelSpec spec;
  spec.name = std::move(name);
  spec.resource_dir = dir;
  const auto* argv = object.if_contains("argv");
  if (argv == nullptr || !argv->is_array() || argv->get_array().empty()) {
    return spec_error(file, "\"argv\" must be a non-empty list of strings");
  }
  for (const auto& word : argv->get_array()) {
    if (!word.is_string()) {
      return spec_error(file, "\"argv\" must be a non-empty list of strings");
    }
    spec.argv.emplace_back(word.get_string());
  }
  const auto text_field = [&](std::string_view key, std::string& into) -> bool {
    const auto* value = object.if_contains(key);
    if (value == nullptr) {
      return true;
    }
    if (!value->is_string()) {
      return false;
    }
    into = value->get_string();
    return true;
  };
  if (!text_field("display_name", spec.display_name) || !text_field("language", spec.language) ||
      !text_field("interrupt_mode", spec.interrupt_mode)) {
    return spec_error(file, "\"display_name\", \"language\" and \"interrupt_mode\" must be strings");
  }
  if (spec.interrupt_mode != "signal" && spec.interrupt_mode != "message") {
    return spec_error(file,
                      fmt::format("\"interrupt_mode\" is '{}'; expected 'signal' or 'message'", spec.interrupt_mode));
  }
  if (const auto* env = object.if_contains("env"); env != nullptr) {
    if (!env->is_object()) {
      return spec_error(file, "\"env\" must be an object of strings");
    }
    for (const auto& [key, value] : env->get_object()) {
      if (!value.is_string()) {
        return spec_error(file, fmt::format("\"env\": the value of {} must be a string", std::string_view(key)));
      }
      spec.env.emplace_back(std::string(key), std::string(value.get_string()));
    }
  }
  return spec;
}

KernelSpec builtin_kernel_spec() {
  KernelSpec spec;
  spec.name = kBuiltinName;
  spec.argv = {self_executable(), "kernel", "-f", "{connection_file}"};
  spec.display_name = "Runbook (tejun)";
  spec.language = "bash";
  return spec;
}

std::vector<KernelSpec> find_kernel_specs() {
  std::map<std::string, KernelSpec> found;
  for (const auto& data_dir : jupyter_data_dirs()) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(data_dir + "/kernels", error)) {
      const std::string name = base::ascii_lowercase(entry.path().filename().string());
      if (found.contains(name) || !std::filesystem::is_regular_file(entry.path() / "kernel.json", error)) {
        continue;
      }
      if (auto spec = read_kernel_spec(entry.path().string(), name)) {
        found.emplace(name, std::move(*spec));
      }
    }
  }
  if (!found.contains(std::string(kBuiltinName))) {
    found.emplace(std::string(kBuiltinName), builtin_kernel_spec());
  }
  std::vector<KernelSpec> specs;
  specs.reserve(found.size());
  for (auto& [name, spec] : found) {
    specs.push_back(std::move(spec));
  }
  return specs;
}

base::Result<KernelSpec> find_kernel_spec(std::string_view name) {
  const std::string wanted = base::ascii_lowercase(name);
  for (const auto& data_dir : jupyter_data_dirs()) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(data_dir + "/kernels", error)) {
      if (base::ascii_lowercase(entry.path().filename().string()) == wanted &&
          std::filesystem::is_regular_file(entry.path() / "kernel.json", error)) {
        return read_kernel_spec(entry.path().string(), wanted);
      }
    }
  }
  if (wanted == kBuiltinName) {
    return builtin_kernel_spec();
  }
  std::string names;
  for (const auto& spec : find_kernel_specs()) {
    names += (names.empty() ? "" : ", ") + spec.name;
  }
  return make_error(ErrorCode::not_found,
                    fmt::format("no kernelspec named '{}' (installed: {}; searched the kernels/ folders of: {})", name,
                                names, fmt::join(jupyter_data_dirs(), ", ")));
}

}  // namespace tejun::client
