#include "app/credits_command.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "app/usage_command.h"
#include "catalog/catalog.h"
#include "core/time_format.h"
#include "costs/facts.h"
#include "costs/money.h"
#include "meter/price_book.h"

namespace tollgate::app {
namespace {

namespace json = boost::json;

std::string billing_db(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "billing.db").string();
}

std::string services_text(const costs::CreditGrant& g) {
  if (g.services.empty()) return "every service";
  std::string out;
  for (const auto& s : g.services) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

costs::CreditGrant parse_credit(const CreditText& text, TimePoint granted_at, const std::string& where) {
  costs::CreditGrant grant;
  grant.id = text.id;
  grant.account_id = text.account;
  grant.description = text.description;
  grant.services = text.services;
  grant.granted_at = granted_at;
  auto amount = meter::parse_usd_per_million(text.amount);
  if (!amount.ok()) {
    throw StartupError(where + ": the amount '" + text.amount + "' must be a USD amount such as 100 or 12.50");
  }
  grant.amount_nano_usd = *amount;
  auto start = parse_date_or_date_time(text.start);
  auto expiry = parse_date_or_date_time(text.expiry);
  if (!start || !expiry) {
    throw StartupError(where + ": start and expiry must be dates (YYYY-MM-DD) or times (YYYY-MM-DDTHH:MM:SSZ)");
  }
  grant.start = *start;
  grant.expiry = *expiry;
  if (auto checked = costs::check_grant(grant); !checked.ok())
    throw StartupError(where + ": " + checked.error().message());
  return grant;
}

int grant_credit(const CreditsOptions& options, std::ostream& out, const Clock& clock) {
  costs::CreditGrant grant = parse_credit(options.grant, clock.now(), "the credit");
  std::filesystem::create_directories(options.data_dir);
  auto store = costs::CreditStore::open(billing_db(options.data_dir));
  if (auto added = store->grant(grant); !added.ok()) throw StartupError(added.error().message());
  out << fmt::format("granted credit {}: {} USD to account {} for usage from {} until {} ({})\n", grant.id,
                     costs::format_usd(grant.amount_nano_usd), grant.account_id, format_date_time(grant.start),
                     format_date_time(grant.expiry), services_text(grant));
  return 0;
}

int revoke_credit(const CreditsOptions& options, std::ostream& out) {
  auto store = costs::CreditStore::open(billing_db(options.data_dir));
  if (auto removed = store->revoke(options.grant.id); !removed.ok()) throw StartupError(removed.error().message());
  out << "revoked credit " << options.grant.id << "\n";
  return 0;
}

int list_credits(const CreditsOptions& options, std::ostream& out, const Clock& clock) {
  check_table_or_json(options.format);
  auto store = costs::CreditStore::open(billing_db(options.data_dir), true);
  auto grants = store->grants();
  if (!grants.ok()) throw StartupError("cannot read the credits: " + grants.error().message());
  // What each grant paid so far: the Credit facts of a scan from the earliest grant until now.
  std::map<std::string, int64_t> used;
  if (!grants->empty()) {
    auto ledger = open_ledger_for_reading(options.data_dir);
    auto tags = costs::CostAllocationTags::open(billing_db(options.data_dir), true);
    auto timeline = tags->timeline();
    if (!timeline.ok()) throw StartupError("cannot read the cost-allocation tags: " + timeline.error().message());
    catalog::Catalog catalog = catalog::Catalog::embedded();
    costs::FactSource source(*ledger, catalog, std::move(timeline).value());
    source.set_credits(*grants);
    TimePoint earliest = grants->front().start;
    for (const auto& g : *grants) earliest = std::min(earliest, g.start);
    const TimePoint until = std::chrono::floor<std::chrono::hours>(clock.now()) + std::chrono::hours(1);
    auto scanned = source.scan(std::chrono::floor<std::chrono::hours>(earliest), std::max(until, earliest),
                               std::nullopt, [&](const costs::Fact& fact) {
                                 if (fact.credit) used[fact.credit->id] -= fact.cost_nano_usd;
                               });
    if (!scanned.ok()) throw StartupError("cannot read the ledger: " + scanned.error().message());
  }
  if (options.format == "json") {
    json::array list;
    for (const auto& g : *grants) {
      json::array services;
      for (const auto& s : g.services) services.emplace_back(s);
      list.push_back(json::object{{"id", g.id},
                                  {"accountId", g.account_id},
                                  {"description", g.description},
                                  {"amountUsd", costs::format_usd(g.amount_nano_usd)},
                                  {"usedUsd", costs::format_usd(used[g.id])},
                                  {"remainingUsd", costs::format_usd(g.amount_nano_usd - used[g.id])},
                                  {"start", format_date_time(g.start)},
                                  {"expiry", format_date_time(g.expiry)},
                                  {"services", std::move(services)}});
    }
    out << json::serialize(json::object{{"credits", std::move(list)}}) << "\n";
    return 0;
  }
  if (grants->empty()) {
    out << "no credits granted (tollgate credits grant adds one)\n";
    return 0;
  }
  out << fmt::format("{:<20} {:<12} {:>14} {:>14} {:>14}  {:<20} {:<20} {}\n", "ID", "ACCOUNT", "AMOUNT (USD)",
                     "USED (USD)", "LEFT (USD)", "START", "EXPIRY", "SERVICES");
  for (const auto& g : *grants) {
    out << fmt::format("{:<20} {:<12} {:>14} {:>14} {:>14}  {:<20} {:<20} {}\n", g.id, g.account_id,
                       costs::format_usd(g.amount_nano_usd), costs::format_usd(used[g.id]),
                       costs::format_usd(g.amount_nano_usd - used[g.id]), format_date_time(g.start),
                       format_date_time(g.expiry), services_text(g));
  }
  return 0;
}

}  // namespace tollgate::app
