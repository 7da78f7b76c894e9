// The simulator provider: reads the request in the operation's format, decides the answer
// (deterministically), waits the configured latencies, applies fault markers, and renders the
// answer as a body or as paced stream events. See simulator.h and doc/simulator.md.
#include "provider/simulator/simulator.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/base64.h"
#include "io/async.h"
#include "provider/simulator/format.h"
#include "provider/simulator/native.h"
#include "provider/simulator/reply.h"

namespace tollgate::provider::simulator {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using End = StreamOutcome::End;

// ---- fault markers ----

enum class Fault { None, Throttle, Unavailable, Error, Timeout, ModelError, Cut };

struct Marker {
  std::string_view text;
  Fault fault;
};

// When a request carries several, the first of this list wins.
constexpr std::array<Marker, 6> kMarkers = {{{"[[tollgate:throttle]]", Fault::Throttle},
                                             {"[[tollgate:unavailable]]", Fault::Unavailable},
                                             {"[[tollgate:error]]", Fault::Error},
                                             {"[[tollgate:timeout]]", Fault::Timeout},
                                             {"[[tollgate:model-error]]", Fault::ModelError},
                                             {"[[tollgate:cut]]", Fault::Cut}}};
constexpr std::string_view kSlowMarker = "[[tollgate:slow=";
constexpr int64_t kMaxSlowMs = 600'000;

Fault find_fault(std::string_view text) {
  for (const Marker& marker : kMarkers) {
    if (text.find(marker.text) != std::string_view::npos) return marker.fault;
  }
  return Fault::None;
}

// The MS of the first well-formed "[[tollgate:slow=MS]]", capped at 10 minutes; 0 if none.
milliseconds find_slow(std::string_view text) {
  for (size_t at = text.find(kSlowMarker); at != std::string_view::npos; at = text.find(kSlowMarker, at + 1)) {
    size_t i = at + kSlowMarker.size();
    size_t start = i;
    int64_t ms = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      ms = std::min(ms * 10 + (text[i] - '0'), kMaxSlowMs);
    if (i > start && text.substr(i, 2) == "]]") return milliseconds(ms);
  }
  return milliseconds(0);
}

Error fault_error(Fault fault, bool in_stream) {
  auto simulated = [](std::string_view marker) {
    return std::string(" (Simulated by the tollgate marker ") + std::string(marker) + ".)";
  };
  switch (fault) {
    case Fault::Throttle:
      return Error(ErrorCode::Throttling,
                   "Too many requests, please wait before trying again." + simulated("[[tollgate:throttle]]"));
    case Fault::Unavailable:
      return Error(ErrorCode::ServiceUnavailable,
                   "The service is unavailable. Please try again later." + simulated("[[tollgate:unavailable]]"));
    case Fault::Timeout:
      return Error(ErrorCode::ModelTimeout, "Model has timed out in processing the request. Try your request again." +
                                                simulated("[[tollgate:timeout]]"));
    case Fault::ModelError:
      return Error(ErrorCode::ModelError,
                   "The model returned an error. Try your request again." + simulated("[[tollgate:model-error]]"));
    case Fault::Cut:
      if (in_stream) {
        return Error(ErrorCode::ModelStreamError,
                     "The model stream was interrupted. Try your request again." + simulated("[[tollgate:cut]]"));
      }
      [[fallthrough]];
    case Fault::Error:
    case Fault::None:
      break;
  }
  std::string_view marker = fault == Fault::Cut ? "[[tollgate:cut]]" : "[[tollgate:error]]";
  return Error(
      ErrorCode::InternalServer,
      "The system encountered an unexpected error during processing. Try your request again." + simulated(marker));
}

// ---- models ----

bool has(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

ModelInfo model_info(const catalog::Catalog& catalog, std::string_view id) {
  ModelInfo info;
  info.id = std::string(id);
  info.name = info.id;
  info.outputs = "TEXT";
  if (const catalog::FoundationModel* model = catalog.find_model(id)) {
    info.name = model->model_name;
    info.max_output_tokens = model->max_output_tokens;
    info.text_output = has(model->output_modalities, "TEXT");
    info.embedding_output = has(model->output_modalities, "EMBEDDING");
    info.streaming = model->response_streaming_supported;
    info.outputs.clear();
    for (const std::string& m : model->output_modalities) info.outputs += (info.outputs.empty() ? "" : ", ") + m;
    return info;
  }
  // Not in the catalog: guess from the id.
  if (id.find("embed") != std::string_view::npos) {
    info.text_output = false;
    info.embedding_output = true;
    info.streaming = false;
    info.outputs = "EMBEDDING";
  } else if (starts_with(id, "stability.") || id.find("image-generator") != std::string_view::npos ||
             id.find("nova-canvas") != std::string_view::npos || id.find("nova-reel") != std::string_view::npos) {
    info.text_output = false;
    info.streaming = false;
    info.outputs = "IMAGE";
  }
  return info;
}

Error invalid(std::string message) { return Error(ErrorCode::Validation, std::move(message)); }

Status check_can_answer(Operation op, const ModelInfo& model) {
  bool converse = op == Operation::Converse || op == Operation::ConverseStream;
  if (!model.text_output && !model.embedding_output) {
    return invalid("The simulator cannot produce " + model.outputs + " output, which model " + model.id +
                   " generates; configure a real provider for this model.");
  }
  if (converse && !model.text_output) {
    return invalid(
        "This action doesn't support the model that you provided. Try again with a supported text or chat "
        "model. (" +
        model.id + " outputs " + model.outputs + ".)");
  }
  if (is_streaming(op) && !model.streaming) return invalid("The model is unsupported for streaming.");
  return {};
}

// ---- requests ----

Result<json::value> parse_json(std::string_view text, bool native) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (!ec) return value;
  if (native) return malformed("the body is not valid JSON (" + ec.message() + ")");
  return invalid("The request body is not valid JSON (" + ec.message() +
                 "). Send a JSON object such as "
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}]}.");
}

Result<FormatPtr> read_converse(std::string_view body, const ModelInfo& model) {
  auto value = parse_json(body, false);
  TOLLGATE_TRY(value);
  if (!value->is_object()) return invalid("The request body must be a JSON object with a messages list.");
  return parse_converse(value->get_object(), model);
}

Result<FormatPtr> read_native(std::string_view body, const ModelInfo& model) {
  auto value = parse_json(body, true);
  TOLLGATE_TRY(value);
  return parse_native(*value, model);
}

// CountTokens: {"input":{"converse":{…}}} or {"input":{"invokeModel":{"body":"<base64>"}}}. Returns the
// input count; appends the decoded native body to `scanned` (where fault markers are looked for).
Result<int64_t> read_count_tokens(std::string_view body, const ModelInfo& model, std::string& scanned) {
  auto value = parse_json(body, false);
  TOLLGATE_TRY(value);
  const json::object* request = value->if_object();
  const json::value* input = request ? request->if_contains("input") : nullptr;
  const json::object* in = input ? input->if_object() : nullptr;
  if (!in || in->size() != 1 || (!in->contains("converse") && !in->contains("invokeModel"))) {
    return invalid(
        "input is required and must have exactly one member: {\"converse\":{\"messages\":[…]}} or "
        "{\"invokeModel\":{\"body\":\"<base64 of the InvokeModel body>\"}}.");
  }
  if (const json::value* converse = in->if_contains("converse")) {
    TOLLGATE_TRY(check_can_answer(Operation::Converse, model));
    if (!converse->is_object()) return invalid("input.converse must be an object with a messages list.");
    Parsed parsed;
    TOLLGATE_TRY(read_conversation(converse->get_object(), parsed));
    return parsed.input_tokens;
  }
  TOLLGATE_TRY(check_can_answer(Operation::InvokeModel, model));
  const json::value& invoke = in->at("invokeModel");
  const json::value* blob = invoke.is_object() ? invoke.get_object().if_contains("body") : nullptr;
  std::optional<std::string> native = blob && blob->is_string() ? base64_decode(blob->get_string()) : std::nullopt;
  if (!native) return invalid("input.invokeModel.body is required: the InvokeModel request body, base64-encoded.");
  scanned.append("\n").append(*native);
  auto format = read_native(*native, model);
  TOLLGATE_TRY(format);
  return (*format)->parsed().input_tokens;
}

// ---- answers ----

Answer decide(const Format& format, const ModelInfo& model) {
  const Parsed& parsed = format.parsed();
  Answer answer;
  answer.model_id = model.id;
  answer.seed = seed_of(model.id, parsed.seed_text);
  answer.input_tokens = parsed.input_tokens;
  if (!format.generates_text()) return answer;
  if (parsed.tool) {
    std::string input = json_text(tool_input(parsed.tool->schema, answer.seed));
    answer.tool = ToolCall{format.tool_use_id(answer.seed), parsed.tool->name, input};
    answer.pieces = json_pieces(input);
    answer.text = std::move(input);
  } else {
    ReplyText reply = reply_text(model.name, answer.seed, parsed.max_tokens);
    answer.cut_by_limit = reply.cut_by_limit;
    answer.pieces = text_pieces(reply.text, answer.seed);
    answer.text = std::move(reply.text);
  }
  answer.output_tokens = count_tokens(answer.text);
  return answer;
}

ledger::TokenCounts tokens(int64_t input, int64_t output) {
  ledger::TokenCounts counts;
  counts.input = input;
  counts.output = output;
  return counts;
}

// A request read and decided, before any waiting.
struct Prepared {
  FormatPtr format;  // null for CountTokens
  Answer answer;
  int64_t counted = 0;  // CountTokens: the input count
  Fault fault = Fault::None;
  milliseconds latency{0};
};

// One event of a stream, with the wait before it.
struct Step {
  milliseconds wait{0};
  StreamEvent event;
  bool head = false;         // before the content (not subject to a cut)
  bool delta = false;        // a content delta
  int64_t output_after = 0;  // output tokens produced once this event is out
};

int64_t pacing_ms(int64_t tokens, double tokens_per_second) {
  return tokens_per_second > 0 ? std::llround(static_cast<double>(tokens) * 1000.0 / tokens_per_second) : 0;
}

// The whole stream, timed: head events at once, the first delta after time_to_first_token, each
// later delta after its own tokens at tokens_per_second, the tail right after the last delta.
std::vector<Step> script(const Format& format, const Answer& answer, milliseconds latency,
                         const SimulatorOptions& options) {
  std::vector<Step> steps;
  for (StreamEvent& event : format.head(answer))
    steps.push_back(Step{milliseconds(0), std::move(event), true, false, 0});
  int64_t ttft = std::max<int64_t>(0, options.time_to_first_token.count());
  int64_t first_tokens = answer.pieces.empty() ? 0 : count_tokens(answer.pieces.front());
  int64_t previous_at = 0;
  int64_t produced = 0;
  for (size_t i = 0; i < answer.pieces.size(); ++i) {
    produced += count_tokens(answer.pieces[i]);
    int64_t at = ttft + pacing_ms(produced - first_tokens, options.tokens_per_second);  // from cumulative tokens
    StreamEvent event = format.delta(answer, i, answer.pieces[i], produced);
    steps.push_back(Step{milliseconds(at - previous_at), std::move(event), false, true, produced});
    previous_at = at;
  }
  Timing timing{latency.count() + ttft, latency.count() + std::max(previous_at, ttft)};
  for (StreamEvent& event : format.tail(answer, timing)) {
    steps.push_back(Step{milliseconds(0), std::move(event), false, false, answer.output_tokens});
  }
  return steps;
}

StreamOutcome outcome(End end, ledger::TokenCounts usage, std::optional<Error> error = std::nullopt) {
  StreamOutcome out;
  out.end = end;
  out.usage = usage;
  out.error = std::move(error);
  return out;
}

class Simulator final : public Provider {
 public:
  Simulator(SimulatorOptions options, const catalog::Catalog& catalog) : options_(options), catalog_(catalog) {}

  std::string_view name() const override { return "simulator"; }
  bool simulated() const override { return true; }

  Task<Result<Reply>> invoke(const Invocation& invocation) override {
    if (is_streaming(invocation.operation)) {
      co_return Error(
          ErrorCode::InternalServer,
          "The simulator streams " + std::string(to_string(invocation.operation)) + " only through stream().");
    }
    auto prepared = prepare(invocation);
    if (!prepared.ok()) co_return std::move(prepared).error();
    Prepared p = std::move(*prepared);
    co_await sleep_for(p.latency);
    if (p.fault != Fault::None) co_return fault_error(p.fault, false);
    co_return reply(p);
  }

  Task<Result<StreamOutcome>> stream(const Invocation& invocation, EventSink& sink) override {
    if (!is_streaming(invocation.operation)) {
      co_return Error(
          ErrorCode::InternalServer,
          "The simulator answers " + std::string(to_string(invocation.operation)) + " only through invoke().");
    }
    auto prepared = prepare(invocation);
    if (!prepared.ok()) co_return std::move(prepared).error();
    Prepared p = std::move(*prepared);
    co_await sleep_for(p.latency);
    if (p.fault != Fault::None && p.fault != Fault::Cut) co_return fault_error(p.fault, true);

    std::vector<Step> steps = script(*p.format, p.answer, p.latency, options_);
    size_t deltas =
        static_cast<size_t>(std::count_if(steps.begin(), steps.end(), [](const Step& s) { return s.delta; }));
    size_t cut_at = p.fault == Fault::Cut ? std::max<size_t>(1, deltas / 2) : std::numeric_limits<size_t>::max();
    size_t delivered = 0;
    int64_t produced = 0;
    for (Step& step : steps) {
      if (step.wait.count() > 0) co_await sleep_for(step.wait);
      if (!step.head && delivered == cut_at) {
        co_return outcome(End::UpstreamCut, tokens(p.answer.input_tokens, produced), fault_error(Fault::Cut, true));
      }
      bool client_ok = co_await sink.on_event(std::move(step.event));
      produced = step.output_after;
      if (step.delta) ++delivered;
      if (!client_ok) co_return outcome(End::ClientGone, tokens(p.answer.input_tokens, produced));
    }
    co_return outcome(End::Complete, tokens(p.answer.input_tokens, p.answer.output_tokens));
  }

 private:
  Result<Prepared> prepare(const Invocation& invocation) const {
    ModelInfo model = model_info(catalog_, invocation.model_id);
    Prepared p;
    std::string scanned = invocation.body;
    if (invocation.operation == Operation::CountTokens) {
      auto counted = read_count_tokens(invocation.body, model, scanned);
      TOLLGATE_TRY(counted);
      p.counted = *counted;
    } else {
      TOLLGATE_TRY(check_can_answer(invocation.operation, model));
      bool converse = invocation.operation == Operation::Converse || invocation.operation == Operation::ConverseStream;
      auto format = converse ? read_converse(invocation.body, model) : read_native(invocation.body, model);
      TOLLGATE_TRY(format);
      if (is_streaming(invocation.operation) && !(*format)->generates_text()) {
        return invalid("The model is unsupported for streaming.");
      }
      p.format = std::move(*format);
      p.answer = decide(*p.format, model);
    }
    p.fault = find_fault(scanned);
    p.latency = options_.latency + find_slow(scanned);
    return p;
  }

  static Reply reply(const Prepared& p) {
    Reply reply;
    if (!p.format) {
      json::object out;
      out["inputTokens"] = p.counted;
      reply.body = json_text(out);
      return reply;  // counting is free: usage stays zero
    }
    Timing timing{p.latency.count(), p.latency.count()};
    reply.body = p.format->body(p.answer, timing);
    reply.usage = tokens(p.answer.input_tokens, p.answer.output_tokens);
    return reply;
  }

  SimulatorOptions options_;
  const catalog::Catalog& catalog_;
};

}  // namespace

std::unique_ptr<Provider> make_simulator(SimulatorOptions options, const catalog::Catalog& catalog) {
  return std::make_unique<Simulator>(options, catalog);
}

}  // namespace tollgate::provider::simulator
