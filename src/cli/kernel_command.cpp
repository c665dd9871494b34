// `tejun kernel -f CONNECTION_FILE` (started by Jupyter front ends) and
// `tejun kernel install` (writes the kernelspec they find it by).
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "kernel/kernel.hpp"
#include "kernel/kernel_spec.hpp"
#include "protocol/connection_info.hpp"

namespace tejun::cli {
namespace {

struct KernelArguments {
  std::string connection_file;
  std::string log_level = "info";
  std::string bash = "/bin/bash";
  bool user = false;
  std::string prefix;
  std::string name = kernel::kDefaultKernelName;
};

std::string environment(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  return value == nullptr ? std::string() : std::string(value);
}

// Where `jupyter kernelspec install` would put it: --prefix, --user, or the system folder.
std::string data_dir_for(const KernelArguments& arguments) {
  if (!arguments.prefix.empty()) {
    return (std::filesystem::path(arguments.prefix) / "share" / "jupyter").string();
  }
  if (arguments.user) {
    if (auto dir = environment("JUPYTER_DATA_DIR"); !dir.empty()) {
      return dir;
    }
    if (auto dir = environment("XDG_DATA_HOME"); !dir.empty()) {
      return (std::filesystem::path(dir) / "jupyter").string();
    }
    return (std::filesystem::path(environment("HOME")) / ".local" / "share" / "jupyter").string();
  }
  return "/usr/local/share/jupyter";
}

int install(const KernelArguments& arguments) {
  std::error_code ec;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return report(base::make_error(base::ErrorCode::io_error, "cannot find the tejun executable: " + ec.message()));
  }
  auto folder = kernel::install_kernel_spec(data_dir_for(arguments), arguments.name, executable.string());
  if (!folder) {
    return report(folder.error());
  }
  fmt::print("installed kernelspec {} in {}\n", arguments.name, *folder);
  return kExitOk;
}

int serve(const KernelArguments& arguments) {
  auto logger = std::make_shared<spdlog::logger>("kernel", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] tejun kernel %l: %v");
  logger->set_level(spdlog::level::from_str(arguments.log_level));
  auto info = protocol::read_connection_file(arguments.connection_file);
  if (!info) {
    return report(info.error());
  }
  auto sockets = kernel::KernelSockets::bind(*info);
  if (!sockets) {
    return report(sockets.error());
  }
  kernel::KernelOptions options;
  options.connection_file = arguments.connection_file;
  options.bash_path = arguments.bash;
  kernel::Kernel kernel(std::move(*info), std::move(*sockets), logger, options);
  return kernel.run();
}

}  // namespace

void add_kernel_command(CLI::App& app, CommandStatus& status) {
  auto arguments = std::make_shared<KernelArguments>();
  auto* command = app.add_subcommand("kernel", "Run the tejun Jupyter kernel (started by Jupyter front ends)");
  command->add_option("-f,--connection-file", arguments->connection_file,
                      "Connection file written by the front end (ports and key)");
  command->add_option("--log-level", arguments->log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  command->add_option("--bash", arguments->bash, "The bash that runs shell steps")->check(CLI::ExistingFile);
  command->require_subcommand(0, 1);
  auto* install_command =
      command->add_subcommand("install", "Write the kernelspec \"Runbook (tejun)\" so Jupyter front ends find it");
  auto* user = install_command->add_flag("--user", arguments->user, "Into the user's Jupyter data folder");
  install_command->add_option("--prefix", arguments->prefix, "Into PREFIX/share/jupyter/kernels")->excludes(user);
  install_command->add_option("--name", arguments->name, "Kernelspec name (default: tejun)");
  install_command->callback([arguments, &status] { status.exit_code = install(*arguments); });
  command->callback([arguments, install_command, &status] {
    if (install_command->parsed()) {
      return;
    }
    if (arguments->connection_file.empty()) {
      throw CLI::RequiredError("-f,--connection-file");
    }
    status.exit_code = serve(*arguments);
  });
}

}  // namespace tejun::cli
