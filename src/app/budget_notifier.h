// Delivers budget notifications: every interval, asks the Budgets API for the notifications whose threshold
// the spend has crossed (each fires once per budget period), appends each as a line of JSON to the
// notification log and delivers it to its webhook and file subscribers (alert_delivery.h; doc/budgets.md,
// "Notifications delivered").
//
// Thread-safety: owns one thread; the destructor stops and joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "api/budgets/budgets_api.h"
#include "app/alert_delivery.h"

namespace tollgate::app {

class BudgetNotifier {
 public:
  BudgetNotifier(api::budgets::BudgetsApi& budgets, std::string log_path, std::chrono::milliseconds interval,
                 AlertDeliveryOptions delivery, const Clock& clock);
  ~BudgetNotifier();
  BudgetNotifier(const BudgetNotifier&) = delete;
  BudgetNotifier& operator=(const BudgetNotifier&) = delete;

  void start();
  // One round on the caller's thread; returns how many notifications it delivered.
  size_t run_once();

 private:
  api::budgets::BudgetsApi& budgets_;
  std::string log_path_;
  std::chrono::milliseconds interval_;
  const Clock& clock_;
  AlertDelivery delivery_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tollgate::app
