// Internal to the simulator: a wire format (Converse, or one model family's native InvokeModel
// format) parsed from a request and able to render the answer as a whole body or as stream
// events. Parsing validates and measures the request; the simulator decides the Answer; the
// format only renders it, so usage and the numbers in bodies and events come from one place.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "provider/provider.h"

namespace tollgate::provider::simulator {

// What the simulator knows of the model it answers for.
struct ModelInfo {
  std::string id;
  std::string name;  // catalog name, or the id for a model the catalog does not know
  std::optional<int64_t> max_output_tokens;
  bool text_output = true;        // TEXT in the output modalities
  bool embedding_output = false;  // EMBEDDING in the output modalities
  bool streaming = true;          // response streaming supported
  std::string outputs = "TEXT";   // the output modalities, for messages
};

// A tool the request forces the model to call, and the JSON schema of its input.
struct ToolWanted {
  std::string name;
  boost::json::object schema;
};

// What every format extracts from a request.
struct Parsed {
  int64_t input_tokens = 0;
  std::optional<int64_t> max_tokens;
  std::string seed_text;  // the request's texts, seeding the answer
  std::optional<ToolWanted> tool;
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string input_json;  // serialized input object
};

// The answer decided for a request, independent of the wire format.
struct Answer {
  std::string model_id;
  uint64_t seed = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;        // count_tokens(text)
  std::string text;                 // the reply text; for a tool call, the serialized input
  bool cut_by_limit = false;        // ended by the max-tokens limit
  std::optional<ToolCall> tool;     // set when the answer is a tool call
  std::vector<std::string> pieces;  // text split into stream deltas
};

// Simulated timings, in milliseconds (what the simulator waited, not measured).
struct Timing {
  int64_t first_byte_ms = 0;  // until the first content
  int64_t total_ms = 0;       // the whole answer
};

class Format {
 public:
  virtual ~Format() = default;

  const Parsed& parsed() const { return parsed_; }
  // False for formats without a reply text (embeddings, rerank): no stream, output tokens 0.
  virtual bool generates_text() const { return true; }
  // A seeded tool-call id in the format's style, e.g. "tooluse_" + 22 characters.
  virtual std::string tool_use_id(uint64_t seed) const;

  virtual std::string body(const Answer& answer, const Timing& timing) const = 0;
  // Streams: events before the first delta, one event per piece, events after the last piece.
  virtual std::vector<StreamEvent> head(const Answer& answer) const = 0;
  // `index` counts the pieces from 0; `output_so_far` includes this piece's tokens.
  virtual StreamEvent delta(const Answer& answer, size_t index, std::string_view piece,
                            int64_t output_so_far) const = 0;
  virtual std::vector<StreamEvent> tail(const Answer& answer, const Timing& timing) const = 0;

 protected:
  Parsed parsed_;
};

using FormatPtr = std::unique_ptr<Format>;

// Converse / ConverseStream request (also the "converse" input of CountTokens).
Result<FormatPtr> parse_converse(const boost::json::object& request, const ModelInfo& model);
// The model-native InvokeModel body of the model's family.
Result<FormatPtr> parse_native(const boost::json::value& body, const ModelInfo& model);

// The Converse rendering over an already parsed request; `nova_native` renders the native Nova
// (messages-v1) body and chunks instead, which are Converse's shapes without metrics.
FormatPtr make_converse_format(Parsed parsed, bool nova_native);

// Shared with the native Nova format, whose messages, system and toolConfig are Converse's.
// Validates and counts them into `parsed`; errors are Validation with a message that says what to fix.
Status read_conversation(const boost::json::object& request, Parsed& parsed);
// Checks a requested output-token limit: at least 1 and within the model's limit.
Status check_max_tokens(std::string_view field, int64_t value, const ModelInfo& model);

// Helpers shared by the formats.
std::string json_text(const boost::json::value& value);
// A chunk event of InvokeModelWithResponseStream: {"bytes":"<base64 of the chunk JSON>"}.
StreamEvent chunk_event(const boost::json::object& chunk);
StreamEvent json_event(std::string event_type, const boost::json::object& payload);
// "amazon-bedrock-invocationMetrics" of the last chunk.
boost::json::object invocation_metrics(const Answer& answer, const Timing& timing);
// Adds text to the counted input and the seed text.
void count_input(Parsed& parsed, std::string_view text);
// A deterministic small input object for a tool, from its JSON schema's properties.
boost::json::object tool_input(const boost::json::object& schema, uint64_t seed);

}  // namespace tollgate::provider::simulator
