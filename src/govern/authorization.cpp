#include "govern/authorization.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "catalog/catalog.h"

namespace tollgate::govern {
namespace {

namespace json = boost::json;

constexpr std::string_view kApplicationProfileType = ":application-inference-profile/";

// An application inference profile's ARN, as the profile store writes it (store::ApplicationProfile::arn).
std::string application_profile_arn(const OperationCall& call, std::string_view id) {
  return "arn:aws:bedrock:" + std::string(call.region) + ":" + std::string(call.account_id) +
         ":application-inference-profile/" + std::string(id);
}

// The ARN an inference-profile identifier (id or ARN) names: system-defined profile ids carry a
// geography prefix ("us.anthropic…"), application profile ids are plain. Foundation models and system
// profiles as the catalog names them, so the control plane and the runtime check the same ARN.
std::string profile_arn_of(const OperationCall& call) {
  if (call.label.starts_with("arn:")) return std::string(call.label);
  if (call.label.find('.') != std::string_view::npos) {
    return catalog::system_profile_arn(call.region, call.account_id, call.label);
  }
  return application_profile_arn(call, call.label);
}

std::string model_arn_of(const OperationCall& call) {
  if (call.label.starts_with("arn:")) return std::string(call.label);
  return catalog::foundation_model_arn(call.region, call.label);
}

// A string member of the body's top-level object (or of `nested` inside it); empty when absent.
std::string body_string(std::string_view body, std::string_view member, std::string_view nested = {}) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  const json::object* object = &value.get_object();
  if (!nested.empty()) {
    const json::value* inner = object->if_contains(nested);
    if (!inner || !inner->is_object()) return {};
    object = &inner->get_object();
  }
  const json::value* found = object->if_contains(member);
  return found && found->is_string() ? std::string(found->get_string()) : std::string();
}

AccessRequest bedrock_request(const OperationCall& call) {
  std::string action = "bedrock:" + std::string(call.operation);
  const std::string_view op = call.operation;
  if (op == "CreateInferenceProfile") return {action, application_profile_arn(call, "*")};
  if (op == "GetInferenceProfile" || op == "DeleteInferenceProfile") return {action, profile_arn_of(call)};
  if (op == "GetFoundationModel") return {action, model_arn_of(call)};
  if (op == "TagResource" || op == "UntagResource" || op == "ListTagsForResource") {
    std::string arn = body_string(call.body, "resourceARN");
    return {action, arn.empty() ? "*" : arn};
  }
  return {action, "*"};  // ListInferenceProfiles, ListFoundationModels
}

AccessRequest budgets_request(const OperationCall& call) {
  const std::string_view op = call.operation;
  std::string action;
  if (op == "TagResource" || op == "UntagResource" || op == "ListTagsForResource") {
    std::string arn = body_string(call.body, "ResourceARN");
    return {"budgets:" + std::string(op), arn.empty() ? "*" : arn};
  }
  action = op.starts_with("Describe") ? "budgets:ViewBudget" : "budgets:ModifyBudget";
  std::string account = body_string(call.body, "AccountId");
  if (account.empty()) account = std::string(call.account_id);
  std::string name = body_string(call.body, "BudgetName");
  if (name.empty()) name = body_string(call.body, "BudgetName", "Budget");  // CreateBudget, UpdateBudget
  return {action, "arn:aws:budgets::" + account + ":budget/" + (name.empty() ? "*" : name)};
}

std::string denial_prefix(std::string_view principal_arn, const AccessRequest& request) {
  return "User: " + std::string(principal_arn) + " is not authorized to perform: " + request.action +
         " on resource: " + request.resource;
}

// The Sid (or index) of the first Deny statement that applies, for the log.
std::string denying_statement(const AccessPolicy& policy, const AccessRequest& request) {
  const auto& statements = policy.statements();
  for (size_t i = 0; i < statements.size(); ++i) {
    const auto& s = statements[i];
    if (s.effect == Effect::Deny && s.applies_to(request.action, request.resource)) {
      return s.sid.empty() ? "Statement[" + std::to_string(i) + "]" : "Sid " + s.sid;
    }
  }
  return "?";
}

}  // namespace

AccessRequest access_request_of(const OperationCall& call) {
  if (call.service == "bedrock") return bedrock_request(call);
  if (call.service == "budgets") return budgets_request(call);
  return {std::string(call.service) + ":" + std::string(call.operation), "*"};  // ce: no resource-level permissions
}

std::string runtime_action(std::string_view operation) {
  if (operation == "Converse" || operation == "InvokeModel") return "bedrock:InvokeModel";
  if (operation == "ConverseStream" || operation == "InvokeModelWithResponseStream") {
    return "bedrock:InvokeModelWithResponseStream";
  }
  return "bedrock:" + std::string(operation);  // CountTokens
}

Status authorize(std::string_view principal_arn, const AccessPolicy* policy, const AccessRequest& request) {
  if (!policy) return {};
  switch (policy->evaluate(request.action, request.resource)) {
    case Decision::Allow:
      return {};
    case Decision::ExplicitDeny:
      return Error(ErrorCode::AccessDenied,
                   denial_prefix(principal_arn, request) + " with an explicit deny in an identity-based policy",
                   "access policy: explicit deny by " + denying_statement(*policy, request));
    case Decision::ImplicitDeny:
      break;
  }
  return Error(ErrorCode::AccessDenied,
               denial_prefix(principal_arn, request) + " because no identity-based policy allows the " +
                   request.action + " action",
               "access policy: no statement allows it");
}

bool is_application_profile_arn(std::string_view arn) {
  return arn.starts_with("arn:") && arn.find(kApplicationProfileType) != std::string_view::npos;
}

bool meets_application_profile_rule(const AccessPolicy* policy, const AccessRequest& request) {
  if (is_application_profile_arn(request.resource)) return true;
  return policy && policy->allows_explicitly(request.action, request.resource);
}

Error application_profile_required(std::string_view principal_arn, const AccessRequest& request,
                                   const std::vector<ProfileChoice>& usable, std::string_view region) {
  std::string message = denial_prefix(principal_arn, request) +
                        " because this gateway requires runtime calls to go through an application inference "
                        "profile (a bare model or a system-defined profile is refused). ";
  if (usable.empty()) {
    message += "You may use no application inference profile in " + std::string(region) +
               ": create one with CreateInferenceProfile (modelSource copyFrom this model or system-defined "
               "profile) and invoke its ARN, or ask for access to one.";
  } else {
    message += "Invoke one of the application inference profiles you may use in " + std::string(region) + ": ";
    size_t shown = std::min(usable.size(), kMaxProfilesNamed);
    for (size_t i = 0; i < shown; ++i) {
      message += (i ? ", " : "") + usable[i].arn + " (" + usable[i].name + ")";
    }
    if (usable.size() > shown) {
      message += " and " + std::to_string(usable.size() - shown) +
                 " more (ListInferenceProfiles with typeEquals APPLICATION lists them)";
    }
    message += ".";
  }
  return Error(ErrorCode::AccessDenied, std::move(message), "governance.require_application_profiles");
}

}  // namespace tollgate::govern
