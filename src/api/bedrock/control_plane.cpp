#include "api/bedrock/control_plane.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "api/json_body.h"
#include "core/arn.h"
#include "core/time_format.h"
#include "core/validation.h"

namespace tollgate::api::bedrock {
namespace {

namespace json = boost::json;
using profiles::Caller;

Caller caller_of(const Call& call) { return Caller{call.auth.principal.account_id, call.auth.region}; }

http::Response ok_json(const json::value& body, int status = 200) {
  return Gateway::json_response(status, json::serialize(body));
}

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::object profile_json(const profiles::ProfileView& p) {
  json::object out;
  out["inferenceProfileName"] = p.name;
  if (!p.description.empty()) out["description"] = p.description;
  if (p.created_at) out["createdAt"] = format_iso8601(*p.created_at);
  if (p.updated_at) out["updatedAt"] = format_iso8601(*p.updated_at);
  out["inferenceProfileArn"] = p.arn;
  json::array models;
  for (const auto& arn : p.model_arns) models.push_back(json::object{{"modelArn", arn}});
  out["models"] = std::move(models);
  out["inferenceProfileId"] = p.id;
  out["status"] = "ACTIVE";
  out["type"] = profiles::to_string(p.type);
  return out;
}

json::object model_json(const catalog::FoundationModel& m, const std::string& region) {
  json::object out;
  out["modelArn"] = catalog::foundation_model_arn(region, m.model_id);
  out["modelId"] = m.model_id;
  out["modelName"] = m.model_name;
  out["providerName"] = m.provider_name;
  out["inputModalities"] = string_array(m.input_modalities);
  out["outputModalities"] = string_array(m.output_modalities);
  out["responseStreamingSupported"] = m.response_streaming_supported;
  out["customizationsSupported"] = string_array(m.customizations);
  out["inferenceTypesSupported"] = string_array(m.inference_types);
  out["modelLifecycle"] = json::object{{"status", m.lifecycle_status}};
  return out;
}

// Query parameters of a request, decoded; a malformed escape is a ValidationException.
Result<std::vector<std::pair<std::string, std::string>>> query_of(const Call& call) {
  auto q = http::parse_query(call.request.query);
  if (!q) return Error(ErrorCode::Validation, "The query string has a malformed percent-escape.");
  return std::move(*q);
}

std::optional<std::string> query_value(const std::vector<std::pair<std::string, std::string>>& q,
                                       std::string_view name) {
  for (const auto& [k, v] : q) {
    if (k == name) return v;
  }
  return std::nullopt;
}

Result<http::Response> create_profile(profiles::ProfileService& service, const Call& call) {
  auto body = parse_json_object(call.request.body);
  TOLLGATE_TRY(body);
  profiles::CreateRequest request;
  auto name = required_string(*body, "inferenceProfileName");
  TOLLGATE_TRY(name);
  request.name = std::move(*name);
  auto description = optional_string(*body, "description");
  TOLLGATE_TRY(description);
  request.description = std::move(*description);
  auto token = optional_string(*body, "clientRequestToken");
  TOLLGATE_TRY(token);
  request.client_request_token = std::move(*token);
  const auto* source = body->if_contains("modelSource");
  if (!source || source->is_null()) {
    return Error(ErrorCode::Validation, "1 validation error detected: Value null at 'modelSource' failed to satisfy "
                                        "constraint: Member must not be null. Send {\"copyFrom\": \"<model or "
                                        "system-defined profile ARN>\"}.");
  }
  if (!source->is_object() || source->as_object().size() != 1 || !source->as_object().contains("copyFrom")) {
    return Error(ErrorCode::Validation, "modelSource must be an object with exactly one member, copyFrom.");
  }
  auto copy_from = required_string(source->as_object(), "copyFrom", "modelSource.copyFrom");
  TOLLGATE_TRY(copy_from);
  request.copy_from = std::move(*copy_from);
  auto tags = tag_list(*body, "tags", false);
  TOLLGATE_TRY(tags);
  request.tags = std::move(*tags);

  auto created = service.create(caller_of(call), request);
  TOLLGATE_TRY(created);
  return ok_json(json::object{{"inferenceProfileArn", created->arn}, {"status", "ACTIVE"}}, 201);
}

Result<http::Response> get_profile(profiles::ProfileService& service, const Call& call) {
  auto view = service.get(caller_of(call), call.label);
  TOLLGATE_TRY(view);
  return ok_json(profile_json(*view));
}

Result<http::Response> list_profiles(profiles::ProfileService& service, const Call& call) {
  auto q = query_of(call);
  TOLLGATE_TRY(q);
  profiles::ListRequest request;
  if (auto max = query_value(*q, "maxResults")) {
    char* end = nullptr;
    long long v = std::strtoll(max->c_str(), &end, 10);
    if (max->empty() || *end != '\0') {
      return Error(ErrorCode::Validation, "maxResults must be an integer between 1 and 1000, not '" + quote_value(*max) + "'.");
    }
    request.max_results = v;
  }
  request.next_token = query_value(*q, "nextToken");
  if (auto type = query_value(*q, "type")) {
    TOLLGATE_TRY(check_enum("typeEquals", *type, {"SYSTEM_DEFINED", "APPLICATION"}));
    request.type = *type == "APPLICATION" ? profiles::ProfileType::Application : profiles::ProfileType::SystemDefined;
  }
  auto page = service.list(caller_of(call), request);
  TOLLGATE_TRY(page);
  json::array summaries;
  for (const auto& p : page->profiles) summaries.push_back(profile_json(p));
  json::object out{{"inferenceProfileSummaries", std::move(summaries)}};
  if (page->next_token) out["nextToken"] = *page->next_token;
  return ok_json(out);
}

Result<http::Response> delete_profile(profiles::ProfileService& service, const Call& call) {
  TOLLGATE_TRY(service.remove(caller_of(call), call.label));
  return ok_json(json::object{});
}

// The body of TagResource, UntagResource and ListTagsForResource, with its resourceARN.
struct ResourceRequest {
  json::object body;
  std::string arn;
};

Result<ResourceRequest> resource_request(const Call& call) {
  auto body = parse_json_object(call.request.body);
  TOLLGATE_TRY(body);
  auto arn = required_string(*body, "resourceARN");
  TOLLGATE_TRY(arn);
  return ResourceRequest{std::move(*body), std::move(*arn)};
}

Result<http::Response> tag_resource(profiles::ProfileService& service, const Call& call) {
  auto request = resource_request(call);
  TOLLGATE_TRY(request);
  auto tags = tag_list(request->body, "tags", true);
  TOLLGATE_TRY(tags);
  TOLLGATE_TRY(service.tag(caller_of(call), request->arn, *tags));
  return ok_json(json::object{});
}

Result<http::Response> untag_resource(profiles::ProfileService& service, const Call& call) {
  auto request = resource_request(call);
  TOLLGATE_TRY(request);
  auto keys = optional_string_list(request->body, "tagKeys", true);
  TOLLGATE_TRY(keys);
  TOLLGATE_TRY(service.untag(caller_of(call), request->arn, *keys));
  return ok_json(json::object{});
}

Result<http::Response> list_tags(profiles::ProfileService& service, const Call& call) {
  auto request = resource_request(call);
  TOLLGATE_TRY(request);
  auto tags = service.list_tags(caller_of(call), request->arn);
  TOLLGATE_TRY(tags);
  return ok_json(json::object{{"tags", tags_to_json(*tags)}});
}

bool equals_ignore_case(std::string_view a, std::string_view b) { return http::header_name_equals(a, b); }

bool contains(const std::vector<std::string>& items, const std::string& value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

Result<http::Response> list_models(const catalog::Catalog& catalog, const Call& call) {
  auto q = query_of(call);
  TOLLGATE_TRY(q);
  auto provider = query_value(*q, "byProvider");
  auto customization = query_value(*q, "byCustomizationType");
  auto modality = query_value(*q, "byOutputModality");
  auto inference = query_value(*q, "byInferenceType");
  if (provider) {
    static const Pattern kProvider{"[A-Za-z0-9- ]{1,63}", [](std::string_view v) {
                                     return !v.empty() && v.size() <= 63 && std::all_of(v.begin(), v.end(), [](char c) {
                                       return is_alnum(c) || c == '-' || c == ' ';
                                     });
                                   },
                                   "a provider name such as Anthropic, Amazon or Meta"};
    TOLLGATE_TRY(check_pattern("byProvider", *provider, kProvider));
  }
  if (customization) {
    TOLLGATE_TRY(check_enum("byCustomizationType", *customization, {"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"}));
  }
  if (modality) TOLLGATE_TRY(check_enum("byOutputModality", *modality, {"TEXT", "IMAGE", "EMBEDDING"}));
  if (inference) TOLLGATE_TRY(check_enum("byInferenceType", *inference, {"ON_DEMAND", "PROVISIONED"}));

  json::array summaries;
  for (const auto& m : catalog.models()) {
    if (!m.offered_in(call.auth.region)) continue;
    if (provider && !equals_ignore_case(m.provider_name, *provider) &&
        !equals_ignore_case(m.model_id.substr(0, m.model_id.find('.')), *provider)) {
      continue;
    }
    if (customization && !contains(m.customizations, *customization)) continue;
    if (modality && !contains(m.output_modalities, *modality)) continue;
    if (inference && !contains(m.inference_types, *inference)) continue;
    summaries.push_back(model_json(m, call.auth.region));
  }
  return ok_json(json::object{{"modelSummaries", std::move(summaries)}});
}

Result<http::Response> describe_model(const catalog::Catalog& catalog, std::string_view id, const std::string& region) {
  const auto* model = catalog.find_model(id);
  if (!model) {
    return Error(ErrorCode::ResourceNotFound, "The foundation model '" + std::string(id) +
                                                  "' does not exist. List models with ListFoundationModels.");
  }
  if (!model->offered_in(region)) {
    return Error(ErrorCode::ResourceNotFound, "The foundation model '" + model->model_id +
                                                  "' is not offered in region " + region + "; it is offered in: " +
                                                  join(model->regions) + ".");
  }
  return ok_json(json::object{{"modelDetails", model_json(*model, region)}});
}

Result<http::Response> get_model(const catalog::Catalog& catalog, const Call& call) {
  std::string_view id = call.label;
  TOLLGATE_TRY(check_length("modelIdentifier", id, 1, 2048));
  if (looks_like_arn(id)) {
    auto arn = parse_arn(id);
    if (!arn || arn->service != "bedrock" || arn->resource_type != "foundation-model" || !arn->account.empty() ||
        arn->region.empty()) {
      return Error(ErrorCode::Validation, "modelIdentifier must be a model id (e.g. anthropic.claude-3-haiku-20240307-v1:0) "
                                          "or a foundation-model ARN (arn:aws:bedrock:REGION::foundation-model/MODEL_ID).");
    }
    return describe_model(catalog, arn->resource_id, arn->region);
  }
  return describe_model(catalog, id, call.auth.region);
}

}  // namespace

void register_control_plane(Gateway& gateway, profiles::ProfileService& profiles, const catalog::Catalog& catalog,
                            size_t body_limit) {
  auto op = [&](std::string name, auto fn) {
    return Operation{std::move(name), Protocol::RestJson, "bedrock", true, body_limit, std::move(fn)};
  };
  auto with_profiles = [&profiles](auto fn) { return [&profiles, fn](const Call& c) { return fn(profiles, c); }; };
  auto with_catalog = [&catalog](auto fn) { return [&catalog, fn](const Call& c) { return fn(catalog, c); }; };
  gateway.add_rest("POST", "/inference-profiles", op("CreateInferenceProfile", with_profiles(create_profile)));
  gateway.add_rest("GET", "/inference-profiles", op("ListInferenceProfiles", with_profiles(list_profiles)));
  gateway.add_rest("GET", "/inference-profiles/{inferenceProfileIdentifier}",
                   op("GetInferenceProfile", with_profiles(get_profile)));
  gateway.add_rest("DELETE", "/inference-profiles/{inferenceProfileIdentifier}",
                   op("DeleteInferenceProfile", with_profiles(delete_profile)));
  gateway.add_rest("POST", "/tagResource", op("TagResource", with_profiles(tag_resource)));
  gateway.add_rest("POST", "/untagResource", op("UntagResource", with_profiles(untag_resource)));
  gateway.add_rest("POST", "/listTagsForResource", op("ListTagsForResource", with_profiles(list_tags)));
  gateway.add_rest("GET", "/foundation-models", op("ListFoundationModels", with_catalog(list_models)));
  gateway.add_rest("GET", "/foundation-models/{modelIdentifier}", op("GetFoundationModel", with_catalog(get_model)));
}

}  // namespace tollgate::api::bedrock
