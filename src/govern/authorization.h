// The govern stage: is this caller allowed to do this? Plain functions on plain values — the Gateway
// and the runtime pipeline call them where the operation and the resource are known, and only they turn
// the resulting Error into bytes.
//
//   * access_request_of() names the IAM action and resource of a control-plane, Cost Explorer or Budgets
//     call (IAM's action names: bedrock:CreateInferenceProfile, ce:GetCostAndUsage, budgets:ViewBudget…);
//     runtime_action() those of a bedrock-runtime call, whose resource is its resolved modelId.
//   * authorize() evaluates the caller's access policy (none: everything is allowed) and answers
//     AccessDeniedException in AWS's words.
//   * application_profile_required() is the refusal of the gateway setting
//     governance.require_application_profiles: a runtime call that names a bare model or a system-defined
//     profile, naming the application profiles the caller may use instead.
//
// See doc/governance.md, "Access policies" and "Requiring application profiles".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "govern/access_policy.h"

namespace tollgate::govern {

// What the edge knows of a call.
struct OperationCall {
  std::string_view service;    // SigV4 signing name: "bedrock", "ce", "budgets"
  std::string_view operation;  // e.g. "CreateInferenceProfile"
  std::string_view label;      // the decoded rest-json path label; empty when none
  std::string_view body;       // the request body (tag and budget operations name their resource in it)
  std::string_view region;
  std::string_view account_id;
};

struct AccessRequest {
  std::string action;    // e.g. "bedrock:InvokeModel"
  std::string resource;  // an ARN, or "*" for operations without resource-level permissions
};

AccessRequest access_request_of(const OperationCall& call);

// Converse and InvokeModel → bedrock:InvokeModel; ConverseStream and InvokeModelWithResponseStream →
// bedrock:InvokeModelWithResponseStream; CountTokens → bedrock:CountTokens.
std::string runtime_action(std::string_view operation);

// Ok when `policy` allows the request or is null (a caller without a policy may do everything);
// otherwise AccessDeniedException: "User: <arn> is not authorized to perform: <action> on resource:
// <resource> because no identity-based policy allows the <action> action" (or "with an explicit deny in
// an identity-based policy").
Status authorize(std::string_view principal_arn, const AccessPolicy* policy, const AccessRequest& request);

// Whether `arn` names an application inference profile.
bool is_application_profile_arn(std::string_view arn);

// Whether a runtime call on `request.resource` passes governance.require_application_profiles: it names
// an application profile, or the caller's policy allows it explicitly (AccessPolicy::allows_explicitly).
bool meets_application_profile_rule(const AccessPolicy* policy, const AccessRequest& request);

struct ProfileChoice {
  std::string arn;
  std::string name;
};

// How many usable profiles a refusal lists at most.
inline constexpr size_t kMaxProfilesNamed = 10;

// AccessDeniedException for a runtime call refused by governance.require_application_profiles, naming
// up to kMaxProfilesNamed of `usable` (the caller's application profiles in `region` its policy allows),
// or saying that there are none.
Error application_profile_required(std::string_view principal_arn, const AccessRequest& request,
                                   const std::vector<ProfileChoice>& usable, std::string_view region);

}  // namespace tollgate::govern
