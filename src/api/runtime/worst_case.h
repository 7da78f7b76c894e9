// The worst case of a request before it runs, for budget admission (budgets/enforcer.h): the most tokens it
// may use and what they would cost. doc/budgets.md, "Budgets that block", states the rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "ledger/usage_record.h"
#include "meter/price_book.h"
#include "provider/provider.h"

namespace tollgate::api::runtime {

// The output-token limit a request sets: for Converse and ConverseStream only inferenceConfig.maxTokens; in a
// model-native InvokeModel body the largest of the families' fields it sets (max_tokens, max_tokens_to_sample,
// max_gen_len, maxTokens, max_completion_tokens, max_new_tokens, textGenerationConfig.maxTokenCount,
// inferenceConfig.maxTokens / max_new_tokens), so a decoy field cannot understate it. None when it sets none.
std::optional<int64_t> requested_max_tokens(provider::Operation operation, std::string_view body);

// The most output tokens a request of `model_id` may produce: its own limit (at most the model's maximum),
// else the model's maximum from
// the catalog; a model that outputs no text produces none; a text model whose maximum the catalog does not
// know is bounded by the largest maximum of any catalog model.
int64_t max_output_tokens(std::optional<int64_t> requested, std::string_view model_id, const catalog::Catalog& catalog);

// The CountTokens request body that counts the input of `invocation` (Converse, ConverseStream, InvokeModel
// or InvokeModelWithResponseStream).
std::string count_tokens_body(const provider::Invocation& invocation);

// An upper bound of the input tokens of a request that could not be counted: its body's length in bytes
// (a byte-level tokenizer makes at most one token per byte).
inline int64_t input_bound_of(std::string_view body) { return static_cast<int64_t>(body.size()); }

// The cost of `tokens` (input and output only) at the worst prices: input at the highest of the input,
// cache-read and cache-write prices, output at the output price.
ledger::TokenCosts worst_case_costs(const meter::TokenPrices* prices, const ledger::TokenCounts& tokens);

}  // namespace tollgate::api::runtime
