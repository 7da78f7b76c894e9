// Reading JSON request bodies with the errors AWS gives: a body that is not
// JSON, or a member of the wrong type, is a ValidationException that names the
// member and what was expected. Boost.JSON is used by api/ only.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/tag.h"

namespace tollgate::api {

// Parses a request body into a JSON object; an empty body is an empty object.
Result<boost::json::object> parse_json_object(std::string_view body);

// Typed member access. Absent (or null) members give nullopt; a member of the
// wrong type is a ValidationException naming `label` (default: `field`).
Result<std::optional<std::string>> optional_string(const boost::json::object& obj, std::string_view field,
                                                   std::string_view label = {});
Result<std::string> required_string(const boost::json::object& obj, std::string_view field,
                                    std::string_view label = {});
Result<std::optional<int64_t>> optional_integer(const boost::json::object& obj, std::string_view field);
Result<std::vector<std::string>> optional_string_list(const boost::json::object& obj, std::string_view field,
                                                      bool required);
// A Bedrock TagList ([{"key": ..., "value": ...}]).
Result<std::vector<Tag>> tag_list(const boost::json::object& obj, std::string_view field, bool required);

boost::json::array tags_to_json(const std::vector<Tag>& tags);

}  // namespace tollgate::api
