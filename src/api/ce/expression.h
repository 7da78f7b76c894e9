// Cost Explorer's filter Expression (also Budgets' FilterExpression) from its JSON, with the errors AWS
// gives: exactly one of And / Or / Not / Dimensions / Tags per level (CostCategories refused: tollgate has
// none), dimension names from Cost Explorer's enum, the match options that apply.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include "core/result.h"
#include "costs/cost_query.h"

namespace tollgate::api::ce {

// `where` names the member in messages ("Filter"). RESOURCE_ID is accepted only `with_resources`.
Result<costs::Expression> parse_expression(const boost::json::value& value, const std::string& where,
                                           bool with_resources);

// A dimension name of Cost Explorer's enum that tollgate's usage has; `where` names the member.
Result<costs::Dimension> parse_dimension(std::string_view name, std::string_view where, bool with_resources);

// AWS's message for a value outside an enum: "1 validation error detected: Value 'X' at 'where' failed to
// satisfy constraint: Member must satisfy enum value set: [allowed]".
Error enum_error(std::string_view value, std::string_view where, std::string_view allowed);

}  // namespace tollgate::api::ce
