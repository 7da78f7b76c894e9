// The tollgate command line.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/config.h"
#include "app/serve.h"
#include "core/error.h"

namespace {

constexpr char kVersion[] = "0.1.0";

void set_log_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw tollgate::StartupError("unknown log level '" + level + "' (use trace, debug, info, warn, error or off)");
  }
  spdlog::set_level(parsed);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tollgate — a gateway that implements Amazon Bedrock application inference profiles, so every LLM call\n"
      "has an owner. Point the AWS CLI, boto3 or an AWS SDK at it with --endpoint-url."};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  std::string config_file, listen, data_dir, log_level;
  auto* serve = app.add_subcommand("serve", "Start the gateway and serve until SIGINT or SIGTERM.");
  serve->footer(
      "Defaults (without --config): listen on 127.0.0.1:8420, data in ./tollgate-data, one principal with\n"
      "access key 'test', secret 'test', account 123456789012. The configuration format is described in\n"
      "doc/configuration.md. On start the gateway prints its endpoint, the credentials to use and an AWS CLI\n"
      "example; it shuts down gracefully on SIGINT/SIGTERM, finishing the requests in flight.");
  serve->add_option("--config", config_file, "YAML configuration file (principals, API keys, limits, timeouts)")
      ->check(CLI::ExistingFile);
  serve->add_option("--listen", listen, "Address and port to listen on, ADDR:PORT (port 0 picks a free port); "
                                        "default 127.0.0.1:8420");
  serve->add_option("--data", data_dir, "Data directory for the SQLite database; default ./tollgate-data");
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error or off; default info");

  CLI11_PARSE(app, argc, argv);

  try {
    if (serve->parsed()) {
      tollgate::app::Config config =
          config_file.empty() ? tollgate::app::default_config() : tollgate::app::load_config(config_file);
      if (!listen.empty()) tollgate::app::apply_listen(config, listen);
      if (!data_dir.empty()) config.data_dir = data_dir;
      if (!log_level.empty()) config.log_level = log_level;
      set_log_level(config.log_level);
      return tollgate::app::serve(config);
    }
  } catch (const tollgate::StartupError& e) {
    std::cerr << "tollgate: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
