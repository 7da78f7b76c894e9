// CloudFormation templates, as far as tollgate deploys them (doc/governance.md, "CloudFormation"): a
// template written for AWS, in YAML or JSON, whose AWS::Bedrock::ApplicationInferenceProfile resources
// tollgate creates, updates and deletes. Other resource types are listed as skipped, never dropped silently.
//
//  * Sections: AWSTemplateFormatVersion, Description, Metadata, Parameters, Mappings, Resources, Outputs.
//    Conditions, Transform and Rules are refused (tollgate cannot evaluate them faithfully).
//  * Parameters: Type String or Number; Default, AllowedValues, AllowedPattern (the whole value, in
//    ECMAScript syntax), MinLength and MaxLength (String only), MinValue, MaxValue, ConstraintDescription,
//    Description, NoEcho. A value is at most 4096 bytes long, as on CloudFormation. Every violation is
//    reported, each naming its parameter.
//  * Intrinsics, short (!Ref) and long (Fn::GetAtt) forms: Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
//    Fn::Select, Fn::Split, Fn::FindInMap; pseudo parameters AWS::AccountId, AWS::Region, AWS::StackName,
//    AWS::StackId, AWS::Partition, AWS::URLSuffix and AWS::NoValue. Ref of a profile is its id, as on AWS;
//    Fn::GetAtt gives InferenceProfileArn, InferenceProfileId, InferenceProfileIdentifier, Status,
//    CreatedAt, UpdatedAt, Type and Models (a list of model ARNs).
//  * Every error says file:line:column and what is wrong; YAML syntax errors (a broken indentation, say)
//    are reported at their line by the parser. YAML aliases (*name) are refused, as CloudFormation does.
//
// Thread-safety: a Template is immutable once parsed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "core/tag.h"

namespace tollgate::stacks {

inline constexpr char kProfileType[] = "AWS::Bedrock::ApplicationInferenceProfile";

struct Location {
  std::string file;
  int line = 0, column = 0;  // 1-based
  std::string str() const;   // "file:line:column"
};

struct TemplateResource {
  std::string logical_id;
  std::string type;
  Location where;
  std::vector<std::string> depends_on;  // DependsOn and every resource its properties refer to
  bool retain = false;                  // DeletionPolicy: Retain
  bool retain_on_replace = false;       // UpdateReplacePolicy: Retain (the old profile of a Replace is kept)
};

struct TemplateOutput {
  std::string name;
  Location where;
};

// What the template is deployed with.
struct StackInputs {
  std::string stack_name;
  std::string stack_id;  // AWS::StackId
  std::string account_id;
  std::string region;
  std::map<std::string, std::string> parameters;  // as given (--param); defaults fill the rest
};

// An attribute of a deployed resource (InferenceProfileArn, ...): its value, or nullopt while the resource
// is yet to be created (a dry run shows "(known after apply)").
using AttributeValue = std::variant<std::string, std::vector<std::string>>;
using AttributeLookup =
    std::function<std::optional<AttributeValue>(const std::string& logical_id, const std::string& attribute)>;

// A profile as a template declares it, with its intrinsics resolved.
struct ProfileSpec {
  std::string logical_id;
  std::string name;
  std::optional<std::string> description;
  std::string copy_from;
  std::vector<Tag> tags;
  std::map<std::string, Location> tag_locations;  // by key
  std::set<std::string> unknown_tag_values;       // keys whose value is not known yet (see `unknown`)
  Location where, tags_where;                     // the resource; its Tags key (or the resource when absent)
  // Some value is not known: it refers to a resource yet to be created, or to a parameter given no value
  // (`tollgate validate` checks templates without all their parameters).
  bool unknown = false;
};

struct OutputValue {
  std::string name;
  std::string value;
  std::string description;
  std::string export_name;  // empty when not exported
  bool unknown = false;
};

class Template {
 public:
  // Parses and checks the structure. ValidationException whose message lists each problem as
  // "file:line:column: what is wrong".
  static Result<Template> parse(const std::string& text, const std::string& file_name);
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  const std::vector<TemplateResource>& resources() const { return resources_; }
  const std::vector<TemplateOutput>& outputs() const { return outputs_; }
  // The managed resources in an order where each comes after those it refers to.
  const std::vector<std::string>& deploy_order() const { return deploy_order_; }

  // The parameter values: given ones and defaults, each checked against its parameter's constraints.
  // ValidationException naming every parameter that breaks a constraint, and with require_every_value
  // (`tollgate apply`) every one that has no value and every given name the template does not declare.
  // Without it (`tollgate validate` checks templates without all their parameters) a parameter with no value
  // is left out, so what uses it is unknown, and given names the template does not declare are ignored.
  Result<std::map<std::string, std::string>> resolve_parameters(const std::map<std::string, std::string>& given,
                                                                bool require_every_value = true) const;

  // The profile `logical_id` declares, given the resolved parameters (inputs.parameters) and the
  // attributes of the other resources. A parameter missing from inputs.parameters is an unknown value.
  Result<ProfileSpec> profile(const std::string& logical_id, const StackInputs& inputs,
                              const AttributeLookup& lookup) const;
  Result<OutputValue> output(const std::string& name, const StackInputs& inputs, const AttributeLookup& lookup) const;

  struct Impl;  // the parsed YAML, opaque outside template.cpp

 private:
  Template();
  static Result<Template> parse_unguarded(const std::string& text, const std::string& file_name);
  Result<ProfileSpec> evaluate_profile(const std::string& logical_id, const StackInputs& inputs,
                                       const AttributeLookup& lookup) const;
  Result<OutputValue> evaluate_output(const std::string& name, const StackInputs& inputs,
                                      const AttributeLookup& lookup) const;
  std::unique_ptr<Impl> impl_;
  std::vector<TemplateResource> resources_;
  std::vector<TemplateOutput> outputs_;
  std::vector<std::string> deploy_order_;
};

}  // namespace tollgate::stacks
