// The tollgate command line.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/bypass_report.h"
#include "app/config.h"
#include "app/costs_command.h"
#include "app/credits_command.h"
#include "app/generate_command.h"
#include "app/serve.h"
#include "app/stack_commands.h"
#include "app/usage_command.h"
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
  serve->add_option("--listen", listen,
                    "Address and port to listen on, ADDR:PORT (port 0 picks a free port); "
                    "default 127.0.0.1:8420");
  serve->add_option("--data", data_dir, "Data directory for the SQLite database; default ./tollgate-data");
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error or off; default info");

  tollgate::app::UsageOptions usage_options;
  usage_options.data_dir = "tollgate-data";
  std::string since, profile;
  auto* usage = app.add_subcommand("usage", "List usage records from the ledger, newest first.");
  usage->footer(
      "Reads <data>/ledger.db (safe while the gateway runs). Each record is one invocation that reached a model:\n"
      "its operation, model, the profile it went through, tokens, cost in USD and status. Costs marked * had no\n"
      "price and were recorded at $0.");
  usage->add_option("--data", usage_options.data_dir, "Data directory of the gateway; default ./tollgate-data");
  usage->add_option("--since", since,
                    "Only records that started at or after this time: 2026-11-22, "
                    "2026-11-22T10:00:00Z, or 90m / 24h / 7d back from now");
  usage->add_option("--profile", profile, "Only records of this inference profile ARN");
  usage->add_option("--limit", usage_options.limit, "At most this many records; default 100");
  usage->add_option("--format", usage_options.format, "table (default) or json");

  tollgate::app::BypassReportOptions bypass_options;
  std::string bypass_since;
  auto* bypass = app.add_subcommand("bypass-report",
                                    "List usage that did not go through an application inference profile, by "
                                    "principal.");
  bypass->footer(
      "Reads <data>/ledger.db (safe while the gateway runs). Lists the calls that named a bare foundation model or\n"
      "a system-defined profile instead of an application inference profile — usage no profile's tags attribute —\n"
      "per principal: calls, tokens, cost and the resources named. See doc/governance.md. Example:\n"
      "  tollgate bypass-report --since 7d");
  bypass->add_option("--data", bypass_options.data_dir, "Data directory of the gateway; default ./tollgate-data");
  bypass->add_option("--since", bypass_since,
                     "Only usage that started at or after this time: 2026-11-22, 2026-11-22T10:00:00Z, or 90m / 24h / "
                     "7d back from now");
  bypass->add_option("--format", bypass_options.format, "table (default) or json");

  tollgate::app::CostsOptions costs_options;
  auto* costs =
      app.add_subcommand("costs", "Print costs and usage from the ledger, as Cost Explorer's GetCostAndUsage answers.");
  costs->footer(
      "Reads <data>/ledger.db and <data>/billing.db (safe while the gateway runs). Tags count only where their key\n"
      "was an active cost-allocation tag when the usage happened; usage without one is shown as (untagged).\n"
      "Examples:\n"
      "  tollgate costs --from 2026-11-01 --to 2026-12-01 --group-by TAG:team --group-by DIMENSION:REGION\n"
      "  tollgate costs --granularity DAILY --filter TAG:team=growth,search --format csv\n"
      "  tollgate costs --filter '{\"Not\": {\"Tags\": {\"Key\": \"team\", \"MatchOptions\": [\"ABSENT\"]}}}'");
  costs->add_option("--data", costs_options.data_dir, "Data directory of the gateway; default ./tollgate-data");
  costs->add_option("--from", costs_options.from,
                    "First day (YYYY-MM-DD, or YYYY-MM-DDTHH:00:00Z); default: the first "
                    "of the current month");
  costs->add_option("--to", costs_options.to,
                    "Day after the last one (exclusive, as in Cost Explorer); default: tomorrow");
  costs->add_option("--granularity", costs_options.granularity, "HOURLY, DAILY or MONTHLY (default)");
  costs->add_option("--group-by", costs_options.group_by,
                    "TAG:<key> or DIMENSION:<SERVICE|REGION|USAGE_TYPE|OPERATION|"
                    "LINKED_ACCOUNT|RECORD_TYPE|IAM_PRINCIPAL>; at most twice");
  costs->add_option("--filter", costs_options.filters,
                    "TAG:<key>=<v1>[,<v2>...], DIMENSION:<name>=<v1>[,...] or a "
                    "Cost Explorer Expression in JSON; repeated filters must all hold");
  costs->add_option("--format", costs_options.format, "table (default), csv or json (the GetCostAndUsage answer)");

  tollgate::app::ChargebackOptions chargeback_options;
  auto* chargeback = app.add_subcommand("chargeback",
                                        "Print a per-owner statement for a month: each owner's profiles, "
                                        "tokens and cost, and the untagged remainder.");
  chargeback->footer(
      "Owners are the values of a cost-allocation tag (or of a dimension such as LINKED_ACCOUNT). Usage whose\n"
      "profile carried no active tag of that key is listed last, as untagged. Example:\n"
      "  tollgate chargeback --by TAG:cost-center --month 2026-11");
  chargeback->add_option("--data", chargeback_options.data_dir,
                         "Data directory of the gateway; default ./tollgate-data");
  chargeback->add_option("--by", chargeback_options.by, "TAG:<key> (default TAG:cost-center) or DIMENSION:<name>");
  chargeback->add_option("--month", chargeback_options.month, "YYYY-MM; default: the current month (to date)");
  chargeback->add_option("--format", chargeback_options.format, "table (default), csv or json");

  tollgate::app::ExportOptions export_options;
  auto* export_command = app.add_subcommand("export",
                                            "Write a month's usage as CUR 2.0 or FOCUS 1.2 gzip CSV files "
                                            "plus a manifest.");
  export_command->footer(
      "Files go to <out>/<cur2|focus1.2>/<YYYY-MM>/part-NNNNN.csv.gz and manifest.json, replacing an earlier\n"
      "export of that month. One row per hour, account, resource, usage type, operation and active tag set\n"
      "(doc/costs.md lists the columns). Example:\n"
      "  tollgate export cur --month 2026-11 --out ./billing");
  export_command->add_option("format", export_options.format, "cur (CUR 2.0) or focus (FOCUS 1.2)")->required();
  export_command->add_option("--data", export_options.data_dir,
                             "Data directory of the gateway; default ./tollgate-data");
  export_command->add_option("--month", export_options.month, "YYYY-MM; default: the current month (to date)");
  export_command->add_option("--out", export_options.out_dir, "Directory to write into")->required();

  tollgate::app::GenerateOptions generate_options;
  std::string activate;
  auto* generate = app.add_subcommand("generate-usage",
                                      "Write synthetic, priced, tagged usage records into a ledger "
                                      "(benchmarks and demos).");
  generate->footer(
      "Profiles are spread over six priced models and three Regions, tagged team, cost-center, env and app (every\n"
      "tenth untagged); records are spread evenly over [--from, --to) in time order, log-normal token counts, a fifth "
      "with cache\n"
      "reads. The same seed gives the same records. Example:\n"
      "  tollgate generate-usage --data ./demo --records 1000000 --from 2026-11-01 --to 2026-12-01 --activate team");
  generate->add_option("--data", generate_options.data_dir,
                       "Data directory (created if needed); default ./tollgate-data");
  generate->add_option("--records", generate_options.records, "How many records; default 100000");
  generate->add_option("--from", generate_options.from, "First day, YYYY-MM-DD; default: the first of last month");
  generate->add_option("--to", generate_options.to, "Day after the last (exclusive); default: the first of this month");
  generate->add_option("--profiles", generate_options.profiles, "Application inference profiles; default 100");
  generate->add_option("--seed", generate_options.seed, "Random seed; default 1");
  generate->add_option("--account", generate_options.account, "Account id; default 123456789012");
  generate->add_option("--activate", activate,
                       "Comma-separated tag keys to activate as cost-allocation tags from --from");

  tollgate::app::CreditsOptions credit_options;
  auto* credits =
      app.add_subcommand("credits", "Grant, list and revoke credits (applied to usage as AWS applies them).");
  credits->require_subcommand(1);
  credits->footer(
      "A credit pays for an account's eligible usage in [start, expiry): soonest expiry first, then the credit\n"
      "with the fewest eligible services, then the oldest; within an hour the largest charge first. Reports show\n"
      "it as Credit line items, NetUnblendedCost and the credits column of tollgate costs (doc/costs.md).\n"
      "Examples:\n"
      "  tollgate credits grant --id promo-2026 --account 123456789012 --amount 100 --start 2026-12-01 \\\n"
      "      --expiry 2027-12-01 --service 'Amazon Bedrock' --description 'Promotional credit'\n"
      "  tollgate credits list");
  auto* credits_grant = credits->add_subcommand("grant", "Grant a credit to an account.");
  auto* credits_list = credits->add_subcommand("list", "List the credits with what each has paid and has left.");
  auto* credits_revoke = credits->add_subcommand("revoke", "Remove a credit (reports then no longer apply it).");
  for (auto* sub : {credits_grant, credits_list, credits_revoke}) {
    sub->add_option("--data", credit_options.data_dir, "Data directory of the gateway; default ./tollgate-data");
  }
  credits_grant->add_option("--id", credit_options.grant.id, "Unique id: letters, digits, '.', '_', '-'")->required();
  credits_grant->add_option("--account", credit_options.grant.account, "The account (12 digits)")->required();
  credits_grant->add_option("--amount", credit_options.grant.amount, "USD, e.g. 100 or 12.50")->required();
  credits_grant->add_option("--start", credit_options.grant.start, "First day it applies to: YYYY-MM-DD")->required();
  credits_grant->add_option("--expiry", credit_options.grant.expiry, "Day it stops applying (exclusive)")->required();
  credits_grant->add_option("--service", credit_options.grant.services,
                            "An eligible service, e.g. 'Amazon Bedrock' (repeatable); default: every service");
  credits_grant->add_option("--description", credit_options.grant.description, "Shown on the Credit line items");
  credits_list->add_option("--format", credit_options.format, "table (default) or json");
  credits_revoke->add_option("--id", credit_options.grant.id, "The credit's id")->required();

  tollgate::app::ApplyOptions apply_options;
  auto* apply = app.add_subcommand("apply",
                                   "Deploy the application inference profiles of a CloudFormation template as a "
                                   "stack, through a running gateway.");
  apply->footer(
      "Creates, updates in place (tags, description), replaces (a new name or model source) and deletes (resources\n"
      "removed from the template) the template's AWS::Bedrock::ApplicationInferenceProfile resources; re-applying\n"
      "an unchanged template changes nothing. Other resource types are listed as skipped. Prints the change set,\n"
      "then the Outputs with their Export names. Template or parameter problems are reported as file:line:column\n"
      "and nothing is changed. Signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default test / test) or\n"
      "AWS_BEARER_TOKEN_BEDROCK. See doc/governance.md, \"CloudFormation\". Example:\n"
      "  tollgate apply profiles.yaml --param Environment=prod --param Team=search --dry-run");
  apply->add_option("template", apply_options.template_file, "The template, YAML or JSON")
      ->required()
      ->check(CLI::ExistingFile);
  apply->add_option("--param", apply_options.parameters, "A parameter value, KEY=VALUE (repeatable)");
  apply->add_option("--stack", apply_options.stack_name,
                    "Stack name; default: the template's file name without extension");
  apply->add_flag("--dry-run", apply_options.dry_run, "Print the change set and change nothing");
  apply->add_option("--format", apply_options.format, "table (default) or json (the gateway's answer)");

  tollgate::app::ValidateOptions validate_options;
  auto* validate = app.add_subcommand("validate",
                                      "Check CloudFormation templates (and, with --live, a gateway's profiles) "
                                      "against a tag policy, for CI.");
  validate->footer(
      "Prints each violation with file:line:column (or the profile's ARN for --live), the tag, the rule and an\n"
      "allowed example; exits 1 if there is any, 0 if everything conforms, 2 on bad options. Parameters without a\n"
      "value (--param or Default) leave the values that use them unchecked. See doc/governance.md. Example:\n"
      "  tollgate validate --policy tag-policy.json templates/*.yaml --live --endpoint-url http://gateway:8420");
  validate->add_option("--policy", validate_options.policy_file, "The tag policy, JSON or YAML")
      ->required()
      ->check(CLI::ExistingFile);
  validate->add_option("templates", validate_options.templates, "CloudFormation templates to check")
      ->check(CLI::ExistingFile);
  validate->add_option("--param", validate_options.parameters,
                       "A parameter value, KEY=VALUE, for each template that declares KEY (repeatable)");
  validate->add_flag("--live", validate_options.live, "Also check every application profile of the gateway");
  for (auto* command : {apply, validate}) {
    auto& gateway = command == apply ? apply_options.gateway : validate_options.gateway;
    command->add_option("--endpoint-url", gateway.endpoint_url, "The gateway; default http://127.0.0.1:8420");
    command->add_option("--region", gateway.region,
                        "Region; default AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1");
  }
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
    if (apply->parsed()) return tollgate::app::apply_stack(apply_options, std::cout, std::cerr);
    if (validate->parsed()) return tollgate::app::validate_templates(validate_options, std::cout, std::cerr);
    if (bypass->parsed()) {
      if (!bypass_since.empty()) bypass_options.since = bypass_since;
      tollgate::SystemClock clock;
      return tollgate::app::print_bypass_report(bypass_options, std::cout, clock);
    }
    if (usage->parsed()) {
      if (!since.empty()) usage_options.since = since;
      if (!profile.empty()) usage_options.profile_arn = profile;
      tollgate::SystemClock clock;
      return tollgate::app::list_usage(usage_options, std::cout, clock);
    }
    if (costs->parsed()) {
      tollgate::SystemClock clock;
      return tollgate::app::print_costs(costs_options, std::cout, clock);
    }
    if (generate->parsed()) {
      for (size_t i = 0; i < activate.size();) {
        size_t comma = std::min(activate.find(',', i), activate.size());
        if (comma > i) generate_options.activate.push_back(activate.substr(i, comma - i));
        i = comma + 1;
      }
      tollgate::SystemClock clock;
      return tollgate::app::generate_usage(generate_options, std::cout, clock);
    }
    if (export_command->parsed()) {
      tollgate::SystemClock clock;
      return tollgate::app::run_export(export_options, std::cout, std::cerr, clock);
    }
    if (credits->parsed()) {
      tollgate::SystemClock clock;
      if (credits_grant->parsed()) return tollgate::app::grant_credit(credit_options, std::cout, clock);
      if (credits_list->parsed()) return tollgate::app::list_credits(credit_options, std::cout, clock);
      return tollgate::app::revoke_credit(credit_options, std::cout);
    }
    if (chargeback->parsed()) {
      tollgate::SystemClock clock;
      return tollgate::app::print_chargeback(chargeback_options, std::cout, clock);
    }
  } catch (const tollgate::StartupError& e) {
    std::cerr << "tollgate: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
