// libFuzzer target: the access-policy parser of src/govern/access_policy.h on arbitrary bytes (a policy
// comes from the configuration, but its JSON is parsed by hand-written validation). Besides not crashing,
// checks the invariants authorization relies on: an applicable Deny wins over any Allow whatever the
// statements' order, an explicit allow is an allow, a refusal says what is wrong, and the glob matcher
// terminates on hostile patterns. A broken invariant aborts, which libFuzzer and replay_main.cpp report as
// a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "govern/access_policy.h"

namespace {

using tollgate::govern::AccessPolicy;
using tollgate::govern::Decision;
using tollgate::govern::Effect;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::string_view kActions[] = {"bedrock:InvokeModel", "bedrock:CreateInferenceProfile", "ce:GetCostAndUsage",
                                         "budgets:ViewBudget"};
constexpr std::string_view kResources[] = {
    "*", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
    "arn:aws:budgets::123456789012:budget/team-a"};

void fuzz_policy(std::string_view input) {
  auto policy = AccessPolicy::parse(input);
  if (!policy.ok()) {
    constexpr std::string_view kPrefix = "The access policy is invalid: ";
    const std::string& message = policy.error().message();
    check(message.starts_with(kPrefix) && message.size() > kPrefix.size());  // it says what is wrong
    return;
  }
  for (auto action : kActions) {
    for (auto resource : kResources) {
      // IAM's rule, whatever the statements' order: any applicable Deny wins, else any applicable Allow.
      bool any_deny = false, any_allow = false;
      for (const auto& statement : policy->statements()) {
        if (statement.applies_to(action, resource)) (statement.effect == Effect::Deny ? any_deny : any_allow) = true;
      }
      const Decision expected = any_deny    ? Decision::ExplicitDeny
                                : any_allow ? Decision::Allow
                                            : Decision::ImplicitDeny;
      check(policy->evaluate(action, resource) == expected);
      if (policy->allows_explicitly(action, resource)) check(expected == Decision::Allow);
    }
  }
}

// The input split in two at its first newline: a pattern and a text.
void fuzz_glob(std::string_view input) {
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return;
  std::string_view pattern = input.substr(0, newline), text = input.substr(newline + 1);
  bool resource = tollgate::govern::resource_matches(pattern, text);
  bool action = tollgate::govern::action_matches(pattern, text);
  check(!resource || action);  // ignoring case can only match more
  check(tollgate::govern::resource_matches(text.find_first_of("*?") == std::string_view::npos ? text : "*", text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_policy(input);
  fuzz_glob(input);
  return 0;
}
