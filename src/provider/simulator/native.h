// Internal to the simulator: reading model-native InvokeModel bodies with Bedrock's error style,
// "Malformed input request: #/messages/0: required key [content] not found, please reformat your
// input and try again.", and the parsers of the families that live in native_vectors.cpp.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "provider/simulator/format.h"

namespace tollgate::provider::simulator {

Error malformed(std::string_view detail);
// "String", "Integer", "Number", "JSONArray", "JSONObject", "Boolean", "Null".
std::string_view json_type_name(const boost::json::value& value);
bool starts_with(std::string_view text, std::string_view prefix);

// A JSON object of a native body at a path ("#", "#/messages/0").
class Fields {
 public:
  Fields(const boost::json::object& object, std::string path) : object_(object), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string child(std::string_view key) const { return path_ + "/" + std::string(key); }
  // Present and not null.
  const boost::json::value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  Error missing(std::string_view key) const;
  Error wrong_type(std::string_view key, std::string_view expected, const boost::json::value& found) const;

  Result<std::string_view> string(std::string_view key) const;
  Result<std::optional<std::string_view>> optional_string(std::string_view key) const;
  Result<int64_t> integer(std::string_view key) const;
  Result<std::optional<int64_t>> optional_integer(std::string_view key) const;
  Result<const boost::json::array*> array(std::string_view key) const;
  // nullptr when absent.
  Result<const boost::json::object*> optional_object(std::string_view key) const;
  Result<const boost::json::array*> optional_array(std::string_view key) const;

 private:
  const boost::json::object& object_;
  std::string path_;
};

// An optional output-token limit `key` of `fields`, checked against the model.
Result<std::optional<int64_t>> read_limit(const Fields& fields, std::string_view key, const ModelInfo& model);

// Families without a reply text (native_vectors.cpp).
Result<FormatPtr> parse_embedding(const boost::json::object& body, const ModelInfo& model);
Result<FormatPtr> parse_rerank(const boost::json::object& body, const ModelInfo& model);

}  // namespace tollgate::provider::simulator
