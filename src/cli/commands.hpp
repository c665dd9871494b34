// Each tejun subcommand registers itself on the application; main() only wires them.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace tejun::cli {

// What a subcommand's run leaves for main() to return.
struct CommandStatus {
  int exit_code = 0;
};

void add_convert_command(CLI::App& app, CommandStatus& status);
void add_check_command(CLI::App& app, CommandStatus& status);
void add_kernel_command(CLI::App& app, CommandStatus& status);
void add_run_command(CLI::App& app, CommandStatus& status);
void add_server_command(CLI::App& app, CommandStatus& status);

// `-p NAME=VALUE` (and -r) split into `-p NAME VALUE`, the form the parser takes.
[[nodiscard]] std::vector<std::string> normalize_run_arguments(std::vector<std::string> arguments);

}  // namespace tejun::cli
