#include "costs/usage_type.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>
#include <vector>

#include "catalog/catalog.h"

namespace tollgate::costs {
namespace {

// AWS's Region billing codes (docs.aws.amazon.com/global-infrastructure/latest/regions/
// aws-region-billing-codes.html; the European, Middle-East and GovCloud ones as public cost tools agree).
// The numbers do not follow the Region names: ap-south-1 is APS3.
constexpr std::array<std::pair<std::string_view, std::string_view>, 38> kRegionPrefixes = {{
    {"af-south-1", "AFS1"},     {"ap-east-1", "APE1"},      {"ap-east-2", "APE2"},      {"ap-northeast-1", "APN1"},
    {"ap-northeast-2", "APN2"}, {"ap-northeast-3", "APN3"}, {"ap-south-1", "APS3"},     {"ap-south-2", "APS5"},
    {"ap-southeast-1", "APS1"}, {"ap-southeast-2", "APS2"}, {"ap-southeast-3", "APS4"}, {"ap-southeast-4", "APS6"},
    {"ap-southeast-5", "APS7"}, {"ap-southeast-6", "APS8"}, {"ap-southeast-7", "APS9"}, {"ca-central-1", "CAN1"},
    {"ca-west-1", "CAN2"},      {"cn-north-1", "CNN1"},     {"cn-northwest-1", "CNW1"}, {"eu-central-1", "EUC1"},
    {"eu-central-2", "EUC2"},   {"eu-north-1", "EUN1"},     {"eu-south-1", "EUS1"},     {"eu-south-2", "EUS2"},
    {"eu-west-1", "EU"},        {"eu-west-2", "EUW2"},      {"eu-west-3", "EUW3"},      {"il-central-1", "ILC1"},
    {"me-central-1", "MEC1"},   {"me-south-1", "MES1"},     {"mx-central-1", "MXC1"},   {"sa-east-1", "SAE1"},
    {"us-east-1", "USE1"},      {"us-east-2", "USE2"},      {"us-gov-east-1", "UGE1"},  {"us-gov-west-1", "UGW1"},
    {"us-west-1", "USW1"},      {"us-west-2", "USW2"},
}};

bool is_version(std::string_view word) {
  return !word.empty() && std::isdigit(static_cast<unsigned char>(word[0])) &&
         std::all_of(word.begin(), word.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; });
}

}  // namespace

std::string region_prefix(std::string_view region) {
  auto it = std::lower_bound(kRegionPrefixes.begin(), kRegionPrefixes.end(), region,
                             [](const auto& entry, std::string_view r) { return entry.first < r; });
  if (it != kRegionPrefixes.end() && it->first == region) return std::string(it->second);
  std::string out(region);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string usage_family(std::string_view model_name) {
  std::vector<std::string_view> words;
  for (size_t i = 0; i < model_name.size();) {
    size_t j = model_name.find(' ', i);
    if (j == std::string_view::npos) j = model_name.size();
    if (j > i) words.push_back(model_name.substr(i, j - i));
    i = j + 1;
  }
  // "Claude Sonnet 4.5" -> Claude 4.5 Sonnet
  if (words.size() == 3 && words[0] == "Claude" && !is_version(words[1]) && is_version(words[2])) {
    std::swap(words[1], words[2]);
  }
  std::string out;
  for (auto word : words) {
    for (char c : word) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.') out += c;
    }
  }
  return out;
}

std::string usage_type(std::string_view region, std::string_view family, ledger::TokenType token_type) {
  std::string out = region_prefix(region);
  out += '-';
  out += family;
  switch (token_type) {
    case ledger::TokenType::Input:
      return out + "-input-tokens";
    case ledger::TokenType::Output:
      return out + "-output-tokens";
    case ledger::TokenType::CacheRead:
      return out + "-cache-read-input-token-count";
    case ledger::TokenType::CacheWrite:
      return out + "-cache-write-input-token-count";
  }
  return out;
}

std::string_view billing_operation(std::string_view api_operation) {
  if (api_operation == "ConverseStream" || api_operation == "InvokeModelWithResponseStream") {
    return "InvokeModelStreamingInference";
  }
  return "InvokeModelInference";
}

std::string foundation_model_resource(std::string_view region, std::string_view model_id) {
  return catalog::foundation_model_arn(region, model_id);
}

}  // namespace tollgate::costs
