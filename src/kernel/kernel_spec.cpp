#include "kernel/kernel_spec.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <filesystem>

#include "notebook/file_io.hpp"
#include "notebook/text_output.hpp"

namespace tejun::kernel {

std::string kernel_spec_json(const std::string& executable) {
  const boost::json::value spec = {{"argv", {executable, "kernel", "-f", "{connection_file}"}},
                                   {"display_name", kKernelDisplayName},
                                   {"language", "bash"},
                                   // Jupyter sends SIGINT to the kernel's process group; the kernel stops the step.
                                   {"interrupt_mode", "signal"},
                                   {"metadata", {{"debugger", false}}}};
  return boost::json::serialize(spec) + "\n";
}

base::Result<std::string> install_kernel_spec(const std::string& data_dir, const std::string& name,
                                              const std::string& executable) {
  if (name.empty() || name.find_first_of("/\\ ") != std::string::npos) {
    return base::make_error(base::ErrorCode::invalid_argument,
                            "a kernel name must be non-empty, without spaces or slashes: '" + name + "'");
  }
  const auto folder = std::filesystem::path(data_dir) / "kernels" / name;
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) {
    return base::make_error(base::ErrorCode::io_error, "cannot create " + folder.string() + ": " + ec.message());
  }
  const auto file = (folder / "kernel.json").string();
  const auto text = kernel_spec_json(executable);
  if (auto written = notebook::write_file_atomically(file, [&](notebook::TextOutput& out) { out.append(text); });
      !written) {
    return written.error();
  }
  return folder.string();
}

}  // namespace tejun::kernel
