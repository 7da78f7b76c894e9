// The bedrock-runtime pipeline through the Gateway with a scripted provider and
// a real (in-memory) ledger: resolution, metering, pricing, commit, framing.
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "api/bedrock/control_plane.h"
#include "api/runtime/runtime_api.h"
#include "api/runtime/worst_case.h"
#include "core/base64.h"
#include "eventstream/eventstream.h"
#include "govern/access_policy.h"
#include "http/in_memory.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::api {
namespace {

namespace json = boost::json;
constexpr char kHaikuArn[] = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";

// Answers every call the same way, or fails as told.
class ScriptedProvider final : public provider::Provider {
 public:
  std::string_view name() const override { return "scripted"; }
  Task<Result<provider::Reply>> invoke(const provider::Invocation& invocation) override {
    last_model = invocation.model_id;
    if (fail) co_return *fail;
    provider::Reply reply;
    reply.body = R"({"answer":"hi"})";
    reply.usage = {10, 5, 0, 0};
    co_return reply;
  }
  Task<Result<provider::StreamOutcome>> stream(const provider::Invocation&, provider::EventSink& sink) override {
    if (fail) co_return *fail;
    provider::StreamOutcome outcome;
    for (int i = 0; i < 3; ++i) {
      provider::StreamEvent event{i == 2 ? "metadata" : "contentBlockDelta", "{\"i\":" + std::to_string(i) + "}"};
      bool delivered = co_await sink.on_event(std::move(event));
      if (!delivered) {
        outcome.end = provider::StreamOutcome::End::ClientGone;
        co_return outcome;
      }
      outcome.usage.output += 1;
      if (cut && i == 1) {
        outcome.end = provider::StreamOutcome::End::UpstreamCut;
        outcome.error = Error(ErrorCode::ModelStreamError, "cut");
        co_return outcome;
      }
    }
    outcome.usage.input = 10;
    co_return outcome;
  }
  std::optional<Error> fail;
  bool cut = false;
  std::string last_model;
};

class RuntimeTest : public ::testing::Test {
 protected:
  explicit RuntimeTest(std::vector<auth::ApiKeyCredential> api_keys = {{"key-1", "sekrit", "123456789012", "ci"}},
                       bool require_application_profiles = false)
      : catalog_(catalog::Catalog::embedded()),
        prices_(meter::PriceBook::embedded()),
        store_(store::sqlite::open_profile_store(":memory:")),
        clock_(std::chrono::system_clock::now()),
        authenticator_({}, std::move(api_keys), clock_, "us-east-1"),
        service_(catalog_, *store_, clock_),
        ledger_(ledger::sqlite::SqliteLedgerOptions{":memory:"}),
        provider_(std::make_shared<ScriptedProvider>()),
        gateway_(authenticator_) {
    registry_.set_fallback(provider_);
    bedrock::register_control_plane(gateway_, service_, catalog_, 1 << 20);
    runtime::RuntimeDependencies deps{service_, registry_, prices_, ledger_, clock_, 1 << 20};
    deps.require_application_profiles = require_application_profiles;
    runtime::register_runtime(gateway_, deps);
    auto created = service_.create({"123456789012", "us-east-1"},
                                   {"support-bot", std::nullopt, std::nullopt, kHaikuArn, {{"team", "growth"}}});
    profile_arn_ = created->arn;
  }

  http::Response post(const std::string& model_id, const std::string& op, std::string body = "{}",
                      const std::string& token = "sekrit") {
    std::string encoded;
    for (char c : model_id) encoded += c == ':' ? "%3A" : c == '/' ? "%2F" : std::string(1, c);
    http::Request req;
    req.method = "POST";
    req.path = "/model/" + encoded + "/" + op;
    req.body = std::move(body);
    req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
    return http::serve_in_memory(gateway_, req);
  }

  std::vector<ledger::UsageRecord> records() { return *ledger_.query({}); }

  catalog::Catalog catalog_;
  meter::PriceBook prices_;
  std::unique_ptr<store::ProfileStore> store_;
  ManualClock clock_;
  auth::Authenticator authenticator_;
  profiles::ProfileService service_;
  ledger::sqlite::SqliteLedger ledger_;
  std::shared_ptr<ScriptedProvider> provider_;
  provider::ProviderRegistry registry_;
  Gateway gateway_;
  std::string profile_arn_;
};

TEST_F(RuntimeTest, ConverseThroughAProfileIsMeteredPricedAndTagged) {
  auto res = post(profile_arn_, "converse");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.body, R"({"answer":"hi"})");
  EXPECT_EQ(provider_->last_model, "anthropic.claude-3-haiku-20240307-v1:0");
  // Claude 3 Haiku: $0.25 / $1.25 per million tokens → 10 × 250 + 5 × 1250 nano-USD.
  EXPECT_EQ(res.header(runtime::kCostHeader).value(), "0.000008750");
  EXPECT_EQ(res.header("x-tollgate-provider").value(), "scripted");
  EXPECT_TRUE(res.header("x-amzn-RequestId").has_value());

  auto stored = records();
  ASSERT_EQ(stored.size(), 1u);
  const auto& r = stored[0];
  EXPECT_EQ(r.request_id, res.header("x-amzn-RequestId").value());
  EXPECT_EQ(r.operation, "Converse");
  EXPECT_EQ(r.profile_arn, profile_arn_);
  EXPECT_EQ(r.resource_arn, profile_arn_);
  EXPECT_EQ(r.principal, "arn:aws:iam::123456789012:user/ci");  // the caller's IAM ARN, not its key id
  EXPECT_EQ(r.billing_region, "us-east-1");
  EXPECT_EQ(r.served_region, "us-east-1");
  EXPECT_EQ(r.tokens, (ledger::TokenCounts{10, 5, 0, 0}));
  EXPECT_EQ(r.costs.input_nano_usd, 2500);
  EXPECT_EQ(r.costs.output_nano_usd, 6250);
  EXPECT_FALSE(r.price_missing);
  EXPECT_EQ(r.tags, (std::vector<Tag>{{"team", "growth"}}));
  EXPECT_EQ(r.status, ledger::UsageStatus::Success);
}

TEST_F(RuntimeTest, InvokeModelCarriesBedrocksTokenCountHeaders) {
  auto res = post("anthropic.claude-3-haiku-20240307-v1:0", "invoke", R"({"prompt":"x"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("X-Amzn-Bedrock-Input-Token-Count").value(), "10");
  EXPECT_EQ(res.header("X-Amzn-Bedrock-Output-Token-Count").value(), "5");
  ASSERT_EQ(records().size(), 1u);
  EXPECT_EQ(records()[0].profile_arn, "");
}

TEST_F(RuntimeTest, StreamsEventFramesAndRecordsTheStream) {
  auto res = post(profile_arn_, "converse-stream");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("Content-Type").value(), "application/vnd.amazon.eventstream");
  eventstream::Decoder decoder;
  auto messages = decoder.feed(res.body);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 3u);
  EXPECT_EQ((*messages)[0].string_header(":event-type").value(), "contentBlockDelta");
  EXPECT_EQ((*messages)[2].string_header(":event-type").value(), "metadata");
  EXPECT_EQ((*messages)[2].payload, "{\"i\":2}");
  EXPECT_TRUE(res.header(runtime::kCostHeader).has_value());  // as a trailer
  ASSERT_EQ(records().size(), 1u);
  EXPECT_EQ(records()[0].tokens.output, 3);
  EXPECT_EQ(records()[0].status, ledger::UsageStatus::Success);
}

TEST_F(RuntimeTest, AnUpstreamCutEndsWithAnInStreamExceptionAndIsRecordedAsSuch) {
  provider_->cut = true;
  auto res = post(profile_arn_, "converse-stream");
  auto messages = eventstream::Decoder().feed(res.body);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 3u);
  EXPECT_EQ((*messages)[2].string_header(":message-type").value(), "exception");
  EXPECT_EQ((*messages)[2].string_header(":exception-type").value(), "modelStreamErrorException");
  ASSERT_EQ(records().size(), 1u);
  EXPECT_EQ(records()[0].status, ledger::UsageStatus::UpstreamCut);
  EXPECT_EQ(records()[0].tokens.output, 2);
}

TEST_F(RuntimeTest, RefusalsBeforeTheModelAreNotRecorded) {
  auto missing = post("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefabcdef", "converse");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("x-amzn-ErrorType").value(), "ResourceNotFoundException");
  provider_->fail = Error(ErrorCode::Throttling, "slow down");
  EXPECT_EQ(post(profile_arn_, "converse").status, 429);
  EXPECT_TRUE(records().empty());
}

TEST_F(RuntimeTest, ModelFailuresAreRecordedWithoutTokens) {
  provider_->fail = Error(ErrorCode::ModelError, "the model failed");
  auto res = post(profile_arn_, "converse");
  EXPECT_EQ(res.status, 424);
  ASSERT_EQ(records().size(), 1u);
  EXPECT_EQ(records()[0].status, ledger::UsageStatus::ModelError);
  EXPECT_EQ(records()[0].costs.total_nano_usd(), 0);
}

TEST_F(RuntimeTest, CountTokensIsFree) {
  auto res = post(profile_arn_, "count-tokens", R"({"input":{"converse":{"messages":[]}}})");
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(records().empty());
}

// ---- the worst case of a request (budget admission) ----

TEST(WorstCase, TheRequestedOutputLimitIsReadFromEachFormat) {
  using provider::Operation;
  auto native = [](std::string_view body) { return runtime::requested_max_tokens(Operation::InvokeModel, body); };
  auto converse = [](std::string_view body) { return runtime::requested_max_tokens(Operation::Converse, body); };
  EXPECT_EQ(converse(R"({"messages":[],"inferenceConfig":{"maxTokens":40}})"), 40);
  EXPECT_EQ(converse(R"({"maxTokens":1,"inferenceConfig":{"maxTokens":8192}})"), 8192) << "a decoy is ignored";
  EXPECT_EQ(converse(R"({"maxTokens":1,"messages":[]})"), std::nullopt);
  EXPECT_EQ(native(R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":300})"), 300);
  EXPECT_EQ(native(R"({"prompt":"hi","max_gen_len":64})"), 64);
  EXPECT_EQ(native(R"({"prompt":"hi","max_tokens":1,"max_gen_len":4096})"), 4096) << "the largest counts";
  EXPECT_EQ(native(R"({"inputText":"hi","textGenerationConfig":{"maxTokenCount":77}})"), 77);
  EXPECT_EQ(native(R"({"messages":[],"inferenceConfig":{"max_new_tokens":12}})"), 12);
  EXPECT_EQ(native(R"({"messages":[]})"), std::nullopt);
  EXPECT_EQ(native(R"({"max_tokens":0})"), std::nullopt) << "not a limit: the provider refuses it";
  EXPECT_EQ(native("not json"), std::nullopt);
}

TEST(WorstCase, WithoutALimitTheModelsMaximumApplies) {
  auto catalog = catalog::Catalog::embedded();
  EXPECT_EQ(runtime::max_output_tokens(100, "anthropic.claude-3-haiku-20240307-v1:0", catalog), 100);
  EXPECT_EQ(runtime::max_output_tokens(INT64_MAX, "anthropic.claude-3-haiku-20240307-v1:0", catalog), 4096)
      << "no more than the model can produce";
  EXPECT_EQ(runtime::max_output_tokens(std::nullopt, "anthropic.claude-3-haiku-20240307-v1:0", catalog), 4096);
  EXPECT_EQ(runtime::max_output_tokens(std::nullopt, "amazon.titan-embed-text-v2:0", catalog), 0) << "embeddings";
  int64_t largest = 0;
  for (const auto& m : catalog.models()) largest = std::max(largest, m.max_output_tokens.value_or(0));
  EXPECT_EQ(runtime::max_output_tokens(std::nullopt, "twelvelabs.pegasus-1-2-v1:0", catalog), largest);
}

TEST(WorstCase, CountTokensIsAskedAboutTheSameInput) {
  provider::Invocation converse;
  converse.operation = provider::Operation::ConverseStream;
  converse.body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":5}})";
  EXPECT_EQ(runtime::count_tokens_body(converse),
            R"({"input":{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}]}}})");
  provider::Invocation native;
  native.operation = provider::Operation::InvokeModel;
  native.body = R"({"prompt":"hi"})";
  EXPECT_EQ(runtime::count_tokens_body(native),
            R"({"input":{"invokeModel":{"body":")" + base64_encode(native.body) + R"("}}})");
}

TEST(WorstCase, InputIsPricedAtTheDearestInputPrice) {
  meter::TokenPrices prices{250'000'000, 1'250'000'000, 25'000'000, 312'500'000};
  auto costs = runtime::worst_case_costs(&prices, {1000, 100, 0, 0});
  EXPECT_EQ(costs.input_nano_usd, 312'500);  // 1000 tokens at the cache-write price
  EXPECT_EQ(costs.output_nano_usd, 125'000);
  EXPECT_EQ(runtime::worst_case_costs(nullptr, {1000, 100, 0, 0}).total_nano_usd(), 0) << "no price, no cost";
}

// Access policies and governance.require_application_profiles on the runtime.
class RuntimePolicyTest : public RuntimeTest {
 protected:
  static auth::PolicyPtr policy(std::string_view json) {
    return std::make_shared<const govern::AccessPolicy>(std::move(govern::AccessPolicy::parse(json)).value());
  }

  RuntimePolicyTest()
      : RuntimeTest({{"open", "open-token", "123456789012", "open"},
                     {"no-chat", "no-chat-token", "123456789012", "no-chat",
                      policy(R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                          {"Effect": "Deny", "Action": "bedrock:InvokeModel",
                           "Resource": "arn:aws:bedrock:*:*:application-inference-profile/*"}]})")},
                     {"models", "models-token", "123456789012", "models",
                      policy(R"({"Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel*",
                          "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.*"}]})")}},
                    /*require_application_profiles=*/true) {}

  http::Response post(const std::string& model_id, const std::string& op, const std::string& token) {
    return RuntimeTest::post(model_id, op, "{}", token);
  }

  static std::string message(const http::Response& res) {
    return std::string(json::parse(res.body).at("message").as_string());
  }
};

TEST_F(RuntimePolicyTest, ADeniedCallReachesNoModelAndRecordsNoUsage) {
  auto denied = post(profile_arn_, "converse", "no-chat-token");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.header("x-amzn-ErrorType").value_or(""), "AccessDeniedException");
  EXPECT_EQ(message(denied),
            "User: arn:aws:iam::123456789012:user/no-chat is not authorized to perform: "
            "bedrock:InvokeModel on resource: " +
                profile_arn_ + " with an explicit deny in an identity-based policy");
  EXPECT_EQ(provider_->last_model, "") << "no model was called";
  EXPECT_TRUE(records().empty());

  // ConverseStream is bedrock:InvokeModelWithResponseStream, which that policy does not deny.
  auto streamed = post(profile_arn_, "converse-stream", "no-chat-token");
  EXPECT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_EQ(records().size(), 1u);
}

TEST_F(RuntimePolicyTest, ABareModelIsRefusedNamingTheProfilesTheCallerMayUse) {
  auto refused = post("anthropic.claude-3-haiku-20240307-v1:0", "converse", "open-token");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.header("x-amzn-ErrorType").value_or(""), "AccessDeniedException");
  EXPECT_NE(message(refused).find("requires runtime calls to go through an application inference profile"),
            std::string::npos)
      << message(refused);
  EXPECT_NE(message(refused).find(profile_arn_ + " (support-bot)"), std::string::npos) << message(refused);
  auto system = post("us.anthropic.claude-3-haiku-20240307-v1:0", "converse", "open-token");
  EXPECT_EQ(system.status, 403) << "a system-defined profile is no application profile";
  EXPECT_TRUE(records().empty());
  EXPECT_EQ(provider_->last_model, "");

  EXPECT_EQ(post(profile_arn_, "converse", "open-token").status, 200);
  EXPECT_EQ(records().size(), 1u);
}

TEST_F(RuntimePolicyTest, APolicyThatNamesTheModelExplicitlyGetsThrough) {
  auto bare = post(kHaikuArn, "converse", "models-token");
  EXPECT_EQ(bare.status, 200) << bare.body;
  ASSERT_EQ(records().size(), 1u);
  EXPECT_EQ(records()[0].resource_arn, kHaikuArn);

  // Its policy allows no application profile (nor the system-defined one): the refusal says so.
  auto system = post("us.anthropic.claude-3-haiku-20240307-v1:0", "converse", "models-token");
  EXPECT_EQ(system.status, 403);
  EXPECT_NE(message(system).find("because no identity-based policy allows the bedrock:InvokeModel action"),
            std::string::npos)
      << message(system);
  auto through_profile = post(profile_arn_, "converse", "models-token");
  EXPECT_EQ(through_profile.status, 403);
  EXPECT_EQ(records().size(), 1u);
}

}  // namespace
}  // namespace tollgate::api
