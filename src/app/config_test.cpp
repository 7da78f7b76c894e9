#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "govern/access_policy.h"

namespace tollgate::app {
namespace {

std::string write_temp(const std::string& text) {
  static int n = 0;
  auto path = std::filesystem::temp_directory_path() /
              ("tollgate-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

// Loading `yaml` must fail with a message containing `part`.
void expect_error(const std::string& yaml, const std::string& part) {
  try {
    load_config(write_temp(yaml));
    ADD_FAILURE() << "no error for: " << yaml;
  } catch (const StartupError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Config, DefaultsAreTheEmbeddedPrincipalOnLoopback) {
  Config c = default_config();
  EXPECT_EQ(c.listen_address, "127.0.0.1");
  EXPECT_EQ(c.listen_port, kDefaultPort);
  ASSERT_EQ(c.principals.size(), 1u);
  EXPECT_EQ(c.principals[0].access_key_id, "test");
  EXPECT_EQ(c.principals[0].account_id, "123456789012");
  EXPECT_TRUE(c.only_default_principal());
  EXPECT_NO_THROW(check_config(c));
}

TEST(Config, RefusesNonLoopbackWithOnlyTheDefaultPrincipal) {
  Config c = default_config();
  apply_listen(c, "0.0.0.0:8420");
  EXPECT_THROW(check_config(c), StartupError);
  c.api_keys.push_back({"k1", "secret-token", "123456789012", "ci"});
  EXPECT_NO_THROW(check_config(c));
}

TEST(Config, LoadsPrincipalsAndApiKeysWithEnvironmentSecrets) {
  ::setenv("TOLLGATE_TEST_SECRET", "from-env", 1);
  Config c = load_config(write_temp(R"(
listen: 127.0.0.1:0
data_dir: /tmp/tg
principals:
  - access_key_id: AKIDTEAM
    secret_access_key: ${TOLLGATE_TEST_SECRET}
    account_id: "111122223333"
    name: team
api_keys:
  - id: key-1
    key: abc
    account_id: "111122223333"
)"));
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.data_dir, "/tmp/tg");
  ASSERT_EQ(c.principals.size(), 1u);
  EXPECT_EQ(c.principals[0].secret_access_key, "from-env");
  ASSERT_EQ(c.api_keys.size(), 1u);
  EXPECT_FALSE(c.only_default_principal());
}

TEST(Config, ReportsMistakesWithFileAndLine) {
  expect_error("listen: [1, 2\n", "invalid YAML");
  expect_error("lisen: 1\n", "unknown setting 'lisen'");
  expect_error("principals:\n  - access_key_id: a\n    secret_access_key: b\n    account_id: \"12\"\n", ":4:");
  expect_error("principals:\n  - access_key_id: a\n", "missing 'secret_access_key'");
  expect_error("listen: nowhere\n", "ADDR:PORT");
}

TEST(Config, ReadsProvidersSimulatorLedgerAndPrices) {
  Config c = load_config(write_temp(R"(
ledger:
  fsync: true
simulator:
  latency_ms: 5
  tokens_per_second: 50
providers:
  - name: vllm
    type: openai
    base_url: http://127.0.0.1:8000/v1
    models: ["meta.*"]
prices:
  - model: meta.llama3-1-8b-instruct-v1:0
    input: "0.22"
)"));
  EXPECT_TRUE(c.ledger_fsync);
  EXPECT_EQ(c.simulator.latency, std::chrono::milliseconds(5));
  EXPECT_EQ(c.simulator.tokens_per_second, 50);
  ASSERT_EQ(c.providers.size(), 1u);
  EXPECT_EQ(c.providers[0].models, std::vector<std::string>{"meta.*"});
  EXPECT_EQ(c.providers[0].regions, std::vector<std::string>{"*"});
  ASSERT_EQ(c.prices.size(), 1u);
  EXPECT_EQ(c.prices[0].input.value(), "0.22");
  EXPECT_NE(c.prices[0].location.find(":13:"), std::string::npos) << c.prices[0].location;
}

TEST(Config, RefusesIncompleteProvidersAndPrices) {
  expect_error("providers:\n  - type: openai\n", "needs 'base_url'");
  expect_error("providers:\n  - type: carrier-pigeon\n", "unknown provider type");
  expect_error("prices:\n  - model: x\n", "sets none of input");
  expect_error("ledger:\n  fsync: maybe\n", "true or false");
}

}  // namespace
}  // namespace tollgate::app

namespace tollgate::app {
namespace {

TEST(Config, ReadsCostExplorerAndExports) {
  Config c =
      load_config(write_temp("cost_explorer:\n  page_size: 7\nexports:\n  directory: /tmp/billing\n"
                             "  formats: [focus]\n  interval_minutes: 5\n"));
  EXPECT_EQ(c.cost_explorer_page_size, 7u);
  EXPECT_EQ(c.exports.directory, "/tmp/billing");
  EXPECT_EQ(c.exports.formats, std::vector<std::string>{"focus"});
  EXPECT_EQ(c.exports.interval, std::chrono::minutes(5));
  EXPECT_TRUE(default_config().exports.directory.empty());
  expect_error("exports:\n  formats: [cur]\n", "needs a directory");
  expect_error("exports:\n  directory: x\n  formats: [csv]\n", "unknown export format 'csv'");
  expect_error("exports:\n  directory: x\n  interval_minutes: 0\n", "interval_minutes");
  expect_error("cost_explorer:\n  page_size: 0\n", "page_size");
  Config b = load_config(write_temp("budgets:\n  evaluate_ms: 250\n  notification_log: /tmp/n.log\n"));
  EXPECT_EQ(b.budgets.evaluate_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(b.budgets.notification_log, "/tmp/n.log");
  EXPECT_EQ(default_config().budgets.evaluate_interval, std::chrono::milliseconds(60'000));
  expect_error("budgets:\n  evaluate_ms: 5\n", "evaluate_ms must be >= 100");
  expect_error("budgets:\n  every: 5\n", "every");
}

TEST(Config, ReadsWebhookDeliveryAndCredits) {
  Config c = load_config(
      write_temp("budgets:\n  delivery_log: /tmp/d.log\n  webhook:\n    attempts: 3\n    backoff_ms: 50\n"
                 "    timeout_ms: 2000\n    secret: s3cret\n"
                 "credits:\n  - id: promo\n    account: '123456789012'\n    amount: '12.50'\n    start: 2026-12-01\n"
                 "    expiry: 2027-12-01\n    services: [Amazon Bedrock]\n    description: Promo\n"));
  EXPECT_EQ(c.budgets.delivery_log, "/tmp/d.log");
  EXPECT_EQ(c.budgets.webhook_attempts, 3);
  EXPECT_EQ(c.budgets.webhook_backoff, std::chrono::milliseconds(50));
  EXPECT_EQ(c.budgets.webhook_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.budgets.webhook_secret, "s3cret");
  ASSERT_EQ(c.credits.size(), 1u);
  EXPECT_EQ(c.credits[0].amount_nano_usd, 12'500'000'000);
  EXPECT_EQ(c.credits[0].services, std::vector<std::string>{"Amazon Bedrock"});
  EXPECT_EQ(c.credits[0].granted_at, c.credits[0].start);
  expect_error("budgets:\n  webhook:\n    attempts: 0\n", "attempts must be 1 to 20");
  expect_error("budgets:\n  webhook:\n    retries: 2\n", "retries");
  const std::string credit =
      "credits:\n  - id: promo\n    account: '123456789012'\n    start: 2026-12-01\n"
      "    expiry: 2027-12-01\n";
  expect_error(credit + "    amount: '-1'\n", "amount");
  expect_error(credit, "a credit needs amount");
  expect_error(credit +
                   "    amount: '1'\n  - id: promo\n    account: '123456789012'\n    start: 2026-12-01\n"
                   "    expiry: 2027-12-01\n    amount: '2'\n",
               "listed twice");
}

TEST(TagPolicyFile, ThePublishedContractLoadsAsIsAndMistakesNameTheLine) {
  // The form platform teams publish, as is (JSON).
  auto policy = load_tag_policy(write_temp(
      R"({"requiredTags": ["application", "environment", "owner-team", "cost-center", "workload-type"],
          "allowedEnvironments": ["dev", "staging", "prod"], "namingRule": "lowercase-with-hyphens"})"));
  EXPECT_EQ(policy.required.size(), 5u);
  EXPECT_EQ(policy.allowed_values.at("environment"), (std::vector<std::string>{"dev", "staging", "prod"}));
  EXPECT_EQ(policy.naming, profiles::NamingRule::LowercaseWithHyphens);
  EXPECT_TRUE(policy.naming_for_keys);
  EXPECT_FALSE(policy.naming_for_values);

  auto yaml = load_tag_policy(
      write_temp("requiredTags: [team]\npatterns:\n  cost-center: 'cc-[0-9]{4}'\nnamingRuleAppliesTo: [values]\n"));
  EXPECT_EQ(yaml.patterns.at("cost-center").text, "cc-[0-9]{4}");
  EXPECT_FALSE(yaml.naming_for_keys);
  EXPECT_TRUE(yaml.naming_for_values);

  auto expect_policy_error = [](const std::string& text, const std::string& part) {
    try {
      load_tag_policy(write_temp(text));
      ADD_FAILURE() << "no error for: " << text;
    } catch (const StartupError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_policy_error("requiredTags: [team]\nrequiredTag: [x]\n", "requiredTag");
  expect_policy_error("namingRule: Title Case\n", ":1:13: unknown namingRule 'Title Case'");
  expect_policy_error("patterns:\n  team: '('\n", "not a valid regular expression");
  expect_policy_error("requiredTags: [team\n", "invalid YAML");
  expect_error("tag_policy: /nonexistent/policy.json\n", "cannot read the tag policy file");
}

}  // namespace
}  // namespace tollgate::app

namespace tollgate::app {
namespace {

TEST(Config, AccessPoliciesInlineAsYamlAsJsonTextOrFromAFile) {
  std::string dir = std::filesystem::path(write_temp("")).parent_path().string();
  std::string policy_file = "tollgate-config-test-" + std::to_string(::getpid()) + "-policy.json";
  std::ofstream(std::filesystem::path(dir) / policy_file)
      << R"({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})";
  Config c = load_config(write_temp(R"(
governance:
  require_application_profiles: true
principals:
  - access_key_id: AKIDYAML
    secret_access_key: s
    account_id: "111122223333"
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [bedrock:InvokeModel, "ce:Get*"]
          Resource: "arn:aws:bedrock:*:111122223333:application-inference-profile/*"
  - access_key_id: AKIDOPEN
    secret_access_key: s
    account_id: "111122223333"
api_keys:
  - id: json-key
    key: k1
    account_id: "111122223333"
    policy: '{"Statement": {"Effect": "Allow", "Action": "ce:*", "Resource": "*"}}'
  - id: file-key
    key: k2
    account_id: "111122223333"
    policy_file: )" + policy_file + "\n"));
  EXPECT_TRUE(c.governance.require_application_profiles);
  ASSERT_EQ(c.principals.size(), 2u);
  ASSERT_TRUE(c.principals[0].policy);
  const std::string profile = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/p1";
  EXPECT_EQ(c.principals[0].policy->evaluate("bedrock:InvokeModel", profile), govern::Decision::Allow);
  EXPECT_EQ(c.principals[0].policy->evaluate("bedrock:DeleteInferenceProfile", profile),
            govern::Decision::ImplicitDeny);
  EXPECT_FALSE(c.principals[1].policy) << "no policy: everything allowed";
  ASSERT_EQ(c.api_keys.size(), 2u);
  ASSERT_TRUE(c.api_keys[0].policy);
  EXPECT_EQ(c.api_keys[0].policy->evaluate("ce:GetCostAndUsage", "*"), govern::Decision::Allow);
  ASSERT_TRUE(c.api_keys[1].policy);
  EXPECT_EQ(c.api_keys[1].policy->evaluate("ce:GetCostAndUsage", "*"), govern::Decision::ExplicitDeny);
  EXPECT_FALSE(default_config().governance.require_application_profiles);
}

TEST(Config, AccessPolicyMistakesStopStartUpWithTheLocation) {
  const std::string key =
      "principals:\n  - access_key_id: A\n    secret_access_key: s\n    account_id: \"111122223333\"\n";
  expect_error(key +
                   "    policy:\n      Statement:\n        - Effect: allow\n          Action: \"*\"\n          "
                   "Resource: \"*\"\n",
               ":6:7: policy: The access policy is invalid: Statement[0].Effect must be \"Allow\" or \"Deny\"");
  expect_error(key + "    policy: '{\"Statement\": [}'\n",
               ":5:13: policy: The access policy is invalid: malformed JSON at line 1");
  expect_error(key + "    policy: {Statement: []}\n    policy_file: p.json\n", "give either 'policy' or 'policy_file'");
  expect_error(key + "    policy_file: /nonexistent/policy.json\n",
               "cannot read the access policy file /nonexistent/policy.json");
  expect_error(key +
                   "    policy:\n      Statement:\n        Effect: Allow\n        Action: \"*\"\n        Resource: "
                   "\"*\"\n        Condition: {}\n",
               "Statement.Condition is not supported");
  expect_error("governance:\n  require_application_profile: true\n", "unknown setting 'require_application_profile'");
  expect_error("governance:\n  require_application_profiles: maybe\n",
               "'require_application_profiles' must be true or false");
}

}  // namespace
}  // namespace tollgate::app
