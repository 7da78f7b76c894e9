#include "govern/access_policy.h"

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>

namespace tollgate::govern {
namespace {

namespace json = boost::json;

Error invalid(std::string message) { return Error(ErrorCode::Validation, "The access policy is invalid: " + message); }

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Iterative glob match: on a mismatch, retry from the latest '*' one character further on. O(n·m) at worst,
// no recursion, so a hostile pattern cannot exhaust the stack.
bool glob(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto same = [ignore_case](char p, char t) { return p == t || (ignore_case && lower(p) == lower(t)); };
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && same(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool any_matches(const std::vector<std::string>& patterns, std::string_view value, bool ignore_case) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& pattern) { return glob(pattern, value, ignore_case); });
}

// The resource part of an ARN: what follows its fifth ':'; npos when there are fewer.
size_t resource_part(std::string_view arn) {
  size_t at = 0;
  for (int colons = 0; colons < 5; ++colons) {
    at = arn.find(':', at);
    if (at == std::string_view::npos) return at;
    ++at;
  }
  return at;
}

// Whether `pattern` literally names the resource type of `arn` ("foundation-model/…" after the fifth ':').
bool names_type_of(std::string_view pattern, std::string_view arn) {
  size_t arn_at = resource_part(arn), pattern_at = resource_part(pattern);
  if (arn_at == std::string_view::npos || pattern_at == std::string_view::npos) return false;
  size_t slash = arn.find('/', arn_at);
  if (slash == std::string_view::npos) return false;
  std::string_view type = arn.substr(arn_at, slash - arn_at + 1);  // "foundation-model/"
  return pattern.substr(pattern_at).starts_with(type);
}

// Line and column (1-based) of byte `offset` of `text`.
std::string position_of(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
  size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  size_t column = offset - (line_start == std::string_view::npos || offset == 0 ? 0 : line_start + 1) + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

Result<json::value> parse_json(std::string_view text) {
  json::stream_parser parser;
  boost::system::error_code ec;
  size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) ec = json::error::extra_data;
  if (!ec) parser.finish(ec);
  if (ec) return invalid("malformed JSON at " + position_of(text, consumed) + " (" + ec.message() + ").");
  return parser.release();
}

// A string or a non-empty list of strings; each must satisfy `check` (which returns an error text or "").
template <class Check>
Result<std::vector<std::string>> string_or_list(const json::value& value, const std::string& where, Check check) {
  std::vector<std::string> out;
  auto take = [&](const json::value& item, const std::string& at) -> Status {
    if (!item.is_string()) return invalid(at + " must be a string.");
    std::string text(item.get_string());
    if (std::string problem = check(text); !problem.empty()) return invalid(at + " " + problem);
    out.push_back(std::move(text));
    return {};
  };
  if (value.is_array()) {
    const auto& items = value.get_array();
    if (items.empty()) return invalid(where + " must not be an empty list.");
    for (size_t i = 0; i < items.size(); ++i) TOLLGATE_TRY(take(items[i], where + "[" + std::to_string(i) + "]"));
    return out;
  }
  TOLLGATE_TRY(take(value, where));
  return out;
}

std::string check_action(const std::string& action) {
  if (action == "*") return "";
  size_t colon = action.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == action.size()) {
    return "'" + action + "' is not an action: write <service>:<Operation>, e.g. bedrock:InvokeModel, or \"*\".";
  }
  return "";
}

std::string check_resource(const std::string& resource) {
  if (resource == "*" || resource.starts_with("arn:")) return "";
  return "'" + resource +
         "' is not a resource: write an ARN (wildcards allowed), e.g. "
         "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/*, or \"*\".";
}

// Exactly one of `name` / `not_name` in `statement`.
Result<const json::value*> one_of(const json::object& statement, const std::string& where, std::string_view name,
                                  std::string_view not_name, bool& negated) {
  const json::value* plain = statement.if_contains(name);
  const json::value* negative = statement.if_contains(not_name);
  if (plain && negative) {
    return invalid(where + " has both " + std::string(name) + " and " + std::string(not_name) + "; keep one.");
  }
  if (!plain && !negative)
    return invalid(where + " needs " + std::string(name) + " (or " + std::string(not_name) + ").");
  negated = negative != nullptr;
  return plain ? plain : negative;
}

Result<PolicyStatement> parse_statement(const json::value& value, const std::string& where) {
  if (!value.is_object()) return invalid(where + " must be an object with Effect, Action and Resource.");
  const json::object& object = value.get_object();
  for (const auto& member : object) {
    std::string_view key = member.key();
    if (key == "Condition" || key == "Principal" || key == "NotPrincipal") {
      return invalid(where + "." + std::string(key) +
                     " is not supported: tollgate evaluates identity-based policies "
                     "without conditions; remove it.");
    }
    static constexpr std::string_view kKnown[] = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return invalid(where + " has an unknown element '" + std::string(key) +
                     "' (known: Sid, Effect, Action, NotAction, Resource, NotResource).");
    }
  }
  PolicyStatement statement;
  if (const auto* sid = object.if_contains("Sid")) {
    if (!sid->is_string()) return invalid(where + ".Sid must be a string.");
    statement.sid = std::string(sid->get_string());
  }
  const json::value* effect = object.if_contains("Effect");
  if (!effect) return invalid(where + " needs an Effect: \"Allow\" or \"Deny\".");
  if (!effect->is_string() || (effect->get_string() != "Allow" && effect->get_string() != "Deny")) {
    return invalid(where + ".Effect must be \"Allow\" or \"Deny\".");
  }
  statement.effect = effect->get_string() == "Allow" ? Effect::Allow : Effect::Deny;

  auto action = one_of(object, where, "Action", "NotAction", statement.not_action);
  TOLLGATE_TRY(action);
  auto actions = string_or_list(**action, where + (statement.not_action ? ".NotAction" : ".Action"), check_action);
  TOLLGATE_TRY(actions);
  statement.actions = std::move(*actions);

  auto resource = one_of(object, where, "Resource", "NotResource", statement.not_resource);
  TOLLGATE_TRY(resource);
  auto resources =
      string_or_list(**resource, where + (statement.not_resource ? ".NotResource" : ".Resource"), check_resource);
  TOLLGATE_TRY(resources);
  statement.resources = std::move(*resources);
  return statement;
}

Status check_document_members(const json::object& document) {
  for (const auto& member : document) {
    std::string_view key = member.key();
    if (key != "Version" && key != "Id" && key != "Statement") {
      return invalid("unknown element '" + std::string(key) + "' (a policy has Version, Id and Statement).");
    }
  }
  if (const auto* version = document.if_contains("Version")) {
    if (!version->is_string() || (version->get_string() != "2012-10-17" && version->get_string() != "2008-10-17")) {
      return invalid("Version must be \"2012-10-17\".");
    }
  }
  if (const auto* id = document.if_contains("Id"); id && !id->is_string()) return invalid("Id must be a string.");
  return {};
}

}  // namespace

bool action_matches(std::string_view pattern, std::string_view action) { return glob(pattern, action, true); }

bool resource_matches(std::string_view pattern, std::string_view resource) { return glob(pattern, resource, false); }

bool PolicyStatement::applies_to(std::string_view action, std::string_view resource) const {
  return any_matches(actions, action, true) != not_action && any_matches(resources, resource, false) != not_resource;
}

Result<AccessPolicy> AccessPolicy::parse(std::string_view text) {
  auto document = parse_json(text);
  TOLLGATE_TRY(document);
  if (!document->is_object())
    return invalid("a policy is a JSON object: {\"Version\": \"2012-10-17\", \"Statement\": [...]}.");
  const json::object& root = document->get_object();
  TOLLGATE_TRY(check_document_members(root));
  const json::value* statements = root.if_contains("Statement");
  if (!statements) return invalid("it has no Statement.");
  std::vector<PolicyStatement> parsed;
  if (statements->is_array()) {
    const auto& list = statements->get_array();
    for (size_t i = 0; i < list.size(); ++i) {
      auto statement = parse_statement(list[i], "Statement[" + std::to_string(i) + "]");
      TOLLGATE_TRY(statement);
      parsed.push_back(std::move(*statement));
    }
  } else {
    auto statement = parse_statement(*statements, "Statement");
    TOLLGATE_TRY(statement);
    parsed.push_back(std::move(*statement));
  }
  return AccessPolicy(std::move(parsed));
}

Decision AccessPolicy::evaluate(std::string_view action, std::string_view resource) const {
  bool allowed = false;
  for (const auto& statement : statements_) {
    if (!statement.applies_to(action, resource)) continue;
    if (statement.effect == Effect::Deny) return Decision::ExplicitDeny;
    allowed = true;
  }
  return allowed ? Decision::Allow : Decision::ImplicitDeny;
}

bool AccessPolicy::allows_explicitly(std::string_view action, std::string_view resource) const {
  if (evaluate(action, resource) != Decision::Allow) return false;
  return std::any_of(statements_.begin(), statements_.end(), [&](const PolicyStatement& s) {
    if (s.effect != Effect::Allow || s.not_action || s.not_resource || !any_matches(s.actions, action, true)) {
      return false;
    }
    return std::any_of(s.resources.begin(), s.resources.end(), [&](const std::string& pattern) {
      return resource_matches(pattern, resource) && names_type_of(pattern, resource);
    });
  });
}

}  // namespace tollgate::govern
