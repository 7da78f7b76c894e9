#include "api/stacks/stacks_api.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "api/json_body.h"
#include "govern/authorization.h"

namespace tollgate::api::stacks {
namespace {

namespace json = boost::json;
using tollgate::stacks::ApplyRequest;
using tollgate::stacks::ApplyResult;

Result<ApplyRequest> apply_request_of(const Call& call) {
  auto body = parse_json_object(call.request.body);
  TOLLGATE_TRY(body);
  ApplyRequest request;
  request.stack_name = call.label;
  auto template_body = required_string(*body, "TemplateBody");
  TOLLGATE_TRY(template_body);
  request.template_body = std::move(template_body).value();
  auto file = optional_string(*body, "TemplateFile");
  TOLLGATE_TRY(file);
  request.template_file = file->value_or("template");
  if (const json::value* parameters = body->if_contains("Parameters")) {
    if (!parameters->is_object()) {
      return Error(ErrorCode::Validation, "Parameters must be an object of parameter names to string values.");
    }
    for (const auto& [key, value] : parameters->as_object()) {
      if (!value.is_string()) {
        return Error(ErrorCode::Validation, "Parameter '" + std::string(key) + "' must be a string.");
      }
      request.parameters[std::string(key)] = std::string(value.as_string());
    }
  }
  if (const json::value* dry_run = body->if_contains("DryRun")) {
    if (!dry_run->is_bool()) return Error(ErrorCode::Validation, "DryRun must be true or false.");
    request.dry_run = dry_run->as_bool();
  }
  return request;
}

json::array strings(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::object result_json(const ApplyResult& result) {
  json::array changes;
  for (const auto& c : result.changes) {
    changes.push_back(json::object{{"Action", c.action},
                                   {"LogicalResourceId", c.logical_id},
                                   {"ResourceType", c.type},
                                   {"PhysicalResourceId", c.physical_id},
                                   {"Details", strings(c.details)}});
  }
  json::array outputs;
  for (const auto& o : result.outputs) {
    json::object out{{"OutputKey", o.name}, {"OutputValue", o.value}};
    if (!o.description.empty()) out["Description"] = o.description;
    if (!o.export_name.empty()) out["ExportName"] = o.export_name;
    outputs.push_back(std::move(out));
  }
  return json::object{{"StackName", result.stack_name}, {"StackId", result.stack_id},
                      {"DryRun", result.dry_run},       {"Changes", std::move(changes)},
                      {"Outputs", std::move(outputs)},  {"SkippedOutputs", strings(result.skipped_outputs)}};
}

}  // namespace

void register_stacks_api(Gateway& gateway, tollgate::stacks::StackService& service, size_t body_limit) {
  auto apply = [&service](const Call& call) -> Result<http::Response> {
    auto request = apply_request_of(call);
    TOLLGATE_TRY(request);
    const auth::Principal& principal = call.auth.principal;
    request->authorize = [&principal](const std::string& action, const std::string& resource) {
      return govern::authorize(principal.arn(), principal.policy.get(), {action, resource});
    };
    auto result = service.apply({call.auth.principal.account_id, call.auth.region}, *request);
    TOLLGATE_TRY(result);
    return Gateway::json_response(200, json::serialize(result_json(*result)));
  };
  gateway.add_rest("POST", "/tollgate/stacks/{StackName}",
                   Operation{"ApplyStack", Protocol::RestJson, "bedrock", true, body_limit, apply});
}

}  // namespace tollgate::api::stacks
