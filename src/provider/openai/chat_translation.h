// Converse ↔ OpenAI Chat Completions, as pure functions on JSON text (no I/O, no
// Asio): the request sent to POST {base_url}/chat/completions, the answer turned
// back into Converse's shape, the usage, and upstream HTTP errors turned into
// Bedrock's. doc/providers.md ("openai") has the translation table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "ledger/usage_record.h"

namespace tollgate::provider::openai {

// A Converse / ConverseStream request body → a chat completions request body for
// `model`. With `stream`, asks for SSE with the usage in a final chunk.
// Malformed or unsupported input is a ValidationException that names the field.
Result<std::string> converse_to_chat(std::string_view converse_body, std::string_view model, bool stream);

// An InvokeModel* body that is already a chat completions request: `model`
// substituted, streaming set as the operation wants (with the usage chunk asked
// for). Any other body is a ValidationException.
Result<std::string> forward_chat_body(std::string_view invoke_body, std::string_view model, bool stream);

struct ConverseAnswer {
  std::string body;  // the Converse response JSON
  ledger::TokenCounts usage;
};

// A chat completion (non-streamed) → the Converse response, with metrics.latencyMs.
// An answer that cannot be read is a ModelErrorException.
Result<ConverseAnswer> chat_to_converse(std::string_view chat_body, int64_t latency_ms);

// The usage of a chat completion body (zero when it reports none or is not JSON).
ledger::TokenCounts chat_body_usage(std::string_view chat_body);

// Bedrock's stopReason for an OpenAI finish_reason; `stop_reason` is vLLM's
// matched stop string or token (a string there means a stop sequence ended it).
std::string_view stop_reason(std::string_view finish_reason, bool stopped_by_sequence);

// The Bedrock error for an upstream HTTP error status and its body.
Error upstream_error(int status, std::string_view body);

// The message an OpenAI-compatible server put in an error body ({"error":{"message"}},
// {"message"}, {"detail"}), else the start of the body itself.
std::string upstream_message(std::string_view body);

}  // namespace tollgate::provider::openai
