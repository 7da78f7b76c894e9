#include "api/runtime/worst_case.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "core/base64.h"

namespace tollgate::api::runtime {
namespace {

namespace json = boost::json;

// Bounds a limit for a model the catalog does not know: no model produces ten million tokens in one answer.
constexpr int64_t kMaxOutputTokensBound = 10'000'000;

std::optional<int64_t> positive_integer(const json::object& obj, std::string_view field) {
  const json::value* v = obj.if_contains(field);
  if (!v) return std::nullopt;
  if (v->is_int64() && v->get_int64() > 0) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), INT64_MAX));
  if (v->is_double() && v->get_double() >= 1 && v->get_double() < 9.2e18) return static_cast<int64_t>(v->get_double());
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> requested_max_tokens(provider::Operation operation, std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::object& request = value.get_object();
  auto nested = [&](std::string_view config, std::string_view field) -> std::optional<int64_t> {
    const json::value* c = request.if_contains(config);
    return c && c->is_object() ? positive_integer(c->get_object(), field) : std::nullopt;
  };
  if (operation == provider::Operation::Converse || operation == provider::Operation::ConverseStream) {
    return nested("inferenceConfig", "maxTokens");  // the only limit Converse has
  }
  // A native body: the largest of the limits it sets, so that a decoy field cannot understate it.
  std::optional<int64_t> largest;
  auto take = [&](std::optional<int64_t> limit) {
    if (limit) largest = std::max(largest.value_or(0), *limit);
  };
  for (std::string_view field :
       {"max_tokens", "max_tokens_to_sample", "max_gen_len", "maxTokens", "max_completion_tokens", "max_new_tokens"}) {
    take(positive_integer(request, field));
  }
  for (std::string_view field : {"maxTokens", "max_new_tokens"}) take(nested("inferenceConfig", field));
  take(nested("textGenerationConfig", "maxTokenCount"));
  return largest;
}

int64_t max_output_tokens(std::optional<int64_t> requested, std::string_view model_id,
                          const catalog::Catalog& catalog) {
  const catalog::FoundationModel* model = catalog.find_model(model_id);
  // A limit above the model's maximum cannot produce more than the maximum (and is refused by the model).
  if (requested && model && model->max_output_tokens) return std::min(*requested, *model->max_output_tokens);
  if (requested) return std::min<int64_t>(*requested, kMaxOutputTokensBound);
  if (model && model->max_output_tokens) return *model->max_output_tokens;
  if (model && std::find(model->output_modalities.begin(), model->output_modalities.end(), "TEXT") ==
                   model->output_modalities.end()) {
    return 0;
  }
  int64_t largest = 0;
  for (const auto& m : catalog.models()) largest = std::max(largest, m.max_output_tokens.value_or(0));
  return largest;
}

std::string count_tokens_body(const provider::Invocation& invocation) {
  using provider::Operation;
  if (invocation.operation == Operation::InvokeModel ||
      invocation.operation == Operation::InvokeModelWithResponseStream) {
    return json::serialize(json::object{{"input", {{"invokeModel", {{"body", base64_encode(invocation.body)}}}}}});
  }
  boost::system::error_code ec;
  json::value request = json::parse(invocation.body, ec);
  json::object converse;
  if (!ec && request.is_object()) {
    for (std::string_view field : {"messages", "system", "toolConfig", "additionalModelRequestFields"}) {
      if (const json::value* v = request.get_object().if_contains(field)) converse[field] = *v;
    }
  }
  return json::serialize(json::object{{"input", {{"converse", std::move(converse)}}}});
}

ledger::TokenCosts worst_case_costs(const meter::TokenPrices* prices, const ledger::TokenCounts& tokens) {
  if (!prices) return {};
  meter::TokenPrices worst;
  for (const auto& p : {prices->input, prices->cache_read, prices->cache_write}) {
    if (p) worst.input = std::max(worst.input.value_or(0), *p);
  }
  worst.output = prices->output;
  bool missing = false;
  return meter::cost_of(&worst, {tokens.input, tokens.output, 0, 0}, missing);
}

}  // namespace tollgate::api::runtime
