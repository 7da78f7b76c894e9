#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "core/error.h"

// Suite "catalog" for every test so that `ctest -R catalog` selects them (ctest matches test names).
namespace tollgate::catalog {
namespace {

using Strings = std::vector<std::string>;

// Patterns from aws-models/bedrock/service-2.json; std::regex_match anchors them.
const std::regex kBedrockModelId(
    "[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}");
const std::regex kFoundationModelArn(
    "arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/"
    "[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}");
const std::regex kInferenceProfileArn(
    "arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):"
    "(inference-profile|application-inference-profile)/[a-zA-Z0-9-:.]+");
const std::regex kProfileDescription("([0-9a-zA-Z:.][ _-]?)+");

const Catalog& embedded() {
  static const Catalog catalog = Catalog::embedded();
  return catalog;
}

TEST(catalog, EmbeddedParsesAndIsSorted) {
  const Catalog& c = embedded();
  ASSERT_GT(c.models().size(), 100u);
  ASSERT_GT(c.system_profiles().size(), 50u);
  EXPECT_TRUE(std::is_sorted(c.models().begin(), c.models().end(),
                             [](const auto& a, const auto& b) { return a.model_id < b.model_id; }));
  EXPECT_TRUE(std::is_sorted(c.system_profiles().begin(), c.system_profiles().end(),
                             [](const auto& a, const auto& b) { return a.id < b.id; }));
  for (const FoundationModel& m : c.models()) {
    EXPECT_TRUE(std::is_sorted(m.regions.begin(), m.regions.end())) << m.model_id;
    EXPECT_EQ(c.find_model(m.model_id), &m);
  }
  for (const SystemProfile& p : c.system_profiles()) EXPECT_EQ(c.find_system_profile(p.id), &p);
}

TEST(catalog, EmbeddedClaudeThreeHaiku) {
  const FoundationModel* m = embedded().find_model("anthropic.claude-3-haiku-20240307-v1:0");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->model_name, "Claude 3 Haiku");
  EXPECT_EQ(m->provider_name, "Anthropic");
  EXPECT_EQ(m->input_modalities, (Strings{"IMAGE", "TEXT"}));
  EXPECT_EQ(m->output_modalities, (Strings{"TEXT"}));
  EXPECT_EQ(m->inference_types, (Strings{"ON_DEMAND"}));
  EXPECT_TRUE(m->customizations.empty());
  EXPECT_TRUE(m->response_streaming_supported);
  EXPECT_EQ(m->lifecycle_status, "ACTIVE");
  EXPECT_EQ(m->max_input_tokens, 200000);
  EXPECT_EQ(m->max_output_tokens, 4096);
  for (const char* region : {"us-east-1", "us-east-2", "us-west-2", "eu-central-1", "eu-west-1", "eu-west-3",
                             "ap-northeast-1", "ap-southeast-2", "us-gov-west-1"}) {
    EXPECT_TRUE(m->offered_in(region)) << region;
  }
  EXPECT_FALSE(m->offered_in("us-west-1"));
  EXPECT_FALSE(m->offered_in(""));
}

TEST(catalog, EmbeddedHasTheModelsThePricingAndTestsRelyOn) {
  struct Case {
    const char* id;
    const char* name;
    const char* provider;
  };
  for (const Case& c : {Case{"meta.llama3-1-8b-instruct-v1:0", "Llama 3.1 8B", "Meta"},
                        Case{"amazon.nova-micro-v1:0", "Nova Micro", "Amazon"},
                        Case{"amazon.nova-lite-v1:0", "Nova Lite", "Amazon"},
                        Case{"amazon.nova-pro-v1:0", "Nova Pro", "Amazon"}}) {
    const FoundationModel* m = embedded().find_model(c.id);
    ASSERT_NE(m, nullptr) << c.id;
    EXPECT_EQ(m->model_name, c.name);
    EXPECT_EQ(m->provider_name, c.provider);
    EXPECT_TRUE(m->offered_in("us-east-1")) << c.id;
  }
  EXPECT_EQ(embedded().find_model("anthropic.claude-3-haiku"), nullptr);
  EXPECT_EQ(embedded().find_model("us.anthropic.claude-3-haiku-20240307-v1:0"), nullptr);
}

TEST(catalog, EmbeddedUsClaudeThreeHaikuProfile) {
  const SystemProfile* p = embedded().find_system_profile("us.anthropic.claude-3-haiku-20240307-v1:0");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->geography, "us");
  EXPECT_EQ(p->model_id, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(p->name, "US Anthropic Claude 3 Haiku");
  EXPECT_EQ(p->regions, (Strings{"us-east-1", "us-east-2", "us-west-2"}));
  EXPECT_TRUE(p->available_from("us-east-1"));
  EXPECT_TRUE(p->available_from("us-west-2"));
  EXPECT_FALSE(p->available_from("eu-west-1"));
  EXPECT_NE(embedded().find_system_profile("eu.anthropic.claude-3-haiku-20240307-v1:0"), nullptr);
  EXPECT_NE(embedded().find_system_profile("apac.anthropic.claude-3-haiku-20240307-v1:0"), nullptr);
  EXPECT_EQ(embedded().find_system_profile("anthropic.claude-3-haiku-20240307-v1:0"), nullptr);
}

TEST(catalog, EmbeddedEveryModelFitsTheWireShapes) {
  for (const FoundationModel& m : embedded().models()) {
    EXPECT_LE(m.model_id.size(), 140u) << m.model_id;
    EXPECT_TRUE(std::regex_match(m.model_id, kBedrockModelId)) << m.model_id;
    EXPECT_GE(m.model_name.size(), 1u) << m.model_id;
    EXPECT_LE(m.model_name.size(), 20u) << m.model_id;
    EXPECT_GE(m.provider_name.size(), 1u) << m.model_id;
    EXPECT_LE(m.provider_name.size(), 20u) << m.model_id;
    EXPECT_FALSE(m.input_modalities.empty()) << m.model_id;
    EXPECT_FALSE(m.output_modalities.empty()) << m.model_id;
    EXPECT_FALSE(m.inference_types.empty()) << m.model_id;
    EXPECT_FALSE(m.regions.empty()) << m.model_id << " is offered nowhere";
    for (const std::string& region : m.regions) {
      std::string arn = foundation_model_arn(region, m.model_id);
      EXPECT_TRUE(std::regex_match(arn, kFoundationModelArn)) << arn;
      EXPECT_TRUE(embedded().known_region(region)) << region;
    }
  }
}

TEST(catalog, EmbeddedEverySystemProfileFitsTheWireShapes) {
  const Catalog& c = embedded();
  for (const SystemProfile& p : c.system_profiles()) {
    const FoundationModel* m = c.find_model(p.model_id);
    ASSERT_NE(m, nullptr) << p.id;
    EXPECT_EQ(p.id, p.geography + "." + p.model_id);
    EXPECT_TRUE(std::regex_match(p.description, kProfileDescription)) << p.id << ": " << p.description;
    EXPECT_GE(p.description.size(), 1u) << p.id;
    EXPECT_LE(p.description.size(), 200u) << p.id;
    EXPECT_FALSE(p.name.empty()) << p.id;
    const Strings* geo = c.geography_regions(p.geography);
    ASSERT_NE(geo, nullptr) << p.id;
    EXPECT_EQ(p.regions, *geo) << p.id;
    for (const std::string& region : p.regions) {
      // Rule (b) of doc/catalog.md: a profile's destinations offer its model.
      EXPECT_TRUE(m->offered_in(region)) << p.id << " routes to " << region;
      std::string arn = system_profile_arn(region, "111122223333", p.id);
      EXPECT_TRUE(std::regex_match(arn, kInferenceProfileArn)) << arn;
    }
  }
}

TEST(catalog, EmbeddedGeographies) {
  const Catalog& c = embedded();
  struct Case {
    const char* prefix;
    Strings must_contain;
  };
  for (const Case& g : {Case{"us", {"us-east-1", "us-east-2", "us-west-2"}},
                        Case{"eu", {"eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"}},
                        Case{"apac", {"ap-northeast-1", "ap-south-1", "ap-southeast-2", "me-central-1"}},
                        Case{"jp", {"ap-northeast-1", "ap-northeast-3"}},
                        Case{"au", {"ap-southeast-2", "ap-southeast-4"}},
                        Case{"us-gov", {"us-gov-east-1", "us-gov-west-1"}},
                        Case{"global", {"us-east-1", "us-west-1", "ca-central-1", "sa-east-1", "eu-west-1",
                                        "ap-northeast-1", "me-central-1"}}}) {
    const Strings* regions = c.geography_regions(g.prefix);
    ASSERT_NE(regions, nullptr) << g.prefix;
    for (const std::string& r : g.must_contain) {
      EXPECT_TRUE(std::binary_search(regions->begin(), regions->end(), r)) << g.prefix << " lacks " << r;
    }
  }
  EXPECT_EQ(c.geography_regions("us")->size(), 3u);
  EXPECT_EQ(c.geography_regions("ca"), nullptr);  // unverified prefix, deliberately absent
  const Strings* global = c.geography_regions("global");
  EXPECT_TRUE(std::none_of(global->begin(), global->end(),
                          [](const std::string& r) { return r.starts_with("us-gov"); }));
}

TEST(catalog, EmbeddedKnownRegions) {
  const Catalog& c = embedded();
  EXPECT_TRUE(c.known_region("us-east-1"));
  EXPECT_TRUE(c.known_region("us-gov-west-1"));
  EXPECT_TRUE(c.known_region("ap-southeast-3"));
  EXPECT_FALSE(c.known_region("us-east-9"));
  EXPECT_FALSE(c.known_region(""));
  EXPECT_FALSE(c.known_region("US-EAST-1"));
}

TEST(catalog, ArnHelpers) {
  EXPECT_EQ(foundation_model_arn("us-east-1", "anthropic.claude-3-haiku-20240307-v1:0"),
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(system_profile_arn("us-east-1", "111122223333", "us.anthropic.claude-3-haiku-20240307-v1:0"),
            "arn:aws:bedrock:us-east-1:111122223333:inference-profile/"
            "us.anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(foundation_model_arn("us-gov-west-1", "amazon.nova-pro-v1:0"),
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/amazon.nova-pro-v1:0");
  EXPECT_EQ(partition_for_region("cn-north-1"), "aws-cn");
  EXPECT_EQ(partition_for_region("eu-west-1"), "aws");
}

constexpr const char* kMinimal = R"({
  "geographies": {"us": ["us-west-2", "us-east-1"]},
  "models": [
    {"modelId": "b.model-v1:0", "modelName": "B", "providerName": "Vendor", "inputModalities": ["TEXT"],
     "outputModalities": ["TEXT"], "inferenceTypesSupported": ["ON_DEMAND"], "regions": ["us-west-2"]},
    {"modelId": "a.model-v1:0", "modelName": "A", "providerName": "Vendor", "inputModalities": ["TEXT"],
     "outputModalities": ["EMBEDDING"], "inferenceTypesSupported": ["ON_DEMAND"],
     "regions": ["us-west-2", "us-east-1", "us-west-2"], "maxInputTokens": 512}
  ],
  "systemProfiles": [
    {"id": "us.a.model-v1:0", "geography": "us", "modelId": "a.model-v1:0", "name": "US A",
     "description": "Routes requests to A."}
  ]
})";

TEST(catalog, FromJsonMinimalCatalogIsNormalised) {
  Catalog c = Catalog::from_json(kMinimal);
  ASSERT_EQ(c.models().size(), 2u);
  EXPECT_EQ(c.models()[0].model_id, "a.model-v1:0");
  EXPECT_EQ(c.models()[0].regions, (Strings{"us-east-1", "us-west-2"}));
  EXPECT_EQ(c.models()[0].max_input_tokens, 512);
  EXPECT_FALSE(c.models()[0].max_output_tokens.has_value());
  EXPECT_EQ(c.models()[0].lifecycle_status, "ACTIVE");
  EXPECT_FALSE(c.models()[0].response_streaming_supported);
  const SystemProfile* p = c.find_system_profile("us.a.model-v1:0");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->regions, (Strings{"us-east-1", "us-west-2"}));  // defaults to the geography's Regions
  EXPECT_TRUE(c.known_region("us-east-1"));
  EXPECT_FALSE(c.known_region("eu-west-1"));
}

TEST(catalog, FromJsonRejectsBrokenCatalogs) {
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  const std::string ok = kMinimal;
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"not JSON", "{\"models\": ["},
      {"empty", ""},
      {"not an object", "[]"},
      {"no models", replace(ok, "\"models\"", "\"modelz\"")},
      {"no geographies", replace(ok, "\"geographies\"", "\"geos\"")},
      {"bad model id", replace(ok, "\"b.model-v1:0\"", "\"B.Model\"")},
      {"model id without vendor", replace(ok, "\"b.model-v1:0\"", "\"model-v1:0\"")},
      {"duplicate model", replace(ok, "\"b.model-v1:0\"", "\"a.model-v1:0\"")},
      {"name too long", replace(ok, "\"modelName\": \"B\"", "\"modelName\": \"123456789012345678901\"")},
      {"empty provider", replace(ok, "\"providerName\": \"Vendor\"", "\"providerName\": \"\"")},
      {"unknown modality", replace(ok, "[\"EMBEDDING\"]", "[\"VIDEO\"]")},
      {"no regions", replace(ok, "\"regions\": [\"us-west-2\"]", "\"regions\": []")},
      {"bad region", replace(ok, "\"regions\": [\"us-west-2\"]", "\"regions\": [\"Mars\"]")},
      {"wrong type", replace(ok, "\"modelName\": \"B\"", "\"modelName\": 7")},
      {"bad token limit", replace(ok, "\"maxInputTokens\": 512", "\"maxInputTokens\": -1")},
      {"profile of unknown model", replace(ok, "\"modelId\": \"a.model-v1:0\", \"name\"",
                                           "\"modelId\": \"c.model-v1:0\", \"name\"")},
      {"unknown geography", replace(ok, "\"us.a.model-v1:0\", \"geography\": \"us\"",
                                    "\"eu.a.model-v1:0\", \"geography\": \"eu\"")},
      {"profile id mismatch", replace(ok, "\"us.a.model-v1:0\"", "\"us.b.model-v1:0\"")},
      {"bad description", replace(ok, "Routes requests to A.", "Routes, requests")},
  };
  for (const auto& [what, text] : cases) {
    EXPECT_THROW(Catalog::from_json(text), StartupError) << what;
  }
}

}  // namespace
}  // namespace tollgate::catalog
