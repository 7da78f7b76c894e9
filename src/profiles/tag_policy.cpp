#include "profiles/tag_policy.h"

#include <algorithm>

namespace tollgate::profiles {
namespace {

bool lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Words of [a-z0-9] joined by single `separator`s (none for Lowercase).
bool follows(NamingRule rule, std::string_view text) {
  if (rule == NamingRule::None) return true;
  if (text.empty()) return false;
  if (rule == NamingRule::Lowercase) return std::all_of(text.begin(), text.end(), lower_or_digit);
  const char separator = rule == NamingRule::LowercaseWithHyphens ? '-' : '_';
  bool after_separator = true;  // the text may not start with one
  for (char c : text) {
    if (c == separator) {
      if (after_separator) return false;
      after_separator = true;
    } else if (lower_or_digit(c)) {
      after_separator = false;
    } else {
      return false;
    }
  }
  return !after_separator;
}

// A key conforms when each of its ':'-separated segments does.
bool key_follows(NamingRule rule, std::string_view key) {
  size_t start = 0;
  while (true) {
    size_t colon = key.find(':', start);
    if (!follows(rule, key.substr(start, colon - start))) return false;
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

// "Support Bot" → "support-bot": an example of the rule made from the text.
std::string conforming(NamingRule rule, std::string_view text) {
  const char separator = rule == NamingRule::LowercaseWithUnderscores ? '_' : '-';
  std::string out;
  for (char c : text) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower_or_digit(lower)) {
      out += lower;
    } else if (c != ':' && rule != NamingRule::Lowercase && !out.empty() && out.back() != separator) {
      out += separator;
    } else if (c == ':') {
      out += ':';
    }
  }
  while (!out.empty() && (out.back() == separator || out.back() == ':')) out.pop_back();
  return out.empty() ? "example" : out;
}

std::string example_value(const TagPolicy& policy, const std::string& key) {
  if (auto allowed = policy.allowed_values.find(key);
      allowed != policy.allowed_values.end() && !allowed->second.empty()) {
    return key + "=" + allowed->second.front();
  }
  if (auto pattern = policy.patterns.find(key); pattern != policy.patterns.end()) {
    return key + "=<a value matching " + pattern->second.text + ">";
  }
  return key + "=<value>";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::optional<NamingRule> parse_naming_rule(std::string_view text) {
  if (text == "lowercase-with-hyphens" || text == "kebab-case") return NamingRule::LowercaseWithHyphens;
  if (text == "lowercase-with-underscores" || text == "snake_case") return NamingRule::LowercaseWithUnderscores;
  if (text == "lowercase") return NamingRule::Lowercase;
  return std::nullopt;
}

std::string_view to_string(NamingRule rule) {
  switch (rule) {
    case NamingRule::LowercaseWithHyphens:
      return "lowercase-with-hyphens";
    case NamingRule::LowercaseWithUnderscores:
      return "lowercase-with-underscores";
    case NamingRule::Lowercase:
      return "lowercase";
    case NamingRule::None:
      break;
  }
  return "none";
}

std::vector<TagViolation> check_tags(const TagPolicy& policy, const std::vector<Tag>& tags) {
  std::vector<TagViolation> out;
  auto value_of = [&](const std::string& key) -> const std::string* {
    auto it = std::find_if(tags.begin(), tags.end(), [&](const Tag& t) { return t.key == key; });
    return it == tags.end() ? nullptr : &it->value;
  };
  for (const auto& key : policy.required) {
    const std::string* value = value_of(key);
    if (!value || value->empty()) {
      out.push_back({key, "requiredTags",
                     "The tag '" + key + "' is required (requiredTags of " + policy.source + ")" +
                         (value ? " and may not be empty" : "") + "; add it, e.g. " + example_value(policy, key) +
                         "."});
    }
  }
  for (const auto& tag : tags) {
    if (policy.naming_for_keys && !key_follows(policy.naming, tag.key)) {
      out.push_back({tag.key, "namingRule",
                     "The tag key '" + tag.key + "' breaks the naming rule " + std::string(to_string(policy.naming)) +
                         " of " + policy.source + "; name it like '" + conforming(policy.naming, tag.key) + "'."});
    }
    if (auto allowed = policy.allowed_values.find(tag.key); allowed != policy.allowed_values.end()) {
      const auto& values = allowed->second;
      if (std::find(values.begin(), values.end(), tag.value) == values.end()) {
        out.push_back({tag.key, "allowedValues",
                       "The tag '" + tag.key + "' must be one of " + join(values) + " (allowed values of " +
                           policy.source + "); '" + tag.value + "' is not. Example: " + example_value(policy, tag.key) +
                           "."});
        continue;
      }
    }
    if (auto pattern = policy.patterns.find(tag.key); pattern != policy.patterns.end()) {
      if (!std::regex_match(tag.value, pattern->second.regex)) {
        out.push_back({tag.key, "patterns",
                       "The value '" + tag.value + "' of the tag '" + tag.key + "' must match " + pattern->second.text +
                           " (patterns of " + policy.source + ")."});
        continue;
      }
    }
    if (policy.naming_for_values && !follows(policy.naming, tag.value)) {
      out.push_back({tag.key, "namingRule",
                     "The value '" + tag.value + "' of the tag '" + tag.key + "' breaks the naming rule " +
                         std::string(to_string(policy.naming)) + " of " + policy.source + "; e.g. " + tag.key + "=" +
                         conforming(policy.naming, tag.value) + "."});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const TagViolation& a, const TagViolation& b) { return a.key < b.key; });
  return out;
}

}  // namespace tollgate::profiles
