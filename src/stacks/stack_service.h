// Deploying a CloudFormation template's application inference profiles as a stack (doc/governance.md,
// "CloudFormation"). An apply
//  1. parses the template and checks its parameters (every problem reported, nothing changed);
//  2. plans every resource against the stack's stored state and the live profiles: Create, Update (tags or
//     description, in place), Replace (a new name or source), NoChange; Delete (or Retain) for resources no
//     longer in the template; Skip for resource types tollgate does not manage;
//  3. checks every create and update as the Bedrock API would (names, patterns, tag policy, sources, name
//     conflicts, export names) and that the caller may make each change, before changing anything;
//  4. unless it is a dry run, carries the plan out in dependency order, saving the stack's state after each
//     step, so a re-apply after a failure picks up where it stopped; then evaluates the Outputs.
// A dry run is steps 1–3 and answers the change set.
//
// Thread-safety: one apply at a time per process; a second one meanwhile is refused with ConflictException.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "profiles/profile_service.h"
#include "stacks/stack_store.h"
#include "stacks/template.h"

namespace tollgate::stacks {

struct ApplyRequest {
  std::string stack_name;  // [a-zA-Z][-a-zA-Z0-9]*, at most 128
  std::string template_body;
  std::string template_file;  // for messages: file:line:column
  std::map<std::string, std::string> parameters;
  bool dry_run = false;
  // Whether the caller may perform `action` (bedrock:CreateInferenceProfile, bedrock:TagResource,
  // bedrock:UntagResource, bedrock:DeleteInferenceProfile) on `resource` (a profile ARN, or the account's
  // application-inference-profile/* for a create): asked for every change before any is made, dry runs
  // included. Empty: everything is allowed.
  std::function<Status(const std::string& action, const std::string& resource)> authorize;
};

struct ResourceChange {
  std::string action;  // Create, Update, Replace, NoChange, Delete, Retain, Skip
  std::string logical_id;
  std::string type;
  std::string physical_id;           // the profile's ARN (the old one for Replace and Delete), when known
  std::vector<std::string> details;  // what changes, e.g. "tag environment: dev → prod"
  bool removes_tags = false;         // an Update that removes a tag (so needs bedrock:UntagResource)
};

struct ApplyResult {
  std::string stack_name;
  std::string stack_id;
  bool dry_run = false;
  std::vector<ResourceChange> changes;
  std::vector<OutputValue> outputs;
  std::vector<std::string> skipped_outputs;  // "Name: why"
};

class StackService {
 public:
  StackService(profiles::ProfileService& profiles, StackStore& store, const Clock& clock);
  Result<ApplyResult> apply(const profiles::Caller& caller, const ApplyRequest& request);

 private:
  struct Run;
  profiles::ProfileService& profiles_;
  StackStore& store_;
  const Clock& clock_;
  std::mutex apply_mu_;
};

}  // namespace tollgate::stacks
