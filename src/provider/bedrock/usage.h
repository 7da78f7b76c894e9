// Token usage as Bedrock reports it (pure functions). Missing, negative or non-integer counts are
// zero; an unparseable document gives nullopt (or zero where noted).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "ledger/usage_record.h"

namespace tollgate::provider::bedrock {

// InvokeModel: X-Amzn-Bedrock-Input-Token-Count, -Output-Token-Count, -Cache-Read-Input-Token-Count,
// -Cache-Write-Input-Token-Count response headers (absent = 0).
ledger::TokenCounts usage_from_headers(const std::vector<http::Header>& headers);

// Converse: the body's "usage" {inputTokens, outputTokens, cacheReadInputTokens,
// cacheWriteInputTokens}; zero when the body has none.
ledger::TokenCounts usage_from_converse_body(std::string_view body);

// ConverseStream: the payload of the `metadata` event, same "usage" member; nullopt without one.
std::optional<ledger::TokenCounts> usage_from_metadata_event(std::string_view payload);

// InvokeModelWithResponseStream: a `chunk` payload {"bytes": "<base64 JSON>"} whose decoded JSON
// carries "amazon-bedrock-invocationMetrics" {inputTokenCount, outputTokenCount,
// cacheReadInputTokenCount, cacheWriteInputTokenCount}; nullopt for any other chunk.
std::optional<ledger::TokenCounts> usage_from_chunk_event(std::string_view payload);

}  // namespace tollgate::provider::bedrock
