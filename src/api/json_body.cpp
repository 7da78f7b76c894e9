#include "api/json_body.h"

#include <boost/json/parse.hpp>

namespace tollgate::api {
namespace {

Error wrong_type(std::string_view field, std::string_view expected) {
  return Error(ErrorCode::Validation, "The member '" + std::string(field) + "' must be " + std::string(expected) + ".");
}

Error missing(std::string_view field) {
  return Error(ErrorCode::Validation, "1 validation error detected: Value null at '" + std::string(field) +
                                          "' failed to satisfy constraint: Member must not be null");
}

const boost::json::value* member(const boost::json::object& obj, std::string_view field) {
  const auto* v = obj.if_contains(field);
  return (v && !v->is_null()) ? v : nullptr;
}

}  // namespace

Result<boost::json::object> parse_json_object(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return boost::json::object{};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) {
    return Error(ErrorCode::Validation,
                 "The request body is not valid JSON (" + ec.message() + "). Send a JSON object, e.g. {\"key\": \"value\"}.");
  }
  if (!v.is_object()) return Error(ErrorCode::Validation, "The request body must be a JSON object.");
  return std::move(v.as_object());
}

Result<std::optional<std::string>> optional_string(const boost::json::object& obj, std::string_view field,
                                                   std::string_view label) {
  const auto* v = member(obj, field);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(label.empty() ? field : label, "a string");
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::string> required_string(const boost::json::object& obj, std::string_view field,
                                    std::string_view label) {
  auto s = optional_string(obj, field, label);
  TOLLGATE_TRY(s);
  if (!s->has_value()) return missing(label.empty() ? field : label);
  return std::move(**s);
}

Result<std::optional<int64_t>> optional_integer(const boost::json::object& obj, std::string_view field) {
  const auto* v = member(obj, field);
  if (!v) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->as_int64());
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v->as_uint64()));
  }
  return wrong_type(field, "an integer");
}

Result<std::vector<std::string>> optional_string_list(const boost::json::object& obj, std::string_view field,
                                                      bool required) {
  const auto* v = member(obj, field);
  if (!v) {
    if (required) return missing(field);
    return std::vector<std::string>{};
  }
  if (!v->is_array()) return wrong_type(field, "a list of strings");
  std::vector<std::string> out;
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) return wrong_type(field, "a list of strings");
    out.emplace_back(item.as_string());
  }
  return out;
}

Result<std::vector<Tag>> tag_list(const boost::json::object& obj, std::string_view field, bool required) {
  const auto* v = member(obj, field);
  if (!v) {
    if (required) return missing(field);
    return std::vector<Tag>{};
  }
  constexpr std::string_view kShape = "a list of {\"key\": \"...\", \"value\": \"...\"} objects";
  if (!v->is_array()) return wrong_type(field, kShape);
  std::vector<Tag> tags;
  size_t index = 0;
  for (const auto& item : v->as_array()) {
    ++index;
    if (!item.is_object()) return wrong_type(field, kShape);
    std::string member_path = std::string(field) + "." + std::to_string(index) + ".member";
    auto key = required_string(item.as_object(), "key", member_path + ".key");
    TOLLGATE_TRY(key);
    auto value = required_string(item.as_object(), "value", member_path + ".value");
    TOLLGATE_TRY(value);
    tags.push_back({std::move(*key), std::move(*value)});
  }
  return tags;
}

boost::json::array tags_to_json(const std::vector<Tag>& tags) {
  boost::json::array out;
  for (const auto& t : tags) out.push_back(boost::json::object{{"key", t.key}, {"value", t.value}});
  return out;
}

}  // namespace tollgate::api
