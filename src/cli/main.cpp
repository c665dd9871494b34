// The one main() of tejun: builds the command line and runs the chosen subcommand.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"

namespace tejun::cli {
namespace {

int run(int argc, char** argv) {
  CLI::App app{"tejun: executable runbooks. Jupyter-compatible, in one binary.", "tejun"};
  app.set_version_flag("--version", std::string("tejun ") + TEJUN_VERSION);
  app.footer("Not built yet: serve (the multi-user hub); in server, the kernel WebSocket.");
  // At most one; "none" is reported after parsing, so an unknown option is named first.
  app.require_subcommand(0, 1);
  app.fallthrough(false);
  CommandStatus status;
  add_convert_command(app, status);
  add_check_command(app, status);
  add_kernel_command(app, status);
  add_run_command(app, status);
  add_server_command(app, status);
  try {
    std::vector<std::string> words(argv + 1, argv + argc);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    if (!words.empty() && words.front() == "run") {
      words = normalize_run_arguments(std::move(words));
    }
    std::reverse(words.begin(), words.end());  // CLI11 takes the words last first
    app.parse(words);
    if (app.get_subcommands().empty()) {
      fmt::print(stderr, "tejun: a subcommand is required (see tejun --help)\n");
      return kExitUsage;
    }
  } catch (const CLI::CallForHelp& help) {
    fmt::print("{}", app.help());
    return kExitOk;
  } catch (const CLI::CallForAllHelp& help) {
    fmt::print("{}", app.help("", CLI::AppFormatMode::All));
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    fmt::print("tejun {}\n", TEJUN_VERSION);
    return kExitOk;
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "tejun: {} (see tejun --help)\n", error.what());
    return kExitUsage;
  } catch (const std::exception& error) {
    // A bug, not a user error: say so rather than die silently.
    fmt::print(stderr, "tejun: internal error: {}\n", error.what());
    return kExitFailure;
  }
  return status.exit_code;
}

}  // namespace
}  // namespace tejun::cli

int main(int argc, char** argv) {
  try {
    return tejun::cli::run(argc, argv);
  } catch (...) {
    // Printing itself failed (stderr closed, out of memory): nothing more can be said.
    return tejun::cli::kExitFailure;
  }
}
