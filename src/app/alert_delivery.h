// Delivers budget alerts to their subscribers (doc/budgets.md, "Notifications delivered"):
//  * an SNS subscriber whose Address is an http:// or https:// URL is a webhook: the alert's JSON is POSTed
//    to it, retried with exponential backoff on a connection failure, a timeout, 429 or 5xx (every other
//    status is final); all of a round's webhooks are delivered concurrently;
//  * an SNS subscriber whose Address is a file:// URL inside `file_directory` gets the alert appended to
//    that file as a line (any other path fails: the Budgets API must not write where the operator did not
//    allow it);
//  * other subscribers (EMAIL, SNS topic ARNs) are listed in the notification log only.
// Every attempt is one line of JSON in the delivery log.
//
// Thread-safety: deliver() is called from one thread at a time (the notifier's).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"

namespace tollgate::http {
class HttpClient;
}

namespace tollgate::app {

struct AlertDeliveryOptions {
  int attempts = 5;                               // per webhook, the first included
  std::chrono::milliseconds first_backoff{1000};  // doubled after each failed attempt, at most 60 s
  std::chrono::milliseconds timeout{10000};       // per attempt
  std::string secret;  // when set, X-Tollgate-Signature: sha256=<hex HMAC-SHA256 of the body with it>
  std::string log_path;
  std::string file_directory;  // where file:// subscribers may write (with its subdirectories)
};

// One alert for one subscriber.
struct AlertForSubscriber {
  std::string account_id, budget_name;
  std::string body;  // the alert's JSON
  std::string subscription_type, address;
};

class AlertDelivery {
 public:
  AlertDelivery(AlertDeliveryOptions options, const Clock& clock);
  ~AlertDelivery();
  AlertDelivery(const AlertDelivery&) = delete;
  AlertDelivery& operator=(const AlertDelivery&) = delete;

  // Delivers each one its subscriber's way; returns how many were delivered (webhooks and files).
  size_t deliver(const std::vector<AlertForSubscriber>& alerts);

 private:
  struct Attempt;
  void log(const AlertForSubscriber& alert, const Attempt& attempt);

  AlertDeliveryOptions options_;
  const Clock& clock_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace tollgate::app
