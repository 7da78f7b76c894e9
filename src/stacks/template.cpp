#include "stacks/template.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

namespace tollgate::stacks {
namespace {

constexpr const char* kSections[] = {
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Mappings", "Resources", "Outputs"};
constexpr const char* kRefusedSections[] = {"Conditions", "Transform", "Rules"};
constexpr const char* kParameterFields[] = {
    "Type",     "Default",  "AllowedValues", "AllowedPattern",        "MinLength", "MaxLength",
    "MinValue", "MaxValue", "Description",   "ConstraintDescription", "NoEcho"};
// Condition is refused with a message of its own, not as an unknown field.
constexpr const char* kResourceFields[] = {"Type",     "Properties",          "DependsOn", "DeletionPolicy",
                                           "Metadata", "UpdateReplacePolicy", "Condition"};
constexpr const char* kProfileProperties[] = {"InferenceProfileName", "Description", "ModelSource", "Tags"};
constexpr const char* kProfileAttributes[] = {"InferenceProfileArn",
                                              "InferenceProfileId",
                                              "InferenceProfileIdentifier",
                                              "Status",
                                              "CreatedAt",
                                              "UpdatedAt",
                                              "Type",
                                              "Models"};
constexpr const char* kPseudoParameters[] = {"AWS::AccountId", "AWS::Region",    "AWS::StackName", "AWS::StackId",
                                             "AWS::Partition", "AWS::URLSuffix", "AWS::NoValue"};

template <size_t N>
bool one_of(const std::string& s, const char* const (&list)[N]) {
  return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

// CloudFormation's limits. They also bound the input of std::regex_match, which in libstdc++ recurses once
// per character matched: unbounded input would overflow the stack.
constexpr size_t kMaxLogicalIdLength = 255;
constexpr size_t kMaxParameterValueLength = 4096;
constexpr size_t kMaxAllowedPatternLength = 1024;

// "a, b, c": the items of a list or a set.
template <typename Items>
std::string listed(const Items& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + std::string(item);
  return out;
}

bool is_logical_id(const std::string& id) {
  return !id.empty() && id.size() <= kMaxLogicalIdLength && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

// A long name shown in a message: its start, so a megabyte-long key does not make a megabyte-long message.
std::string shortened(const std::string& text) { return text.size() <= 64 ? text : text.substr(0, 64) + "..."; }

bool equals_ignoring_case(const std::string& a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Where the YAML text uses an alias (*name): CloudFormation does not support them, and yaml-cpp shares an
// aliased node, so walking a tree of nested aliases would take exponential time ("billion laughs").
// Reads the events only, which expands nothing.
class AliasFinder : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> aliases;

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { aliases.push_back(mark); }
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The name of the alias at `mark` ("*name"), read from the text.
std::string alias_at(const std::string& text, const YAML::Mark& mark) {
  if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= text.size() || text[mark.pos] != '*') return "*";
  size_t end = mark.pos + 1;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
         std::string_view(",[]{}").find(text[end]) == std::string_view::npos) {
    ++end;
  }
  return shortened(text.substr(mark.pos, end - mark.pos));
}

// The key node of `key` in a mapping (to locate a problem with its value), or the mapping itself.
YAML::Node key_of(const YAML::Node& map, const std::string& key) {
  for (const auto& item : map) {
    if (item.first.IsScalar() && item.first.Scalar() == key) return item.first;
  }
  return map;
}

// A missing key of a const node is an invalid node, whose Type(), Scalar() and Tag() throw: check IsDefined() first.
std::string scalar_of(const YAML::Node& node) {
  return node.IsDefined() && node.IsScalar() ? node.Scalar() : std::string();
}

// The intrinsic function a node calls ("Ref", "Fn::Sub", ...) and its argument, or nothing.
struct Call {
  std::string function;
  YAML::Node argument;
};

std::optional<Call> intrinsic_of(const YAML::Node& node) {
  if (!node.IsDefined()) return std::nullopt;
  const std::string& tag = node.Tag();
  if (tag.size() > 1 && tag[0] == '!') {
    std::string name = tag.substr(1);
    return Call{name == "Ref" || name == "Condition" ? name : "Fn::" + name, node};
  }
  if (node.IsMap() && node.size() == 1) {
    const std::string key = node.begin()->first.Scalar();
    if (key == "Ref" || key.rfind("Fn::", 0) == 0 || key == "Condition") return Call{key, node.begin()->second};
  }
  return std::nullopt;
}

// "${Name}" and "${Resource.Attribute}" references of a Fn::Sub string; "${!Literal}" is text.
struct SubPiece {
  bool reference = false;
  std::string text;  // literal text, or the name referred to
};

std::vector<SubPiece> split_sub(const std::string& text) {
  std::vector<SubPiece> pieces;
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find("${", at);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    pieces.push_back({false, text.substr(at, open - at)});
    std::string inner = text.substr(open + 2, close - open - 2);
    if (!inner.empty() && inner[0] == '!') {
      pieces.push_back({false, "${" + inner.substr(1) + "}"});
    } else {
      pieces.push_back({true, inner});
    }
    at = close + 1;
  }
  pieces.push_back({false, text.substr(at)});
  return pieces;
}

}  // namespace

std::string Location::str() const { return file + ":" + std::to_string(line) + ":" + std::to_string(column); }

struct Template::Impl {
  std::string file;
  YAML::Node root;
  std::vector<std::pair<std::string, YAML::Node>> parameters;  // in template order
  std::map<std::string, YAML::Node> resources;                 // logical id → its mapping
  std::map<std::string, std::string> types;                    // logical id → Type
  std::map<std::string, YAML::Node> outputs;
  std::map<std::string, std::regex> patterns;  // parameter name → its AllowedPattern, compiled
  YAML::Node mappings;
  std::vector<std::string> problems;

  Location where(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    return {file, mark.line + 1, mark.column + 1};
  }
  void problem(const YAML::Node& node, const std::string& what) { problems.push_back(where(node).str() + ": " + what); }

  bool is_parameter(const std::string& name) const {
    return std::any_of(parameters.begin(), parameters.end(), [&](const auto& p) { return p.first == name; });
  }

  void check_duplicate_keys(const YAML::Node& node);
  void check_known_keys(const YAML::Node& map, std::string_view what, const std::set<std::string>& known);
  void read_parameters(const YAML::Node& node);
  void read_resources(const YAML::Node& node);
  void read_outputs(const YAML::Node& node);
  void read_mappings(const YAML::Node& node);
  // Every resource a value refers to, checking each reference names something that exists.
  void collect_references(const YAML::Node& node, std::set<std::string>& refs);
  void check_reference(const YAML::Node& at, const std::string& name, std::optional<std::string> attribute,
                       std::set<std::string>& refs);
};

void Template::Impl::check_duplicate_keys(const YAML::Node& node) {
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        problem(item.first, "a mapping key must be a plain string");
        continue;
      }
      if (!seen.insert(item.first.Scalar()).second) problem(item.first, "duplicate key '" + item.first.Scalar() + "'");
      check_duplicate_keys(item.second);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) check_duplicate_keys(item);
  }
}

void Template::Impl::check_known_keys(const YAML::Node& map, std::string_view what,
                                      const std::set<std::string>& known) {
  for (const auto& item : map) {
    if (known.count(item.first.Scalar())) continue;
    problem(item.first,
            "unknown " + std::string(what) + " '" + item.first.Scalar() + "' (known: " + listed(known) + ")");
  }
}

void Template::Impl::read_parameters(const YAML::Node& node) {
  if (!node.IsMap()) return problem(node, "Parameters must be a mapping of parameter names to their definitions");
  for (const auto& item : node) {
    const std::string name = item.first.Scalar();
    const YAML::Node& definition = item.second;
    if (!definition.IsMap()) {
      problem(item.first, "parameter '" + name + "' must be a mapping (Type, Default, ...)");
      continue;
    }
    check_known_keys(definition, "parameter field", {std::begin(kParameterFields), std::end(kParameterFields)});
    const std::string type = scalar_of(definition["Type"]);
    if (!definition["Type"]) {
      problem(item.first, "parameter '" + name + "' has no Type (use Type: String)");
    } else if (type != "String" && type != "Number") {
      problem(definition["Type"],
              "parameter '" + name + "' has Type '" + type + "'; tollgate apply supports String and Number");
    }
    // A null (`Default:` with nothing after it) is no value at all, not an empty string. yaml-cpp places an
    // empty node where the next token starts, so a null is reported at the key or the list holding it.
    if (const YAML::Node value = definition["Default"]; value && !value.IsScalar()) {
      if (value.IsNull()) {
        problem(key_of(definition, "Default"), "Default of '" + name +
                                                   "' is empty (null); write Default: '' for an empty string, "
                                                   "or quote a value such as 'null'");
      } else {
        problem(value, "Default of '" + name + "' must be a single value, not a " +
                           (value.IsSequence() ? "list" : "mapping") + " (write it as one string)");
      }
    }
    if (const YAML::Node allowed = definition["AllowedValues"]) {
      if (!allowed.IsSequence()) {
        problem(allowed, "AllowedValues of '" + name + "' must be a list");
      } else {
        size_t index = 0;
        for (const auto& value : allowed) {
          ++index;
          if (value.IsNull()) {
            problem(key_of(definition, "AllowedValues"), "AllowedValues item " + std::to_string(index) + " of '" +
                                                             name + "' is empty (null); quote it ('') or remove it");
          } else if (!value.IsScalar()) {
            problem(value, "each AllowedValues item of '" + name + "' must be a single value, not a list or mapping");
          }
        }
      }
    }
    if (const YAML::Node pattern = definition["AllowedPattern"]) {
      if (!pattern.IsScalar()) {
        problem(pattern, "AllowedPattern of '" + name + "' must be a string (a regular expression)");
      } else if (pattern.Scalar().size() > kMaxAllowedPatternLength) {
        problem(pattern, "AllowedPattern of '" + name + "' is " + std::to_string(pattern.Scalar().size()) +
                             " characters long; tollgate allows at most " + std::to_string(kMaxAllowedPatternLength));
      } else {
        try {
          patterns[name] = std::regex(pattern.Scalar());
        } catch (const std::regex_error&) {
          problem(pattern, "AllowedPattern of '" + name +
                               "' is not a valid regular expression (tollgate reads ECMAScript syntax; Java-only "
                               "forms such as (?i) or \\p{Alnum} are not supported)");
        }
      }
    }
    for (const char* number_field : {"MinLength", "MaxLength", "MinValue", "MaxValue"}) {
      if (!definition[number_field]) continue;
      const std::string text = scalar_of(definition[number_field]);
      double value;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        problem(definition[number_field], std::string(number_field) + " of '" + name + "' must be a number");
      }
    }
    parameters.emplace_back(name, definition);
  }
}

void Template::Impl::read_resources(const YAML::Node& node) {
  if (!node.IsMap() || node.size() == 0) {
    return problem(node, "Resources must be a mapping with at least one resource");
  }
  for (const auto& item : node) {
    const std::string id = item.first.Scalar();
    const YAML::Node& resource = item.second;
    if (id.size() > kMaxLogicalIdLength) {
      problem(item.first, "logical id '" + shortened(id) + "' is " + std::to_string(id.size()) +
                              " characters long; CloudFormation allows at most " + std::to_string(kMaxLogicalIdLength));
    } else if (!is_logical_id(id)) {
      problem(item.first, "logical id '" + id + "' must be alphanumeric (A-Z, a-z, 0-9)");
    }
    if (is_parameter(id)) problem(item.first, "'" + id + "' names both a parameter and a resource");
    if (!resource.IsMap() || !resource["Type"] || !resource["Type"].IsScalar()) {
      problem(item.first, "resource '" + id + "' must be a mapping with a Type");
      continue;
    }
    if (resource["Condition"]) {
      problem(resource["Condition"],
              "resource '" + id + "' has a Condition; tollgate apply does not evaluate Conditions");
    }
    const std::string type = resource["Type"].Scalar();
    resources[id] = resource;
    types[id] = type;
    if (type != kProfileType) continue;  // skipped, and reported as such
    check_known_keys(resource, "resource field", {std::begin(kResourceFields), std::end(kResourceFields)});
    const YAML::Node properties = resource["Properties"];
    if (!properties || !properties.IsMap()) {
      problem(item.first, "resource '" + id + "' needs Properties with InferenceProfileName and ModelSource");
      continue;
    }
    check_known_keys(properties, "property of " + std::string(kProfileType),
                     {std::begin(kProfileProperties), std::end(kProfileProperties)});
    for (const char* required : {"InferenceProfileName", "ModelSource"}) {
      if (!properties[required]) problem(item.first, "resource '" + id + "' has no " + required);
    }
    const YAML::Node source = properties["ModelSource"];
    if (source && !intrinsic_of(source)) {
      if (!source.IsMap() || !source["CopyFrom"]) {
        problem(source, "ModelSource of '" + id + "' must be a mapping with CopyFrom (a model or system profile ARN)");
      } else {
        check_known_keys(source, "ModelSource field", {"CopyFrom"});
      }
    }
    const YAML::Node tags = properties["Tags"];
    if (tags && !intrinsic_of(tags)) {
      if (!tags.IsSequence()) {
        problem(tags, "Tags of '" + id + "' must be a list of {Key, Value}");
      } else {
        for (const auto& tag : tags) {
          if (intrinsic_of(tag)) continue;
          if (!tag.IsMap() || !tag["Key"] || !tag["Value"]) {
            problem(tag, "each tag of '" + id + "' must be a mapping with Key and Value");
          } else {
            check_known_keys(tag, "tag field", {"Key", "Value"});
          }
        }
      }
    }
    for (const char* field : {"DeletionPolicy", "UpdateReplacePolicy"}) {
      const YAML::Node policy = resource[field];
      if (policy && scalar_of(policy) != "Delete" && scalar_of(policy) != "Retain") {
        problem(policy, std::string(field) + " of '" + id + "' must be Delete or Retain");
      }
    }
  }
}

void Template::Impl::read_outputs(const YAML::Node& node) {
  if (!node.IsMap()) return problem(node, "Outputs must be a mapping of output names to {Value, Export, ...}");
  for (const auto& item : node) {
    const std::string name = item.first.Scalar();
    const YAML::Node& output = item.second;
    if (!output.IsMap() || !output["Value"]) {
      problem(item.first, "output '" + name + "' must be a mapping with a Value");
      continue;
    }
    check_known_keys(output, "output field", {"Value", "Description", "Export", "Condition"});
    if (output["Condition"]) problem(output["Condition"], "tollgate apply does not evaluate Conditions");
    if (output["Export"] && (!output["Export"].IsMap() || !output["Export"]["Name"])) {
      problem(output["Export"], "Export of '" + name + "' must be a mapping with Name");
    }
    outputs[name] = output;
  }
}

void Template::Impl::read_mappings(const YAML::Node& node) {
  auto is_value = [](const YAML::Node& n) {
    if (intrinsic_of(n)) return false;
    if (n.IsScalar()) return true;
    return n.IsSequence() && std::all_of(n.begin(), n.end(),
                                         [](const YAML::Node& item) { return item.IsScalar() && !intrinsic_of(item); });
  };
  const std::string shape = "Mappings is MapName: {TopLevelKey: {SecondLevelKey: a string or list of strings}}";
  if (!node.IsMap()) return problem(node, shape);
  for (const auto& map : node) {
    if (!map.second.IsMap()) {
      problem(map.second, shape);
      continue;
    }
    for (const auto& top : map.second) {
      if (!top.second.IsMap()) {
        problem(top.second, shape);
        continue;
      }
      for (const auto& second : top.second) {
        if (!is_value(second.second)) {
          problem(second.second, "a Mappings value must be a string or a list of strings, with no functions (" +
                                     map.first.Scalar() + " / " + top.first.Scalar() + " / " + second.first.Scalar() +
                                     ")");
        }
      }
    }
  }
}

void Template::Impl::check_reference(const YAML::Node& at, const std::string& name,
                                     std::optional<std::string> attribute, std::set<std::string>& refs) {
  auto type = types.find(name);
  if (type != types.end()) {
    if (type->second == kProfileType && attribute && !one_of(*attribute, kProfileAttributes)) {
      problem(at, "'" + name + "' has no attribute '" + *attribute + "' (" + kProfileType +
                      " has: " + listed(kProfileAttributes) + ")");
    }
    refs.insert(name);
    return;
  }
  if (!attribute && (is_parameter(name) || one_of(name, kPseudoParameters))) return;
  problem(at, attribute ? "Fn::GetAtt names '" + name + "', which is not a resource of this template"
                        : "'" + name + "' is neither a parameter, a resource nor a pseudo parameter");
}

void Template::Impl::collect_references(const YAML::Node& node, std::set<std::string>& refs) {
  if (auto call = intrinsic_of(node)) {
    const YAML::Node& arg = call->argument;
    if (call->function == "Ref") {
      if (!arg.IsScalar()) return problem(arg, "Ref takes the name of a parameter or resource");
      return check_reference(arg, arg.Scalar(), std::nullopt, refs);
    }
    if (call->function == "Fn::GetAtt") {
      std::string target, attribute;
      if (arg.IsScalar() && arg.Scalar().find('.') != std::string::npos) {
        target = arg.Scalar().substr(0, arg.Scalar().find('.'));
        attribute = arg.Scalar().substr(arg.Scalar().find('.') + 1);
      } else if (arg.IsSequence() && arg.size() == 2 && arg[0].IsScalar() && arg[1].IsScalar()) {
        target = arg[0].Scalar();
        attribute = arg[1].Scalar();
      } else {
        return problem(arg, "Fn::GetAtt takes Resource.Attribute or [Resource, Attribute]");
      }
      return check_reference(arg, target, attribute, refs);
    }
    if (call->function == "Fn::Sub") {
      YAML::Node text = arg.IsSequence() && arg.size() == 2 ? arg[0] : arg;
      std::set<std::string> variables;
      if (arg.IsSequence()) {
        if (arg.size() != 2 || !arg[1].IsMap()) return problem(arg, "Fn::Sub takes a string or [string, {variables}]");
        for (const auto& v : arg[1]) {
          variables.insert(v.first.Scalar());
          collect_references(v.second, refs);
        }
      }
      if (!text.IsScalar()) return problem(text, "Fn::Sub's template must be a string");
      for (const auto& piece : split_sub(text.Scalar())) {
        if (!piece.reference || variables.count(piece.text)) continue;
        const size_t dot = piece.text.find('.');
        if (dot != std::string::npos && !one_of(piece.text, kPseudoParameters)) {
          check_reference(text, piece.text.substr(0, dot), piece.text.substr(dot + 1), refs);
        } else {
          check_reference(text, piece.text, std::nullopt, refs);
        }
      }
      return;
    }
    static const std::set<std::string> kListFunctions = {"Fn::Join", "Fn::Select", "Fn::Split", "Fn::FindInMap"};
    if (!kListFunctions.count(call->function)) {
      return problem(node, call->function +
                               " is not supported by tollgate apply (supported: Ref, Fn::GetAtt, Fn::Sub, "
                               "Fn::Join, Fn::Select, Fn::Split, Fn::FindInMap)");
    }
    if (!arg.IsSequence()) return problem(arg, call->function + " takes a list of arguments");
    for (const auto& item : arg) collect_references(item, refs);
    return;
  }
  if (node.IsMap()) {
    for (const auto& item : node) collect_references(item.second, refs);
  } else if (node.IsSequence()) {
    for (const auto& item : node) collect_references(item, refs);
  }
}

// ---- Evaluation -------------------------------------------------------------------------------------

namespace {

// A value: a string, a list of strings, or AWS::NoValue.
struct Value {
  AttributeValue v;
  bool no_value = false;
};

class Evaluator {
 public:
  Evaluator(const Template::Impl& t, const StackInputs& inputs, const AttributeLookup& lookup)
      : t_(t), inputs_(inputs), lookup_(lookup) {}

  bool unknown() const { return unknown_; }
  // Whether a value evaluated since the last call was unknown.
  bool take_unknown() { return std::exchange(unknown_since_taken_, false); }

  Result<Value> eval(const YAML::Node& node) {
    if (auto call = intrinsic_of(node)) return call_function(*call);
    if (node.IsScalar()) return Value{node.Scalar()};
    if (node.IsSequence()) {
      std::vector<std::string> items;
      for (const auto& item : node) {
        auto value = string_of(item, "a list item");
        TOLLGATE_TRY(value);
        items.push_back(std::move(value).value());
      }
      return Value{std::move(items)};
    }
    return fail(node, "expected a string here, not a mapping");
  }

  Result<std::string> string_of(const YAML::Node& node, std::string_view what) {
    auto value = eval(node);
    TOLLGATE_TRY(value);
    if (value->no_value) return fail(node, std::string(what) + " cannot be AWS::NoValue here");
    if (auto* text = std::get_if<std::string>(&value->v)) return *text;
    return fail(node, std::string(what) + " must be a string, not a list");
  }

  Result<std::vector<std::string>> list_of(const YAML::Node& node, std::string_view what) {
    if (node.IsSequence() && !intrinsic_of(node)) {
      std::vector<std::string> items;
      for (const auto& item : node) {
        auto value = eval(item);
        TOLLGATE_TRY(value);
        if (auto* text = std::get_if<std::string>(&value->v)) {
          items.push_back(*text);
        } else {
          return fail(item, std::string(what) + ": a list item must be a string");
        }
      }
      return items;
    }
    auto value = eval(node);
    TOLLGATE_TRY(value);
    if (auto* items = std::get_if<std::vector<std::string>>(&value->v)) return *items;
    return fail(node, std::string(what) + " must be a list");
  }

  Error fail(const YAML::Node& node, const std::string& what) const {
    return Error(ErrorCode::Validation, t_.where(node).str() + ": " + what);
  }

 private:
  Result<Value> call_function(const Call& call) {
    const YAML::Node& arg = call.argument;
    if (call.function == "Ref") return ref(arg, arg.Scalar());
    if (call.function == "Fn::GetAtt") {
      const bool dotted = arg.IsScalar();
      const std::string target = dotted ? arg.Scalar().substr(0, arg.Scalar().find('.')) : arg[0].Scalar();
      const std::string attribute = dotted ? arg.Scalar().substr(arg.Scalar().find('.') + 1) : arg[1].Scalar();
      return attribute_of(arg, target, attribute);
    }
    if (call.function == "Fn::Sub") return sub(arg);
    if (call.function == "Fn::Join") {
      if (arg.size() != 2) return fail(arg, "Fn::Join takes [delimiter, [values]]");
      auto delimiter = string_of(arg[0], "Fn::Join's delimiter");
      TOLLGATE_TRY(delimiter);
      auto items = list_of(arg[1], "Fn::Join's values");
      TOLLGATE_TRY(items);
      std::string joined;
      for (size_t i = 0; i < items->size(); ++i) joined += (i ? *delimiter : "") + (*items)[i];
      return Value{joined};
    }
    if (call.function == "Fn::Select") {
      if (arg.size() != 2) return fail(arg, "Fn::Select takes [index, [values]]");
      auto index_text = string_of(arg[0], "Fn::Select's index");
      TOLLGATE_TRY(index_text);
      auto items = list_of(arg[1], "Fn::Select's values");
      TOLLGATE_TRY(items);
      size_t index = 0;
      auto [end, ec] = std::from_chars(index_text->data(), index_text->data() + index_text->size(), index);
      if (ec != std::errc() || end != index_text->data() + index_text->size() || index >= items->size()) {
        return fail(arg[0], "Fn::Select's index '" + *index_text + "' is not in 0.." +
                                std::to_string(items->empty() ? 0 : items->size() - 1));
      }
      return Value{(*items)[index]};
    }
    if (call.function == "Fn::Split") {
      if (arg.size() != 2) return fail(arg, "Fn::Split takes [delimiter, string]");
      auto delimiter = string_of(arg[0], "Fn::Split's delimiter");
      TOLLGATE_TRY(delimiter);
      auto text = string_of(arg[1], "Fn::Split's string");
      TOLLGATE_TRY(text);
      if (delimiter->empty()) return fail(arg[0], "Fn::Split's delimiter must not be empty");
      std::vector<std::string> parts;
      for (size_t at = 0;;) {
        size_t next = text->find(*delimiter, at);
        parts.push_back(text->substr(at, next - at));
        if (next == std::string::npos) break;
        at = next + delimiter->size();
      }
      return Value{std::move(parts)};
    }
    return find_in_map(arg);
  }

  Result<Value> find_in_map(const YAML::Node& arg) {
    if (arg.size() != 3) return fail(arg, "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]");
    std::string keys[3];
    for (size_t i = 0; i < 3; ++i) {
      auto key = string_of(arg[i], "Fn::FindInMap's key");
      TOLLGATE_TRY(key);
      keys[i] = std::move(key).value();
    }
    // Each level in a variable of its own: assigning one YAML::Node to another rebinds the node in the
    // tree, which would rewrite the Mappings section.
    auto child = [](const YAML::Node& parent, const std::string& key) {
      return parent.IsDefined() && parent.IsMap() ? parent[key] : YAML::Node(YAML::NodeType::Undefined);
    };
    const YAML::Node map = child(t_.mappings, keys[0]);
    const YAML::Node top = child(map, keys[1]);
    const YAML::Node found = child(top, keys[2]);
    if (!found.IsDefined()) return fail(arg, "Mappings has no " + keys[0] + " / " + keys[1] + " / " + keys[2]);
    return eval(found);
  }

  Result<Value> ref(const YAML::Node& at, const std::string& name) {
    if (name == "AWS::NoValue") return Value{std::string(), true};
    if (name == "AWS::AccountId") return Value{inputs_.account_id};
    if (name == "AWS::Region") return Value{inputs_.region};
    if (name == "AWS::StackName") return Value{inputs_.stack_name};
    if (name == "AWS::StackId") return Value{inputs_.stack_id};
    if (name == "AWS::Partition") return Value{std::string("aws")};
    if (name == "AWS::URLSuffix") return Value{std::string("amazonaws.com")};
    auto parameter = inputs_.parameters.find(name);
    if (parameter != inputs_.parameters.end()) return Value{parameter->second};
    if (t_.is_parameter(name)) {
      unknown_ = unknown_since_taken_ = true;
      return Value{"(parameter " + name + ")"};
    }
    return attribute_of(at, name, "Ref");
  }

  Result<Value> attribute_of(const YAML::Node& at, const std::string& resource, const std::string& attribute) {
    auto type = t_.types.find(resource);
    if (type == t_.types.end()) return fail(at, "'" + resource + "' is not a parameter or resource");
    if (type->second != kProfileType) {
      return fail(at, "'" + resource + "' is a " + type->second +
                          ", which tollgate does not manage, so its values are not known here");
    }
    auto value = lookup_(resource, attribute == "Ref" ? "InferenceProfileId" : attribute);
    if (value) return Value{*value};
    unknown_ = unknown_since_taken_ = true;
    const std::string placeholder = "(known after apply: " + resource + "." + attribute + ")";
    if (attribute == "Models") return Value{std::vector<std::string>{placeholder}};
    return Value{placeholder};
  }

  Result<Value> sub(const YAML::Node& arg) {
    const YAML::Node text = arg.IsSequence() ? arg[0] : arg;
    std::map<std::string, std::string> variables;
    if (arg.IsSequence()) {
      for (const auto& v : arg[1]) {
        auto value = string_of(v.second, "Fn::Sub variable '" + v.first.Scalar() + "'");
        TOLLGATE_TRY(value);
        variables[v.first.Scalar()] = std::move(value).value();
      }
    }
    std::string out;
    for (const auto& piece : split_sub(text.Scalar())) {
      if (!piece.reference) {
        out += piece.text;
        continue;
      }
      if (auto variable = variables.find(piece.text); variable != variables.end()) {
        out += variable->second;
        continue;
      }
      const size_t dot = piece.text.find('.');
      Result<Value> value = dot != std::string::npos && piece.text.rfind("AWS::", 0) != 0
                                ? attribute_of(text, piece.text.substr(0, dot), piece.text.substr(dot + 1))
                                : ref(text, piece.text);
      TOLLGATE_TRY(value);
      auto* string = std::get_if<std::string>(&value->v);
      if (!string) return fail(text, "${" + piece.text + "} is a list; Fn::Sub needs a string");
      out += *string;
    }
    return Value{out};
  }

  const Template::Impl& t_;
  const StackInputs& inputs_;
  const AttributeLookup& lookup_;
  bool unknown_ = false, unknown_since_taken_ = false;
};

}  // namespace

// ---- Template ---------------------------------------------------------------------------------------

Template::Template() : impl_(std::make_unique<Impl>()) {}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

namespace {

// Checks and evaluation index into YAML nodes; a node of an unexpected kind must end as a located error,
// never as an exception.
template <typename F>
auto guarded(const std::string& file, F evaluate) -> decltype(evaluate()) {
  try {
    return evaluate();
  } catch (const YAML::Exception& e) {
    const std::string where = e.mark.is_null() ? file : Location{file, e.mark.line + 1, e.mark.column + 1}.str();
    return Error(ErrorCode::Validation, where + ": cannot read the template: " + e.msg);
  }
}

}  // namespace

Result<Template> Template::parse(const std::string& text, const std::string& file_name) {
  return guarded(file_name, [&] { return parse_unguarded(text, file_name); });
}

Result<Template> Template::parse_unguarded(const std::string& text, const std::string& file_name) {
  Template t;
  Impl& impl = *t.impl_;
  impl.file = file_name;
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    AliasFinder finder;
    parser.HandleNextDocument(finder);  // the document YAML::Load reads
    if (!finder.aliases.empty()) {
      constexpr size_t kShown = 10;
      std::string message = "The template has " + std::to_string(finder.aliases.size()) + " problem(s):";
      for (size_t i = 0; i < std::min(finder.aliases.size(), kShown); ++i) {
        const YAML::Mark& mark = finder.aliases[i];
        message += "\n  " + Location{file_name, mark.line + 1, mark.column + 1}.str() + ": YAML aliases (" +
                   alias_at(text, mark) + ") are not supported in CloudFormation templates";
      }
      if (finder.aliases.size() > kShown) {
        message += "\n  ... and " + std::to_string(finder.aliases.size() - kShown) + " more aliases";
      }
      return Error(ErrorCode::Validation, std::move(message));
    }
    impl.root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp names what it expected; a mapping or list cut short is nearly always a line indented
    // differently from its siblings.
    const bool structure = e.msg.find("end of map") != std::string::npos ||
                           e.msg.find("end of sequence") != std::string::npos ||
                           e.msg.find("illegal map value") != std::string::npos;
    return Error(ErrorCode::Validation, Location{file_name, e.mark.line + 1, e.mark.column + 1}.str() +
                                            ": not valid YAML or JSON: " + e.msg +
                                            (structure ? " (check the indentation of this line against the lines "
                                                         "above it)"
                                                       : ""));
  }
  if (!impl.root.IsMap()) {
    return Error(ErrorCode::Validation,
                 file_name + ":1:1: a template is a mapping with Resources (and optionally Parameters, Outputs)");
  }
  impl.check_duplicate_keys(impl.root);
  for (const auto& section : impl.root) {
    const std::string name = section.first.Scalar();
    if (one_of(name, kRefusedSections)) {
      impl.problem(section.first, name + " is not supported by tollgate apply");
    } else if (!one_of(name, kSections)) {
      impl.problem(section.first, "unknown section '" + name + "' (known: " + listed(kSections) + ")");
    }
  }
  if (impl.root["Parameters"]) impl.read_parameters(impl.root["Parameters"]);
  if (!impl.root["Resources"]) {
    impl.problems.push_back(file_name + ":1:1: the template has no Resources");
  } else {
    impl.read_resources(impl.root["Resources"]);
  }
  impl.mappings = impl.root["Mappings"];
  if (impl.mappings) impl.read_mappings(impl.mappings);
  if (impl.root["Outputs"]) impl.read_outputs(impl.root["Outputs"]);

  std::map<std::string, std::set<std::string>> refers_to;
  for (const auto& [id, node] : impl.resources) {
    TemplateResource resource{id, impl.types[id], impl.where(node), {}, false};
    if (resource.type == kProfileType) {
      // Without Properties read_resources has reported the resource already.
      if (node["Properties"]) impl.collect_references(node["Properties"], refers_to[id]);
      resource.retain = scalar_of(node["DeletionPolicy"]) == "Retain";
      resource.retain_on_replace = scalar_of(node["UpdateReplacePolicy"]) == "Retain";
      for (const auto& other : refers_to[id]) {
        if (impl.types[other] != kProfileType) {
          impl.problem(node["Properties"], "'" + id + "' refers to '" + other + "', a " + impl.types[other] +
                                               ", which tollgate does not manage");
        }
      }
      std::set<std::string> depends = refers_to[id];
      std::vector<YAML::Node> depends_on;
      if (const YAML::Node d = node["DependsOn"]; d && d.IsSequence()) {
        for (const auto& item : d) depends_on.push_back(item);
      } else if (d) {
        depends_on.push_back(d);
      }
      for (const auto& item : depends_on) {
        if (!impl.types.count(item.Scalar())) {
          impl.problem(item, "DependsOn names '" + item.Scalar() + "', which is not a resource of this template");
        } else if (impl.types[item.Scalar()] == kProfileType) {
          depends.insert(item.Scalar());
        }
      }
      resource.depends_on.assign(depends.begin(), depends.end());
    }
    t.resources_.push_back(std::move(resource));
  }
  for (const auto& [name, node] : impl.outputs) {
    std::set<std::string> refs;
    impl.collect_references(node, refs);
    t.outputs_.push_back({name, impl.where(node)});
  }
  // Deploy order: depth-first over dependencies; a cycle is an error.
  std::map<std::string, int> state;  // 1 = visiting, 2 = done
  std::function<void(const TemplateResource&)> visit = [&](const TemplateResource& r) {
    if (state[r.logical_id] == 2) return;
    if (state[r.logical_id] == 1) {
      impl.problems.push_back(r.where.str() + ": '" + r.logical_id + "' is part of a dependency cycle");
      return;
    }
    state[r.logical_id] = 1;
    for (const auto& dep : r.depends_on) {
      auto it = std::find_if(t.resources_.begin(), t.resources_.end(),
                             [&](const TemplateResource& o) { return o.logical_id == dep; });
      if (it != t.resources_.end()) visit(*it);
    }
    state[r.logical_id] = 2;
    t.deploy_order_.push_back(r.logical_id);
  };
  for (const auto& r : t.resources_) {
    if (r.type == kProfileType) visit(r);
  }
  if (!impl.problems.empty()) {
    std::string message = "The template has " + std::to_string(impl.problems.size()) + " problem(s):";
    for (const auto& p : impl.problems) message += "\n  " + p;
    return Error(ErrorCode::Validation, std::move(message));
  }
  return t;
}

Result<std::map<std::string, std::string>> Template::resolve_parameters(const std::map<std::string, std::string>& given,
                                                                        bool require_every_value) const {
  std::vector<std::string> problems;
  std::map<std::string, std::string> values;
  if (require_every_value) {
    for (const auto& [name, value] : given) {
      if (!impl_->is_parameter(name))
        problems.push_back("--param " + name + ": the template has no parameter '" + name + "'");
    }
  }
  for (const auto& parameter : impl_->parameters) {
    // Named references, not a structured binding: the lambdas below capture them (Clang < 16 cannot).
    const std::string& name = parameter.first;
    const YAML::Node& definition = parameter.second;
    const std::string at = impl_->where(definition).str() + ": ";  // the parameter's definition
    auto given_value = given.find(name);
    std::string value;
    if (given_value != given.end()) {
      value = given_value->second;
    } else if (definition["Default"] && definition["Default"].IsScalar()) {
      value = definition["Default"].Scalar();
    } else {
      if (require_every_value) {
        problems.push_back(at + name + ": no value (pass --param " + name + "=VALUE; the parameter has no Default)");
      }
      continue;
    }
    const bool secret = equals_ignoring_case(scalar_of(definition["NoEcho"]), "true");
    if (value.size() > kMaxParameterValueLength) {
      problems.push_back(at + name + ": the value is " + std::to_string(value.size()) +
                         " bytes long; CloudFormation allows at most " + std::to_string(kMaxParameterValueLength));
      continue;
    }
    const std::string constraint = scalar_of(definition["ConstraintDescription"]);
    auto report = [&](const std::string& what) {
      problems.push_back(at + name + ": " + (secret ? "the value" : "'" + value + "'") + " " + what +
                         (constraint.empty() ? "" : " (" + constraint + ")"));
    };
    // Checked to be a number by parse(); std::stod would throw on one it deems out of range (1e-320).
    auto number = [&](const char* field) {
      const std::string text = scalar_of(definition[field]);
      double parsed = 0;
      std::from_chars(text.data(), text.data() + text.size(), parsed);
      return parsed;
    };
    bool too_long = false;
    if (scalar_of(definition["Type"]) == "Number") {
      // MinLength and MaxLength apply to String parameters only; CloudFormation ignores them here.
      double parsed;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        report("is not a number");
      } else {
        if (definition["MinValue"] && parsed < number("MinValue"))
          report("is less than MinValue " + scalar_of(definition["MinValue"]));
        if (definition["MaxValue"] && parsed > number("MaxValue"))
          report("is more than MaxValue " + scalar_of(definition["MaxValue"]));
      }
    } else {
      if (definition["MinLength"] && value.size() < number("MinLength")) {
        report("is shorter than MinLength " + scalar_of(definition["MinLength"]));
      }
      if (definition["MaxLength"] && value.size() > number("MaxLength")) {
        report("is longer than MaxLength " + scalar_of(definition["MaxLength"]));
        too_long = true;
      }
    }
    if (const YAML::Node allowed = definition["AllowedValues"]) {
      const bool found =
          std::any_of(allowed.begin(), allowed.end(), [&](const YAML::Node& a) { return scalar_of(a) == value; });
      if (!found) {
        std::vector<std::string> list;
        for (const auto& a : allowed) list.push_back(scalar_of(a));
        report("is not one of the AllowedValues: " + listed(list));
      }
    }
    // Not on a value longer than MaxLength: std::regex_match recurses once per character.
    if (auto pattern = impl_->patterns.find(name); pattern != impl_->patterns.end() && !too_long) {
      bool matches = false;
      try {
        matches = std::regex_match(value, pattern->second);
      } catch (const std::regex_error&) {  // too complex to match
      }
      if (!matches) report("does not match AllowedPattern " + scalar_of(definition["AllowedPattern"]));
    }
    values[name] = value;
  }
  if (!problems.empty()) {
    std::string message = "The parameters have " + std::to_string(problems.size()) + " problem(s):";
    for (const auto& p : problems) message += "\n  " + p;
    return Error(ErrorCode::Validation, std::move(message));
  }
  return values;
}

Result<ProfileSpec> Template::profile(const std::string& logical_id, const StackInputs& inputs,
                                      const AttributeLookup& lookup) const {
  return guarded(impl_->file, [&] { return evaluate_profile(logical_id, inputs, lookup); });
}

Result<OutputValue> Template::output(const std::string& name, const StackInputs& inputs,
                                     const AttributeLookup& lookup) const {
  return guarded(impl_->file, [&] { return evaluate_output(name, inputs, lookup); });
}

Result<ProfileSpec> Template::evaluate_profile(const std::string& logical_id, const StackInputs& inputs,
                                               const AttributeLookup& lookup) const {
  const YAML::Node resource = impl_->resources.at(logical_id);
  const YAML::Node properties = resource["Properties"];
  Evaluator eval(*impl_, inputs, lookup);
  ProfileSpec spec;
  spec.logical_id = logical_id;
  spec.where = impl_->where(resource);
  auto name = eval.string_of(properties["InferenceProfileName"], "InferenceProfileName");
  TOLLGATE_TRY(name);
  spec.name = std::move(name).value();
  if (const YAML::Node description = properties["Description"]) {
    auto value = eval.eval(description);
    TOLLGATE_TRY(value);
    if (!value->no_value) {
      auto* text = std::get_if<std::string>(&value->v);
      if (!text) return eval.fail(description, "Description must be a string, not a list");
      spec.description = std::move(*text);
    }
  }
  const YAML::Node source = properties["ModelSource"];
  auto copy_from = eval.string_of(intrinsic_of(source) ? source : source["CopyFrom"], "ModelSource.CopyFrom");
  TOLLGATE_TRY(copy_from);
  spec.copy_from = std::move(copy_from).value();
  const YAML::Node tags = properties["Tags"];
  spec.tags_where = spec.where;
  for (const auto& property : properties) {
    if (property.first.Scalar() == "Tags") spec.tags_where = impl_->where(property.first);  // the "Tags:" line
  }
  if (tags) {
    if (intrinsic_of(tags)) return eval.fail(tags, "Tags must be written out as a list of {Key, Value}");
    for (const auto& tag : tags) {
      if (auto call = intrinsic_of(tag)) {
        auto value = eval.eval(tag);
        TOLLGATE_TRY(value);
        if (value->no_value) continue;
        return eval.fail(tag, "a tag must be a mapping with Key and Value");
      }
      auto key = eval.string_of(tag["Key"], "a tag's Key");
      TOLLGATE_TRY(key);
      eval.take_unknown();
      auto value = eval.string_of(tag["Value"], "the Value of tag '" + *key + "'");
      TOLLGATE_TRY(value);
      if (eval.take_unknown()) spec.unknown_tag_values.insert(*key);
      if (spec.tag_locations.count(*key)) return eval.fail(tag, "tag '" + *key + "' appears twice");
      spec.tag_locations[*key] = impl_->where(tag);
      spec.tags.push_back({std::move(key).value(), std::move(value).value()});
    }
  }
  spec.unknown = eval.unknown();
  return spec;
}

Result<OutputValue> Template::evaluate_output(const std::string& name, const StackInputs& inputs,
                                              const AttributeLookup& lookup) const {
  const YAML::Node node = impl_->outputs.at(name);
  Evaluator eval(*impl_, inputs, lookup);
  OutputValue out;
  out.name = name;
  auto value = eval.string_of(node["Value"], "Output " + name);
  TOLLGATE_TRY(value);
  out.value = std::move(value).value();
  out.description = scalar_of(node["Description"]);
  if (node["Export"]) {
    auto export_name = eval.string_of(node["Export"]["Name"], "Export name of " + name);
    TOLLGATE_TRY(export_name);
    out.export_name = std::move(export_name).value();
  }
  out.unknown = eval.unknown();
  return out;
}

}  // namespace tollgate::stacks
