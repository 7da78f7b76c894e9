// The AWS Budgets API (json-1.1, X-Amz-Target AWSBudgetServiceGateway.*) over the budget store and the usage
// ledger: budgets (COST; DAILY, MONTHLY, QUARTERLY, ANNUALLY, CUSTOM), their notifications and subscribers.
// A budget's CalculatedSpend (actual and forecasted) is computed from the ledger when asked, so it counts a
// call the moment its usage record commits; a notification's state (OK / ALARM) is its threshold compared
// with that spend. Shapes are the budgets service model's; doc/budgets.md says what each field does here.
//
// Thread-safety: the operations may run concurrently.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "api/gateway.h"
#include "budgets/budget_store.h"
#include "budgets/enforcer.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "costs/cost_allocation_tags.h"
#include "ledger/ledger.h"

namespace tollgate::api::budgets {

class BudgetsApi {
 public:
  // With an enforcer, budgets tagged tollgate:enforcement are kept installed in it as they change.
  BudgetsApi(tollgate::budgets::BudgetStore& store, ledger::Ledger& ledger, costs::CostAllocationTags& tags,
             const catalog::Catalog& catalog, const Clock& clock, size_t body_limit,
             tollgate::budgets::Enforcer* enforcer = nullptr);

  // Installs every stored blocking budget in the enforcer (at start-up).
  Status install_blocking_budgets();

  // Each takes the request's JSON and the caller's account, and answers the response's JSON.
  using Handler = Result<boost::json::object> (BudgetsApi::*)(const boost::json::object&, const std::string&);
  Result<boost::json::object> create_budget(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> describe_budget(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> describe_budgets(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> update_budget(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> delete_budget(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> create_notification(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> describe_notifications_for_budget(const boost::json::object& request,
                                                                const std::string& caller);
  Result<boost::json::object> update_notification(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> delete_notification(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> create_subscriber(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> describe_subscribers_for_notification(const boost::json::object& request,
                                                                    const std::string& caller);
  Result<boost::json::object> delete_subscriber(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> describe_budget_performance_history(const boost::json::object& request,
                                                                  const std::string& caller);
  Result<boost::json::object> tag_resource(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> untag_resource(const boost::json::object& request, const std::string& caller);
  Result<boost::json::object> list_tags_for_resource(const boost::json::object& request, const std::string& caller);

  // A notification whose threshold was crossed in the current period, for the first time in that period.
  struct Alert {
    std::string account_id, budget_name;
    boost::json::object notification;  // with NotificationState
    boost::json::array subscribers;
    std::string actual_spend, forecasted_spend, budget_limit;  // USD decimal texts (forecast may be empty)
    TimePoint period_start, period_end;
  };
  // Checks every budget's notifications against its spend now; each one in ALARM that has not fired in
  // the current period is marked fired (in the budget's document) and returned, so it fires once per period.
  Result<std::vector<Alert>> take_alerts();
  // The alert as one line of JSON (doc/budgets.md, "Notifications delivered").
  static std::string alert_json(const Alert& alert, TimePoint now);

  // Every operation by its name (X-Amz-Target without the service prefix).
  static std::span<const std::pair<std::string_view, Handler>> operations();
  void register_operations(Gateway& gateway);

 private:
  struct Spend;
  Result<Spend> calculated_spend(const boost::json::object& budget, const std::string& account);
  // ALARM: the notification's threshold holds for the spend it watches (actual or forecasted).
  static bool in_alarm(const boost::json::object& notification, const Spend& spend);
  Result<boost::json::object> budget_view(const tollgate::budgets::StoredBudget& stored);
  // The stored document of a budget (NotFound without one), and a change of it in one transaction.
  Result<boost::json::object> load(const std::string& account, const std::string& name);
  Result<boost::json::object> change(const std::string& account, const std::string& name,
                                     const std::function<Status(boost::json::object& document)>& edit);
  // CreateSubscriber / DeleteSubscriber: `edit` gets the subscribers of the request's notification.
  Result<boost::json::object> change_subscribers(
      const boost::json::object& request, const std::string& caller,
      const std::function<Status(boost::json::array& subscribers, const boost::json::object& subscriber)>& edit);

  // The budget as the enforcer needs it, when its tollgate:enforcement tag makes it blocking.
  Result<std::optional<tollgate::budgets::BlockingBudget>> blocking_budget(
      const tollgate::budgets::StoredBudget& stored);
  // Installs the budget in the enforcer, or removes it, as its stored document now says.
  Status sync_enforcement(const std::string& account, const std::string& name);

  tollgate::budgets::BudgetStore& store_;
  ledger::Ledger& ledger_;
  costs::CostAllocationTags& tags_;
  const catalog::Catalog& catalog_;
  const Clock& clock_;
  size_t body_limit_;
  tollgate::budgets::Enforcer* enforcer_;
};

}  // namespace tollgate::api::budgets
