#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "app/credits_command.h"
#include "core/error.h"
#include "govern/access_policy.h"
#include "ledger/tag_set.h"

namespace tollgate::app {
namespace {

std::string where(const std::string& path, const YAML::Node& node) {
  const auto& mark = node.Mark();
  if (mark.is_null()) return path;
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

template <class T>
T scalar(const std::string& path, const YAML::Node& node, std::string_view what) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw StartupError(where(path, node) + ": '" + std::string(what) + "' must be " +
                       (std::is_same_v<T, std::string> ? "a string"
                        : std::is_same_v<T, bool>      ? "true or false"
                                                       : "a number"));
  }
}

// A value that may be written as "${ENV_VAR}" to keep secrets out of the file.
std::string secret(const std::string& path, const YAML::Node& node, std::string_view what) {
  std::string value = scalar<std::string>(path, node, what);
  if (value.size() > 3 && value.starts_with("${") && value.ends_with("}")) {
    std::string var = value.substr(2, value.size() - 3);
    const char* env = std::getenv(var.c_str());
    if (!env || !*env) {
      throw StartupError(where(path, node) + ": '" + std::string(what) + "' refers to the environment variable " + var +
                         ", which is not set");
    }
    return env;
  }
  return value;
}

void check_account(const std::string& path, const YAML::Node& node, const std::string& account) {
  if (account.size() != 12 ||
      !std::all_of(account.begin(), account.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw StartupError(where(path, node) + ": account_id must be 12 digits (quote it: \"123456789012\")");
  }
}

void check_known_keys(const std::string& path, const YAML::Node& map, std::initializer_list<std::string_view> known) {
  for (const auto& item : map) {
    auto key = item.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throw StartupError(where(path, item.first) + ": unknown setting '" + key + "' (known: " + list + ")");
    }
  }
}

// A caller's name is the user name of its IAM ARN (arn:aws:iam::<account>:user/<name>).
void check_iam_name(const std::string& path, const YAML::Node& node, const std::string& name) {
  const bool valid = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("+=,.@_-").find(c) != std::string_view::npos;
  });
  if (!valid) {
    throw StartupError(where(path, node) + ": name '" + name +
                       "' is not an IAM user name (1 to 64 of letters, digits and + = , . @ _ -); it names the caller "
                       "as arn:aws:iam::<account>:user/<name>");
  }
}

// A YAML node as JSON text: every scalar a string (a policy holds nothing else), null as null.
void append_json(std::string& out, const YAML::Node& node) {
  if (node.IsMap()) {
    out += '{';
    bool first = true;
    for (const auto& item : node) {
      if (!first) out += ',';
      first = false;
      ledger::append_json_string(out, item.first.Scalar());
      out += ':';
      append_json(out, item.second);
    }
    out += '}';
  } else if (node.IsSequence()) {
    out += '[';
    for (size_t i = 0; i < node.size(); ++i) {
      if (i) out += ',';
      append_json(out, node[i]);
    }
    out += ']';
  } else if (node.IsScalar()) {
    ledger::append_json_string(out, node.Scalar());
  } else {
    out += "null";
  }
}

auth::PolicyPtr parse_policy(const std::string& location, const std::string& json) {
  auto policy = govern::AccessPolicy::parse(json);
  if (!policy.ok()) throw StartupError(location + ": " + policy.error().message());
  return std::make_shared<const govern::AccessPolicy>(std::move(policy).value());
}

// `policy:` (an inline mapping in IAM's JSON shape, or JSON text) or `policy_file:` (a JSON file, relative to
// the configuration's directory) of a principal or API key; null when neither is given.
auth::PolicyPtr read_policy(const std::string& path, const YAML::Node& owner) {
  const YAML::Node& inline_policy = owner["policy"];
  const YAML::Node& file_node = owner["policy_file"];
  if (inline_policy && file_node) {
    throw StartupError(where(path, file_node) + ": give either 'policy' or 'policy_file', not both");
  }
  if (inline_policy) {
    std::string json;
    if (inline_policy.IsScalar()) {
      json = inline_policy.Scalar();
    } else {
      append_json(json, inline_policy);
    }
    return parse_policy(where(path, inline_policy) + ": policy", json);
  }
  if (!file_node) return nullptr;
  std::filesystem::path file = scalar<std::string>(path, file_node, "policy_file");
  if (file.is_relative()) file = std::filesystem::path(path).parent_path() / file;
  return load_access_policy(file.string());
}

auth::AccessKeyCredential read_principal(const std::string& path, const YAML::Node& node) {
  if (!node.IsMap()) throw StartupError(where(path, node) + ": each principal must be a mapping");
  check_known_keys(path, node, {"access_key_id", "secret_access_key", "account_id", "name", "policy", "policy_file"});
  for (auto required : {"access_key_id", "secret_access_key", "account_id"}) {
    if (!node[required]) throw StartupError(where(path, node) + ": principal is missing '" + required + "'");
  }
  auth::AccessKeyCredential p;
  p.access_key_id = scalar<std::string>(path, node["access_key_id"], "access_key_id");
  p.secret_access_key = secret(path, node["secret_access_key"], "secret_access_key");
  p.account_id = scalar<std::string>(path, node["account_id"], "account_id");
  check_account(path, node["account_id"], p.account_id);
  p.name = node["name"] ? scalar<std::string>(path, node["name"], "name") : p.access_key_id;
  check_iam_name(path, node["name"] ? node["name"] : node["access_key_id"], p.name);
  p.policy = read_policy(path, node);
  return p;
}

auth::ApiKeyCredential read_api_key(const std::string& path, const YAML::Node& node) {
  if (!node.IsMap()) throw StartupError(where(path, node) + ": each API key must be a mapping");
  check_known_keys(path, node, {"id", "key", "account_id", "name", "policy", "policy_file"});
  for (auto required : {"id", "key", "account_id"}) {
    if (!node[required]) throw StartupError(where(path, node) + ": API key is missing '" + required + "'");
  }
  auth::ApiKeyCredential k;
  k.id = scalar<std::string>(path, node["id"], "id");
  k.key = secret(path, node["key"], "key");
  k.account_id = scalar<std::string>(path, node["account_id"], "account_id");
  check_account(path, node["account_id"], k.account_id);
  k.name = node["name"] ? scalar<std::string>(path, node["name"], "name") : k.id;
  check_iam_name(path, node["name"] ? node["name"] : node["id"], k.name);
  k.policy = read_policy(path, node);
  return k;
}

std::vector<std::string> string_list(const std::string& path, const YAML::Node& node, std::string_view what) {
  if (node.IsScalar()) return {scalar<std::string>(path, node, what)};
  if (!node.IsSequence())
    throw StartupError(where(path, node) + ": '" + std::string(what) + "' must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(scalar<std::string>(path, item, what));
  return out;
}

std::chrono::milliseconds millis(const std::string& path, const YAML::Node& node, std::string_view what) {
  auto value = scalar<int64_t>(path, node, what);
  if (value < 0) throw StartupError(where(path, node) + ": '" + std::string(what) + "' must not be negative");
  return std::chrono::milliseconds(value);
}

ProviderConfig read_provider(const std::string& path, const YAML::Node& node) {
  if (!node.IsMap()) throw StartupError(where(path, node) + ": each provider must be a mapping");
  check_known_keys(path, node,
                   {"name", "type", "models", "regions", "base_url", "api_key", "model", "endpoint", "access_key_id",
                    "secret_access_key", "session_token", "verify_tls", "timeout_ms"});
  if (!node["type"]) throw StartupError(where(path, node) + ": provider is missing 'type' (openai or bedrock)");
  ProviderConfig p;
  p.type = scalar<std::string>(path, node["type"], "type");
  p.name = node["name"] ? scalar<std::string>(path, node["name"], "name") : p.type;
  if (p.type != "openai" && p.type != "bedrock" && p.type != "simulator") {
    throw StartupError(where(path, node["type"]) + ": unknown provider type '" + p.type +
                       "' (use openai, bedrock or simulator)");
  }
  if (node["models"]) p.models = string_list(path, node["models"], "models");
  if (node["regions"]) p.regions = string_list(path, node["regions"], "regions");
  if (node["base_url"]) p.base_url = scalar<std::string>(path, node["base_url"], "base_url");
  if (node["api_key"]) p.api_key = secret(path, node["api_key"], "api_key");
  if (node["model"]) p.upstream_model = scalar<std::string>(path, node["model"], "model");
  if (node["endpoint"]) p.endpoint = scalar<std::string>(path, node["endpoint"], "endpoint");
  if (node["access_key_id"]) p.access_key_id = secret(path, node["access_key_id"], "access_key_id");
  if (node["secret_access_key"]) p.secret_access_key = secret(path, node["secret_access_key"], "secret_access_key");
  if (node["session_token"]) p.session_token = secret(path, node["session_token"], "session_token");
  if (node["verify_tls"]) p.verify_tls = scalar<bool>(path, node["verify_tls"], "verify_tls");
  if (node["timeout_ms"]) p.timeout = millis(path, node["timeout_ms"], "timeout_ms");
  if (p.type == "openai" && p.base_url.empty()) {
    throw StartupError(where(path, node) + ": an openai provider needs 'base_url', e.g. http://127.0.0.1:8000/v1");
  }
  return p;
}

PriceConfig read_price(const std::string& path, const YAML::Node& node) {
  if (!node.IsMap()) throw StartupError(where(path, node) + ": each price must be a mapping");
  check_known_keys(path, node, {"model", "region", "geography", "input", "output", "cache_read", "cache_write"});
  if (!node["model"]) throw StartupError(where(path, node) + ": price is missing 'model'");
  PriceConfig p;
  p.location = where(path, node);
  p.model = scalar<std::string>(path, node["model"], "model");
  if (node["region"]) p.region = scalar<std::string>(path, node["region"], "region");
  if (node["geography"]) p.geography = scalar<std::string>(path, node["geography"], "geography");
  for (auto [key, field] : {std::pair{"input", &p.input}, std::pair{"output", &p.output},
                            std::pair{"cache_read", &p.cache_read}, std::pair{"cache_write", &p.cache_write}}) {
    if (node[key]) *field = scalar<std::string>(path, node[key], key);
  }
  if (!p.input && !p.output && !p.cache_read && !p.cache_write) {
    throw StartupError(where(path, node) + ": price for " + p.model +
                       " sets none of input, output, cache_read, cache_write (USD per million tokens, e.g. \"0.25\")");
  }
  return p;
}

}  // namespace

bool Config::only_default_principal() const {
  return api_keys.empty() && principals.size() == 1 && principals[0].access_key_id == kDefaultAccessKey &&
         principals[0].secret_access_key == kDefaultSecretKey;
}

Config default_config() {
  Config c;
  c.principals.push_back({kDefaultAccessKey, kDefaultSecretKey, kDefaultAccountId, "local"});
  return c;
}

void apply_listen(Config& config, const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    throw StartupError("listen address '" + listen + "' must be ADDR:PORT, e.g. 127.0.0.1:8420");
  }
  std::string address = listen.substr(0, colon);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  std::string port_text = listen.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) {
    throw StartupError("listen port '" + port_text + "' must be a number from 0 to 65535 (0 picks a free port)");
  }
  config.listen_address = address;
  config.listen_port = static_cast<uint16_t>(port);
}

YAML::Node load_yaml(const std::string& path, std::string_view what) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw StartupError("cannot read the " + std::string(what) + " " + path);
  } catch (const YAML::ParserException& e) {
    throw StartupError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                       ": invalid YAML: " + e.msg);
  }
}

profiles::TagPolicy load_tag_policy(const std::string& path) {
  YAML::Node root = load_yaml(path, "tag policy file");  // JSON is YAML too
  if (!root.IsMap()) throw StartupError(path + ": a tag policy is a mapping, e.g. {\"requiredTags\": [\"team\"]}");
  check_known_keys(path, root,
                   {"requiredTags", "allowedValues", "allowedEnvironments", "patterns", "namingRule",
                    "namingRuleAppliesTo", "description", "version"});
  profiles::TagPolicy policy;
  policy.source = std::filesystem::path(path).filename().string();
  if (root["requiredTags"]) policy.required = string_list(path, root["requiredTags"], "requiredTags");
  auto key_map = [&](const char* field) {
    const YAML::Node& node = root[field];
    if (node && !node.IsMap()) throw StartupError(where(path, node) + ": '" + field + "' maps tag keys to values");
    return node;
  };
  if (const auto& allowed = key_map("allowedValues")) {
    for (const auto& entry : allowed) {
      policy.allowed_values[entry.first.as<std::string>()] = string_list(path, entry.second, "allowedValues");
    }
  }
  if (root["allowedEnvironments"]) {
    policy.allowed_values["environment"] = string_list(path, root["allowedEnvironments"], "allowedEnvironments");
  }
  if (const auto& patterns = key_map("patterns")) {
    for (const auto& entry : patterns) {
      std::string text = scalar<std::string>(path, entry.second, "patterns");
      try {
        policy.patterns[entry.first.as<std::string>()] = {text, std::regex(text, std::regex::ECMAScript)};
      } catch (const std::regex_error& e) {
        throw StartupError(where(path, entry.second) + ": the pattern '" + text +
                           "' is not a valid regular expression (" + e.what() + ")");
      }
    }
  }
  if (root["namingRule"]) {
    std::string rule = scalar<std::string>(path, root["namingRule"], "namingRule");
    auto parsed = profiles::parse_naming_rule(rule);
    if (!parsed) {
      throw StartupError(where(path, root["namingRule"]) + ": unknown namingRule '" + rule +
                         "' (use lowercase-with-hyphens, lowercase-with-underscores or lowercase)");
    }
    policy.naming = *parsed;
  }
  if (root["namingRuleAppliesTo"]) {
    policy.naming_for_keys = policy.naming_for_values = false;
    for (const auto& target : string_list(path, root["namingRuleAppliesTo"], "namingRuleAppliesTo")) {
      if (target == "keys") {
        policy.naming_for_keys = true;
      } else if (target == "values") {
        policy.naming_for_values = true;
      } else {
        throw StartupError(where(path, root["namingRuleAppliesTo"]) + ": namingRuleAppliesTo lists keys and/or values");
      }
    }
  }
  return policy;
}

std::string read_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StartupError("cannot read the " + std::string(what) + " " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

auth::PolicyPtr load_access_policy(const std::string& path) {
  return parse_policy(path, read_file(path, "access policy file"));
}

Config load_config(const std::string& path) {
  YAML::Node root = load_yaml(path, "configuration file");
  Config c = default_config();
  if (root.IsNull()) return c;
  if (!root.IsMap()) throw StartupError(path + ": the configuration must be a YAML mapping");
  check_known_keys(path, root,
                   {"listen",
                    "data_dir",
                    "default_region",
                    "principals",
                    "api_keys",
                    "io_threads",
                    "max_header_bytes",
                    "control_plane_body_bytes",
                    "runtime_body_bytes",
                    "idle_timeout_ms",
                    "body_timeout_ms",
                    "tag_policy",
                    "governance",
                    "shutdown_grace_ms",
                    "log_level",
                    "ledger",
                    "providers",
                    "simulator",
                    "prices",
                    "cost_explorer",
                    "exports",
                    "budgets",
                    "credits"});
  if (root["listen"]) apply_listen(c, scalar<std::string>(path, root["listen"], "listen"));
  if (root["data_dir"]) c.data_dir = scalar<std::string>(path, root["data_dir"], "data_dir");
  if (root["default_region"]) c.default_region = scalar<std::string>(path, root["default_region"], "default_region");
  if (root["principals"]) {
    if (!root["principals"].IsSequence())
      throw StartupError(where(path, root["principals"]) + ": principals must be a list");
    c.principals.clear();
    for (const auto& node : root["principals"]) c.principals.push_back(read_principal(path, node));
  }
  if (root["api_keys"]) {
    if (!root["api_keys"].IsSequence()) throw StartupError(where(path, root["api_keys"]) + ": api_keys must be a list");
    for (const auto& node : root["api_keys"]) c.api_keys.push_back(read_api_key(path, node));
  }
  if (root["io_threads"]) c.io_threads = scalar<size_t>(path, root["io_threads"], "io_threads");
  if (root["max_header_bytes"]) c.max_header_bytes = scalar<size_t>(path, root["max_header_bytes"], "max_header_bytes");
  if (root["control_plane_body_bytes"]) {
    c.control_plane_body_bytes = scalar<size_t>(path, root["control_plane_body_bytes"], "control_plane_body_bytes");
  }
  if (root["idle_timeout_ms"])
    c.idle_timeout = std::chrono::milliseconds(scalar<int64_t>(path, root["idle_timeout_ms"], "idle_timeout_ms"));
  if (root["body_timeout_ms"])
    c.body_timeout = std::chrono::milliseconds(scalar<int64_t>(path, root["body_timeout_ms"], "body_timeout_ms"));
  if (root["shutdown_grace_ms"]) {
    c.shutdown_grace = std::chrono::milliseconds(scalar<int64_t>(path, root["shutdown_grace_ms"], "shutdown_grace_ms"));
  }
  if (root["log_level"]) c.log_level = scalar<std::string>(path, root["log_level"], "log_level");
  if (root["runtime_body_bytes"])
    c.runtime_body_bytes = scalar<size_t>(path, root["runtime_body_bytes"], "runtime_body_bytes");
  if (const auto& ledger = root["ledger"]) {
    if (!ledger.IsMap()) throw StartupError(where(path, ledger) + ": 'ledger' must be a mapping");
    check_known_keys(path, ledger, {"fsync"});
    if (ledger["fsync"]) c.ledger_fsync = scalar<bool>(path, ledger["fsync"], "fsync");
  }
  if (const auto& ce = root["cost_explorer"]) {
    if (!ce.IsMap()) throw StartupError(where(path, ce) + ": 'cost_explorer' must be a mapping");
    check_known_keys(path, ce, {"page_size"});
    if (ce["page_size"]) {
      c.cost_explorer_page_size = scalar<size_t>(path, ce["page_size"], "page_size");
      if (c.cost_explorer_page_size == 0)
        throw StartupError(where(path, ce["page_size"]) + ": page_size must be at least 1");
    }
  }
  if (const auto& budgets = root["budgets"]) {
    if (!budgets.IsMap()) throw StartupError(where(path, budgets) + ": 'budgets' must be a mapping");
    check_known_keys(path, budgets, {"evaluate_ms", "notification_log", "delivery_log", "file_directory", "webhook"});
    if (budgets["evaluate_ms"]) {
      int64_t ms = scalar<int64_t>(path, budgets["evaluate_ms"], "evaluate_ms");
      if (ms < 100) throw StartupError(where(path, budgets["evaluate_ms"]) + ": evaluate_ms must be >= 100");
      c.budgets.evaluate_interval = std::chrono::milliseconds(ms);
    }
    if (budgets["notification_log"]) {
      c.budgets.notification_log = scalar<std::string>(path, budgets["notification_log"], "notification_log");
    }
    if (budgets["file_directory"]) {
      c.budgets.file_directory = scalar<std::string>(path, budgets["file_directory"], "file_directory");
    }
    if (budgets["delivery_log"]) {
      c.budgets.delivery_log = scalar<std::string>(path, budgets["delivery_log"], "delivery_log");
    }
    if (const auto& webhook = budgets["webhook"]) {
      if (!webhook.IsMap()) throw StartupError(where(path, webhook) + ": 'budgets.webhook' must be a mapping");
      check_known_keys(path, webhook, {"attempts", "backoff_ms", "timeout_ms", "secret"});
      auto milliseconds = [&](const char* key, int64_t min) {
        int64_t ms = scalar<int64_t>(path, webhook[key], key);
        if (ms < min) throw StartupError(where(path, webhook[key]) + ": " + key + " must be >= " + std::to_string(min));
        return std::chrono::milliseconds(ms);
      };
      if (webhook["attempts"]) {
        int64_t n = scalar<int64_t>(path, webhook["attempts"], "attempts");
        if (n < 1 || n > 20) throw StartupError(where(path, webhook["attempts"]) + ": attempts must be 1 to 20");
        c.budgets.webhook_attempts = static_cast<int>(n);
      }
      if (webhook["backoff_ms"]) c.budgets.webhook_backoff = milliseconds("backoff_ms", 10);
      if (webhook["timeout_ms"]) c.budgets.webhook_timeout = milliseconds("timeout_ms", 100);
      if (webhook["secret"]) c.budgets.webhook_secret = scalar<std::string>(path, webhook["secret"], "secret");
    }
  }
  if (const auto& governance = root["governance"]) {
    if (!governance.IsMap()) throw StartupError(where(path, governance) + ": 'governance' must be a mapping");
    check_known_keys(path, governance, {"require_application_profiles"});
    if (governance["require_application_profiles"]) {
      c.governance.require_application_profiles =
          scalar<bool>(path, governance["require_application_profiles"], "require_application_profiles");
    }
  }
  if (root["tag_policy"]) {
    std::filesystem::path file = scalar<std::string>(path, root["tag_policy"], "tag_policy");
    if (file.is_relative()) file = std::filesystem::path(path).parent_path() / file;
    c.tag_policy = std::make_shared<const profiles::TagPolicy>(load_tag_policy(file.string()));
  }
  if (const auto& credits = root["credits"]) {
    if (!credits.IsSequence()) throw StartupError(where(path, credits) + ": 'credits' must be a list of grants");
    for (const auto& node : credits) {
      if (!node.IsMap()) throw StartupError(where(path, node) + ": each credit must be a mapping");
      check_known_keys(path, node, {"id", "account", "amount", "start", "expiry", "services", "description"});
      for (const char* key : {"id", "account", "amount", "start", "expiry"}) {
        if (!node[key]) throw StartupError(where(path, node) + ": a credit needs " + key);
      }
      CreditText text{scalar<std::string>(path, node["id"], "id"),
                      scalar<std::string>(path, node["account"], "account"),
                      scalar<std::string>(path, node["amount"], "amount"),
                      scalar<std::string>(path, node["start"], "start"),
                      scalar<std::string>(path, node["expiry"], "expiry"),
                      node["services"] ? string_list(path, node["services"], "services") : std::vector<std::string>{},
                      node["description"] ? scalar<std::string>(path, node["description"], "description") : ""};
      // A configured grant is as old as its start: restarts do not reorder it among the others.
      const std::string location = where(path, node);
      costs::CreditGrant grant = parse_credit(text, TimePoint{}, location);
      grant.granted_at = grant.start;
      for (const auto& other : c.credits) {
        if (other.id == grant.id) throw StartupError(location + ": the credit id " + grant.id + " is listed twice");
      }
      c.credits.push_back(std::move(grant));
    }
  }
  if (const auto& exports = root["exports"]) {
    if (!exports.IsMap()) throw StartupError(where(path, exports) + ": 'exports' must be a mapping");
    check_known_keys(path, exports, {"directory", "formats", "interval_minutes"});
    if (!exports["directory"]) throw StartupError(where(path, exports) + ": 'exports' needs a directory");
    c.exports.directory = scalar<std::string>(path, exports["directory"], "directory");
    if (const auto& formats = exports["formats"]) {
      if (!formats.IsSequence() || formats.size() == 0) {
        throw StartupError(where(path, formats) + ": formats must be a list of cur and/or focus");
      }
      c.exports.formats.clear();
      for (const auto& f : formats) {
        std::string format = scalar<std::string>(path, f, "formats");
        if (format != "cur" && format != "focus") {
          throw StartupError(where(path, f) + ": unknown export format '" + format + "' (use cur or focus)");
        }
        c.exports.formats.push_back(format);
      }
    }
    if (exports["interval_minutes"]) {
      int64_t minutes = scalar<int64_t>(path, exports["interval_minutes"], "interval_minutes");
      if (minutes < 1) throw StartupError(where(path, exports["interval_minutes"]) + ": interval_minutes must be >= 1");
      c.exports.interval = std::chrono::minutes(minutes);
    }
  }
  if (const auto& providers = root["providers"]) {
    if (!providers.IsSequence()) throw StartupError(where(path, providers) + ": providers must be a list");
    for (const auto& node : providers) c.providers.push_back(read_provider(path, node));
  }
  if (const auto& sim = root["simulator"]) {
    if (!sim.IsMap()) throw StartupError(where(path, sim) + ": 'simulator' must be a mapping");
    check_known_keys(path, sim, {"latency_ms", "time_to_first_token_ms", "tokens_per_second"});
    if (sim["latency_ms"]) c.simulator.latency = millis(path, sim["latency_ms"], "latency_ms");
    if (sim["time_to_first_token_ms"]) {
      c.simulator.time_to_first_token = millis(path, sim["time_to_first_token_ms"], "time_to_first_token_ms");
    }
    if (sim["tokens_per_second"])
      c.simulator.tokens_per_second = scalar<double>(path, sim["tokens_per_second"], "tokens_per_second");
  }
  if (const auto& prices = root["prices"]) {
    if (!prices.IsSequence()) throw StartupError(where(path, prices) + ": prices must be a list");
    for (const auto& node : prices) c.prices.push_back(read_price(path, node));
  }
  if (c.principals.empty() && c.api_keys.empty()) {
    throw StartupError(path + ": no principals and no API keys: nobody could call tollgate");
  }
  return c;
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.starts_with("127.");
}

void check_config(const Config& config) {
  if (!is_loopback(config.listen_address) && config.only_default_principal()) {
    throw StartupError("refusing to listen on " + config.listen_address +
                       ": the only credential is the well-known default principal (test/test). Configure your own "
                       "principals or API keys with --config, or listen on 127.0.0.1.");
  }
}

}  // namespace tollgate::app
