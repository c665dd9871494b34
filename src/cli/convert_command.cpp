// `tejun convert IN OUT`: between .ipynb and Markdown, by extension.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "notebook/runbook_file.hpp"

namespace tejun::cli {

void add_convert_command(CLI::App& app, CommandStatus& status) {
  auto* command =
      app.add_subcommand("convert", "Convert a runbook between .ipynb and Markdown (.md), by file extension");
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  command->add_option("input", *input, "Runbook to read (.ipynb, .md)")->required();
  command->add_option("output", *output, "File to write (.ipynb, .md); replaced atomically")->required();
  command->callback([input, output, &status] {
    if (auto converted = notebook::convert_runbook(*input, *output); !converted) {
      status.exit_code = report(converted.error());
    }
  });
}

void add_check_command(CLI::App& app, CommandStatus& status) {
  auto* command = app.add_subcommand("check", "Read runbooks and report the first problem in each");
  auto paths = std::make_shared<std::vector<std::string>>();
  command->add_option("runbooks", *paths, "Runbooks to check (.ipynb, .md)")->required();
  command->callback([paths, &status] {
    for (const auto& path : *paths) {
      if (auto notebook = notebook::read_runbook(path); !notebook) {
        status.exit_code = report(notebook.error());
      }
    }
  });
}

}  // namespace tejun::cli
