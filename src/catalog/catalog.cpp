// Catalog loading (JSON → validated, sorted structs), lookups and ARN helpers. See catalog.h.
#include "catalog/catalog.h"

#include <algorithm>
#include <array>
#include <regex>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "catalog/embedded_catalog.h"
#include "core/error.h"

namespace tollgate::catalog {
namespace {

namespace json = boost::json;

// Patterns from the Bedrock service model (aws-models/bedrock/service-2.json), anchored by regex_match.
const std::regex& bedrock_model_id_pattern() {
  static const std::regex re(
      "[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}"
      "([:][a-z0-9-]{1,63}){0,2}");
  return re;
}
const std::regex& profile_description_pattern() {
  static const std::regex re("([0-9a-zA-Z:.][ _-]?)+");
  return re;
}
const std::regex& region_pattern() {
  static const std::regex re("[a-z]{2}(-[a-z]+)+-[0-9]{1,2}");
  return re;
}

constexpr size_t kModelIdMax = 140;
constexpr size_t kBrandedNameMax = 20;
constexpr size_t kDescriptionMax = 200;

constexpr std::array kModalities = {std::string_view("TEXT"), std::string_view("IMAGE"),
                                    std::string_view("EMBEDDING")};
constexpr std::array kInferenceTypes = {std::string_view("ON_DEMAND"), std::string_view("PROVISIONED"),
                                        std::string_view("INFERENCE_PROFILE")};
constexpr std::array kCustomizations = {std::string_view("FINE_TUNING"),
                                        std::string_view("CONTINUED_PRE_TRAINING"),
                                        std::string_view("DISTILLATION")};
constexpr std::array kLifecycles = {std::string_view("ACTIVE"), std::string_view("LEGACY")};

[[noreturn]] void fail(const std::string& where, std::string_view what) {
  throw StartupError("model catalog: " + where + ": " + std::string(what));
}

// Reads fields of one JSON object, naming the path in every error.
class Fields {
 public:
  Fields(const json::value& v, std::string where) : where_(std::move(where)) {
    if (!v.is_object()) fail(where_, "expected an object");
    obj_ = &v.get_object();
  }

  const std::string& where() const { return where_; }
  std::string at(std::string_view key) const { return where_ + "." + std::string(key); }
  const json::value* find(std::string_view key) const { return obj_->if_contains(key); }

  std::string string(std::string_view key) const {
    const json::value* v = find(key);
    if (v == nullptr) fail(at(key), "missing");
    if (!v->is_string()) fail(at(key), "expected a string");
    return std::string(v->get_string());
  }

  bool boolean(std::string_view key, bool fallback) const {
    const json::value* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_bool()) fail(at(key), "expected true or false");
    return v->get_bool();
  }

  std::optional<int64_t> positive_int(std::string_view key) const {
    const json::value* v = find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (v->is_int64() && v->get_int64() > 0) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() > 0 && v->get_uint64() <= uint64_t(INT64_MAX)) {
      return static_cast<int64_t>(v->get_uint64());
    }
    fail(at(key), "expected a positive integer");
  }

  // A list of strings; sorted and de-duplicated when `sort` is set.
  std::vector<std::string> strings(std::string_view key, bool required, bool sort) const {
    std::vector<std::string> out;
    const json::value* v = find(key);
    if (v == nullptr) {
      if (required) fail(at(key), "missing");
      return out;
    }
    if (!v->is_array()) fail(at(key), "expected an array of strings");
    for (const json::value& item : v->get_array()) {
      if (!item.is_string()) fail(at(key), "expected an array of strings");
      out.emplace_back(item.get_string());
    }
    if (sort) {
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return out;
  }

 private:
  const json::object* obj_ = nullptr;
  std::string where_;
};

template <size_t N>
void check_enum(const std::string& where, const std::vector<std::string>& values,
                const std::array<std::string_view, N>& allowed) {
  for (const std::string& v : values) {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      fail(where, "unknown value \"" + v + "\"");
    }
  }
}

void check_regions(const std::string& where, const std::vector<std::string>& regions) {
  if (regions.empty()) fail(where, "must name at least one Region");
  for (const std::string& r : regions) {
    if (!std::regex_match(r, region_pattern())) fail(where, "\"" + r + "\" is not a Region name");
  }
}

void check_branded_name(const std::string& where, const std::string& name) {
  if (name.empty() || name.size() > kBrandedNameMax) fail(where, "must be 1-20 characters");
}

const json::array& array_member(const json::object& root, std::string_view key) {
  const json::value* v = root.if_contains(key);
  if (v == nullptr) fail(std::string(key), "missing");
  if (!v->is_array()) fail(std::string(key), "expected an array");
  return v->get_array();
}

FoundationModel parse_model(const json::value& v, std::string where) {
  Fields f(v, std::move(where));
  FoundationModel m;
  m.model_id = f.string("modelId");
  if (m.model_id.size() > kModelIdMax || !std::regex_match(m.model_id, bedrock_model_id_pattern())) {
    fail(f.at("modelId"), "\"" + m.model_id + "\" does not match the BedrockModelId pattern");
  }
  const std::string at = f.where() + " (" + m.model_id + ")";
  m.model_name = f.string("modelName");
  check_branded_name(at + ".modelName", m.model_name);
  m.provider_name = f.string("providerName");
  check_branded_name(at + ".providerName", m.provider_name);
  m.input_modalities = f.strings("inputModalities", true, true);
  check_enum(at + ".inputModalities", m.input_modalities, kModalities);
  m.output_modalities = f.strings("outputModalities", true, true);
  check_enum(at + ".outputModalities", m.output_modalities, kModalities);
  m.inference_types = f.strings("inferenceTypesSupported", true, true);
  check_enum(at + ".inferenceTypesSupported", m.inference_types, kInferenceTypes);
  m.customizations = f.strings("customizationsSupported", false, true);
  check_enum(at + ".customizationsSupported", m.customizations, kCustomizations);
  m.response_streaming_supported = f.boolean("responseStreamingSupported", false);
  m.lifecycle_status = "ACTIVE";
  if (const json::value* lc = f.find("modelLifecycle")) {
    m.lifecycle_status = Fields(*lc, at + ".modelLifecycle").string("status");
    check_enum(at + ".modelLifecycle.status", {m.lifecycle_status}, kLifecycles);
  }
  m.max_input_tokens = f.positive_int("maxInputTokens");
  m.max_output_tokens = f.positive_int("maxOutputTokens");
  m.regions = f.strings("regions", true, true);
  check_regions(at + ".regions", m.regions);
  return m;
}

SystemProfile parse_profile(const json::value& v, std::string where) {
  Fields f(v, std::move(where));
  SystemProfile p;
  p.id = f.string("id");
  const std::string at = f.where() + " (" + p.id + ")";
  p.geography = f.string("geography");
  p.model_id = f.string("modelId");
  if (p.id != p.geography + "." + p.model_id) fail(at + ".id", "must be <geography>.<modelId>");
  p.name = f.string("name");
  if (p.name.empty() || p.name.size() > 64) fail(at + ".name", "must be 1-64 characters");
  p.description = f.string("description");
  if (p.description.size() > kDescriptionMax ||
      !std::regex_match(p.description, profile_description_pattern())) {
    fail(at + ".description", "must be 1-200 characters matching ([0-9a-zA-Z:.][ _-]?)+");
  }
  p.regions = f.strings("regions", false, true);  // empty: filled from the geography below
  return p;
}

template <class T, class Key>
const T* find_sorted(const std::vector<T>& items, std::string_view key, Key T::*member) {
  auto it = std::lower_bound(items.begin(), items.end(), key,
                             [member](const T& item, std::string_view k) { return item.*member < k; });
  return it != items.end() && (*it).*member == key ? &*it : nullptr;
}

bool sorted_contains(const std::vector<std::string>& sorted, std::string_view value) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), value,
                             [](const std::string& a, std::string_view b) { return a < b; });
  return it != sorted.end() && *it == value;
}

}  // namespace

bool FoundationModel::offered_in(std::string_view region) const { return sorted_contains(regions, region); }

bool SystemProfile::available_from(std::string_view source_region) const {
  return sorted_contains(regions, source_region);
}

Catalog Catalog::embedded() { return from_json(detail::embedded_catalog_json()); }

Catalog Catalog::from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) fail("JSON", ec.message());
  if (!doc.is_object()) fail("top level", "expected an object");
  const json::object& root = doc.get_object();

  Catalog c;
  const json::value* geos = root.if_contains("geographies");
  if (geos == nullptr || !geos->is_object()) fail("geographies", "expected an object");
  Fields geo_fields(*geos, "geographies");
  for (const auto& [prefix, regions] : geos->get_object()) {
    (void)regions;
    std::string key(prefix);
    auto list = geo_fields.strings(key, true, true);
    check_regions(geo_fields.at(key), list);
    c.geographies_.emplace_back(std::move(key), std::move(list));
  }
  std::sort(c.geographies_.begin(), c.geographies_.end());

  const json::array& models = array_member(root, "models");
  c.models_.reserve(models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    c.models_.push_back(parse_model(models[i], "models[" + std::to_string(i) + "]"));
  }
  std::sort(c.models_.begin(), c.models_.end(),
            [](const FoundationModel& a, const FoundationModel& b) { return a.model_id < b.model_id; });
  for (size_t i = 1; i < c.models_.size(); ++i) {
    if (c.models_[i].model_id == c.models_[i - 1].model_id) {
      fail("models", "duplicate modelId \"" + c.models_[i].model_id + "\"");
    }
  }

  const json::array& profiles = array_member(root, "systemProfiles");
  c.system_profiles_.reserve(profiles.size());
  for (size_t i = 0; i < profiles.size(); ++i) {
    std::string where = "systemProfiles[" + std::to_string(i) + "]";
    SystemProfile p = parse_profile(profiles[i], where);
    where += " (" + p.id + ")";
    if (find_sorted(c.models_, p.model_id, &FoundationModel::model_id) == nullptr) {
      fail(where + ".modelId", "no model \"" + p.model_id + "\" in the catalog");
    }
    const std::vector<std::string>* geo_regions = c.geography_regions(p.geography);
    if (geo_regions == nullptr) fail(where + ".geography", "unknown geography \"" + p.geography + "\"");
    if (p.regions.empty()) p.regions = *geo_regions;
    check_regions(where + ".regions", p.regions);
    c.system_profiles_.push_back(std::move(p));
  }
  std::sort(c.system_profiles_.begin(), c.system_profiles_.end(),
            [](const SystemProfile& a, const SystemProfile& b) { return a.id < b.id; });
  for (size_t i = 1; i < c.system_profiles_.size(); ++i) {
    if (c.system_profiles_[i].id == c.system_profiles_[i - 1].id) {
      fail("systemProfiles", "duplicate id \"" + c.system_profiles_[i].id + "\"");
    }
  }

  std::set<std::string> all;
  for (const auto& [prefix, regions] : c.geographies_) all.insert(regions.begin(), regions.end());
  for (const FoundationModel& m : c.models_) all.insert(m.regions.begin(), m.regions.end());
  for (const SystemProfile& p : c.system_profiles_) all.insert(p.regions.begin(), p.regions.end());
  c.regions_.assign(all.begin(), all.end());
  return c;
}

const FoundationModel* Catalog::find_model(std::string_view model_id) const {
  return find_sorted(models_, model_id, &FoundationModel::model_id);
}

const SystemProfile* Catalog::find_system_profile(std::string_view id) const {
  return find_sorted(system_profiles_, id, &SystemProfile::id);
}

const std::vector<std::string>* Catalog::geography_regions(std::string_view prefix) const {
  auto it = std::lower_bound(geographies_.begin(), geographies_.end(), prefix,
                             [](const auto& entry, std::string_view p) { return entry.first < p; });
  return it != geographies_.end() && it->first == prefix ? &it->second : nullptr;
}

bool Catalog::known_region(std::string_view region) const { return sorted_contains(regions_, region); }

std::string_view partition_for_region(std::string_view region) {
  if (region.starts_with("us-gov-")) return "aws-us-gov";
  if (region.starts_with("cn-")) return "aws-cn";
  return "aws";
}

std::string foundation_model_arn(std::string_view region, std::string_view model_id) {
  std::string arn = "arn:";
  arn.append(partition_for_region(region)).append(":bedrock:").append(region);
  arn.append("::foundation-model/").append(model_id);
  return arn;
}

std::string system_profile_arn(std::string_view region, std::string_view account_id,
                               std::string_view profile_id) {
  std::string arn = "arn:";
  arn.append(partition_for_region(region)).append(":bedrock:").append(region).append(":");
  arn.append(account_id).append(":inference-profile/").append(profile_id);
  return arn;
}

}  // namespace tollgate::catalog
