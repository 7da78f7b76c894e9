#include "app/budget_notifier.h"

#include <spdlog/spdlog.h>

#include <fstream>

namespace tollgate::app {

BudgetNotifier::BudgetNotifier(api::budgets::BudgetsApi& budgets, std::string log_path,
                               std::chrono::milliseconds interval, AlertDeliveryOptions delivery, const Clock& clock)
    : budgets_(budgets),
      log_path_(std::move(log_path)),
      interval_(interval),
      clock_(clock),
      delivery_(std::move(delivery), clock) {}

BudgetNotifier::~BudgetNotifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BudgetNotifier::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      run_once();
      lock.lock();
    }
  });
}

size_t BudgetNotifier::run_once() {
  auto alerts = budgets_.take_alerts();
  if (!alerts.ok()) {
    spdlog::warn("budget notifications not evaluated: {}", alerts.error().message());
    return 0;
  }
  if (alerts->empty()) return 0;
  std::ofstream log(log_path_, std::ios::app);
  std::vector<AlertForSubscriber> deliveries;
  for (const auto& alert : *alerts) {
    std::string body = api::budgets::BudgetsApi::alert_json(alert, clock_.now());
    log << body << "\n";
    for (const auto& s : alert.subscribers) {
      deliveries.push_back({alert.account_id, alert.budget_name, body,
                            std::string(s.at("SubscriptionType").as_string()),
                            std::string(s.at("Address").as_string())});
    }
    spdlog::info("budget '{}' of account {}: {} notification at {} {} crossed (actual spend {} USD)", alert.budget_name,
                 alert.account_id, std::string(alert.notification.at("NotificationType").as_string()),
                 alert.notification.at("Threshold").to_number<double>(),
                 std::string(alert.notification.at("ThresholdType").as_string()), alert.actual_spend);
  }
  log.flush();
  if (!log) spdlog::warn("could not write the budget notification log {}", log_path_);
  delivery_.deliver(deliveries);
  return alerts->size();
}

}  // namespace tollgate::app
