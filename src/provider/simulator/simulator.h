// The simulator: the embedded provider that answers for every catalog model without calling one.
// doc/simulator.md is the user-facing description; this is the contract.
//
//  * Deterministic: the same request to the same model gives the same answer. Everything random is
//    drawn from a seed hashed from the model id and the request's text; no clocks, no global RNG.
//  * Answers are readable filler text that starts "Simulated reply from <model name>." and is
//    min(max tokens if given, a seeded natural length of 20–60) tokens long, by count_tokens().
//  * Every operation speaks Bedrock's shapes: Converse / ConverseStream JSON and events,
//    InvokeModel / InvokeModelWithResponseStream in the model family's native format (chunks are
//    {"bytes":"<base64 JSON>"}), CountTokens ({"inputTokens":N}). Requests are validated enough
//    to give Bedrock-like ValidationExceptions that say what to fix.
//  * The usage returned always equals the numbers in the body or events sent; for a stream that
//    ends early (client gone, simulated cut) it is what was produced up to then.
//  * Fault markers in the request text (e.g. "[[tollgate:throttle]]") inject Bedrock errors for tests.
//  * Stateless after construction: invoke() and stream() may run concurrently. The catalog must
//    outlive the provider.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "catalog/catalog.h"
#include "provider/provider.h"

namespace tollgate::provider::simulator {

struct SimulatorOptions {
  std::chrono::milliseconds latency{0};              // before a whole answer (and before the first event)
  std::chrono::milliseconds time_to_first_token{0};  // streams: before the first content delta
  double tokens_per_second = 0;                      // streams: pacing of deltas; 0 = as fast as possible
};

std::unique_ptr<Provider> make_simulator(SimulatorOptions options, const catalog::Catalog& catalog);

// The simulator's token counting rule (doc/simulator.md): each maximal run of ASCII letters and
// digits counts ceil(length / 4); ASCII whitespace counts 0; every other code point counts 1
// (a UTF-8 byte 0x80–0xBF continues a code point and adds nothing).
int64_t count_tokens(std::string_view text);

}  // namespace tollgate::provider::simulator
