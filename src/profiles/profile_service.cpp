#include "profiles/profile_service.h"

#include <algorithm>

#include "core/arn.h"
#include "core/base64.h"
#include "core/ids.h"
#include "core/validation.h"

namespace tollgate::profiles {
namespace {

constexpr std::string_view kApplicationType = "application-inference-profile";
constexpr std::string_view kSystemType = "inference-profile";
constexpr std::string_view kModelType = "foundation-model";

const Pattern kNamePattern{"([0-9a-zA-Z][ _-]?)+", [](std::string_view v) { return matches_word_pattern(v); },
                           "letters and digits in words joined by single spaces, underscores or hyphens, "
                           "e.g. support-bot-prod"};
const Pattern kDescriptionPattern{
    "([0-9a-zA-Z:.][ _-]?)+", [](std::string_view v) { return matches_word_pattern(v, ":."); },
    "letters, digits, ':' and '.' in words joined by single spaces, underscores or hyphens; "
    "no other punctuation and no double spaces"};
const Pattern kTokenPattern{"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?",
                            [](std::string_view v) {
                              return !v.empty() && is_alnum(v.front()) && is_alnum(v.back()) &&
                                     std::all_of(v.begin(), v.end(), [](char c) { return is_alnum(c) || c == '-'; });
                            },
                            "letters, digits and inner hyphens, e.g. a UUID"};

bool is_profile_id_char(char c) { return is_alnum(c) || c == '-' || c == ':' || c == '.'; }
bool valid_profile_id(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), is_profile_id_char);
}

const Pattern kIdentifierPattern{
    "(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):"
    "(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+",
    [](std::string_view) { return true; },  // checked field by field in parse_profile_arn
    "an inference profile id (e.g. us.anthropic.claude-3-haiku-20240307-v1:0 or the 12-character id of an "
    "application profile) or ARN (arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID)"};

bool valid_partition(std::string_view p) {
  return p == "aws" || p == "aws-us-gov" || p == "aws-cn" || p == "aws-iso" || p == "aws-iso-b";
}
bool valid_region_field(std::string_view r) {
  return r.size() <= 20 && std::all_of(r.begin(), r.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}
bool valid_account_field(std::string_view a) {
  return a.empty() || (a.size() == 12 && std::all_of(a.begin(), a.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

// Parses a Bedrock ARN whose fields satisfy the model's profile/model ARN patterns.
std::optional<Arn> parse_bedrock_arn(std::string_view text) {
  auto arn = parse_arn(text);
  if (!arn || !valid_partition(arn->partition) || arn->service != "bedrock" || !valid_region_field(arn->region) ||
      !valid_account_field(arn->account) || !valid_profile_id(arn->resource_id)) {
    return std::nullopt;
  }
  return arn;
}

Error pattern_error(std::string_view field, std::string_view value, const Pattern& pattern) {
  return check_pattern(field, value, Pattern{pattern.text, [](std::string_view) { return false; }, pattern.hint})
      .error();
}

std::string encode_token(ProfileType type, const std::string& last_id) {
  return base64_encode(std::string("1|") + (type == ProfileType::Application ? "A" : "S") + "|" + last_id);
}

Result<std::string> decode_token(ProfileType type, const std::string& token) {
  auto invalid = [] {
    return Error(ErrorCode::Validation,
                 "The nextToken is not valid. Pass the nextToken from the previous ListInferenceProfiles response "
                 "unchanged, with the same type filter.");
  };
  TOLLGATE_TRY(check_length("nextToken", token, 1, 2048));
  auto plain = base64_decode(token);
  if (!plain || plain->size() < 4 || plain->substr(0, 2) != "1|" || (*plain)[3] != '|') return invalid();
  char kind = (*plain)[2];
  if ((kind == 'A') != (type == ProfileType::Application)) return invalid();
  return plain->substr(4);
}

Error too_many_tags(std::string_view arn, size_t count) {
  return Error(ErrorCode::TooManyTags, "The resource " + std::string(arn) + " would have " + std::to_string(count) +
                                           " tags; a resource can have at most " + std::to_string(kMaxTagsPerResource) +
                                           ". Remove tags with "
                                           "UntagResource or send fewer.");
}

bool same_request(const store::ApplicationProfile& p, const CreateRequest& r) {
  return p.name == r.name && p.description == r.description.value_or("") && p.source_arn == r.copy_from &&
         p.tags == r.tags;
}

}  // namespace

std::string_view to_string(ProfileType type) {
  return type == ProfileType::Application ? "APPLICATION" : "SYSTEM_DEFINED";
}

ProfileView view_of(const store::ApplicationProfile& p) {
  return ProfileView{p.name,       p.description, p.arn(),      p.id,        ProfileType::Application,
                     p.model_arns, p.created_at,  p.updated_at, p.source_arn};
}

struct ProfileService::Resolved {
  const catalog::SystemProfile* system = nullptr;
  std::optional<store::ApplicationProfile> application;
};

ProfileService::ProfileService(const catalog::Catalog& catalog, store::ProfileStore& store, const Clock& clock)
    : catalog_(catalog), store_(store), clock_(clock) {}

ProfileView ProfileService::view_of(const Caller& caller, const catalog::SystemProfile& profile) const {
  ProfileView view;
  view.name = profile.name;
  view.description = profile.description;
  view.id = profile.id;
  view.arn = catalog::system_profile_arn(caller.region, caller.account_id, profile.id);
  view.type = ProfileType::SystemDefined;
  for (const auto& region : profile.regions) {
    view.model_arns.push_back(catalog::foundation_model_arn(region, profile.model_id));
  }
  return view;
}

// Explains a failed lookup of `id_part` (a bare identifier or an ARN's resource
// id): says what it is if it names something else, or what a valid one looks like.
Error ProfileService::not_found_with_hint(const Caller& caller, std::string_view id_part, std::string_view why) {
  std::string id(id_part);
  std::string hint;
  if (auto app = store_.find({caller.account_id, caller.region, id}); app.ok() && app->has_value()) {
    hint = "'" + id + "' is an application inference profile; its ARN is " + (*app)->arn() + ".";
  } else if (auto named = store_.find_by_name(caller.account_id, caller.region, id); named.ok() && named->has_value()) {
    hint = "'" + id + "' is the name of an application inference profile; identify it by its ARN " + (*named)->arn() +
           " or its id " + (*named)->id + ".";
  } else if (const auto* sys = catalog_.find_system_profile(id)) {
    if (sys->available_from(caller.region)) {
      hint = "'" + id + "' is a system-defined inference profile; its ARN is " +
             catalog::system_profile_arn(caller.region, caller.account_id, id) + ".";
    } else {
      hint = "The system-defined inference profile '" + id + "' routes within the '" + sys->geography +
             "' geography and can be used only from its regions: " + join(sys->regions) + ".";
    }
  } else if (auto elsewhere = store_.find_in_any_region(caller.account_id, id);
             elsewhere.ok() && elsewhere->has_value()) {
    hint = "The application inference profile '" + id + "' exists in region " + (*elsewhere)->region +
           "; send the request to that region.";
  } else {
    hint = "Identify a profile by its id or ARN: an application profile's ARN looks like arn:aws:bedrock:" +
           caller.region + ":" + caller.account_id +
           ":application-inference-profile/ID and a system-defined profile's id like "
           "us.anthropic.claude-3-haiku-20240307-v1:0 (list them with ListInferenceProfiles).";
  }
  return Error(ErrorCode::ResourceNotFound, std::string(why) + " " + hint);
}

Result<ProfileService::Resolved> ProfileService::resolve(const Caller& caller, std::string_view identifier) {
  TOLLGATE_TRY(check_length("inferenceProfileIdentifier", identifier, 1, 2048));
  std::string_view id = identifier;
  std::optional<std::string_view> arn_type;
  std::optional<Arn> arn;
  if (looks_like_arn(identifier)) {
    arn = parse_bedrock_arn(identifier);
    if (!arn || (arn->resource_type != kSystemType && arn->resource_type != kApplicationType)) {
      return pattern_error("inferenceProfileIdentifier", identifier, kIdentifierPattern);
    }
    if (!arn->account.empty() && arn->account != caller.account_id) {
      return Error(ErrorCode::ResourceNotFound, "The inference profile " + std::string(identifier) +
                                                    " belongs to account " + arn->account +
                                                    ", not to the caller's account " + caller.account_id + ".");
    }
    if (!arn->region.empty() && arn->region != caller.region) {
      return Error(ErrorCode::ResourceNotFound, "The inference profile " + std::string(identifier) + " is in region " +
                                                    arn->region + ", but the request was sent to region " +
                                                    caller.region + "; send it to " + arn->region + ".");
    }
    id = arn->resource_id;
    arn_type = arn->resource_type;
  } else if (!valid_profile_id(identifier)) {
    Error invalid = pattern_error("inferenceProfileIdentifier", identifier, kIdentifierPattern);
    if (auto named = store_.find_by_name(caller.account_id, caller.region, std::string(identifier));
        named.ok() && named->has_value()) {
      return Error(ErrorCode::Validation,
                   invalid.message() + ". '" + std::string(identifier) +
                       "' is the name of an application inference profile; identify it by its ARN " + (*named)->arn() +
                       ".");
    }
    return invalid;
  }

  if (arn_type != kApplicationType) {
    if (const auto* sys = catalog_.find_system_profile(id); sys && sys->available_from(caller.region)) {
      return Resolved{sys, std::nullopt};
    }
  }
  if (arn_type != kSystemType) {
    auto app = store_.find({caller.account_id, caller.region, std::string(id)});
    TOLLGATE_TRY(app);
    if (app->has_value()) return Resolved{nullptr, std::move(*app)};
  }
  std::string why = arn_type == kApplicationType
                        ? "No application inference profile with id '" + std::string(id) + "' exists in account " +
                              caller.account_id + ", region " + caller.region + "."
                    : arn_type == kSystemType ? "No system-defined inference profile '" + std::string(id) +
                                                    "' is available in region " + caller.region + "."
                                              : "No inference profile '" + std::string(id) + "' exists in account " +
                                                    caller.account_id + ", region " + caller.region + ".";
  return not_found_with_hint(caller, id, why);
}

Result<std::vector<std::string>> ProfileService::model_arns_for_source(const Caller& caller,
                                                                       std::string_view copy_from) {
  TOLLGATE_TRY(check_length("modelSource.copyFrom", copy_from, 1, 2048));
  static const Pattern kSourcePattern{
      "arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):"
      "(inference-profile|foundation-model)/[a-zA-Z0-9-:.]+",
      [](std::string_view) { return false; },
      "a foundation-model ARN (arn:aws:bedrock:REGION::foundation-model/MODEL_ID) or a system-defined inference "
      "profile ARN (arn:aws:bedrock:REGION:ACCOUNT:inference-profile/us.MODEL_ID)"};
  auto arn = parse_bedrock_arn(copy_from);
  if (arn && arn->resource_type == kApplicationType) {
    std::string message = "modelSource.copyFrom cannot be an application inference profile; copy from " +
                          std::string(kSourcePattern.hint) + ".";
    if (auto app = store_.find({caller.account_id, caller.region, arn->resource_id}); app.ok() && app->has_value()) {
      message += " That profile copies from " + (*app)->source_arn + ".";
    }
    return Error(ErrorCode::Validation, message);
  }
  if (!arn || (arn->resource_type != kModelType && arn->resource_type != kSystemType)) {
    return check_pattern("modelSource.copyFrom", copy_from, kSourcePattern).error();
  }
  std::string region = arn->region.empty() ? caller.region : arn->region;
  if (region != caller.region) {
    return Error(ErrorCode::Validation, "modelSource.copyFrom names region " + region +
                                            ", but the request was sent to region " + caller.region +
                                            ". A profile copies from a model or system-defined profile in its own "
                                            "region: use region " +
                                            caller.region +
                                            " in the ARN, or send the request "
                                            "to " +
                                            region + ".");
  }
  if (arn->resource_type == kModelType) {
    if (!arn->account.empty()) {
      return Error(ErrorCode::Validation, "Foundation-model ARNs have an empty account field: use arn:aws:bedrock:" +
                                              region + "::foundation-model/" + arn->resource_id + ".");
    }
    const auto* model = catalog_.find_model(arn->resource_id);
    if (!model) {
      return Error(ErrorCode::ResourceNotFound, "The foundation model '" + arn->resource_id +
                                                    "' does not exist. List the available models with "
                                                    "ListFoundationModels (aws bedrock list-foundation-models).");
    }
    if (!model->offered_in(region)) {
      return Error(ErrorCode::Validation, "The foundation model '" + model->model_id + "' is not offered in region " +
                                              region + ". It is offered in: " + join(model->regions) +
                                              ". Create the profile in one of those regions, or copy from a "
                                              "system-defined inference profile of the model.");
    }
    return std::vector<std::string>{catalog::foundation_model_arn(region, model->model_id)};
  }
  if (!arn->account.empty() && arn->account != caller.account_id) {
    return Error(ErrorCode::ResourceNotFound, "The system-defined inference profile ARN " + std::string(copy_from) +
                                                  " names account " + arn->account + "; use the caller's account " +
                                                  caller.account_id + " or leave the account field empty.");
  }
  const auto* sys = catalog_.find_system_profile(arn->resource_id);
  if (!sys || !sys->available_from(region)) {
    return not_found_with_hint(
        caller, arn->resource_id,
        "No system-defined inference profile '" + arn->resource_id + "' is available in region " + region + ".");
  }
  std::vector<std::string> arns;
  for (const auto& r : sys->regions) arns.push_back(catalog::foundation_model_arn(r, sys->model_id));
  return arns;
}

Status ProfileService::enforce_tag_policy(const std::vector<Tag>& tags) const {
  if (!tag_policy_) return {};
  auto violations = check_tags(*tag_policy_, tags);
  if (violations.empty()) return {};
  std::string message = "The tags break the tag policy:";
  for (const auto& v : violations) message += " " + v.message;
  return Error(ErrorCode::Validation, std::move(message));
}

Status ProfileService::check_create(const Caller& caller, const CreateRequest& request) {
  TOLLGATE_TRY(check_fields(request));
  TOLLGATE_TRY(model_arns_for_source(caller, request.copy_from));
  return {};
}

Status ProfileService::check_fields(const CreateRequest& request) const {
  TOLLGATE_TRY(check_string("inferenceProfileName", request.name, 1, 64, kNamePattern));
  if (request.description) {
    TOLLGATE_TRY(check_string("description", *request.description, 1, 200, kDescriptionPattern));
  }
  if (request.client_request_token) {
    TOLLGATE_TRY(check_string("clientRequestToken", *request.client_request_token, 1, 256, kTokenPattern));
  }
  TOLLGATE_TRY(validate_tag_list("tags", request.tags));
  if (request.tags.size() > kMaxTagsPerResource) return too_many_tags("the new inference profile", request.tags.size());
  return enforce_tag_policy(request.tags);
}

Result<ProfileView> ProfileService::create(const Caller& caller, const CreateRequest& request) {
  TOLLGATE_TRY(check_fields(request));
  if (request.client_request_token) {
    auto existing = store_.find_by_token(caller.account_id, caller.region, *request.client_request_token);
    TOLLGATE_TRY(existing);
    if (existing->has_value()) {
      if (same_request(**existing, request)) return profiles::view_of(**existing);
      return Error(ErrorCode::Conflict, "The clientRequestToken '" + *request.client_request_token +
                                            "' was already used to create " + (*existing)->arn() +
                                            " with different parameters. Use a new token for a different request.");
    }
  }
  auto created = create_new(caller, request);
  if (!created.ok() && created.error().code() == ErrorCode::Conflict && request.client_request_token) {
    // A concurrent request with the same token may have won the race: answer as it did.
    auto existing = store_.find_by_token(caller.account_id, caller.region, *request.client_request_token);
    if (existing.ok() && existing->has_value() && same_request(**existing, request)) {
      return profiles::view_of(**existing);
    }
  }
  return created;
}

Result<ProfileView> ProfileService::create_new(const Caller& caller, const CreateRequest& request) {
  auto model_arns = model_arns_for_source(caller, request.copy_from);
  TOLLGATE_TRY(model_arns);
  auto same_name = store_.find_by_name(caller.account_id, caller.region, request.name);
  TOLLGATE_TRY(same_name);
  if (same_name->has_value()) {
    return Error(ErrorCode::Conflict, "An inference profile named '" + request.name + "' already exists in account " +
                                          caller.account_id + ", region " + caller.region + ": " + (*same_name)->arn() +
                                          ". Choose another name, or delete that profile first.");
  }
  store::ApplicationProfile profile;
  profile.account_id = caller.account_id;
  profile.region = caller.region;
  profile.id = new_resource_id();
  profile.name = request.name;
  profile.description = request.description.value_or("");
  profile.source_arn = request.copy_from;
  profile.model_arns = std::move(*model_arns);
  profile.tags = request.tags;
  profile.created_at = profile.updated_at = clock_.now();
  profile.client_request_token = request.client_request_token.value_or("");
  TOLLGATE_TRY(store_.insert(profile));
  if (tag_observer_ && !profile.tags.empty()) tag_observer_(profile.tags);
  return profiles::view_of(profile);
}

Result<ProfileView> ProfileService::get(const Caller& caller, std::string_view identifier) {
  auto resolved = resolve(caller, identifier);
  TOLLGATE_TRY(resolved);
  if (resolved->system) return view_of(caller, *resolved->system);
  return profiles::view_of(*resolved->application);
}

Result<ListPage> ProfileService::list(const Caller& caller, const ListRequest& request) {
  int64_t max_results = request.max_results.value_or(kDefaultListMaxResults);
  if (max_results < 1 || max_results > 1000) {
    return Error(ErrorCode::Validation, "1 validation error detected: Value '" + std::to_string(max_results) +
                                            "' at 'maxResults' failed to satisfy constraint: Member must have value "
                                            "between 1 and 1000");
  }
  ProfileType type = request.type.value_or(ProfileType::SystemDefined);
  std::string after;
  if (request.next_token) {
    auto decoded = decode_token(type, *request.next_token);
    TOLLGATE_TRY(decoded);
    after = std::move(*decoded);
  }
  auto limit = static_cast<size_t>(max_results);
  return type == ProfileType::Application ? list_application(caller, after, limit) : list_system(caller, after, limit);
}

Result<ListPage> ProfileService::list_system(const Caller& caller, const std::string& after, size_t limit) {
  ListPage page;
  const auto& all = catalog_.system_profiles();
  auto it = std::upper_bound(all.begin(), all.end(), after,
                             [](const std::string& a, const catalog::SystemProfile& p) { return a < p.id; });
  for (; it != all.end(); ++it) {
    if (!it->available_from(caller.region)) continue;
    if (page.profiles.size() == limit) {
      page.next_token = encode_token(ProfileType::SystemDefined, page.profiles.back().id);
      break;
    }
    page.profiles.push_back(view_of(caller, *it));
  }
  return page;
}

Result<ListPage> ProfileService::list_application(const Caller& caller, const std::string& after, size_t limit) {
  auto rows = store_.list(caller.account_id, caller.region, after, limit + 1);
  TOLLGATE_TRY(rows);
  ListPage page;
  for (const auto& p : *rows) {
    if (page.profiles.size() == limit) {
      page.next_token = encode_token(ProfileType::Application, page.profiles.back().id);
      break;
    }
    page.profiles.push_back(profiles::view_of(p));
  }
  return page;
}

Status ProfileService::remove(const Caller& caller, std::string_view identifier) {
  auto resolved = resolve(caller, identifier);
  TOLLGATE_TRY(resolved);
  if (resolved->system) {
    return Error(ErrorCode::Validation, "The system-defined inference profile '" + resolved->system->id +
                                            "' cannot be deleted; only application inference profiles can.");
  }
  return store_.remove(resolved->application->key());
}

Result<store::ApplicationProfile> ProfileService::resolve_taggable(const Caller& caller,
                                                                   std::string_view resource_arn) {
  TOLLGATE_TRY(check_length("resourceARN", resource_arn, 20, 1011));
  if (!looks_like_arn(resource_arn)) {
    bool plain_name = is_alnum(resource_arn.front()) && std::all_of(resource_arn.begin(), resource_arn.end(),
                                                                    [](char c) { return is_alnum(c) || c == '-'; });
    if (!plain_name) {
      return Error(ErrorCode::Validation, "1 validation error detected: Value '" + quote_value(resource_arn) +
                                              "' at 'resourceARN' failed to satisfy constraint: Member must be the ARN "
                                              "of a Bedrock resource, e.g. arn:aws:bedrock:" +
                                              caller.region + ":" + caller.account_id +
                                              ":application-inference-profile/ID");
    }
    return not_found_with_hint(caller, resource_arn, "'" + std::string(resource_arn) + "' is not an ARN.");
  }
  auto arn = parse_arn(resource_arn);
  if (arn && arn->service == "bedrock" && arn->resource_type == kSystemType) {
    return Error(ErrorCode::Validation,
                 "System-defined inference profiles cannot be tagged. Create an application "
                 "inference profile that copies from it and tag that one.");
  }
  if (!arn || arn->resource_type != kApplicationType) {
    return Error(ErrorCode::ResourceNotFound,
                 "The resource " + std::string(resource_arn) +
                     " was not found. tollgate manages the tags of application inference "
                     "profiles (arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID).");
  }
  auto resolved = resolve(caller, resource_arn);
  TOLLGATE_TRY(resolved);
  return std::move(*resolved->application);
}

Status ProfileService::tag(const Caller& caller, std::string_view resource_arn, const std::vector<Tag>& tags) {
  TOLLGATE_TRY(validate_tag_list("tags", tags));
  auto profile = resolve_taggable(caller, resource_arn);
  TOLLGATE_TRY(profile);
  auto updated = store_.update(profile->key(), [&](store::ApplicationProfile& p) -> Status {
    merge_tags(p.tags, tags);
    if (p.tags.size() > kMaxTagsPerResource) return too_many_tags(p.arn(), p.tags.size());
    return enforce_tag_policy(p.tags);
  });
  TOLLGATE_TRY(updated);
  if (tag_observer_) tag_observer_(tags);
  return {};
}

Result<ProfileView> ProfileService::update(const Caller& caller, std::string_view resource_arn,
                                           const ProfileUpdate& change) {
  if (change.description && *change.description) {
    TOLLGATE_TRY(check_string("description", **change.description, 1, 200, kDescriptionPattern));
  }
  if (change.tags) {
    TOLLGATE_TRY(validate_tag_list("tags", *change.tags));
    if (change.tags->size() > kMaxTagsPerResource) return too_many_tags(std::string(resource_arn), change.tags->size());
  }
  auto profile = resolve_taggable(caller, resource_arn);
  TOLLGATE_TRY(profile);
  auto updated = store_.update(profile->key(), [&](store::ApplicationProfile& p) -> Status {
    if (change.description) p.description = change.description->value_or("");
    if (change.tags) p.tags = *change.tags;
    p.updated_at = clock_.now();
    return enforce_tag_policy(p.tags);
  });
  TOLLGATE_TRY(updated);
  if (tag_observer_ && change.tags && !change.tags->empty()) tag_observer_(*change.tags);
  return profiles::view_of(*updated);
}

Status ProfileService::untag(const Caller& caller, std::string_view resource_arn,
                             const std::vector<std::string>& tag_keys) {
  if (tag_keys.size() > kMaxTagsPerRequest) {
    return Error(ErrorCode::Validation,
                 "1 validation error detected: Value at 'tagKeys' failed to satisfy "
                 "constraint: Member must have length less than or equal to 200");
  }
  for (size_t i = 0; i < tag_keys.size(); ++i) {
    TOLLGATE_TRY(validate_tag_key("tagKeys." + std::to_string(i + 1) + ".member", tag_keys[i]));
  }
  auto profile = resolve_taggable(caller, resource_arn);
  TOLLGATE_TRY(profile);
  auto updated = store_.update(profile->key(), [&](store::ApplicationProfile& p) -> Status {
    std::erase_if(p.tags,
                  [&](const Tag& t) { return std::find(tag_keys.begin(), tag_keys.end(), t.key) != tag_keys.end(); });
    return enforce_tag_policy(p.tags);
  });
  TOLLGATE_TRY(updated);
  return {};
}

Result<std::vector<Tag>> ProfileService::list_tags(const Caller& caller, std::string_view resource_arn) {
  auto profile = resolve_taggable(caller, resource_arn);
  TOLLGATE_TRY(profile);
  return std::move(profile->tags);
}

namespace {

// Puts `preferred` first when it is among `regions`.
std::vector<std::string> preferring(std::vector<std::string> regions, const std::string& preferred) {
  auto it = std::find(regions.begin(), regions.end(), preferred);
  if (it != regions.end()) std::rotate(regions.begin(), it, it + 1);
  return regions;
}

std::string region_of_model_arn(const std::string& arn) {
  auto parsed = parse_arn(arn);
  return parsed ? parsed->region : std::string();
}

}  // namespace

Result<InvocationTarget> ProfileService::model_target(std::string_view model_id, std::string_view region) {
  const auto* model = catalog_.find_model(model_id);
  if (!model) {
    return Error(ErrorCode::ResourceNotFound, "The model '" + std::string(model_id) +
                                                  "' does not exist. Use a foundation-model id from "
                                                  "ListFoundationModels, or an inference profile id or ARN.");
  }
  if (!model->offered_in(region)) {
    return Error(ErrorCode::Validation, "The model '" + model->model_id + "' is not offered in region " +
                                            std::string(region) + ". It is offered in: " + join(model->regions) +
                                            ". Call one of those regions, or use an inference profile.");
  }
  bool on_demand = std::find(model->inference_types.begin(), model->inference_types.end(), "ON_DEMAND") !=
                   model->inference_types.end();
  if (!on_demand) {
    return Error(ErrorCode::Validation, "Invocation of model ID " + model->model_id +
                                            " with on-demand throughput isn't supported. Retry your request with "
                                            "the ID or ARN of an inference profile that contains this model.");
  }
  InvocationTarget target;
  target.resource_arn = catalog::foundation_model_arn(region, model->model_id);
  target.model_id = model->model_id;
  target.regions = {std::string(region)};
  return target;
}

InvocationTarget ProfileService::system_target(const Caller& caller, const catalog::SystemProfile& profile) const {
  InvocationTarget target;
  target.resource_arn = catalog::system_profile_arn(caller.region, caller.account_id, profile.id);
  target.profile_arn = target.resource_arn;
  target.model_id = profile.model_id;
  target.regions = preferring(profile.regions, caller.region);
  target.geography = profile.geography;
  return target;
}

Result<InvocationTarget> ProfileService::resolve_invocation(const Caller& caller, std::string_view model_id) {
  TOLLGATE_TRY(check_length("modelId", model_id, 1, 2048));
  if (auto arn = parse_arn(model_id); arn && arn->resource_type == kModelType) {
    if (!arn->region.empty() && arn->region != caller.region) {
      return Error(ErrorCode::Validation, "The model ARN names region " + arn->region +
                                              ", but the request was sent to region " + caller.region +
                                              "; send it to " + arn->region + " or use that region in the ARN.");
    }
    return model_target(arn->resource_id, caller.region);
  }
  if (!looks_like_arn(model_id) && catalog_.find_model(model_id)) return model_target(model_id, caller.region);

  auto resolved = resolve(caller, model_id);
  TOLLGATE_TRY(resolved);
  if (resolved->system) return system_target(caller, *resolved->system);

  const store::ApplicationProfile& app = *resolved->application;
  InvocationTarget target;
  if (auto source = parse_arn(app.source_arn); source && source->resource_type == kSystemType) {
    if (const auto* sys = catalog_.find_system_profile(source->resource_id)) target = system_target(caller, *sys);
  }
  if (target.model_id.empty()) {  // copied from a foundation model: pinned to its region
    auto source = parse_arn(app.source_arn);
    target.model_id = source ? source->resource_id : std::string();
    for (const auto& arn : app.model_arns) target.regions.push_back(region_of_model_arn(arn));
  }
  target.resource_arn = app.arn();
  target.profile_arn = app.arn();
  target.tags = app.tags;
  return target;
}

}  // namespace tollgate::profiles
