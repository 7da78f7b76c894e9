// Which provider serves a (model, region): rules from the configuration, tried
// in order, then a fallback (the simulator by default). Patterns: "*" matches
// anything, "prefix*" a prefix, anything else the exact text.
//
// Thread-safety: configure before serving; find() is then safe concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "provider/provider.h"

namespace tollgate::provider {

bool matches_pattern(std::string_view pattern, std::string_view text);

class ProviderRegistry {
 public:
  void add_rule(std::string model_pattern, std::string region_pattern, std::shared_ptr<Provider> provider);
  void set_fallback(std::shared_ptr<Provider> provider) { fallback_ = std::move(provider); }
  // The provider for this model served in this region; nullptr when no rule
  // matches and there is no fallback.
  Provider* find(std::string_view model_id, std::string_view region) const;

 private:
  struct Rule {
    std::string model_pattern;
    std::string region_pattern;
    std::shared_ptr<Provider> provider;
  };
  std::vector<Rule> rules_;
  std::shared_ptr<Provider> fallback_;
};

}  // namespace tollgate::provider
