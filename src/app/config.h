// tollgate's configuration: the YAML file given with --config, over embedded
// defaults, with command-line overrides applied by main. Loaded once at start-up;
// every mistake is a StartupError naming the file, line and what to write instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/principal.h"
#include "costs/credits.h"
#include "profiles/tag_policy.h"

namespace tollgate::app {

inline constexpr uint16_t kDefaultPort = 8420;
inline constexpr char kDefaultAddress[] = "127.0.0.1";
inline constexpr char kDefaultDataDir[] = "tollgate-data";
inline constexpr char kDefaultAccessKey[] = "test";
inline constexpr char kDefaultSecretKey[] = "test";
inline constexpr char kDefaultAccountId[] = "123456789012";

// An upstream that serves some models: an OpenAI-compatible server or real
// Bedrock (see doc/configuration.md). The simulator serves everything else.
struct ProviderConfig {
  std::string name;
  std::string type;                          // "openai" | "bedrock" | "simulator"
  std::vector<std::string> models = {"*"};   // Bedrock model ids it serves ("*", "prefix*", exact)
  std::vector<std::string> regions = {"*"};  // regions it serves
  // openai
  std::string base_url;        // e.g. http://127.0.0.1:8000/v1
  std::string api_key;         // may be empty
  std::string upstream_model;  // model name upstream; empty = the Bedrock model id
  // bedrock
  std::string endpoint;                                         // empty = https://bedrock-runtime.REGION.amazonaws.com
  std::string access_key_id, secret_access_key, session_token;  // empty = the standard AWS environment variables
  bool verify_tls = true;
  std::chrono::milliseconds timeout{120'000};
};

struct SimulatorConfig {
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds time_to_first_token{0};
  double tokens_per_second = 0;
};

// A price from the configuration: decimal USD per million tokens, overriding or
// extending the embedded price book.
struct PriceConfig {
  std::string model;
  std::string region;     // empty = any
  std::string geography;  // empty = any
  std::optional<std::string> input, output, cache_read, cache_write;
  std::string location;  // FILE:LINE:COLUMN of the item, for errors
};

// Scheduled exports (doc/costs.md, "Exports"): off while `directory` is empty.
struct ExportsConfig {
  std::string directory;
  std::vector<std::string> formats = {"cur", "focus"};  // cur | focus
  std::chrono::minutes interval{60};
};

// Budget notifications (doc/budgets.md): evaluated every `evaluate_interval`, appended to `notification_log`
// (empty: <data_dir>/budget-notifications.log), delivered to webhooks as `webhook` says, every attempt logged
// in `delivery_log` (empty: <data_dir>/budget-deliveries.log).
struct BudgetsConfig {
  std::chrono::milliseconds evaluate_interval{60'000};
  std::string notification_log;
  std::string delivery_log;
  std::string file_directory;  // where file:// subscribers may write; empty: <data_dir>/budget-alerts
  int webhook_attempts = 5;
  std::chrono::milliseconds webhook_backoff{1000};
  std::chrono::milliseconds webhook_timeout{10000};
  std::string webhook_secret;
};

// `governance:` (doc/governance.md).
struct GovernanceConfig {
  // Runtime calls must name an application inference profile: a bare model or a system-defined profile is
  // refused (AccessDeniedException naming the profiles the caller may use) unless the caller's policy
  // allows that resource explicitly.
  bool require_application_profiles = false;
};

struct Config {
  std::string listen_address = kDefaultAddress;
  uint16_t listen_port = kDefaultPort;
  std::string data_dir = kDefaultDataDir;
  std::string default_region = "us-east-1";           // the region of calls made with Bedrock API keys
  std::vector<auth::AccessKeyCredential> principals;  // empty in the file → the embedded default
  std::vector<auth::ApiKeyCredential> api_keys;
  size_t io_threads = 0;  // 0 = one per core less one (at least one)
  size_t max_header_bytes = 16 * 1024;
  size_t control_plane_body_bytes = 1024 * 1024;
  size_t runtime_body_bytes = 25 * 1024 * 1024;
  size_t cost_explorer_page_size = 500;  // groups per GetCostAndUsage page
  ExportsConfig exports;
  BudgetsConfig budgets;
  std::vector<costs::CreditGrant> credits;  // `credits:` (doc/costs.md, "Credits"), upserted at start-up
  // `tag_policy:` (a file, relative to the configuration's; doc/governance.md): what profiles' tags must follow.
  std::shared_ptr<const profiles::TagPolicy> tag_policy;
  GovernanceConfig governance;  // `governance:` (doc/governance.md)
  bool ledger_fsync = false;    // fsync every group commit (power-loss safe) instead of WAL's crash safety
  std::vector<ProviderConfig> providers;
  SimulatorConfig simulator;
  std::vector<PriceConfig> prices;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds body_timeout{120'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  std::string log_level = "info";

  // True when the only credential is the embedded default principal (test/test).
  bool only_default_principal() const;
};

// The embedded defaults: one local principal, access key test / secret test,
// account 123456789012, listening on 127.0.0.1:8420.
Config default_config();

// Reads a YAML file over the defaults (see doc/configuration.md for the format).
Config load_config(const std::string& path);

// Reads a tag policy file, JSON or YAML (doc/governance.md); throws StartupError naming file:line:column.
profiles::TagPolicy load_tag_policy(const std::string& path);

// Reads an access policy file (IAM JSON; doc/governance.md); throws StartupError naming the file and the
// element (or line and column) at fault.
auth::PolicyPtr load_access_policy(const std::string& path);

// The whole of a file; StartupError "cannot read the <what> <path>: <reason>" when it cannot be read.
std::string read_file(const std::string& path, std::string_view what);

// Parses "ADDR:PORT" (IPv6 as "[::1]:8420") into the config.
void apply_listen(Config& config, const std::string& listen);

// Refuses settings that are unsafe together, e.g. a non-loopback address while
// only the well-known default principal can authenticate.
void check_config(const Config& config);

bool is_loopback(const std::string& address);

}  // namespace tollgate::app
