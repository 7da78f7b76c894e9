#include "ledger/ledger.h"

#include <array>
#include <utility>

namespace tollgate::ledger {
namespace {

constexpr std::array<std::pair<UsageStatus, std::string_view>, 4> kStatuses = {{
    {UsageStatus::Success, "success"},
    {UsageStatus::ClientCancelled, "client_cancelled"},
    {UsageStatus::UpstreamCut, "upstream_cut"},
    {UsageStatus::ModelError, "model_error"},
}};

constexpr std::array<std::pair<TokenType, std::string_view>, 4> kTokenTypes = {{
    {TokenType::Input, "input"},
    {TokenType::Output, "output"},
    {TokenType::CacheRead, "cache-read"},
    {TokenType::CacheWrite, "cache-write"},
}};

template <class Enum, size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <class Enum, size_t N>
bool parse_name(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view text, Enum& out) {
  for (const auto& [v, name] : table) {
    if (name == text) {
      out = v;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view to_string(UsageStatus status) { return name_of(kStatuses, status); }

bool parse_usage_status(std::string_view text, UsageStatus& out) { return parse_name(kStatuses, text, out); }

std::string_view to_string(TokenType type) { return name_of(kTokenTypes, type); }

bool parse_token_type(std::string_view text, TokenType& out) { return parse_name(kTokenTypes, text, out); }

}  // namespace tollgate::ledger
