#include "app/serve.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "api/bedrock/control_plane.h"
#include "api/budgets/budgets_api.h"
#include "api/ce/cost_explorer.h"
#include "api/gateway.h"
#include "api/runtime/runtime_api.h"
#include "api/stacks/stacks_api.h"
#include "app/budget_notifier.h"
#include "app/providers.h"
#include "app/scheduled_exports.h"
#include "auth/authenticator.h"
#include "budgets/budget_store.h"
#include "budgets/enforcer.h"
#include "catalog/catalog.h"
#include "costs/cost_allocation_tags.h"
#include "http/server.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "meter/price_book.h"
#include "profiles/profile_service.h"
#include "stacks/stack_service.h"
#include "stacks/stack_store.h"
#include "store/caching_profile_store.h"
#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::app {
namespace {

void print_banner(const Config& config, const std::string& endpoint, const std::filesystem::path& data_dir) {
  const auto& p = config.principals.empty() ? auth::AccessKeyCredential{} : config.principals.front();
  std::cout << "tollgate listening on " << endpoint << "\n"
            << "  data directory: " << data_dir.string() << "\n";
  if (config.only_default_principal()) {
    std::cout << "  credentials:    access key " << p.access_key_id << ", secret " << p.secret_access_key
              << ", account " << p.account_id << " (the embedded default principal)\n"
              << "  try it:\n"
              << "    export AWS_ACCESS_KEY_ID=" << p.access_key_id << " AWS_SECRET_ACCESS_KEY=" << p.secret_access_key
              << " AWS_DEFAULT_REGION=us-east-1\n";
  } else {
    std::cout << "  credentials:    " << config.principals.size() << " principal(s) and " << config.api_keys.size()
              << " API key(s) from the configuration file\n"
              << "  try it (with one of those access keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY):\n";
  }
  std::cout << "    aws bedrock create-inference-profile --endpoint-url " << endpoint
            << " --region us-east-1 --inference-profile-name support-bot-prod --model-source "
               "copyFrom=arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0 "
               "--tags key=team,value=growth\n"
            << "    aws bedrock list-inference-profiles --type-equals APPLICATION --endpoint-url " << endpoint
            << " --region us-east-1\n"
            << std::flush;
}

}  // namespace

int serve(const Config& config) {
  check_config(config);
  std::filesystem::path data_dir = std::filesystem::absolute(config.data_dir);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw StartupError("cannot create the data directory " + data_dir.string() + ": " + ec.message());

  SystemClock clock;
  catalog::Catalog catalog = catalog::Catalog::embedded();
  auto profile_store = store::sqlite::open_profile_store((data_dir / "tollgate.db").string());
  store::CachingProfileStore cached_profiles(*profile_store);  // every runtime call looks its profile up
  auth::Authenticator authenticator(config.principals, config.api_keys, clock, config.default_region);
  profiles::ProfileService profile_service(catalog, cached_profiles, clock);
  profile_service.set_tag_policy(config.tag_policy);

  meter::PriceBook prices = price_book(config, catalog);
  ledger::sqlite::SqliteLedgerOptions ledger_options;
  ledger_options.path = (data_dir / "ledger.db").string();
  ledger_options.fsync_each_commit = config.ledger_fsync;
  // No waiting for company: records that arrive while a commit runs form the next
  // group anyway, and a wait would add its full length to a lightly loaded gateway.
  ledger_options.max_delay = std::chrono::milliseconds(0);
  ledger::sqlite::SqliteLedger ledger(ledger_options);
  Providers providers(config, catalog, clock);

  auto cost_allocation_tags = costs::CostAllocationTags::open((data_dir / "billing.db").string());
  profile_service.set_tag_observer([&](const std::vector<Tag>& tags) {
    std::vector<std::string> keys;
    for (const auto& tag : tags) keys.push_back(tag.key);
    if (auto noted = cost_allocation_tags->note_keys(keys, clock.now()); !noted.ok()) {
      spdlog::warn("could not record tag keys as cost-allocation tags: {}", noted.error().message());
    }
  });
  auto credits = costs::CreditStore::open((data_dir / "billing.db").string());
  for (const auto& grant : config.credits) {
    if (auto granted = credits->grant(grant, /*replace=*/true); !granted.ok()) {
      throw StartupError("cannot record the credit " + grant.id + ": " + granted.error().message());
    }
  }
  api::ce::CostExplorer cost_explorer(ledger, *cost_allocation_tags, catalog, clock,
                                      {config.cost_explorer_page_size, config.control_plane_body_bytes}, credits.get());

  auto budget_store = budgets::BudgetStore::open((data_dir / "billing.db").string());
  budgets::Enforcer enforcer(ledger, catalog, *cost_allocation_tags, clock);
  cost_allocation_tags->on_change([&] {
    if (auto refreshed = enforcer.refresh_tags(); !refreshed.ok()) {
      spdlog::error("blocking budgets could not re-read the cost-allocation tags: {}", refreshed.error().message());
    }
  });
  api::budgets::BudgetsApi budgets_api(*budget_store, ledger, *cost_allocation_tags, catalog, clock,
                                       config.control_plane_body_bytes, &enforcer);
  if (auto installed = budgets_api.install_blocking_budgets(); !installed.ok()) {
    throw StartupError("cannot count the spend of the blocking budgets: " + installed.error().message());
  }

  auto stack_store = stacks::StackStore::open((data_dir / "stacks.db").string());
  stacks::StackService stack_service(profile_service, *stack_store, clock);

  api::Gateway gateway(authenticator);
  api::bedrock::register_control_plane(gateway, profile_service, catalog, config.control_plane_body_bytes);
  api::stacks::register_stacks_api(gateway, stack_service, config.control_plane_body_bytes);
  cost_explorer.register_operations(gateway);
  budgets_api.register_operations(gateway);
  api::runtime::register_runtime(
      gateway, {profile_service, providers.registry(), prices, ledger, clock, config.runtime_body_bytes, &enforcer,
                config.governance.require_application_profiles});
  if (config.governance.require_application_profiles) {
    spdlog::info("governance: runtime calls must name an application inference profile");
  }

  http::ServerOptions options;
  options.address = config.listen_address;
  options.port = config.listen_port;
  options.io_threads = config.io_threads;
  options.max_header_bytes = config.max_header_bytes;
  options.idle_timeout = config.idle_timeout;
  options.body_timeout = config.body_timeout;
  options.shutdown_grace = config.shutdown_grace;
  std::unique_ptr<ScheduledExports> exports;
  if (!config.exports.directory.empty()) {
    ScheduledExportsOptions export_options{
        (std::filesystem::absolute(config.exports.directory)).string(), {}, config.exports.interval};
    for (const auto& f : config.exports.formats) {
      export_options.formats.push_back(f == "cur" ? costs::ExportFormat::Cur2 : costs::ExportFormat::Focus12);
    }
    exports = std::make_unique<ScheduledExports>(std::move(export_options), ledger, *cost_allocation_tags, catalog,
                                                 clock, credits.get());
    exports->start();
  }
  AlertDeliveryOptions delivery{
      config.budgets.webhook_attempts,
      config.budgets.webhook_backoff,
      config.budgets.webhook_timeout,
      config.budgets.webhook_secret,
      config.budgets.delivery_log.empty() ? (data_dir / "budget-deliveries.log").string() : config.budgets.delivery_log,
      config.budgets.file_directory.empty() ? (data_dir / "budget-alerts").string() : config.budgets.file_directory};
  BudgetNotifier notifier(budgets_api,
                          config.budgets.notification_log.empty() ? (data_dir / "budget-notifications.log").string()
                                                                  : config.budgets.notification_log,
                          config.budgets.evaluate_interval, std::move(delivery), clock);
  notifier.start();
  http::Server server(options, gateway);
  server.listen();

  std::string host =
      config.listen_address.find(':') != std::string::npos ? "[" + config.listen_address + "]" : config.listen_address;
  print_banner(config, "http://" + host + ":" + std::to_string(server.port()), data_dir);
  server.run(/*handle_signals=*/true);
  exports.reset();
  ledger.close();
  spdlog::info("stopped");
  return 0;
}

}  // namespace tollgate::app
