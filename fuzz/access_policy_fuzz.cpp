// libFuzzer target: the access-policy parser of src/govern/access_policy.h on arbitrary bytes (a policy
// comes from the configuration, but its JSON is parsed by hand-written validation). Besides not crashing,
// checks the invariants authorization relies on: a parsed policy evaluates every request to one decision,
// an explicit allow is an allow, and the glob matcher terminates on hostile patterns. A broken invariant
// aborts, which libFuzzer and replay_main.cpp report as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "govern/access_policy.h"

namespace {

using tollgate::govern::AccessPolicy;
using tollgate::govern::Decision;

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
    check(!policy.error().message().empty());
    return;
  }
  for (auto action : kActions) {
    for (auto resource : kResources) {
      Decision decision = policy->evaluate(action, resource);
      check(decision == Decision::Allow || decision == Decision::ExplicitDeny || decision == Decision::ImplicitDeny);
      if (policy->allows_explicitly(action, resource)) check(decision == Decision::Allow);
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
