#include "costs/export.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "core/time_format.h"
#include "costs/money.h"
#include "costs/usage_type.h"
#include "ledger/tag_set.h"

namespace tollgate::costs {
namespace {

namespace fs = std::filesystem;
using std::chrono::days;

const std::vector<std::string_view> kCurColumns = {"identity_line_item_id",
                                                   "identity_time_interval",
                                                   "bill_bill_type",
                                                   "bill_billing_entity",
                                                   "bill_billing_period_end_date",
                                                   "bill_billing_period_start_date",
                                                   "bill_invoice_id",
                                                   "bill_invoicing_entity",
                                                   "bill_payer_account_id",
                                                   "bill_payer_account_name",
                                                   "line_item_availability_zone",
                                                   "line_item_blended_cost",
                                                   "line_item_blended_rate",
                                                   "line_item_currency_code",
                                                   "line_item_iam_principal",
                                                   "line_item_legal_entity",
                                                   "line_item_line_item_description",
                                                   "line_item_line_item_type",
                                                   "line_item_net_unblended_cost",
                                                   "line_item_net_unblended_rate",
                                                   "line_item_operation",
                                                   "line_item_product_code",
                                                   "line_item_resource_id",
                                                   "line_item_unblended_cost",
                                                   "line_item_unblended_rate",
                                                   "line_item_usage_account_id",
                                                   "line_item_usage_account_name",
                                                   "line_item_usage_amount",
                                                   "line_item_usage_end_date",
                                                   "line_item_usage_start_date",
                                                   "line_item_usage_type",
                                                   "pricing_currency",
                                                   "pricing_public_on_demand_cost",
                                                   "pricing_public_on_demand_rate",
                                                   "pricing_rate_code",
                                                   "pricing_term",
                                                   "pricing_unit",
                                                   "product",
                                                   "product_operation",
                                                   "product_pricing_unit",
                                                   "product_product_family",
                                                   "product_region_code",
                                                   "product_servicecode",
                                                   "product_sku",
                                                   "product_usagetype",
                                                   "resource_tags"};

// FOCUS 1.2: every column of the specification, in its (alphabetical) order, then tollgate's custom column
// x_IamPrincipal (FOCUS allows x_-prefixed ones): the rows are split per caller, as CUR's are.
const std::vector<std::string_view> kFocusColumns = {"AvailabilityZone",
                                                     "BilledCost",
                                                     "BillingAccountId",
                                                     "BillingAccountName",
                                                     "BillingAccountType",
                                                     "BillingCurrency",
                                                     "BillingPeriodEnd",
                                                     "BillingPeriodStart",
                                                     "CapacityReservationId",
                                                     "CapacityReservationStatus",
                                                     "ChargeCategory",
                                                     "ChargeClass",
                                                     "ChargeDescription",
                                                     "ChargeFrequency",
                                                     "ChargePeriodEnd",
                                                     "ChargePeriodStart",
                                                     "CommitmentDiscountCategory",
                                                     "CommitmentDiscountId",
                                                     "CommitmentDiscountName",
                                                     "CommitmentDiscountQuantity",
                                                     "CommitmentDiscountStatus",
                                                     "CommitmentDiscountType",
                                                     "CommitmentDiscountUnit",
                                                     "ConsumedQuantity",
                                                     "ConsumedUnit",
                                                     "ContractedCost",
                                                     "ContractedUnitPrice",
                                                     "EffectiveCost",
                                                     "InvoiceId",
                                                     "InvoiceIssuerName",
                                                     "ListCost",
                                                     "ListUnitPrice",
                                                     "PricingCategory",
                                                     "PricingCurrency",
                                                     "PricingCurrencyContractedUnitPrice",
                                                     "PricingCurrencyEffectiveCost",
                                                     "PricingCurrencyListUnitPrice",
                                                     "PricingQuantity",
                                                     "PricingUnit",
                                                     "ProviderName",
                                                     "PublisherName",
                                                     "RegionId",
                                                     "RegionName",
                                                     "ResourceId",
                                                     "ResourceName",
                                                     "ResourceType",
                                                     "ServiceCategory",
                                                     "ServiceName",
                                                     "ServiceSubcategory",
                                                     "SkuId",
                                                     "SkuMeter",
                                                     "SkuPriceDetails",
                                                     "SkuPriceId",
                                                     "SubAccountId",
                                                     "SubAccountName",
                                                     "SubAccountType",
                                                     "Tags",
                                                     "x_IamPrincipal"};

constexpr std::string_view kIssuer = "tollgate";  // who issues these charges: the gateway's operator

std::string json_string(std::string_view text) {
  std::string out;
  ledger::append_json_string(out, text);
  return out;
}

std::string json_object(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out = "{";
  for (const auto& [key, value] : members) {
    if (out.size() > 1) out += ",";
    out += json_string(key) + ":" + json_string(value);
  }
  return out + "}";
}

// One CSV field, quoted when it must be (RFC 4180).
void append_field(std::string& line, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

uint64_t fnv1a(std::string_view text, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string_view token_words(ledger::TokenType type) {
  switch (type) {
    case ledger::TokenType::Input:
      return "input tokens";
    case ledger::TokenType::Output:
      return "output tokens";
    case ledger::TokenType::CacheRead:
      return "cache read input tokens";
    case ledger::TokenType::CacheWrite:
      return "cache write input tokens";
  }
  return "tokens";
}

std::string_view resource_type(const FactDims& dims) {
  if (dims.profile_arn.empty()) return "Foundation Model";
  if (dims.profile_arn.find(":application-inference-profile/") != std::string::npos) {
    return "Application Inference Profile";
  }
  return "System Inference Profile";
}

// A gzip CSV file written line by line.
class GzipCsv {
 public:
  explicit GzipCsv(const std::string& path) : file_(gzopen(path.c_str(), "wb6")) {}
  ~GzipCsv() { close(); }
  bool ok() const { return file_ != nullptr && !failed_; }
  void write(const std::string& line) {
    if (file_ && gzwrite(file_, line.data(), static_cast<unsigned>(line.size())) != static_cast<int>(line.size())) {
      failed_ = true;
    }
  }
  bool close() {
    if (!file_) return !failed_;
    bool closed = gzclose(file_) == Z_OK;
    file_ = nullptr;
    return closed && !failed_;
  }

 private:
  gzFile file_;
  bool failed_ = false;
};

struct RowSums {
  int64_t tokens = 0, cost = 0;
};

// The texts a row of either format is written from, worked out once per row. A Credit row (key.credit) has
// a negative cost, no quantity, rate or resource, and the credit's description.
struct RowText {
  RowText(TimePoint hour, TimePoint period_start, TimePoint period_end, const FactKey& key, const RowSums& sums)
      : d(*key.dims),
        credit(key.credit),
        usage_type(d.usage_types[static_cast<size_t>(key.token_type)]),
        cost(format_usd(sums.cost)),
        rate(credit ? std::string() : format_usd_per_unit(sums.cost, sums.tokens)),
        tokens(std::to_string(sums.tokens)),
        start(format_date_time(hour)),
        end(format_date_time(hour + std::chrono::hours(1))),
        period_start(format_date_time(period_start)),
        period_end(format_date_time(period_end)),
        sku(fmt::format("{:016X}", fnv1a(std::string(kServiceCode) + usage_type + std::string(d.billing_operation)))),
        description(credit ? fmt::format("{} (credit {}) for {} {} in {}",
                                         credit->description.empty() ? "Credit" : credit->description, credit->id,
                                         d.model_name, token_words(key.token_type), d.billing_region)
                           : fmt::format("{} {} in {}", d.model_name, token_words(key.token_type), d.billing_region)),
        token_type(key.token_type),
        tags(*key.tags) {}

  std::string_view record_type() const { return credit ? kCreditRecordType : kRecordType; }
  std::string_view resource_id() const { return credit ? std::string_view() : std::string_view(d.resource_id); }
  // The caller's IAM ARN; a Credit row has none (its dims carry none), as it has no resource.
  std::string_view principal() const { return d.principal; }

  const FactDims& d;
  const CreditGrant* credit;
  const std::string& usage_type;
  const std::string cost, rate, tokens, start, end, period_start, period_end, sku, description;
  const ledger::TokenType token_type;
  const std::vector<Tag>& tags;
};

// One CSV line of `values` (each views a string that outlives the call).
template <size_t N>
std::string csv_line(const std::string_view (&values)[N]) {
  std::string line;
  for (size_t i = 0; i < N; ++i) {
    if (i) line += ',';
    append_field(line, values[i]);
  }
  return line + "\n";
}

std::string cur_line(const RowText& r) {
  const FactDims& d = r.d;
  std::vector<std::pair<std::string, std::string>> tags;
  for (const auto& tag : r.tags) tags.emplace_back(cur_tag_column(tag.key), tag.value);
  const std::string resource_tags = json_object(tags);
  const std::string id =
      fmt::format("{:016x}", fnv1a(r.start + d.account_id + d.resource_id + r.usage_type + d.operation + d.principal +
                                   resource_tags + (r.credit ? "credit:" + r.credit->id : std::string())));
  const std::string product = json_object({{"product_name", std::string(kServiceName)},
                                           {"servicename", std::string(kServiceName)},
                                           {"model", d.model_name},
                                           {"model_id", d.model_id},
                                           {"provider", d.model_provider},
                                           {"api_operation", d.operation}});
  const std::string interval = r.start + "/" + r.end;
  const std::string_view values[] = {id,
                                     interval,
                                     "Anniversary",
                                     "AWS",
                                     r.period_end,
                                     r.period_start,
                                     "",
                                     kIssuer,
                                     d.account_id,
                                     d.account_id,
                                     "",
                                     r.cost,
                                     r.rate,
                                     "USD",
                                     r.principal(),
                                     kIssuer,
                                     r.description,
                                     r.record_type(),
                                     r.cost,
                                     r.rate,
                                     d.billing_operation,
                                     kServiceCode,
                                     r.resource_id(),
                                     r.cost,
                                     r.rate,
                                     d.account_id,
                                     d.account_id,
                                     r.tokens,
                                     r.end,
                                     r.start,
                                     r.usage_type,
                                     "USD",
                                     r.cost,
                                     r.rate,
                                     "",
                                     "OnDemand",
                                     "tokens",
                                     product,
                                     d.billing_operation,
                                     "tokens",
                                     "Amazon Bedrock",
                                     d.billing_region,
                                     kServiceCode,
                                     r.sku,
                                     r.usage_type,
                                     resource_tags};
  static_assert(std::size(values) == 46);
  return csv_line(values);
}

std::string focus_line(const RowText& r) {
  const FactDims& d = r.d;
  std::vector<std::pair<std::string, std::string>> tags;
  for (const auto& tag : r.tags) tags.emplace_back(tag.key, tag.value);
  const std::string tags_json = json_object(tags);
  const std::string resource_name = d.resource_id.substr(d.resource_id.rfind('/') + 1);
  std::string meter(token_words(r.token_type));
  meter[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(meter[0])));
  const std::string_view values[] = {
      "",      // AvailabilityZone
      r.cost,  // BilledCost
      d.account_id,
      d.account_id,
      "",     // BillingAccountId, Name, Type
      "USD",  // BillingCurrency
      r.period_end,
      r.period_start,
      "",
      "",  // CapacityReservationId, Status
      r.record_type(),
      "",
      r.description,
      r.credit ? "One-Time" : "Usage-Based",  // ChargeCategory, Class, Description, Frequency
      r.end,
      r.start,  // ChargePeriodEnd, ChargePeriodStart
      "",
      "",
      "",
      "",
      "",
      "",
      "",  // CommitmentDiscount*
      r.credit ? std::string_view() : std::string_view(r.tokens),
      r.credit ? std::string_view() : std::string_view("Tokens"),  // ConsumedQuantity, ConsumedUnit
      r.cost,
      r.rate,  // ContractedCost, ContractedUnitPrice
      r.cost,  // EffectiveCost
      "",
      kIssuer,  // InvoiceId, InvoiceIssuerName
      r.cost,
      r.rate,  // ListCost, ListUnitPrice
      "Standard",
      "USD",
      r.rate,
      r.cost,
      r.rate,  // PricingCategory, PricingCurrency, ...UnitPrice, ...Cost, ...
      r.credit ? std::string_view() : std::string_view(r.tokens),
      r.credit ? std::string_view() : std::string_view("Tokens"),  // PricingQuantity, PricingUnit
      kIssuer,
      d.model_provider,  // ProviderName, PublisherName
      d.billing_region,
      "",  // RegionId, RegionName
      r.resource_id(),
      r.credit ? std::string_view() : std::string_view(resource_name),
      r.credit ? std::string_view() : resource_type(d),
      "AI and Machine Learning",
      kServiceName,
      "Generative AI",
      r.sku,
      meter,
      "",
      "",  // SkuId, SkuMeter, SkuPriceDetails, SkuPriceId
      d.account_id,
      d.account_id,
      "",  // SubAccountId, Name, Type
      tags_json,
      r.principal()};  // x_IamPrincipal
  static_assert(std::size(values) == 58);
  return csv_line(values);
}

}  // namespace

std::string_view to_string(ExportFormat format) { return format == ExportFormat::Cur2 ? "cur2" : "focus1.2"; }

const std::vector<std::string_view>& export_columns(ExportFormat format) {
  return format == ExportFormat::Cur2 ? kCurColumns : kFocusColumns;
}

std::string period_directory(const std::string& directory, ExportFormat format, TimePoint month) {
  return (fs::path(directory) / std::string(to_string(format)) / format_date_time(month).substr(0, 7)).string();
}

std::string cur_tag_column(std::string_view key) {
  std::string out = "user_";
  for (char c : key) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                                                       : '_';
  }
  return out;
}

Result<ExportResult> write_export(FactSource& source, const ExportRequest& request, TimePoint now) {
  const TimePoint start = month_start(request.month);
  if (start != request.month)
    return Error(ErrorCode::Validation, "An export's billing period starts on the first of a month.");
  const TimePoint end = month_start(start, 1);
  const std::string month = format_date_time(start).substr(0, 7);
  ExportResult result;
  fs::path dir = period_directory(request.directory, request.format, start);
  fs::path staging = dir;
  staging += ".partial";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return Error(ErrorCode::InternalServer, "cannot create " + staging.string() + ": " + ec.message());
  result.period_directory = dir.string();

  const auto& columns = export_columns(request.format);
  std::string header;
  for (auto c : columns) header += (header.empty() ? "" : ",") + std::string(c);
  header += "\n";
  std::unique_ptr<GzipCsv> file;
  size_t rows_in_file = 0;
  std::vector<std::string> file_names;
  std::vector<int64_t> file_rows;
  bool write_failed = false;
  auto open_next = [&] {
    if (file && !file->close()) write_failed = true;
    std::string name = fmt::format("part-{:05d}.csv.gz", file_names.size() + 1);
    file = std::make_unique<GzipCsv>((staging / name).string());
    if (!file->ok()) write_failed = true;
    file->write(header);
    file_names.push_back(name);
    file_rows.push_back(0);
    rows_in_file = 0;
  };
  open_next();

  std::unordered_map<FactKey, RowSums, FactKeyHash> hour_rows;
  TimePoint hour{};
  const size_t hours_total = static_cast<size_t>(std::chrono::floor<std::chrono::hours>(end - start).count());
  auto flush = [&] {
    if (hour_rows.empty()) return;
    std::vector<std::pair<FactKey, RowSums>> rows(hour_rows.begin(), hour_rows.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      const auto& x = *a.first.dims;
      const auto& y = *b.first.dims;
      const std::string_view credit_x = a.first.credit ? std::string_view(a.first.credit->id) : std::string_view();
      const std::string_view credit_y = b.first.credit ? std::string_view(b.first.credit->id) : std::string_view();
      return std::tie(x.account_id, x.resource_id, x.usage_types[static_cast<size_t>(a.first.token_type)], x.operation,
                      x.principal, a.first.tags, credit_x) <
             std::tie(y.account_id, y.resource_id, y.usage_types[static_cast<size_t>(b.first.token_type)], y.operation,
                      y.principal, b.first.tags, credit_y);
    });
    for (const auto& [key, sums] : rows) {
      if (rows_in_file == request.rows_per_file) open_next();
      RowText text(hour, start, end, key, sums);
      file->write(request.format == ExportFormat::Cur2 ? cur_line(text) : focus_line(text));
      ++rows_in_file;
      ++file_rows.back();
      ++result.rows;
      (key.credit ? result.credits_nano_usd : result.cost_nano_usd) += sums.cost;
      result.usage_quantity += sums.tokens;
    }
    hour_rows.clear();
    if (request.progress) {
      request.progress({static_cast<size_t>(std::chrono::floor<std::chrono::hours>(hour - start).count()) + 1,
                        hours_total, result.rows});
    }
  };
  auto scanned = source.scan(start, end, request.account, [&](const Fact& fact) {
    if (fact.hour != hour) {
      flush();
      hour = fact.hour;
    }
    RowSums& sums = hour_rows[key_of(fact)];
    sums.tokens += fact.tokens;
    sums.cost += fact.cost_nano_usd;
  });
  TOLLGATE_TRY(scanned);
  flush();
  if (!file->close()) write_failed = true;
  if (write_failed)
    return Error(ErrorCode::InternalServer, "writing the export files under " + staging.string() + " failed");

  std::string manifest = "{\"format\":" + json_string(request.format == ExportFormat::Cur2 ? "CUR 2.0" : "FOCUS 1.2") +
                         ",\"billingPeriod\":" + json_string(month) +
                         ",\"billingPeriodStart\":" + json_string(format_date_time(start)) +
                         ",\"billingPeriodEnd\":" + json_string(format_date_time(end)) +
                         ",\"generatedAt\":" + json_string(format_date_time(now)) +
                         ",\"complete\":" + (now >= end ? "true" : "false") + ",\"compression\":\"GZIP\",\"columns\":[";
  for (size_t i = 0; i < columns.size(); ++i) manifest += (i ? "," : "") + json_string(columns[i]);
  manifest += "],\"files\":[";
  for (size_t i = 0; i < file_names.size(); ++i) {
    manifest += fmt::format("{}{{\"path\":{},\"rows\":{}}}", i ? "," : "", json_string(file_names[i]), file_rows[i]);
  }
  manifest += fmt::format("],\"rows\":{},\"totalCostUsd\":{},\"totalCreditsUsd\":{},\"totalUsageQuantity\":{}}}\n",
                          result.rows, json_string(format_usd(result.cost_nano_usd)),
                          json_string(format_usd(result.credits_nano_usd)), result.usage_quantity);
  {
    std::ofstream out(staging / "manifest.json");
    out << manifest;
    if (!out.flush()) return Error(ErrorCode::InternalServer, "cannot write the manifest under " + staging.string());
  }
  // Replace an earlier export of the period in one step (readers see the old files or the new ones).
  fs::path old = dir;
  old += ".old";
  fs::remove_all(old, ec);
  if (fs::exists(dir)) fs::rename(dir, old, ec);
  fs::rename(staging, dir, ec);
  if (ec) return Error(ErrorCode::InternalServer, "cannot move the export into " + dir.string() + ": " + ec.message());
  fs::remove_all(old, ec);
  for (const auto& name : file_names) result.files.push_back((dir / name).string());
  result.manifest = (dir / "manifest.json").string();
  return result;
}

}  // namespace tollgate::costs
