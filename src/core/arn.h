// Amazon Resource Names: arn:PARTITION:SERVICE:REGION:ACCOUNT:TYPE/ID.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

struct Arn {
  std::string partition;  // "aws", "aws-us-gov", ...
  std::string service;    // "bedrock"
  std::string region;     // may be empty
  std::string account;    // may be empty (foundation models)
  std::string resource_type;  // text before the first '/' of the resource part
  std::string resource_id;    // text after it (may contain ':' and '/')

  std::string to_string() const;
};

// Splits an ARN into its fields. Returns nullopt unless the text starts with
// "arn:", has the five ':' separators and a "TYPE/ID" resource part.
std::optional<Arn> parse_arn(std::string_view text);

inline bool looks_like_arn(std::string_view text) { return text.substr(0, 4) == "arn:"; }

}  // namespace tollgate
