// `tollgate credits grant|list|revoke`, and the credit grants of the configuration file: what each field
// means is in doc/costs.md, "Credits".
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "costs/credits.h"

namespace tollgate::app {

// A grant as a person writes it (command line or configuration).
struct CreditText {
  std::string id;
  std::string account;
  std::string amount;                 // USD, e.g. "100" or "12.50"
  std::string start;                  // YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ
  std::string expiry;                 // the same; the credit applies to usage before it
  std::vector<std::string> services;  // eligible SERVICE names; none: every service
  std::string description;
};

// The grant, checked; throws StartupError saying what to fix (`where` names its origin).
costs::CreditGrant parse_credit(const CreditText& text, TimePoint granted_at, const std::string& where);

struct CreditsOptions {
  std::string data_dir = "tollgate-data";
  CreditText grant;
  std::string format = "table";  // list: table | json
};

int grant_credit(const CreditsOptions& options, std::ostream& out, const Clock& clock);
// Every grant with what it has paid for so far and what is left.
int list_credits(const CreditsOptions& options, std::ostream& out, const Clock& clock);
int revoke_credit(const CreditsOptions& options, std::ostream& out);

}  // namespace tollgate::app
