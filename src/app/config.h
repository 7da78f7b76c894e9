// tollgate's configuration: the YAML file given with --config, over embedded
// defaults, with command-line overrides applied by main. Loaded once at start-up;
// every mistake is a StartupError naming the file, line and what to write instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/principal.h"

namespace tollgate::app {

inline constexpr uint16_t kDefaultPort = 8420;
inline constexpr char kDefaultAddress[] = "127.0.0.1";
inline constexpr char kDefaultDataDir[] = "tollgate-data";
inline constexpr char kDefaultAccessKey[] = "test";
inline constexpr char kDefaultSecretKey[] = "test";
inline constexpr char kDefaultAccountId[] = "123456789012";

struct Config {
  std::string listen_address = kDefaultAddress;
  uint16_t listen_port = kDefaultPort;
  std::string data_dir = kDefaultDataDir;
  std::string default_region = "us-east-1";  // the region of calls made with Bedrock API keys
  std::vector<auth::AccessKeyCredential> principals;  // empty in the file → the embedded default
  std::vector<auth::ApiKeyCredential> api_keys;
  size_t io_threads = 0;  // 0 = one per core
  size_t max_header_bytes = 16 * 1024;
  size_t control_plane_body_bytes = 1024 * 1024;
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

// Parses "ADDR:PORT" (IPv6 as "[::1]:8420") into the config.
void apply_listen(Config& config, const std::string& listen);

// Refuses settings that are unsafe together, e.g. a non-loopback address while
// only the well-known default principal can authenticate.
void check_config(const Config& config);

bool is_loopback(const std::string& address);

}  // namespace tollgate::app
