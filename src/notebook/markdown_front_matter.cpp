// Front matter ↔ notebook metadata: title → metadata.title, kernel → metadata.kernelspec,
// parameters → metadata.tejun.parameters, other keys → metadata.tejun.front_matter.
#include "notebook/markdown.hpp"

namespace tejun::notebook {
namespace {

constexpr std::string_view kTejunKernel = "tejun";
constexpr std::string_view kTejunKernelDisplayName = "Runbook (tejun)";

JsonObject& tejun_metadata(JsonObject& metadata) {
  Json* tejun = find_member(metadata, kTejunMetadataKey);
  if (tejun == nullptr || !tejun->is_object()) {
    set_member(metadata, kTejunMetadataKey, JsonObject{});
    tejun = find_member(metadata, kTejunMetadataKey);
  }
  return tejun->as_object();
}

}  // namespace

JsonObject front_matter_of(const Notebook& notebook) {
  JsonObject front_matter;
  const JsonObject& metadata = notebook.metadata;
  if (const Json* title = find_member(metadata, "title"); title && title->is_string()) {
    set_member(front_matter, "title", *title);
  }
  if (const Json* kernelspec = find_member(metadata, "kernelspec"); kernelspec && kernelspec->is_object()) {
    if (const Json* name = find_member(kernelspec->as_object(), "name"); name && name->is_string()) {
      set_member(front_matter, "kernel", *name);
    }
  }
  const Json* tejun = find_member(metadata, kTejunMetadataKey);
  if (tejun == nullptr || !tejun->is_object()) {
    return front_matter;
  }
  if (const Json* parameters = find_member(tejun->as_object(), "parameters")) {
    set_member(front_matter, "parameters", *parameters);
  }
  if (const Json* rest = find_member(tejun->as_object(), "front_matter"); rest && rest->is_object()) {
    for (const auto& [key, value] : rest->as_object()) {
      if (find_member(front_matter, key) == nullptr) {
        set_member(front_matter, key, value);
      }
    }
  }
  return front_matter;
}

void apply_front_matter(Notebook& notebook, JsonObject&& front_matter) {
  JsonObject rest;
  for (auto& [key, value] : front_matter) {
    if (key == "title" && value.is_string()) {
      set_member(notebook.metadata, "title", std::move(value));
    } else if (key == "kernel" && value.is_string()) {
      const std::string& name = value.as_string();
      JsonObject kernelspec;
      set_member(kernelspec, "display_name", Json(name == kTejunKernel ? std::string(kTejunKernelDisplayName) : name));
      set_member(kernelspec, "name", std::move(value));
      set_member(notebook.metadata, "kernelspec", Json(std::move(kernelspec)));
    } else if (key == "parameters") {
      set_member(tejun_metadata(notebook.metadata), "parameters", std::move(value));
    } else {
      set_member(rest, key, std::move(value));
    }
  }
  if (!rest.empty()) {
    set_member(tejun_metadata(notebook.metadata), "front_matter", Json(std::move(rest)));
  }
}

}  // namespace tejun::notebook
