// `tollgate apply` and `tollgate validate`: CloudFormation templates of application inference profiles,
// deployed through a running gateway and checked against a tag policy in CI (doc/governance.md,
// "CloudFormation" and "Validating in CI").
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "app/gateway_client.h"

namespace tollgate::app {

struct ApplyOptions {
  std::string template_file;
  std::vector<std::string> parameters;  // KEY=VALUE
  std::string stack_name;               // "" = the template file's name without its extension
  bool dry_run = false;
  std::string format = "table";  // table | json (the gateway's answer)
  GatewayClientOptions gateway;
};

// Deploys the template as a stack through the gateway and prints the change set and the outputs.
// Returns 0 when applied (or planned, for a dry run), 1 when the gateway refused it (the problems are
// printed to `err`). Throws StartupError on bad options or an unreadable file.
int apply_stack(const ApplyOptions& options, std::ostream& out, std::ostream& err);

struct ValidateOptions {
  std::string policy_file;
  std::vector<std::string> templates;
  std::vector<std::string> parameters;  // KEY=VALUE, for every template that declares KEY
  bool live = false;                    // also the application profiles of a running gateway
  GatewayClientOptions gateway;
};

// Checks each template's application inference profiles (and, with `live`, the gateway's) against the
// tag policy. Prints one line per violation — file:line:column (or the profile's ARN), the tag, the rule
// and an allowed example — then a summary. Returns 0 when everything conforms, 1 otherwise. Throws
// StartupError on bad options, an unreadable file or an unreachable gateway.
int validate_templates(const ValidateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tollgate::app
