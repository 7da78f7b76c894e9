// Builds the providers the configuration names, and the registry that picks
// one per (model, region): configured rules in order, the simulator last.
// Also the price book: embedded prices plus the configuration's overrides.
#pragma once

#include <memory>

#include "app/config.h"
#include "core/clock.h"
#include "catalog/catalog.h"
#include "http/client.h"
#include "meter/price_book.h"
#include "provider/registry.h"

namespace tollgate::app {

class Providers {
 public:
  // Throws StartupError for a provider that cannot be set up.
  Providers(const Config& config, const catalog::Catalog& catalog, const Clock& clock);
  const provider::ProviderRegistry& registry() const { return registry_; }

 private:
  std::shared_ptr<provider::Provider> make(const ProviderConfig& p, const Config& config,
                                           const catalog::Catalog& catalog, const Clock& clock);
  http::HttpClient& client_for(bool verify_tls);

  http::HttpClient verifying_client_;
  std::unique_ptr<http::HttpClient> unverified_client_;  // only for providers configured with verify_tls: false
  provider::ProviderRegistry registry_;
};

// The embedded price book with the configuration's prices applied; logs the
// catalog models that have no price (their usage is recorded as a flagged zero).
// Throws StartupError for a malformed price.
meter::PriceBook price_book(const Config& config, const catalog::Catalog& catalog);

}  // namespace tollgate::app
