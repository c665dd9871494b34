// Kernelspecs: how Jupyter names, finds and starts a kernel (a folder holding kernel.json
// under kernels/ of a Jupyter data directory).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tejun::client {

struct KernelSpec {
  std::string name;          // the folder name, lowercase
  std::string resource_dir;  // the folder; empty for the built-in tejun kernel
  std::vector<std::string> argv;
  std::string display_name;
  std::string language;
  std::string interrupt_mode = "signal";  // "signal" or "message"
  std::vector<std::pair<std::string, std::string>> env;
};

// The Jupyter data directories, in the order `jupyter --paths` lists them: JUPYTER_PATH, the
// user's (JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter), then
// /usr/local/share/jupyter and /usr/share/jupyter.
[[nodiscard]] std::vector<std::string> jupyter_data_dirs();

// Where connection files go: JUPYTER_RUNTIME_DIR, else the user's data directory + /runtime.
[[nodiscard]] std::string jupyter_runtime_dir();

// Reads DIR/kernel.json; `name` is the kernelspec's name. Errors carry the file's path.
[[nodiscard]] base::Result<KernelSpec> read_kernel_spec(const std::string& dir, std::string name);

// Every kernelspec found, the first of each name in data-directory order, sorted by name.
// Folders whose kernel.json cannot be read are left out.
[[nodiscard]] std::vector<KernelSpec> find_kernel_specs();

// The kernelspec called `name` (case-insensitive, as Jupyter matches them). "tejun" is always
// found: when no data directory holds it, this binary's own kernel is used.
[[nodiscard]] base::Result<KernelSpec> find_kernel_spec(std::string_view name);

// The spec of this binary's own kernel (`tejun kernel -f {connection_file}`).
[[nodiscard]] KernelSpec builtin_kernel_spec();

}  // namespace tejun::client
