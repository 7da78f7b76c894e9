#include "stacks/template.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>

namespace tollgate::stacks {
namespace {

constexpr char kHaikuArn[] = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";

// A template as a team would write it for AWS: parameters with constraints, namespaced tag keys, both
// the short and the long forms of the intrinsics, an export named after the stack.
constexpr char kSupportBot[] = R"yaml(AWSTemplateFormatVersion: '2010-09-09'
Description: Support bot inference profiles
Parameters:
  ProfileName:
    Type: String
    Default: support-bot
  ProfileDescription:
    Type: String
    Default: Support bot traffic
  SourceArn:
    Type: String
    Default: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0
  Environment:
    Type: String
    AllowedValues: [dev, staging, prod]
    Default: dev
  Team:
    Type: String
    AllowedPattern: '[a-z][a-z0-9-]*'
    MinLength: 2
    MaxLength: 16
    ConstraintDescription: lowercase letters, digits and hyphens
Resources:
  SupportProfile:
    Type: AWS::Bedrock::ApplicationInferenceProfile
    Properties:
      InferenceProfileName: !Sub '${ProfileName}-${Environment}'
      Description: !Ref ProfileDescription
      ModelSource:
        CopyFrom: !Ref SourceArn
      Tags:
        - Key: team
          Value: !Ref Team
        - Key: environment
          Value: !Ref Environment
        - Key: aws-cost:team
          Value: !Ref Team
        - Key: team:cost-center
          Value: cc-1234
  EvalProfile:
    Type: AWS::Bedrock::ApplicationInferenceProfile
    Properties:
      InferenceProfileName: !Join ['-', [!Ref ProfileName, eval]]
      ModelSource:
        CopyFrom: !Ref SourceArn
      Tags:
        - Key: parent
          Value:
            Fn::GetAtt: [SupportProfile, InferenceProfileArn]
        - Key: parent-id
          Value: !GetAtt SupportProfile.InferenceProfileId
Outputs:
  ProfileArn:
    Description: The support bot's profile
    Value: !GetAtt SupportProfile.InferenceProfileArn
    Export:
      Name: !Sub '${AWS::StackName}-ProfileArn'
  EvalArn:
    Value: {"Fn::Join": ["", ["eval=", !GetAtt EvalProfile.InferenceProfileArn]]}
)yaml";

StackInputs inputs_with(std::map<std::string, std::string> parameters) {
  return {"support-stack", "arn:aws:cloudformation:us-east-1:123456789012:stack/support-stack/abc", "123456789012",
          "us-east-1", std::move(parameters)};
}

// Deployed resources: each profile's ARN and id derived from its logical id.
std::optional<AttributeValue> deployed(const std::string& id, const std::string& attribute) {
  if (attribute == "InferenceProfileArn") {
    return std::string("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/") + id + "-id";
  }
  if (attribute == "InferenceProfileId") return id + "-id";
  if (attribute == "Models") return std::vector<std::string>{kHaikuArn, "arn:aws:bedrock:us-west-2::x"};
  return std::nullopt;
}

std::optional<AttributeValue> nothing_deployed(const std::string&, const std::string&) { return std::nullopt; }

Template parsed(const std::string& text, const std::string& file = "stack.yaml") {
  auto t = Template::parse(text, file);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  if (!t.ok()) std::abort();
  return std::move(t).value();
}

// The error message of a template that must not parse.
std::string parse_error(const std::string& text) {
  auto t = Template::parse(text, "bad.yaml");
  EXPECT_FALSE(t.ok()) << text;
  if (t.ok()) return "";
  EXPECT_EQ(t.error().code(), ErrorCode::Validation);
  return t.error().message();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string tag_value(const ProfileSpec& spec, const std::string& key) {
  for (const auto& tag : spec.tags) {
    if (tag.key == key) return tag.value;
  }
  return "(absent)";
}

// A minimal valid template around one profile's Properties (indented six spaces) and more sections.
std::string one_profile(const std::string& properties, const std::string& more = "") {
  return "Resources:\n  Bot:\n    Type: AWS::Bedrock::ApplicationInferenceProfile\n    Properties:\n" + properties +
         more;
}

const std::string kBotProperties =
    std::string("      InferenceProfileName: bot\n      ModelSource:\n        CopyFrom: ") + kHaikuArn + "\n";

TEST(TemplateTest, ATypicalAwsTemplateResolvesWithItsDefaultsAndNamespacedTags) {
  Template t = parsed(kSupportBot);
  auto parameters = t.resolve_parameters({{"Team", "growth"}, {"Environment", "prod"}});
  ASSERT_TRUE(parameters.ok()) << parameters.error().message();
  EXPECT_EQ(parameters->at("ProfileName"), "support-bot");
  EXPECT_EQ(parameters->at("Environment"), "prod");

  auto spec = t.profile("SupportProfile", inputs_with(*parameters), nothing_deployed);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->name, "support-bot-prod");
  EXPECT_EQ(spec->description, "Support bot traffic");
  EXPECT_EQ(spec->copy_from, kHaikuArn);
  EXPECT_EQ(
      spec->tags,
      (std::vector<Tag>{
          {"team", "growth"}, {"environment", "prod"}, {"aws-cost:team", "growth"}, {"team:cost-center", "cc-1234"}}));
  EXPECT_FALSE(spec->unknown);
  EXPECT_TRUE(spec->unknown_tag_values.empty());
  EXPECT_EQ(spec->tag_locations.at("aws-cost:team").str(), "stack.yaml:36:11");
  EXPECT_EQ(spec->where.str(), "stack.yaml:25:5");  // its mapping, below `SupportProfile:`
}

TEST(TemplateTest, ShortAndLongGetAttFormsGiveTheDeployedAttributesAndUnknownBeforeDeploy) {
  Template t = parsed(kSupportBot);
  const StackInputs inputs = inputs_with(*t.resolve_parameters({{"Team", "growth"}}));

  auto before = t.profile("EvalProfile", inputs, nothing_deployed);
  ASSERT_TRUE(before.ok()) << before.error().message();
  EXPECT_TRUE(before->unknown);
  EXPECT_EQ(before->unknown_tag_values, (std::set<std::string>{"parent", "parent-id"}));
  EXPECT_EQ(before->name, "support-bot-eval") << "a known name stays known";

  auto after = t.profile("EvalProfile", inputs, deployed);
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_FALSE(after->unknown);
  EXPECT_EQ(tag_value(*after, "parent"),
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/SupportProfile-id");
  EXPECT_EQ(tag_value(*after, "parent-id"), "SupportProfile-id");
}

TEST(TemplateTest, OutputsEvaluateTheirExportNameFromThePseudoParameterStackName) {
  Template t = parsed(kSupportBot);
  const StackInputs inputs = inputs_with(*t.resolve_parameters({{"Team", "growth"}}));
  ASSERT_EQ(t.outputs().size(), 2u);

  auto arn = t.output("ProfileArn", inputs, deployed);
  ASSERT_TRUE(arn.ok()) << arn.error().message();
  EXPECT_EQ(arn->value, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/SupportProfile-id");
  EXPECT_EQ(arn->export_name, "support-stack-ProfileArn");
  EXPECT_EQ(arn->description, "The support bot's profile");
  EXPECT_FALSE(arn->unknown);

  auto joined = t.output("EvalArn", inputs, deployed);
  ASSERT_TRUE(joined.ok()) << joined.error().message();
  EXPECT_EQ(joined->value, "eval=arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/EvalProfile-id");
  EXPECT_TRUE(joined->export_name.empty());

  auto pending = t.output("ProfileArn", inputs, nothing_deployed);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->unknown);
  EXPECT_EQ(pending->export_name, "support-stack-ProfileArn");
}

TEST(TemplateTest, DeployOrderPutsAReferencedProfileBeforeTheOneReferringToIt) {
  Template t = parsed(kSupportBot);
  // Alphabetically EvalProfile comes first; its GetAtt of SupportProfile must reverse that.
  EXPECT_EQ(t.deploy_order(), (std::vector<std::string>{"SupportProfile", "EvalProfile"}));
  auto eval = std::find_if(t.resources().begin(), t.resources().end(),
                           [](const TemplateResource& r) { return r.logical_id == "EvalProfile"; });
  ASSERT_NE(eval, t.resources().end());
  EXPECT_EQ(eval->depends_on, std::vector<std::string>{"SupportProfile"});
}

TEST(TemplateTest, DependsOnAloneAlsoOrdersTheDeploy) {
  Template t = parsed(one_profile(kBotProperties,
                                  "    DependsOn: Zeta\n  Zeta:\n"
                                  "    Type: AWS::Bedrock::ApplicationInferenceProfile\n"
                                  "    Properties:\n" +
                                      kBotProperties));
  EXPECT_EQ(t.deploy_order(), (std::vector<std::string>{"Zeta", "Bot"}));
}

TEST(TemplateTest, AJsonTemplateParsesLikeItsYamlTwin) {
  const std::string json = std::string(R"json({
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {"Team": {"Type": "String", "AllowedValues": ["growth", "search"]}},
  "Resources": {
    "Bot": {
      "Type": "AWS::Bedrock::ApplicationInferenceProfile",
      "DeletionPolicy": "Retain",
      "Properties": {
        "InferenceProfileName": {"Fn::Sub": "${Team}-bot"},
        "ModelSource": {"CopyFrom": ")json") +
                           kHaikuArn + R"json("},
        "Tags": [{"Key": "team", "Value": {"Ref": "Team"}},
                 {"Key": "region", "Value": {"Ref": "AWS::Region"}}]
      }
    }
  },
  "Outputs": {
    "Arn": {"Value": {"Fn::GetAtt": ["Bot", "InferenceProfileArn"]},
            "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-Arn"}}}
  }
})json";
  Template t = parsed(json, "stack.json");
  ASSERT_EQ(t.resources().size(), 1u);
  EXPECT_TRUE(t.resources()[0].retain);
  const StackInputs inputs = inputs_with(*t.resolve_parameters({{"Team", "search"}}));
  auto spec = t.profile("Bot", inputs, nothing_deployed);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->name, "search-bot");
  EXPECT_EQ(spec->tags, (std::vector<Tag>{{"team", "search"}, {"region", "us-east-1"}}));
  EXPECT_EQ(spec->where.str(), "stack.json:5:12");
  auto out = t.output("Arn", inputs, deployed);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->export_name, "support-stack-Arn");
  EXPECT_EQ(out->value, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/Bot-id");
}

TEST(TemplateTest, SubJoinSelectSplitAndFindInMapResolve) {
  Template t = parsed(std::string(R"yaml(Mappings:
  Teams:
    growth:
      CostCenter: cc-1000
      Regions: [us-east-1, us-west-2]
Parameters:
  Team:
    Type: String
    Default: growth
Resources:
  Bot:
    Type: AWS::Bedrock::ApplicationInferenceProfile
    Properties:
      InferenceProfileName: !Select [1, !Split [',', 'a,bot-b,c']]
      Description: !Sub
        - '${Who} in ${AWS::Region} (${!Literal}) for ${AWS::AccountId}'
        - Who: !Join [' ', [team, !Ref Team]]
      ModelSource:
        CopyFrom: )yaml") +
                      kHaikuArn + R"yaml(
      Tags:
        - Key: cost-center
          Value: !FindInMap [Teams, !Ref Team, CostCenter]
        - Key: second-region
          Value: !Select [1, !FindInMap [Teams, growth, Regions]]
        - Key: joined
          Value:
            Fn::Join: ['+', {"Fn::Split": ['-', 'x-y-z']}]
        - Key: partition
          Value: !Sub '${AWS::Partition}.${AWS::URLSuffix}'
        - !Ref AWS::NoValue
)yaml");
  const StackInputs inputs = inputs_with(*t.resolve_parameters({}));
  for (int round = 0; round < 2; ++round) {  // evaluating must not change the template
    auto spec = t.profile("Bot", inputs, nothing_deployed);
    ASSERT_TRUE(spec.ok()) << "round " << round << ": " << spec.error().message();
    EXPECT_EQ(spec->name, "bot-b");
    EXPECT_EQ(spec->description, "team growth in us-east-1 (${Literal}) for 123456789012");
    EXPECT_EQ(spec->tags, (std::vector<Tag>{{"cost-center", "cc-1000"},
                                            {"second-region", "us-west-2"},
                                            {"joined", "x+y+z"},
                                            {"partition", "aws.amazonaws.com"}}));
    EXPECT_FALSE(spec->unknown);
  }
}

TEST(TemplateTest, AnEvaluationErrorNamesItsLocation) {
  Template t =
      parsed(one_profile("      InferenceProfileName: !Select [5, [a, b]]\n      ModelSource:\n        CopyFrom: x\n"));
  auto spec = t.profile("Bot", inputs_with({}), nothing_deployed);
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(contains(spec.error().message(), "stack.yaml:5:38: Fn::Select's index '5' is not in 0..1"))
      << spec.error().message();
}

TEST(TemplateTest, AParameterWithoutAValueLeavesItsTagValuesUnknownRatherThanFailing) {
  Template t = parsed(kSupportBot);
  // No Team: `tollgate validate` evaluates templates without all their parameters.
  auto spec =
      t.profile("SupportProfile", inputs_with({{"ProfileName", "bot"}, {"Environment", "dev"}}), nothing_deployed);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_TRUE(spec->unknown);
  EXPECT_EQ(spec->unknown_tag_values, (std::set<std::string>{"team", "aws-cost:team"}));
  EXPECT_EQ(tag_value(*spec, "environment"), "dev");
  EXPECT_EQ(tag_value(*spec, "team:cost-center"), "cc-1234");
}

TEST(TemplateTest, UnmanagedResourceTypesAreListedSoTheyCanBeReportedAsSkipped) {
  Template t = parsed(one_profile(kBotProperties,
                                  "  Logs:\n    Type: AWS::S3::Bucket\n    Properties:\n"
                                  "      BucketName: !Sub '${AWS::StackName}-logs'\n"));
  ASSERT_EQ(t.resources().size(), 2u);
  auto logs = std::find_if(t.resources().begin(), t.resources().end(),
                           [](const TemplateResource& r) { return r.logical_id == "Logs"; });
  ASSERT_NE(logs, t.resources().end());
  EXPECT_EQ(logs->type, "AWS::S3::Bucket");
  EXPECT_EQ(logs->where.str(), "stack.yaml:9:5");
  EXPECT_EQ(t.deploy_order(), std::vector<std::string>{"Bot"}) << "only managed resources are deployed";
}

TEST(TemplateTest, AMisIndentedLineIsReportedAtItsLineWithoutThrowing) {
  const std::string text = std::string(R"yaml(Resources:
  Bot:
    Type: AWS::Bedrock::ApplicationInferenceProfile
    Properties:
      InferenceProfileName: bot
      ModelSource:
        CopyFrom: arn
     Tags:
        - Key: team
          Value: growth
)yaml");
  Result<Template> t = Template::parse(text, "bot.yaml");  // must not throw
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), ErrorCode::Validation);
  EXPECT_TRUE(contains(t.error().message(), "bot.yaml:8:")) << t.error().message();
  EXPECT_TRUE(contains(t.error().message(), "not valid YAML or JSON")) << t.error().message();
}

struct BadTemplate {
  std::string label;
  std::string text;
  std::vector<std::string> message_parts;  // each must appear; the first is usually "bad.yaml:LINE:COLUMN"
};

TEST(TemplateTest, StructuralProblemsAreRefusedAtTheirFileLineAndColumn) {
  const std::vector<BadTemplate> cases = {
      {"unknown property",
       one_profile(kBotProperties + "      Colour: blue\n"),
       {"bad.yaml:8:7: unknown property of AWS::Bedrock::ApplicationInferenceProfile 'Colour'"}},
      {"unknown section", "Extras: {}\n" + one_profile(kBotProperties), {"bad.yaml:1:1: unknown section 'Extras'"}},
      {"Conditions",
       one_profile(kBotProperties, "Conditions:\n  IsProd: !Equals [a, a]\n"),
       {"bad.yaml:8:1: Conditions is not supported"}},
      {"GetAtt of an unknown attribute",
       one_profile(kBotProperties + "      Tags:\n        - Key: a\n          Value: !GetAtt Bot.Arn\n"),
       {"bad.yaml:10:18: 'Bot' has no attribute 'Arn'", "InferenceProfileArn"}},
      {"Ref to a missing name",
       one_profile("      InferenceProfileName: !Ref Nope\n      ModelSource:\n        CopyFrom: x\n"),
       {"bad.yaml:5:29: 'Nope' is neither a parameter, a resource nor a pseudo parameter"}},
      {"GetAtt of a missing resource",
       one_profile(kBotProperties, "Outputs:\n  Arn:\n    Value: !GetAtt Ghost.InferenceProfileArn\n"),
       {"bad.yaml:10:12: Fn::GetAtt names 'Ghost'"}},
      {"Sub of a missing name",
       one_profile("      InferenceProfileName: !Sub '${Who}-bot'\n      ModelSource:\n"
                   "        CopyFrom: x\n"),
       {"bad.yaml:5:29: 'Who' is neither"}},
      {"dependency cycle",
       "Resources:\n"
       "  A:\n    Type: AWS::Bedrock::ApplicationInferenceProfile\n    Properties:\n"
       "      InferenceProfileName: !GetAtt B.InferenceProfileId\n      ModelSource: {CopyFrom: x}\n"
       "  B:\n    Type: AWS::Bedrock::ApplicationInferenceProfile\n    Properties:\n"
       "      InferenceProfileName: !GetAtt A.InferenceProfileId\n      ModelSource: {CopyFrom: x}\n",
       {"is part of a dependency cycle"}},
      {"Mappings with an intrinsic",
       one_profile(kBotProperties,
                   "Mappings:\n  Teams:\n    growth:\n"
                   "      CostCenter: !Ref AWS::Region\n"),
       {"bad.yaml:11:19: a Mappings value must be a string or a list of strings, with no functions",
        "Teams / growth / CostCenter"}},
      {"an unsupported function",
       one_profile("      InferenceProfileName: !If [c, a, b]\n      ModelSource:\n"
                   "        CopyFrom: x\n"),
       {"bad.yaml:5:29: Fn::If is not supported"}},
      {"no Resources", "Description: nothing\n", {"bad.yaml:1:1: the template has no Resources"}},
      {"not a mapping", "- a\n- b\n", {"bad.yaml:1:1: a template is a mapping"}},
      {"missing ModelSource",
       "Resources:\n  Bot:\n    Type: AWS::Bedrock::ApplicationInferenceProfile\n"
       "    Properties:\n      InferenceProfileName: bot\n",
       {"bad.yaml:2:3: resource 'Bot' has no ModelSource"}},
      {"duplicate key",
       one_profile(kBotProperties + "      InferenceProfileName: again\n"),
       {"bad.yaml:8:7: duplicate key 'InferenceProfileName'"}},
      {"bad DeletionPolicy",
       one_profile(kBotProperties, "    DeletionPolicy: Snapshot\n"),
       {"bad.yaml:8:21: DeletionPolicy of 'Bot' must be Delete or Retain"}},
      {"parameter of an unsupported type",
       "Parameters:\n  Ids:\n    Type: List<String>\n" + one_profile(kBotProperties),
       {"bad.yaml:3:11: parameter 'Ids' has Type 'List<String>'"}},
      {"invalid AllowedPattern",
       "Parameters:\n  Team:\n    Type: String\n    AllowedPattern: '[a-'\n" + one_profile(kBotProperties),
       {"bad.yaml:4:21: AllowedPattern of 'Team' is not a valid regular expression"}},
      {"a Java-only AllowedPattern",
       "Parameters:\n  Team:\n    Type: String\n    AllowedPattern: '(?i)[a-z]+'\n" + one_profile(kBotProperties),
       {"bad.yaml:4:21: AllowedPattern of 'Team' is not a valid regular expression", "ECMAScript syntax",
        "(?i) or \\p{Alnum} are not supported"}},
      {"a non-numeric MinLength",
       "Parameters:\n  Team:\n    Type: String\n    MinLength: two\n" + one_profile(kBotProperties),
       {"bad.yaml:4:16: MinLength of 'Team' must be a number"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string message = parse_error(c.text);
    for (const auto& part : c.message_parts) EXPECT_TRUE(contains(message, part)) << message;
  }
}

TEST(TemplateTest, EveryStructuralProblemIsReportedAtOnce) {
  const std::string message =
      parse_error("Conditions: {}\nExtras: {}\n" + one_profile(kBotProperties + "      Colour: blue\n"));
  EXPECT_TRUE(contains(message, "3 problem(s)")) << message;
  EXPECT_TRUE(contains(message, "bad.yaml:1:1: Conditions")) << message;
  EXPECT_TRUE(contains(message, "bad.yaml:2:1: unknown section 'Extras'")) << message;
  EXPECT_TRUE(contains(message, "bad.yaml:10:7: unknown property")) << message;
}

struct ParameterCase {
  std::string label;
  std::map<std::string, std::string> given;
  std::string message_part;
};

TEST(TemplateTest, EachParameterProblemNamesItsParameter) {
  const std::string text =
      "Parameters:\n"
      "  Owner:\n    Type: String\n"
      "  Environment:\n    Type: String\n    Default: dev\n    AllowedValues: [dev, prod]\n"
      "  Team:\n    Type: String\n    Default: growth\n    AllowedPattern: '[a-z]+'\n"
      "    MinLength: 3\n    MaxLength: 8\n    ConstraintDescription: lowercase letters\n"
      "  Replicas:\n    Type: Number\n    Default: 2\n    MinValue: 1\n    MaxValue: 5\n"
      "  Secret:\n    Type: String\n    Default: hunter2\n    MaxLength: 4\n    NoEcho: true\n" +
      one_profile(kBotProperties);
  Template t = parsed(text);
  const std::map<std::string, std::string> good = {{"Owner", "ana"}, {"Secret", "pw"}};
  auto ok = t.resolve_parameters(good);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok,
            (std::map<std::string, std::string>{
                {"Owner", "ana"}, {"Environment", "dev"}, {"Team", "growth"}, {"Replicas", "2"}, {"Secret", "pw"}}));

  const std::vector<ParameterCase> cases = {
      {"missing value", {{"Secret", "pw"}}, "Owner: no value (pass --param Owner=VALUE"},
      {"not allowed", {{"Environment", "qa"}}, "Environment: 'qa' is not one of the AllowedValues: dev, prod"},
      {"pattern", {{"Team", "Growth"}}, "Team: 'Growth' does not match AllowedPattern [a-z]+ (lowercase letters)"},
      {"too short", {{"Team", "ab"}}, "Team: 'ab' is shorter than MinLength 3"},
      {"too long", {{"Team", "abcdefghi"}}, "Team: 'abcdefghi' is longer than MaxLength 8"},
      {"not a number", {{"Replicas", "two"}}, "Replicas: 'two' is not a number"},
      {"below MinValue", {{"Replicas", "0"}}, "Replicas: '0' is less than MinValue 1"},
      {"above MaxValue", {{"Replicas", "6"}}, "Replicas: '6' is more than MaxValue 5"},
      {"unknown --param", {{"Colour", "blue"}}, "--param Colour: the template has no parameter 'Colour'"},
      {"a secret is not echoed", {{"Secret", "longer"}}, "Secret: the value is longer than MaxLength 4"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    std::map<std::string, std::string> given = good;
    for (const auto& [k, v] : c.given) given[k] = v;
    if (c.label == "missing value") given.erase("Owner");
    auto r = t.resolve_parameters(given);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::Validation);
    EXPECT_TRUE(contains(r.error().message(), c.message_part)) << r.error().message();
    EXPECT_FALSE(contains(r.error().message(), "'longer'")) << "NoEcho: " << r.error().message();
  }
}

TEST(TemplateTest, ANumericConstraintTooSmallForStodIsComparedWithoutThrowing) {
  Template t = parsed(
      "Parameters:\n  Size:\n    Type: Number\n    Default: 7\n    MinValue: 1e-320\n"
      "    MinLength: 1e-320\n" +
      one_profile(kBotProperties));
  auto r = t.resolve_parameters({});  // must not throw std::out_of_range
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->at("Size"), "7");
  auto below = t.resolve_parameters({{"Size", "0"}});
  ASSERT_FALSE(below.ok());
  EXPECT_TRUE(contains(below.error().message(), "Size: '0' is less than MinValue 1e-320")) << below.error().message();
}

TEST(TemplateTest, EveryParameterProblemIsReportedAtOnce) {
  Template t = parsed(kSupportBot);
  auto r = t.resolve_parameters({{"Environment", "qa"}, {"Team", "X"}, {"Colour", "blue"}});
  ASSERT_FALSE(r.ok());
  const std::string& message = r.error().message();
  EXPECT_TRUE(contains(message, "The parameters have ")) << message;
  EXPECT_TRUE(std::regex_search(message, std::regex(R"(stack\.yaml:[0-9]+:[0-9]+: Environment: 'qa')")))
      << "each problem at its parameter's definition: " << message;
  EXPECT_TRUE(contains(message, "--param Colour")) << message;
  EXPECT_TRUE(contains(message, "Environment: 'qa' is not one of the AllowedValues")) << message;
  EXPECT_TRUE(contains(message, "Team: 'X' is shorter than MinLength 2")) << message;
  EXPECT_TRUE(contains(message, "Team: 'X' does not match AllowedPattern")) << message;
  EXPECT_FALSE(contains(message, "Team: no value")) << message;
}

TEST(TemplateTest, ALogicalIdIsAtMost255AlphanumericCharactersAndAHugeOneIsRefusedWithoutRecursing) {
  const std::string longest(255, 'A');
  Template t = parsed("Resources:\n  " + longest + ":\n    Type: AWS::S3::Bucket\n");
  EXPECT_EQ(t.resources()[0].logical_id, longest);

  const std::string too_long = parse_error("Resources:\n  " + std::string(256, 'A') + ":\n    Type: AWS::S3::Bucket\n");
  EXPECT_TRUE(contains(too_long, "bad.yaml:2:3: logical id 'AAAA")) << too_long;
  EXPECT_TRUE(contains(too_long, "' is 256 characters long; CloudFormation allows at most 255")) << too_long;

  // A regular expression would recurse once per character here, and overflow the stack. (YAML limits an
  // implicit key to 1024 characters; an explicit "? key" has no limit.)
  const std::string huge =
      parse_error("Resources:\n  ? " + std::string(1 << 20, 'A') + "\n  : Type: AWS::S3::Bucket\n");
  EXPECT_TRUE(contains(huge, "is 1048576 characters long")) << huge.substr(0, 300);
  EXPECT_LT(huge.size(), 1000u) << "the message shows the start of the id only";

  const std::string punctuated = parse_error("Resources:\n  My-Bucket:\n    Type: AWS::S3::Bucket\n");
  EXPECT_TRUE(contains(punctuated, "bad.yaml:2:3: logical id 'My-Bucket' must be alphanumeric")) << punctuated;
}

TEST(TemplateTest, AParameterValueOver4096BytesIsRefusedNamingItsParameterWithoutMatchingItsPattern) {
  Template t =
      parsed("Parameters:\n  Team:\n    Type: String\n    AllowedPattern: '[a-z]+'\n" + one_profile(kBotProperties));
  ASSERT_TRUE(t.resolve_parameters({{"Team", std::string(4096, 'a')}}).ok());
  for (size_t size : {size_t{4097}, size_t{1} << 20}) {  // a megabyte would overflow std::regex_match's stack
    SCOPED_TRACE(size);
    auto r = t.resolve_parameters({{"Team", std::string(size, 'a')}});
    ASSERT_FALSE(r.ok());
    const std::string& message = r.error().message();
    EXPECT_TRUE(contains(
        message, "Team: the value is " + std::to_string(size) + " bytes long; CloudFormation allows at most 4096"))
        << message.substr(0, 300);
    EXPECT_LT(message.size(), 300u) << "the value is not echoed";
  }
}

TEST(TemplateTest, AValueLongerThanMaxLengthIsNotMatchedAgainstAllowedPattern) {
  Template t = parsed("Parameters:\n  Team:\n    Type: String\n    MaxLength: 8\n    AllowedPattern: '[a-z]+'\n" +
                      one_profile(kBotProperties));
  auto r = t.resolve_parameters({{"Team", "ABCDEFGHIJ"}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message(), "Team: 'ABCDEFGHIJ' is longer than MaxLength 8")) << r.error().message();
  EXPECT_FALSE(contains(r.error().message(), "AllowedPattern")) << r.error().message();
  auto short_one = t.resolve_parameters({{"Team", "ABC"}});
  ASSERT_FALSE(short_one.ok());
  EXPECT_TRUE(contains(short_one.error().message(), "Team: 'ABC' does not match AllowedPattern [a-z]+"))
      << short_one.error().message();
}

TEST(TemplateTest, AnAllowedPatternOver1024CharactersIsRefusedAtItsLocation) {
  const std::string message = parse_error("Parameters:\n  Team:\n    Type: String\n    AllowedPattern: '" +
                                          std::string(1025, 'a') + "'\n" + one_profile(kBotProperties));
  EXPECT_TRUE(contains(message,
                       "bad.yaml:4:21: AllowedPattern of 'Team' is 1025 characters long; tollgate allows at "
                       "most 1024"))
      << message.substr(0, 300);
  parsed("Parameters:\n  Team:\n    Type: String\n    AllowedPattern: '" + std::string(1024, 'a') + "'\n" +
         one_profile(kBotProperties));
}

TEST(TemplateTest, AYamlAliasIsRefusedAtItsLocationAsCloudFormationDoes) {
  const std::string message = parse_error(one_profile(
      "      InferenceProfileName: &name bot\n      Description: *name\n      ModelSource:\n        CopyFrom: x\n"));
  EXPECT_TRUE(contains(message, "bad.yaml:6:20: YAML aliases (*name) are not supported in CloudFormation templates"))
      << message;
  EXPECT_TRUE(contains(message, "1 problem(s)")) << message;
}

TEST(TemplateTest, NestedYamlAliasesAreRefusedWithoutExpandingThem) {
  // "Billion laughs": yaml-cpp shares an aliased node, so walking this tree would visit 10^9 nodes.
  std::string text = "Metadata:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string previous = "*l" + std::to_string(level - 1);
    text += "  l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", " : "") + previous;
    text += "]\n";
  }
  const std::string message = parse_error(text + one_profile(kBotProperties));
  EXPECT_TRUE(contains(message, "The template has 90 problem(s):")) << message;
  EXPECT_TRUE(contains(message, "bad.yaml:3:12: YAML aliases (*l0) are not supported")) << message;
  EXPECT_TRUE(contains(message, "... and 80 more aliases")) << message;
}

TEST(TemplateTest, AProfileWithoutPropertiesIsALocatedProblemAlongsideTheOthers) {
  const std::string message =
      parse_error("Extras: {}\nResources: {P: {Type: AWS::Bedrock::ApplicationInferenceProfile}}\n");
  EXPECT_TRUE(contains(message, "2 problem(s)")) << message;
  EXPECT_TRUE(contains(message, "bad.yaml:1:1: unknown section 'Extras'")) << message;
  EXPECT_TRUE(contains(message, "bad.yaml:2:13: resource 'P' needs Properties")) << message;
  EXPECT_FALSE(contains(message, "cannot read the template")) << message;
}

TEST(TemplateTest, AResourceConditionIsReportedOnceNotAlsoAsAnUnknownField) {
  const std::string message = parse_error(one_profile(kBotProperties, "    Condition: IsProd\n"));
  EXPECT_TRUE(contains(message, "1 problem(s)")) << message;
  EXPECT_TRUE(contains(message, "bad.yaml:8:16: resource 'Bot' has a Condition")) << message;
  EXPECT_FALSE(contains(message, "unknown resource field")) << message;
}

TEST(TemplateTest, NoEchoTrueInAnyCaseKeepsTheValueOutOfMessages) {
  for (const std::string no_echo : {"true", "True", "TRUE", "'true'"}) {
    SCOPED_TRACE(no_echo);
    Template t = parsed("Parameters:\n  Secret:\n    Type: String\n    MaxLength: 4\n    NoEcho: " + no_echo + "\n" +
                        one_profile(kBotProperties));
    auto r = t.resolve_parameters({{"Secret", "hunter2"}});
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().message(), "Secret: the value is longer than MaxLength 4")) << r.error().message();
    EXPECT_FALSE(contains(r.error().message(), "hunter2")) << r.error().message();
  }
}

TEST(TemplateTest, ParameterFieldsThatHoldOneValueRefuseListsMappingsAndNullsAtTheirLocation) {
  const std::vector<BadTemplate> cases = {
      {"a list Default",
       "Parameters:\n  Team:\n    Type: String\n    Default: [a, b]\n" + one_profile(kBotProperties),
       {"bad.yaml:4:14: Default of 'Team' must be a single value, not a list (write it as one string)"}},
      {"an empty Default",
       "Parameters:\n  Team:\n    Type: String\n    Default:\n" + one_profile(kBotProperties),
       {"bad.yaml:4:5: Default of 'Team' is empty (null); write Default: '' for an empty string"}},
      {"a list among AllowedValues",
       "Parameters:\n  Team:\n    Type: String\n    AllowedValues: [dev, [a, b]]\n" + one_profile(kBotProperties),
       {"bad.yaml:4:26: each AllowedValues item of 'Team' must be a single value, not a list or mapping"}},
      {"a null among AllowedValues",
       "Parameters:\n  Team:\n    Type: String\n    AllowedValues:\n      - dev\n      -\n" +
           one_profile(kBotProperties),
       {"bad.yaml:4:5: AllowedValues item 2 of 'Team' is empty (null); quote it ('') or remove it"}},
      {"a list AllowedPattern",
       "Parameters:\n  Team:\n    Type: String\n    AllowedPattern: ['[a-z]+']\n" + one_profile(kBotProperties),
       {"bad.yaml:4:21: AllowedPattern of 'Team' must be a string"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string message = parse_error(c.text);
    for (const auto& part : c.message_parts) EXPECT_TRUE(contains(message, part)) << message;
    EXPECT_FALSE(contains(message, "has no Default")) << message;
  }
}

TEST(TemplateTest, MinLengthAndMaxLengthDoNotApplyToANumberParameter) {
  Template t = parsed(
      "Parameters:\n  Replicas:\n    Type: Number\n    Default: 42\n    MinLength: 5\n"
      "    MaxLength: 1\n    MaxValue: 50\n" +
      one_profile(kBotProperties));
  auto r = t.resolve_parameters({});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->at("Replicas"), "42");
  auto above = t.resolve_parameters({{"Replicas", "51"}});
  ASSERT_FALSE(above.ok());
  EXPECT_TRUE(contains(above.error().message(), "Replicas: '51' is more than MaxValue 50")) << above.error().message();
}

TEST(TemplateTest, WithoutRequiringEveryValueParametersWithNoValueAreLeftOutButEveryKnownValueIsChecked) {
  Template t = parsed(kSupportBot);  // Team has no Default
  auto partial = t.resolve_parameters({{"Colour", "blue"}}, false);
  ASSERT_TRUE(partial.ok()) << partial.error().message();
  EXPECT_EQ(partial->count("Team"), 0u) << "left out, so what uses it is unknown";
  EXPECT_EQ(partial->count("Colour"), 0u) << "a name the template does not declare is ignored";
  EXPECT_EQ(partial->at("Environment"), "dev");
  EXPECT_EQ(partial->at("ProfileName"), "support-bot");

  auto spec = t.profile("SupportProfile", inputs_with(*partial), nothing_deployed);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->unknown_tag_values, (std::set<std::string>{"team", "aws-cost:team"}));

  auto broken = t.resolve_parameters({{"Environment", "qa"}, {"Team", "X"}}, false);
  ASSERT_FALSE(broken.ok());
  const std::string& message = broken.error().message();
  EXPECT_TRUE(contains(message, "Environment: 'qa' is not one of the AllowedValues")) << message;
  EXPECT_TRUE(contains(message, "Team: 'X' is shorter than MinLength 2")) << message;
  EXPECT_TRUE(contains(message, "Team: 'X' does not match AllowedPattern")) << message;

  // A Default is a known value too, and checked like a given one.
  Template bad_default = parsed(
      "Parameters:\n  Env:\n    Type: String\n    Default: qa\n"
      "    AllowedValues: [dev, prod]\n  Owner:\n    Type: String\n" +
      one_profile(kBotProperties));
  auto defaults = bad_default.resolve_parameters({}, false);
  ASSERT_FALSE(defaults.ok());
  EXPECT_TRUE(contains(defaults.error().message(), "Env: 'qa' is not one of the AllowedValues: dev, prod"))
      << defaults.error().message();
  EXPECT_FALSE(contains(defaults.error().message(), "Owner")) << defaults.error().message();
}

}  // namespace
}  // namespace tollgate::stacks
