// Identity-based access policies in IAM's JSON form, and their evaluation.
//
//   {"Version": "2012-10-17",
//    "Statement": [{"Sid": "Chat", "Effect": "Allow", "Action": "bedrock:InvokeModel",
//                   "Resource": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/*"}]}
//
// A statement has an Effect (Allow | Deny), exactly one of Action / NotAction and exactly one of Resource /
// NotResource (each a string or a list of strings). Patterns take `*` (any run of characters, ':' and '/'
// included) and `?` (one character); actions match case-insensitively, resources case-sensitively, as in
// IAM. Condition, Principal and NotPrincipal are refused rather than ignored: silently dropping a
// Condition would grant or deny more than the author wrote.
//
// Evaluation is IAM's for one identity-based policy: an explicit Deny wins, then any matching Allow,
// otherwise the request is implicitly denied. See doc/governance.md, "Access policies".
//
// Thread-safety: immutable after parse(); every method may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::govern {

enum class Effect { Allow, Deny };

struct PolicyStatement {
  std::string sid;  // may be empty
  Effect effect = Effect::Allow;
  std::vector<std::string> actions;  // the Action patterns, or the NotAction ones when not_action
  bool not_action = false;
  std::vector<std::string> resources;  // the Resource patterns, or the NotResource ones when not_resource
  bool not_resource = false;

  bool applies_to(std::string_view action, std::string_view resource) const;
};

enum class Decision { Allow, ExplicitDeny, ImplicitDeny };

class AccessPolicy {
 public:
  // Parses a policy document. Errors are ValidationExceptions whose message names the element
  // ("Statement[1].Effect") or, for malformed JSON, the line and column.
  static Result<AccessPolicy> parse(std::string_view json);

  explicit AccessPolicy(std::vector<PolicyStatement> statements) : statements_(std::move(statements)) {}

  Decision evaluate(std::string_view action, std::string_view resource) const;

  // Whether an Allow statement grants `action` (through Action, not NotAction) on `resource` by a
  // Resource pattern that names the resource's type: its part after the fifth ':' starts with the
  // ARN's "<type>/", e.g. "arn:aws:bedrock:*::foundation-model/*" names every foundation model, while "*"
  // and "arn:aws:bedrock:*" name none explicitly. The policy must also allow the request as a whole.
  bool allows_explicitly(std::string_view action, std::string_view resource) const;

  const std::vector<PolicyStatement>& statements() const { return statements_; }

 private:
  std::vector<PolicyStatement> statements_;
};

// Glob matching with `*` and `?`: actions ignore ASCII case, resources do not.
bool action_matches(std::string_view pattern, std::string_view action);
bool resource_matches(std::string_view pattern, std::string_view resource);

}  // namespace tollgate::govern
