#include "api/runtime/runtime_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <optional>

#include "api/runtime/worst_case.h"
#include "eventstream/eventstream.h"
#include "govern/authorization.h"
#include "io/async.h"

namespace tollgate::api::runtime {
namespace {

namespace json = boost::json;
using InvokeOp = provider::Operation;

constexpr char kEventStreamType[] = "application/vnd.amazon.eventstream";

// Failures that happen inside the model: the request reached it and is recorded.
bool reached_model(const Error& error) {
  return error.code() == ErrorCode::ModelError || error.code() == ErrorCode::ModelTimeout ||
         error.code() == ErrorCode::ModelStreamError;
}

// The in-stream exception member of the operation's event union for `error`.
std::string exception_member(InvokeOp op, const Error& error) {
  switch (error.code()) {
    case ErrorCode::Validation:
      return "validationException";
    case ErrorCode::Throttling:
      return "throttlingException";
    case ErrorCode::ServiceUnavailable:
      return "serviceUnavailableException";
    case ErrorCode::ModelStreamError:
      return "modelStreamErrorException";
    case ErrorCode::ModelTimeout:
      return op == InvokeOp::InvokeModelWithResponseStream ? "modelTimeoutException" : "modelStreamErrorException";
    default:
      return "internalServerException";
  }
}

std::string message_json(const Error& error) { return json::serialize(json::object{{"message", error.message()}}); }

std::vector<http::Header> bedrock_headers_of(const http::Request& request) {
  std::vector<http::Header> out;
  for (const auto& h : request.headers) {
    if (h.name.size() > 15 && http::header_name_equals(std::string_view(h.name).substr(0, 15), "x-amzn-bedrock-")) {
      out.push_back(h);
    }
  }
  return out;
}

class Runtime {
 public:
  explicit Runtime(const RuntimeDependencies& deps) : deps_(deps) {}

  Task<Status> handle(InvokeOp op, const Call& call, http::ResponseWriter& writer);

 private:
  struct Prepared {
    InvokeOp operation;
    profiles::InvocationTarget target;
    provider::Provider* provider = nullptr;
    provider::Invocation invocation;
    TimePoint started;
    tollgate::budgets::Admission admission;
  };

  Result<Prepared> prepare(InvokeOp op, const Call& call) const;
  // The govern stage: the caller's access policy on what the modelId resolved to, then
  // governance.require_application_profiles. Before any model is called, so a refusal records nothing.
  Status authorize(InvokeOp op, const Call& call, const profiles::InvocationTarget& target) const;
  // The caller's application profiles in its region that its policy lets it invoke with `action`.
  std::vector<govern::ProfileChoice> usable_profiles(const Call& call, const std::string& action) const;
  // Admits the request against the blocking budgets, with its worst case when one of them is in force.
  Task<Status> admit(Prepared& p, const Call& call);
  Task<ledger::TokenCounts> worst_case_tokens(const Prepared& p);
  Task<Status> answer_whole(Prepared& p, const Call& call, http::ResponseWriter& writer);
  Task<Status> answer_stream(Prepared& p, const Call& call, http::ResponseWriter& writer);
  Task<Status> record_failure(Prepared& p, const Call& call, const Error& error);
  ledger::UsageRecord record_for(const Prepared& p, const Call& call, const ledger::TokenCounts& tokens,
                                 ledger::UsageStatus status) const;
  // Commits the record, then settles the request's admission with it.
  Task<Status> commit(Prepared& p, ledger::UsageRecord record);
  std::vector<http::Header> provider_headers(const Prepared& p) const;
  static std::vector<http::Header> cost_headers(const ledger::UsageRecord& record);

  RuntimeDependencies deps_;
};

// Delivers a provider's events as event-stream frames, holding back the latest
// one so that the final event goes out only after the usage record commits.
class HoldBackSink final : public provider::EventSink {
 public:
  HoldBackSink(http::ResponseWriter& writer, std::vector<http::Header> headers)
      : writer_(writer), headers_(std::move(headers)) {}

  // (GCC 12 mishandles co_await inside conditions and on temporaries: every
  // co_await here is a statement on named values.)
  Task<bool> on_event(provider::StreamEvent event) override {
    if (held_) {
      eventstream::Message frame = eventstream::event(held_->event_type, std::move(held_->payload));
      held_.reset();
      bool delivered = co_await send_frame(frame);
      if (!delivered) co_return false;
    }
    held_ = std::move(event);
    co_return true;
  }

  // Sends the held event, if any.
  Task<bool> release() {
    if (!held_) co_return client_ok_;
    eventstream::Message frame = eventstream::event(held_->event_type, std::move(held_->payload));
    held_.reset();
    bool delivered = co_await send_frame(frame);
    co_return delivered;
  }

  Task<bool> send_frame(const eventstream::Message& message) {
    if (!client_ok_) co_return false;
    if (!writer_.started()) {
      bool began = co_await writer_.begin(200, std::move(headers_));
      client_ok_ = began;
    }
    if (client_ok_) {
      std::string bytes = eventstream::encode(message);
      bool written = co_await writer_.write(bytes);
      client_ok_ = written;
    }
    co_return client_ok_;
  }

  bool holding() const { return held_.has_value(); }

 private:
  http::ResponseWriter& writer_;
  std::vector<http::Header> headers_;
  std::optional<provider::StreamEvent> held_;
  bool client_ok_ = true;
};

Result<Runtime::Prepared> Runtime::prepare(InvokeOp op, const Call& call) const {
  profiles::Caller caller{call.auth.principal.account_id, call.auth.region};
  auto target = deps_.profiles.resolve_invocation(caller, call.label);
  TOLLGATE_TRY(target);
  TOLLGATE_TRY(authorize(op, call, *target));
  Prepared p{op, std::move(*target), nullptr, {}, deps_.clock.now(), {}};
  const std::string& region = p.target.regions.front();
  p.provider = deps_.providers.find(p.target.model_id, region);
  if (!p.provider) {
    return Error(ErrorCode::InternalServer,
                 "No provider is configured for model " + p.target.model_id + " in region " + region + ".",
                 "no provider rule matches and no fallback is set");
  }
  auto& inv = p.invocation;
  inv.operation = op;
  inv.model_id = p.target.model_id;
  inv.region = region;
  inv.body = call.request.body;
  if (auto type = call.request.header("Content-Type")) inv.content_type = std::string(*type);
  auto accept = call.request.header(op == InvokeOp::InvokeModelWithResponseStream ? "X-Amzn-Bedrock-Accept" : "Accept");
  if (accept && *accept != "*/*") inv.accept = std::string(*accept);
  inv.bedrock_headers = bedrock_headers_of(call.request);
  return p;
}

Status Runtime::authorize(InvokeOp op, const Call& call, const profiles::InvocationTarget& target) const {
  const auth::Principal& principal = call.auth.principal;
  if (!principal.policy && !deps_.require_application_profiles) return {};  // nothing to check: the common case
  govern::AccessRequest request{govern::runtime_action(provider::to_string(op)), target.resource_arn};
  TOLLGATE_TRY(govern::authorize(principal.arn(), principal.policy.get(), request));
  if (!deps_.require_application_profiles || govern::meets_application_profile_rule(principal.policy.get(), request)) {
    return {};
  }
  return govern::application_profile_required(principal.arn(), request, usable_profiles(call, request.action),
                                              call.auth.region);
}

std::vector<govern::ProfileChoice> Runtime::usable_profiles(const Call& call, const std::string& action) const {
  const auth::Principal& principal = call.auth.principal;
  profiles::Caller caller{principal.account_id, call.auth.region};
  std::vector<govern::ProfileChoice> usable;
  profiles::ListRequest request;
  request.type = profiles::ProfileType::Application;
  request.max_results = 1000;
  do {
    auto page = deps_.profiles.list(caller, request);
    if (!page.ok()) break;  // the refusal stands; it just names no profile
    for (const auto& view : page->profiles) {
      if (!principal.policy || principal.policy->evaluate(action, view.arn) == govern::Decision::Allow) {
        usable.push_back({view.arn, view.name});
      }
    }
    request.next_token = page->next_token;
  } while (request.next_token);
  return usable;
}

ledger::UsageRecord Runtime::record_for(const Prepared& p, const Call& call, const ledger::TokenCounts& tokens,
                                        ledger::UsageStatus status) const {
  ledger::UsageRecord r;
  r.request_id = call.request_id;
  r.start_time = p.started;
  r.end_time = deps_.clock.now();
  r.account_id = call.auth.principal.account_id;
  r.principal = call.auth.principal.arn();
  r.operation = std::string(provider::to_string(p.operation));
  r.resource_arn = p.target.resource_arn;
  r.profile_arn = p.target.profile_arn;
  r.model_id = p.target.model_id;
  r.billing_region = call.auth.region;
  r.served_region = p.invocation.region;
  r.tokens = tokens;
  const meter::TokenPrices* prices = deps_.prices.find(r.model_id, r.billing_region, p.target.geography);
  r.costs = meter::cost_of(prices, tokens, r.price_missing);
  r.tags = p.target.tags;
  r.status = status;
  r.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.end_time - r.start_time).count();
  return r;
}

Task<ledger::TokenCounts> Runtime::worst_case_tokens(const Prepared& p) {
  ledger::TokenCounts worst;
  worst.output = max_output_tokens(requested_max_tokens(p.operation, p.invocation.body), p.target.model_id,
                                   deps_.profiles.catalog());
  provider::Invocation count = p.invocation;
  count.operation = InvokeOp::CountTokens;
  count.body = count_tokens_body(p.invocation);
  count.content_type = count.accept = "application/json";
  Result<provider::Reply> counted = co_await p.provider->invoke(count);
  worst.input = input_bound_of(p.invocation.body);
  if (counted.ok()) {
    boost::system::error_code ec;
    json::value answer = json::parse(counted->body, ec);
    const json::value* tokens = !ec && answer.is_object() ? answer.get_object().if_contains("inputTokens") : nullptr;
    if (tokens && tokens->is_int64() && tokens->get_int64() >= 0) worst.input = tokens->get_int64();
  }
  co_return worst;
}

Task<Status> Runtime::admit(Prepared& p, const Call& call) {
  if (!deps_.enforcer || p.operation == InvokeOp::CountTokens) co_return Status{};
  ledger::UsageRecord request = record_for(p, call, {}, ledger::UsageStatus::Success);
  const bool estimated = deps_.enforcer->watches(request.account_id);
  if (estimated) {
    request.tokens = co_await worst_case_tokens(p);
    request.costs = worst_case_costs(deps_.prices.find(request.model_id, request.billing_region, p.target.geography),
                                     request.tokens);
  }
  Result<tollgate::budgets::Admission> admitted = deps_.enforcer->admit(std::move(request), estimated);
  if (!admitted.ok()) co_return std::move(admitted).error();
  p.started = admitted->admitted_at();
  p.admission = std::move(admitted).value();
  co_return Status{};
}

Task<Status> Runtime::commit(Prepared& p, ledger::UsageRecord record) {
  // Named, not a temporary in the co_await expression (GCC 12 destroys those twice).
  auto shared = std::make_shared<ledger::UsageRecord>(std::move(record));
  std::function<void(StatusCallback)> append = [&ledger = deps_.ledger, shared](StatusCallback done) {
    ledger.append(*shared, std::move(done));
  };
  Status committed = co_await await_callback(std::move(append));
  if (!committed.ok()) {
    co_return Error(ErrorCode::InternalServer,
                    "The usage of this request could not be recorded, so its answer is "
                    "withheld; retry the request.",
                    committed.error().detail().empty() ? committed.error().message() : committed.error().detail());
  }
  p.admission.settle(*shared);
  co_return Status{};
}

Task<Status> Runtime::record_failure(Prepared& p, const Call& call, const Error& error) {
  if (reached_model(error)) {
    ledger::UsageRecord record = record_for(p, call, {}, ledger::UsageStatus::ModelError);
    Status committed = co_await commit(p, std::move(record));
    if (!committed.ok()) co_return committed;
  }
  co_return error;
}

std::vector<http::Header> Runtime::provider_headers(const Prepared& p) const {
  std::vector<http::Header> headers;
  headers.push_back({"x-tollgate-provider", std::string(p.provider->name())});
  headers.push_back({"x-tollgate-served-region", p.invocation.region});
  if (p.provider->simulated()) headers.push_back({"x-tollgate-simulated", "true"});
  return headers;
}

std::vector<http::Header> Runtime::cost_headers(const ledger::UsageRecord& record) {
  std::vector<http::Header> headers;
  headers.push_back({kCostHeader, meter::format_usd(record.costs.total_nano_usd())});
  if (record.price_missing) headers.push_back({kPriceMissingHeader, "true"});
  return headers;
}

Task<Status> Runtime::answer_whole(Prepared& p, const Call& call, http::ResponseWriter& writer) {
  Result<provider::Reply> reply = co_await p.provider->invoke(p.invocation);
  if (!reply.ok()) {
    Status failed = co_await record_failure(p, call, reply.error());
    co_return failed;
  }

  http::Response res;
  res.set_header("Content-Type", reply->content_type);
  for (auto& h : reply->headers) res.set_header(h.name, h.value);
  for (auto& h : provider_headers(p)) res.set_header(h.name, h.value);
  res.body = std::move(reply->body);
  if (p.operation != InvokeOp::CountTokens) {  // counting tokens is free, as on Bedrock
    ledger::UsageRecord record = record_for(p, call, reply->usage, ledger::UsageStatus::Success);
    if (p.operation == InvokeOp::InvokeModel) {
      const auto& t = record.tokens;
      res.set_header("X-Amzn-Bedrock-Input-Token-Count", std::to_string(t.input));
      res.set_header("X-Amzn-Bedrock-Output-Token-Count", std::to_string(t.output));
      res.set_header("X-Amzn-Bedrock-Invocation-Latency", std::to_string(record.latency_ms));
      if (t.cache_read > 0) res.set_header("X-Amzn-Bedrock-Cache-Read-Input-Token-Count", std::to_string(t.cache_read));
      if (t.cache_write > 0) {
        res.set_header("X-Amzn-Bedrock-Cache-Write-Input-Token-Count", std::to_string(t.cache_write));
      }
    }
    for (auto& h : cost_headers(record)) res.set_header(h.name, h.value);
    Status committed = co_await commit(p, std::move(record));
    if (!committed.ok()) co_return committed;
  }
  co_await writer.send(std::move(res));
  co_return Status{};
}

Task<Status> Runtime::answer_stream(Prepared& p, const Call& call, http::ResponseWriter& writer) {
  std::vector<http::Header> headers = provider_headers(p);
  headers.push_back({"Content-Type", kEventStreamType});
  if (p.operation == InvokeOp::InvokeModelWithResponseStream) {
    headers.push_back({"X-Amzn-Bedrock-Content-Type", "application/json"});
  }
  headers.push_back({"Trailer", std::string(kCostHeader) + ", " + kPriceMissingHeader});
  HoldBackSink sink(writer, std::move(headers));

  Result<provider::StreamOutcome> outcome = co_await p.provider->stream(p.invocation, sink);
  if (!outcome.ok() && !writer.started() && !sink.holding()) {
    Status failed = co_await record_failure(p, call, outcome.error());
    co_return failed;
  }
  provider::StreamOutcome result = outcome.ok() ? std::move(*outcome) : provider::StreamOutcome{};
  if (!outcome.ok()) {
    result.end = provider::StreamOutcome::End::UpstreamCut;
    result.error = outcome.error();
  }

  using End = provider::StreamOutcome::End;
  auto status = result.end == End::Complete     ? ledger::UsageStatus::Success
                : result.end == End::ClientGone ? ledger::UsageStatus::ClientCancelled
                                                : ledger::UsageStatus::UpstreamCut;
  ledger::UsageRecord record = record_for(p, call, result.usage, status);
  std::vector<http::Header> trailers = cost_headers(record);
  Status committed = co_await commit(p, std::move(record));
  if (result.end == End::ClientGone) co_return Status{};
  if (!committed.ok()) {
    // The final event stays withheld: the client learns the stream failed.
    eventstream::Message frame = eventstream::exception("internalServerException", message_json(committed.error()));
    co_await sink.send_frame(frame);
    std::vector<http::Header> no_trailers;
    co_await writer.end(std::move(no_trailers));
    co_return committed;
  }
  bool released = co_await sink.release();
  if (!released) co_return Status{};
  if (result.end == End::UpstreamCut) {
    Error error = result.error.value_or(Error(ErrorCode::ModelStreamError, "The model stream ended unexpectedly."));
    eventstream::Message frame = eventstream::exception(exception_member(p.operation, error), message_json(error));
    co_await sink.send_frame(frame);
  }
  co_await writer.end(std::move(trailers));
  co_return Status{};
}

Task<Status> Runtime::handle(InvokeOp op, const Call& call, http::ResponseWriter& writer) {
  auto prepared = prepare(op, call);
  if (!prepared.ok()) co_return prepared.error();
  Status admitted = co_await admit(*prepared, call);
  if (!admitted.ok()) co_return admitted;
  Status answered;
  if (provider::is_streaming(op)) {
    answered = co_await answer_stream(*prepared, call, writer);
  } else {
    answered = co_await answer_whole(*prepared, call, writer);
  }
  co_return answered;
}

}  // namespace

void register_runtime(Gateway& gateway, const RuntimeDependencies& deps) {
  auto runtime = std::make_shared<Runtime>(deps);
  auto add = [&](std::string suffix, InvokeOp op) {
    InvokeOp operation = op;
    AsyncOperationHandler handler = [runtime, operation](const Call& call, http::ResponseWriter& writer) {
      return runtime->handle(operation, call, writer);
    };
    gateway.add_rest("POST", "/model/{modelId}/" + suffix,
                     api::Operation{std::string(provider::to_string(op)), Protocol::RestJson, "bedrock", true,
                                    deps.body_limit, nullptr, std::move(handler), /*authorizes_itself=*/true});
  };
  add("converse", InvokeOp::Converse);
  add("converse-stream", InvokeOp::ConverseStream);
  add("invoke", InvokeOp::InvokeModel);
  add("invoke-with-response-stream", InvokeOp::InvokeModelWithResponseStream);
  add("count-tokens", InvokeOp::CountTokens);
}

}  // namespace tollgate::api::runtime
