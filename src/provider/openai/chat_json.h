// Private to the openai provider: Boost.JSON helpers its translation files share.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/usage_record.h"

namespace tollgate::provider::openai::detail {

namespace json = boost::json;

// The member `key` unless absent or null.
const json::value* member(const json::object& object, std::string_view key);
// The member `key` if it is a string.
std::optional<std::string_view> string_member(const json::object& object, std::string_view key);
std::optional<int64_t> as_integer(const json::value& value);

// OpenAI usage {prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens}
// → token counts. Bedrock counts cache reads apart from input, so input is
// prompt_tokens minus cached_tokens.
ledger::TokenCounts usage_from_json(const json::value& usage);
// Bedrock's TokenUsage for these counts.
json::object usage_to_json(const ledger::TokenCounts& usage);

// A Bedrock toolUseId ([a-zA-Z0-9_.:-]{1,64}) for an upstream tool call id:
// the id with other characters replaced by '_', or a new one when it is empty.
std::string tool_use_id(std::string_view upstream_id);

}  // namespace tollgate::provider::openai::detail
