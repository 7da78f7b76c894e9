// A tag policy: the tagging contract a platform team publishes, enforced when an application inference
// profile is created, tagged or untagged (doc/governance.md). The file form — JSON or YAML — is read by
// app/tag_policy_file; this is the contract itself and its check.
//
//  * requiredTags: keys every profile must carry (with a non-empty value).
//  * allowedValues: per key, the values it may take; allowedEnvironments is the shorthand for the key
//    `environment`.
//  * patterns: per key, an ECMAScript regular expression the whole value must match.
//  * namingRule: lowercase-with-hyphens (kebab-case), lowercase-with-underscores (snake_case) or lowercase,
//    for tag keys (each ':'-separated segment of a key, so namespaced keys such as team:cost-center conform)
//    and, with namingRuleAppliesTo [keys, values], for values too.
//
// Thread-safety: immutable once built.
#pragma once

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/tag.h"

namespace tollgate::profiles {

enum class NamingRule { None, LowercaseWithHyphens, LowercaseWithUnderscores, Lowercase };
// "lowercase-with-hyphens" / "kebab-case", "lowercase-with-underscores" / "snake_case", "lowercase".
std::optional<NamingRule> parse_naming_rule(std::string_view text);
std::string_view to_string(NamingRule rule);

struct TagPolicy {
  std::string source;  // where it came from (a file name), for messages
  std::vector<std::string> required;
  std::map<std::string, std::vector<std::string>> allowed_values;
  struct Pattern {
    std::string text;
    std::regex regex;
  };
  std::map<std::string, Pattern> patterns;
  NamingRule naming = NamingRule::None;
  bool naming_for_keys = true, naming_for_values = false;
};

struct TagViolation {
  std::string key;
  std::string rule;     // requiredTags, allowedValues, patterns, namingRule
  std::string message;  // names the tag, the rule, and an allowed example
};

// Every way `tags` (a profile's whole tag set) breaks the policy, in key order.
std::vector<TagViolation> check_tags(const TagPolicy& policy, const std::vector<Tag>& tags);

}  // namespace tollgate::profiles
