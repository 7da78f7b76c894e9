// The openai provider: Bedrock's runtime served by an OpenAI-compatible Chat
// Completions server (vLLM, Ollama, llama.cpp server, OpenAI). doc/providers.md
// ("openai") is the user-facing description; this is the contract.
//
//  * Converse / ConverseStream are translated to POST {base_url}/chat/completions
//    and back (chat_translation.h, chat_stream.h); streams ask for SSE with a
//    final usage chunk.
//  * InvokeModel / InvokeModelWithResponseStream accept only bodies that are
//    already chat completions requests: forwarded with the upstream model name
//    substituted; stream chunks are passed on as {"bytes": base64(chunk JSON)}.
//  * CountTokens is a ValidationException: the upstream cannot count tokens.
//  * Upstream HTTP errors and transport failures become Bedrock errors (see
//    upstream_error() and doc/providers.md); every call is bounded by `timeout`.
//  * A stream whose client goes away stops reading at once (the upstream
//    connection is closed) and reports the usage the upstream reported, else an
//    estimate (ChatStreamTranslator::usage()); a stream the upstream cuts short
//    ends UpstreamCut with a ModelStreamErrorException.
//  * Stateless after construction: invoke() and stream() run concurrently. The
//    HttpClient must outlive the provider.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/client.h"
#include "provider/provider.h"

namespace tollgate::provider::openai {

struct OpenAiOptions {
  std::string base_url;                       // e.g. http://127.0.0.1:8000/v1
  std::string api_key;                        // sent as Authorization: Bearer; may be empty
  std::string model;                          // upstream model name; empty = the Bedrock model id
  std::chrono::milliseconds timeout{120000};  // one whole upstream call
};

std::unique_ptr<Provider> make_openai(OpenAiOptions options, http::HttpClient& client);

}  // namespace tollgate::provider::openai
