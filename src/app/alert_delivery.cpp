#include "app/alert_delivery.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "auth/sigv4.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "http/client.h"
#include "io/async.h"

namespace tollgate::app {
namespace {

bool is_webhook(const AlertForSubscriber& a) {
  return a.subscription_type == "SNS" && (a.address.starts_with("http://") || a.address.starts_with("https://"));
}
bool is_file(const AlertForSubscriber& a) { return a.subscription_type == "SNS" && a.address.starts_with("file://"); }

// `path` lies inside `directory` (after resolving `..` and symbolic links).
bool inside(const std::string& directory, const std::string& path) {
  if (directory.empty()) return false;
  std::error_code ec;
  const auto dir = std::filesystem::weakly_canonical(directory, ec);
  const auto file = std::filesystem::weakly_canonical(path, ec);
  if (ec) return false;
  auto rel = file.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != ".." && rel != ".";
}

// A status worth another attempt: the receiver may take it next time.
bool retryable(int status) { return status == 429 || status >= 500; }

bool append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << "\n";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

struct AlertDelivery::Attempt {
  std::string delivery_id;
  int number = 0;
  std::string outcome;  // delivered | retrying | failed
  int status = 0;       // HTTP status; 0 when none came
  std::string error;
};

AlertDelivery::AlertDelivery(AlertDeliveryOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  http::ClientOptions client;
  client.request_timeout = options_.timeout;
  client.connect_timeout = std::min(options_.timeout, std::chrono::milliseconds(5000));
  client.max_response_bytes = 1 << 20;
  client_ = std::make_unique<http::HttpClient>(client);
}

AlertDelivery::~AlertDelivery() = default;

void AlertDelivery::log(const AlertForSubscriber& alert, const Attempt& attempt) {
  boost::json::object line{{"time", format_date_time(clock_.now())},
                           {"deliveryId", attempt.delivery_id},
                           {"accountId", alert.account_id},
                           {"budgetName", alert.budget_name},
                           {"address", alert.address},
                           {"attempt", attempt.number},
                           {"outcome", attempt.outcome}};
  if (attempt.status != 0) line["status"] = attempt.status;
  if (!attempt.error.empty()) line["error"] = attempt.error;
  if (!append_line(options_.log_path, boost::json::serialize(line))) {
    spdlog::warn("could not write the budget delivery log {}", options_.log_path);
  }
  if (attempt.outcome == "failed") {
    spdlog::warn("budget '{}': alert not delivered to {}: {}", alert.budget_name, alert.address,
                 attempt.error.empty() ? "HTTP " + std::to_string(attempt.status) : attempt.error);
  }
}

size_t AlertDelivery::deliver(const std::vector<AlertForSubscriber>& alerts) {
  size_t delivered = 0;
  std::vector<std::function<Task<void>()>> webhooks;
  for (const auto& alert : alerts) {
    if (is_file(alert)) {
      Attempt attempt{new_request_id(), 1, "delivered", 0, {}};
      const std::string path = alert.address.substr(7);
      if (!inside(options_.file_directory, path)) {
        attempt.outcome = "failed";
        attempt.error = path + " is outside budgets.file_directory (" + options_.file_directory + ")";
      } else if (!append_line(path, alert.body)) {
        attempt.outcome = "failed";
        attempt.error = "cannot append to " + alert.address.substr(7);
      }
      log(alert, attempt);
      delivered += attempt.outcome == "delivered";
    } else if (is_webhook(alert)) {
      webhooks.push_back([this, &alert, &delivered]() -> Task<void> {
        Attempt attempt{new_request_id(), 0, {}, 0, {}};
        std::chrono::milliseconds backoff = options_.first_backoff;
        while (true) {
          ++attempt.number;
          http::ClientRequest request;
          request.method = "POST";
          request.url = alert.address;
          request.body = alert.body;
          request.headers = {{"Content-Type", "application/json"},
                             {"User-Agent", "tollgate-budgets"},
                             {"X-Tollgate-Delivery", attempt.delivery_id},
                             {"X-Tollgate-Attempt", std::to_string(attempt.number)}};
          if (!options_.secret.empty()) {
            request.headers.push_back(
                {"X-Tollgate-Signature",
                 "sha256=" + auth::sigv4::hex_encode(auth::sigv4::hmac_sha256(options_.secret, alert.body))});
          }
          Result<http::ClientResponse> response = co_await client_->request(std::move(request));
          attempt.status = response.ok() ? response->status : 0;
          attempt.error = response.ok() ? std::string() : response.error().message();
          const bool again = !response.ok() || retryable(attempt.status);
          if (response.ok() && attempt.status >= 200 && attempt.status < 300) {
            attempt.outcome = "delivered";
          } else {
            attempt.outcome = again && attempt.number < options_.attempts ? "retrying" : "failed";
          }
          log(alert, attempt);
          if (attempt.outcome != "retrying") break;
          co_await sleep_for(backoff);
          backoff = std::min(backoff * 2, std::chrono::milliseconds(60'000));
        }
        if (attempt.outcome == "delivered") ++delivered;
      });
    }
  }
  run_to_completion(std::move(webhooks));
  return delivered;
}

}  // namespace tollgate::app
