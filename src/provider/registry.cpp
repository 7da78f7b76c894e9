#include "provider/registry.h"

namespace tollgate::provider {

bool matches_pattern(std::string_view pattern, std::string_view text) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') return text.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == text;
}

void ProviderRegistry::add_rule(std::string model_pattern, std::string region_pattern,
                                std::shared_ptr<Provider> provider) {
  rules_.push_back({std::move(model_pattern), std::move(region_pattern), std::move(provider)});
}

Provider* ProviderRegistry::find(std::string_view model_id, std::string_view region) const {
  for (const auto& rule : rules_) {
    if (matches_pattern(rule.model_pattern, model_id) && matches_pattern(rule.region_pattern, region)) {
      return rule.provider.get();
    }
  }
  return fallback_.get();
}

}  // namespace tollgate::provider
