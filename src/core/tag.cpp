#include "core/tag.h"

#include <algorithm>
#include <unordered_set>

#include "core/validation.h"

namespace tollgate {
namespace {

bool is_tag_char(char c) {
  static constexpr std::string_view kExtra = "._:/=+@- \t\n\r\f\v";
  return is_alnum(c) || kExtra.find(c) != std::string_view::npos;
}

const Pattern kTagPattern{
    R"([a-zA-Z0-9\s._:/=+@-]*)",
    [](std::string_view v) { return std::all_of(v.begin(), v.end(), is_tag_char); },
    "use only letters, digits, spaces and the characters _ . : / = + @ -"};

bool has_reserved_prefix(std::string_view key) {
  if (key.size() < 4) return false;
  std::string prefix(key.substr(0, 4));
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char c) { return std::tolower(c); });
  return prefix == "aws:";
}

}  // namespace

Status validate_tag_key(std::string_view field, std::string_view key) {
  TOLLGATE_TRY(check_string(field, key, 1, 128, kTagPattern));
  if (has_reserved_prefix(key)) {
    return Error(ErrorCode::Validation, "Tag key '" + quote_value(key) + "' at '" + std::string(field) +
                                            "' uses the prefix 'aws:', which is reserved for AWS; choose a key without it.");
  }
  return {};
}

Status validate_tag_value(std::string_view field, std::string_view value) {
  return check_string(field, value, 0, 256, kTagPattern);
}

Status validate_tag_list(std::string_view field, const std::vector<Tag>& tags) {
  if (tags.size() > kMaxTagsPerRequest) {
    return Error(ErrorCode::Validation, "1 validation error detected: Value at '" + std::string(field) +
                                            "' failed to satisfy constraint: Member must have length less than or equal to " +
                                            std::to_string(kMaxTagsPerRequest) + " (it has " +
                                            std::to_string(tags.size()) + ")");
  }
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < tags.size(); ++i) {
    std::string member = std::string(field) + "." + std::to_string(i + 1) + ".member";
    TOLLGATE_TRY(validate_tag_key(member + ".key", tags[i].key));
    TOLLGATE_TRY(validate_tag_value(member + ".value", tags[i].value));
    if (!seen.insert(tags[i].key).second) {
      return Error(ErrorCode::Validation, "Tag key '" + tags[i].key + "' appears more than once in '" +
                                              std::string(field) + "'; a resource has one value per key, send it once.");
    }
  }
  return {};
}

void merge_tags(std::vector<Tag>& current, const std::vector<Tag>& incoming) {
  for (const auto& tag : incoming) {
    auto it = std::find_if(current.begin(), current.end(), [&](const Tag& t) { return t.key == tag.key; });
    if (it != current.end()) {
      it->value = tag.value;
    } else {
      current.push_back(tag);
    }
  }
}

}  // namespace tollgate
