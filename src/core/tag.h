// Resource tags, with AWS's rules (Bedrock TagKey/TagValue patterns, the `aws:`
// prefix reserved, at most kMaxTagsPerResource user tags on one resource).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate {

struct Tag {
  std::string key;
  std::string value;
  friend bool operator==(const Tag&, const Tag&) = default;
};

// AWS's general limit of user tags per resource (the Bedrock model allows 200 in
// one request; TooManyTagsException's documentation speaks of 50 per resource).
inline constexpr size_t kMaxTagsPerResource = 50;
// The model's TagList / TagKeyList maximum in a single request.
inline constexpr size_t kMaxTagsPerRequest = 200;

// Checks one key or value against the model; `field` names it in the message
// (e.g. "tags.1.member.key").
Status validate_tag_key(std::string_view field, std::string_view key);
Status validate_tag_value(std::string_view field, std::string_view value);

// Checks a request's tag list: count, each key and value, duplicate keys, and
// keys starting with the reserved "aws:" prefix. `field` is the list's name.
Status validate_tag_list(std::string_view field, const std::vector<Tag>& tags);

// Sets `incoming` onto `current` (a key already present takes the new value,
// order of first appearance kept).
void merge_tags(std::vector<Tag>& current, const std::vector<Tag>& incoming);

}  // namespace tollgate
