#include "app/stack_commands.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "app/config.h"
#include "auth/sigv4.h"
#include "core/error.h"
#include "profiles/tag_policy.h"
#include "stacks/template.h"

namespace tollgate::app {
namespace {

namespace json = boost::json;

std::map<std::string, std::string> parse_parameters(const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> out;
  for (const auto& pair : pairs) {
    const size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw StartupError("--param '" + pair + "' must be KEY=VALUE, e.g. --param Environment=prod");
    }
    out[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
  return out;
}

std::string string_at(const json::object& object, const char* key) {
  const json::value* v = object.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::array& array_at(const json::object& object, const char* key) {
  static const json::array kEmpty;
  const json::value* v = object.if_contains(key);
  return v && v->is_array() ? v->get_array() : kEmpty;
}

void print_apply_result(const json::object& result, std::ostream& out) {
  const bool dry_run = result.if_contains("DryRun") && result.at("DryRun").is_bool() && result.at("DryRun").as_bool();
  out << "Stack " << string_at(result, "StackName") << " (" << string_at(result, "StackId") << ")"
      << (dry_run ? " — dry run, nothing changed" : "") << "\n";
  const auto& changes = array_at(result, "Changes");
  bool changed = false;
  size_t id_width = 0;
  for (const auto& c : changes) {
    if (c.is_object()) id_width = std::max(id_width, string_at(c.get_object(), "LogicalResourceId").size());
  }
  for (const auto& item : changes) {
    if (!item.is_object()) continue;
    const auto& c = item.get_object();
    const std::string action = string_at(c, "Action");
    changed = changed || (action != "NoChange" && action != "Skip");
    out << fmt::format("  {:<9} {:<{}}  {}", action, string_at(c, "LogicalResourceId"), id_width,
                       string_at(c, "ResourceType"));
    if (std::string arn = string_at(c, "PhysicalResourceId"); !arn.empty()) out << "  " << arn;
    out << "\n";
    for (const auto& detail : array_at(c, "Details")) {
      if (detail.is_string()) out << "      " << detail.get_string().c_str() << "\n";
    }
  }
  if (!changed) out << (dry_run ? "No changes to make" : "No changes") << ": the stack matches the template.\n";
  const auto& outputs = array_at(result, "Outputs");
  if (!outputs.empty()) out << "Outputs:\n";
  for (const auto& item : outputs) {
    if (!item.is_object()) continue;
    const auto& o = item.get_object();
    out << "  " << string_at(o, "OutputKey") << " = " << string_at(o, "OutputValue");
    if (std::string name = string_at(o, "ExportName"); !name.empty()) out << "  (export " << name << ")";
    out << "\n";
  }
  const auto& skipped = array_at(result, "SkippedOutputs");
  if (!skipped.empty()) out << "Outputs not shown:\n";
  for (const auto& s : skipped) {
    if (s.is_string()) out << "  " << s.get_string().c_str() << "\n";
  }
}

// The --stack name, or the template's file name without its extension when that is a valid stack name.
std::string stack_name_of(const ApplyOptions& options) {
  if (!options.stack_name.empty()) return options.stack_name;
  std::string stem = std::filesystem::path(options.template_file).stem().string();
  const bool valid = !stem.empty() && stem.size() <= 128 && std::isalpha(static_cast<unsigned char>(stem[0])) &&
                     std::all_of(stem.begin(), stem.end(),
                                 [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
  if (!valid) {
    throw StartupError("the stack name defaults to the template's file name, '" + stem +
                       "', which is no valid stack name (a letter, then letters, digits and hyphens, at most 128); "
                       "pass --stack NAME");
  }
  return stem;
}

// ---- validate ---------------------------------------------------------------------------------------

struct Tally {
  size_t violations = 0;
  size_t checked = 0;
};

// The violations that hold whatever the unknown values turn out to be.
std::vector<profiles::TagViolation> certain_violations(const profiles::TagPolicy& policy,
                                                       const stacks::ProfileSpec& spec) {
  std::vector<profiles::TagViolation> out;
  for (auto& v : profiles::check_tags(policy, spec.tags)) {
    if (v.rule != "requiredTags" && spec.unknown_tag_values.count(v.key)) continue;
    out.push_back(std::move(v));
  }
  return out;
}

void validate_template(const profiles::TagPolicy& policy, const std::string& file,
                       const std::map<std::string, std::string>& given, const std::string& region, std::ostream& out,
                       Tally& tally) {
  auto parsed = stacks::Template::parse(read_file(file, "template"), file);
  if (!parsed.ok()) {
    out << parsed.error().message() << "\n";
    ++tally.violations;
    return;
  }
  const stacks::Template& tmpl = *parsed;
  // Every known value (given or Default) is checked; a parameter without one leaves its uses unknown.
  auto parameters = tmpl.resolve_parameters(given, /*require_every_value=*/false);
  if (!parameters.ok()) {
    out << parameters.error().message() << "\n";
    ++tally.violations;
    return;
  }
  stacks::StackInputs inputs{std::filesystem::path(file).stem().string(), "", "123456789012", region,
                             std::move(parameters).value()};
  auto no_attributes = [](const std::string&, const std::string&) -> std::optional<stacks::AttributeValue> {
    return std::nullopt;
  };
  for (const auto& resource : tmpl.resources()) {
    if (resource.type != stacks::kProfileType) {
      out << resource.where.str() << ": note: " << resource.logical_id << " (" << resource.type
          << ") is not an application inference profile; not checked\n";
      continue;
    }
    ++tally.checked;
    auto spec = tmpl.profile(resource.logical_id, inputs, no_attributes);
    if (!spec.ok()) {
      out << spec.error().message() << "\n";
      ++tally.violations;
      continue;
    }
    for (const auto& v : certain_violations(policy, *spec)) {
      auto at = spec->tag_locations.find(v.key);
      const stacks::Location& where = at != spec->tag_locations.end() ? at->second : spec->tags_where;
      out << where.str() << ": " << resource.logical_id << ": " << v.message << "\n";
      ++tally.violations;
    }
  }
}

json::object gateway_json(GatewayClient& client, const std::string& method, const std::string& path,
                          const std::string& query, const std::string& body) {
  auto response = client.send(method, path, query, body);
  if (!response.ok()) throw StartupError(response.error().message());
  if (response->status / 100 != 2) {
    throw StartupError(method + " " + path + " at " + client.endpoint() + ": " + GatewayClient::error_text(*response));
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(response->body, ec);
  if (ec || !parsed.is_object()) throw StartupError("the gateway at " + client.endpoint() + " answered no JSON object");
  return std::move(parsed.get_object());
}

void validate_live(const profiles::TagPolicy& policy, GatewayClient& client, std::ostream& out, Tally& tally) {
  std::string next_token;
  do {
    std::string query = "maxResults=1000&type=APPLICATION";
    if (!next_token.empty()) query += "&nextToken=" + auth::sigv4::uri_encode(next_token, false);
    json::object page = gateway_json(client, "GET", "/inference-profiles", query, "");
    for (const auto& item : array_at(page, "inferenceProfileSummaries")) {
      if (!item.is_object()) continue;
      const std::string arn = string_at(item.get_object(), "inferenceProfileArn");
      json::object tags_answer =
          gateway_json(client, "POST", "/listTagsForResource", "", json::serialize(json::object{{"resourceARN", arn}}));
      std::vector<Tag> tags;
      for (const auto& t : array_at(tags_answer, "tags")) {
        if (t.is_object()) tags.push_back({string_at(t.get_object(), "key"), string_at(t.get_object(), "value")});
      }
      ++tally.checked;
      for (const auto& v : profiles::check_tags(policy, tags)) {
        out << arn << ": " << v.message << "\n";
        ++tally.violations;
      }
    }
    next_token = string_at(page, "nextToken");
  } while (!next_token.empty());
}

}  // namespace

int apply_stack(const ApplyOptions& options, std::ostream& out, std::ostream& err) {
  const std::string body = read_file(options.template_file, "template");
  const std::string stack_name = stack_name_of(options);
  json::object parameters;
  for (const auto& [key, value] : parse_parameters(options.parameters)) parameters[key] = value;
  json::object request{{"TemplateBody", body},
                       {"TemplateFile", options.template_file},
                       {"Parameters", std::move(parameters)},
                       {"DryRun", options.dry_run}};
  GatewayClient client(options.gateway);
  auto response = client.send("POST", "/tollgate/stacks/" + auth::sigv4::uri_encode(stack_name, false), "",
                              json::serialize(request));
  if (!response.ok()) throw StartupError(response.error().message());
  if (response->status / 100 != 2) {
    // The gateway says what was changed, if anything: nothing, unless the apply stopped part-way.
    err << "tollgate apply: " << GatewayClient::error_text(*response) << "\n";
    return 1;
  }
  if (options.format == "json") {
    out << response->body << "\n";
    return 0;
  }
  boost::system::error_code ec;
  json::value result = json::parse(response->body, ec);
  if (ec || !result.is_object()) throw StartupError("the gateway answered no JSON object: " + response->body);
  print_apply_result(result.get_object(), out);
  return 0;
}

int validate_templates(const ValidateOptions& options, std::ostream& out, std::ostream& err) {
  if (options.templates.empty() && !options.live) {
    throw StartupError("nothing to validate: name one or more templates, or --live for a gateway's profiles");
  }
  const profiles::TagPolicy policy = load_tag_policy(options.policy_file);
  const auto given = parse_parameters(options.parameters);
  Tally tally;
  GatewayClient client(options.gateway);
  for (const auto& file : options.templates) validate_template(policy, file, given, client.region(), out, tally);
  if (options.live) validate_live(policy, client, out, tally);
  const std::string checked = std::to_string(tally.checked) + " profile(s) checked against " + options.policy_file;
  if (tally.violations == 0) {
    out << "OK: " << checked << "\n";
    return 0;
  }
  err << tally.violations << " violation(s); " << checked << "\n";
  return 1;
}

}  // namespace tollgate::app
