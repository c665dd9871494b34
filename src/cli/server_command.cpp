// `tejun server`: the Jupyter-compatible runbook server.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "server/server.hpp"

namespace tejun::cli {

void add_server_command(CLI::App& app, CommandStatus& status) {
  auto config = std::make_shared<server::ServerConfig>();
  auto* command = app.add_subcommand("server",
                                     "Serve runbooks over Jupyter's REST API (JupyterLab, VS Code, "
                                     "@jupyterlab/services connect to it)");
  command->add_option("--ip", config->ip, "Address to listen on (default 127.0.0.1)");
  command->add_option("--port", config->port, "Port to listen on (default 8888; 0: any free port)");
  command->add_option("--root", config->root, "The folder served (default: the current one)")
      ->check(CLI::ExistingDirectory);
  command
      ->add_option("--token", config->token,
                   "The token clients must give (default: $TEJUN_TOKEN, else a random one, printed)")
      ->envname("TEJUN_TOKEN");
  command->add_option("--base-url", config->base_url, "Path prefix of every URL (default /)");
  command->add_option("--log-format", config->log_format, "plain or json: one line per request on stderr")
      ->check(CLI::IsMember({"plain", "json"}));
  auto idle = std::make_shared<long>(0);
  auto interval = std::make_shared<long>(300);
  command
      ->add_option("--cull-idle-timeout", *idle,
                   "Shut a kernel down after this many seconds without activity (default 0: never)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--cull-interval", *interval, "How often to look for idle kernels, in seconds (default 300)")
      ->check(CLI::PositiveNumber);
  command->add_flag("--cull-connected", config->cull_connected, "Also cull kernels that have a client connected");
  command->add_flag("--cull-busy", config->cull_busy, "Also cull kernels running a step");
  command->callback([config, idle, interval, &status] {
    config->cull_idle_timeout = std::chrono::seconds(*idle);
    config->cull_interval = std::chrono::seconds(*interval);
    auto served = server::run_server(*config, [](const std::string& url) {
      std::fprintf(stderr, "tejun server: serving on %s\n", url.c_str());
      std::fflush(stderr);
    });
    if (!served) {
      status.exit_code = report(served.error());
    }
  });
}

}  // namespace tejun::cli
