#include "app/providers.h"

#include <spdlog/spdlog.h>

#include <set>
#include <tuple>

#include "provider/bedrock/bedrock.h"
#include "provider/openai/openai_provider.h"
#include "provider/simulator/simulator.h"

namespace tollgate::app {
http::HttpClient& Providers::client_for(bool verify_tls) {
  if (verify_tls) return verifying_client_;
  if (!unverified_client_) {
    http::ClientOptions options;
    options.verify_tls = false;
    unverified_client_ = std::make_unique<http::HttpClient>(options);
  }
  return *unverified_client_;
}

std::shared_ptr<provider::Provider> Providers::make(const ProviderConfig& p, const Config& config,
                                                    const catalog::Catalog& catalog, const Clock& clock) {
  if (p.type == "openai") {
    return provider::openai::make_openai({p.base_url, p.api_key, p.upstream_model, p.timeout}, client_for(p.verify_tls));
  }
  if (p.type == "bedrock") {
    provider::bedrock::BedrockOptions options;
    options.endpoint = p.endpoint;
    options.access_key_id = p.access_key_id;
    options.secret_access_key = p.secret_access_key;
    options.session_token = p.session_token;
    options.timeout = p.timeout;
    try {
      return provider::bedrock::make_bedrock(options, client_for(p.verify_tls), clock);
    } catch (const StartupError& e) {
      throw StartupError("provider '" + p.name + "': " + e.what());
    }
  }
  return provider::simulator::make_simulator(
      {config.simulator.latency, config.simulator.time_to_first_token, config.simulator.tokens_per_second}, catalog);
}

Providers::Providers(const Config& config, const catalog::Catalog& catalog, const Clock& clock) {
  for (const auto& p : config.providers) {
    std::shared_ptr<provider::Provider> made = make(p, config, catalog, clock);
    for (const auto& model : p.models) {
      for (const auto& region : p.regions) registry_.add_rule(model, region, made);
    }
    spdlog::info("provider '{}' ({}) serves models [{}] in regions [{}]", p.name, p.type,
                 fmt::join(p.models, ", "), fmt::join(p.regions, ", "));
  }
  ProviderConfig simulator;
  simulator.type = "simulator";
  registry_.set_fallback(make(simulator, config, catalog, clock));
}

meter::PriceBook price_book(const Config& config, const catalog::Catalog& catalog) {
  meter::PriceBook book = meter::PriceBook::embedded();
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& price : config.prices) {
    if (!catalog.find_model(price.model)) {
      throw StartupError(price.location + ": price for unknown model '" + price.model +
                         "' (use a model id from ListFoundationModels)");
    }
    if (!seen.emplace(price.model, price.region, price.geography).second) {
      throw StartupError(price.location + ": a second price for " + price.model +
                         (price.region.empty() ? "" : " in " + price.region) +
                         (price.geography.empty() ? "" : " via " + price.geography) + "; keep one");
    }
    meter::TokenPrices prices;
    auto convert = [&](const std::optional<std::string>& text, std::optional<int64_t>& out, std::string_view what) {
      if (!text) return;
      auto parsed = meter::parse_usd_per_million(*text);
      if (!parsed.ok()) throw StartupError(price.location + ": " + std::string(what) + ": " + parsed.error().message());
      out = *parsed;
    };
    convert(price.input, prices.input, "input");
    convert(price.output, prices.output, "output");
    convert(price.cache_read, prices.cache_read, "cache_read");
    convert(price.cache_write, prices.cache_write, "cache_write");
    book.set(price.model, price.region, price.geography, prices);
  }
  std::vector<std::string> unpriced;
  for (const auto& model : catalog.models()) {
    const auto* prices = book.find(model.model_id, model.regions.empty() ? "" : model.regions.front(), "");
    if (!prices || !prices->input || !prices->output) unpriced.push_back(model.model_id);
  }
  if (!unpriced.empty()) {
    spdlog::warn("{} catalog models have no token price; their usage is recorded at $0 flagged price_missing "
                 "(add prices in the configuration): {}",
                 unpriced.size(), fmt::join(unpriced, ", "));
  }
  return book;
}

}  // namespace tollgate::app
