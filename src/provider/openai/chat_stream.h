// OpenAI chat.completion.chunk events → ConverseStream events, one chunk at a
// time (pure: no I/O). What it emits, in order:
//   messageStart {"role":"assistant"}                       with the first chunk
//   contentBlockDelta {"delta":{"text"}}                     text, no contentBlockStart (as AWS)
//   contentBlockDelta {"delta":{"reasoningContent":{"text"}}} reasoning_content / reasoning
//   contentBlockStart {"start":{"toolUse":{toolUseId,name}}}  a tool call's first chunk with a name,
//   contentBlockDelta {"delta":{"toolUse":{"input"}}}          then its argument fragments
//   contentBlockStop                                          when the next block starts or the choice ends
//   messageStop {"stopReason"}, metadata {usage, metrics}     from finish()
// Blocks are numbered from 0 in the order they start. Only choice 0 is read.
// The usage is the upstream's (the include_usage chunk) when it sent one, else
// an estimate: no input tokens and one output token per chunk that carried
// content (OpenAI-compatible servers stream about a token per chunk).
// Not thread-safe (one per stream).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ledger/usage_record.h"
#include "provider/provider.h"

namespace boost::json {
class object;
}

namespace tollgate::provider::openai {

class ChatStreamTranslator {
 public:
  // One SSE data payload (a chunk's JSON, not "[DONE]"): appends the events it
  // implies to `out`. A chunk carrying {"error": …} or that is not JSON is a
  // ModelStreamErrorException with the upstream's message.
  Status on_chunk(std::string_view data, std::vector<StreamEvent>& out);
  // Ends the message: closes the open block, then messageStop and metadata.
  void finish(int64_t latency_ms, std::vector<StreamEvent>& out);

  // A choice reported its finish_reason.
  bool finished() const { return !stop_reason_.empty(); }
  // The upstream reported the usage.
  bool usage_reported() const { return usage_.has_value(); }
  ledger::TokenCounts usage() const;

 private:
  enum class Block { None, Text, Reasoning, Tool };
  struct ToolCall {
    std::string id;
    std::string name;
    std::string pending_arguments;  // received before the name was known
    std::optional<int> block;       // its contentBlockIndex once started
  };

  void on_choice(const boost::json::object& choice, std::vector<StreamEvent>& out);
  // Returns whether the call carried content (a name or arguments).
  bool on_tool_call(const boost::json::object& call, size_t position, std::vector<StreamEvent>& out);
  int open(Block kind, std::vector<StreamEvent>& out);
  void close(std::vector<StreamEvent>& out);

  bool started_ = false;
  int next_block_ = 0;
  Block open_ = Block::None;
  int open_block_ = -1;
  std::map<int, ToolCall> tools_;
  std::string stop_reason_;
  std::optional<ledger::TokenCounts> usage_;
  int64_t content_chunks_ = 0;
};

}  // namespace tollgate::provider::openai
