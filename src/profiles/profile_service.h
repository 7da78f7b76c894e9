// The Bedrock control plane for inference profiles, as plain logic on plain
// structs: validation of every field against the service model, resolution of
// identifiers (id, ARN, and the helpful errors for a name or an ARN of the wrong
// kind), application profiles from the store and system-defined ones from the
// catalog, and tags. No JSON or HTTP here: api/bedrock adapts it to the wire.
//
// Thread-safety: safe to call concurrently (the store serialises writes).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/tag.h"
#include "profiles/tag_policy.h"
#include "store/profile_store.h"

namespace tollgate::profiles {

// Who is calling, and where: profiles are regional resources of one account.
struct Caller {
  std::string account_id;
  std::string region;
};

enum class ProfileType { SystemDefined, Application };
std::string_view to_string(ProfileType type);

// GetInferenceProfile's answer and one ListInferenceProfiles summary.
struct ProfileView {
  std::string name;
  std::string description;  // empty = absent
  std::string arn;
  std::string id;
  ProfileType type = ProfileType::Application;
  std::vector<std::string> model_arns;
  std::optional<TimePoint> created_at;
  std::optional<TimePoint> updated_at;
  std::string source_arn;  // application profiles: modelSource.copyFrom as given
};

struct CreateRequest {
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> client_request_token;
  std::string copy_from;
  std::vector<Tag> tags;
};

struct ProfileUpdate {
  std::optional<std::optional<std::string>> description;  // set: the new description (nullopt inside: none)
  std::optional<std::vector<Tag>> tags;                   // set: the whole new tag set
};

struct ListRequest {
  std::optional<ProfileType> type;  // AWS lists SYSTEM_DEFINED when absent
  std::optional<int64_t> max_results;
  std::optional<std::string> next_token;
};

struct ListPage {
  std::vector<ProfileView> profiles;
  std::optional<std::string> next_token;
};

inline constexpr int64_t kDefaultListMaxResults = 100;

// What a runtime call's modelId resolves to: the model, where it may run, and
// whose it is. Application profile → its source (a model, or a system profile)
// → model + candidate regions.
struct InvocationTarget {
  std::string resource_arn;  // ARN form of what the caller named
  std::string profile_arn;   // application or system profile; empty for a bare model
  std::string model_id;
  std::vector<std::string> regions;  // where it may be served, the caller's region first when it is one
  std::string geography;             // of the system profile routed through; empty when none
  std::vector<Tag> tags;             // the application profile's tags at this moment
};

class ProfileService {
 public:
  ProfileService(const catalog::Catalog& catalog, store::ProfileStore& store, const Clock& clock);
  const catalog::Catalog& catalog() const { return catalog_; }

  // Called with the tags of each successful create and TagResource (e.g. to record their keys as
  // cost-allocation tags). Set before serving; it must not throw.
  using TagObserver = std::function<void(const std::vector<Tag>& tags)>;
  void set_tag_observer(TagObserver observer) { tag_observer_ = std::move(observer); }

  // The tag policy that creates, tags and untags must leave every profile conforming to (none: no policy).
  // Set before serving.
  void set_tag_policy(std::shared_ptr<const TagPolicy> policy) { tag_policy_ = std::move(policy); }

  Result<ProfileView> create(const Caller& caller, const CreateRequest& request);
  // Every check create() makes (fields, tag policy, the source) without storing anything: a plan's check.
  Status check_create(const Caller& caller, const CreateRequest& request);
  // Replaces the description and/or the whole tag set of an application profile in one transaction
  // (what a stack update does; the Bedrock API itself has no such operation).
  Result<ProfileView> update(const Caller& caller, std::string_view resource_arn, const ProfileUpdate& change);
  Result<ProfileView> get(const Caller& caller, std::string_view identifier);
  Result<ListPage> list(const Caller& caller, const ListRequest& request);
  Status remove(const Caller& caller, std::string_view identifier);

  Status tag(const Caller& caller, std::string_view resource_arn, const std::vector<Tag>& tags);
  Status untag(const Caller& caller, std::string_view resource_arn, const std::vector<std::string>& tag_keys);
  Result<std::vector<Tag>> list_tags(const Caller& caller, std::string_view resource_arn);

  // Resolves the modelId of a bedrock-runtime call: a foundation-model id or ARN,
  // a system-defined profile id or ARN, or an application profile id or ARN.
  Result<InvocationTarget> resolve_invocation(const Caller& caller, std::string_view model_id);

 private:
  struct Resolved;  // an identifier resolved to a system profile or an application profile
  Result<Resolved> resolve(const Caller& caller, std::string_view identifier);
  Result<store::ApplicationProfile> resolve_taggable(const Caller& caller, std::string_view resource_arn);
  Result<std::vector<std::string>> model_arns_for_source(const Caller& caller, std::string_view copy_from);
  Result<ProfileView> create_new(const Caller& caller, const CreateRequest& request);
  Status check_fields(const CreateRequest& request) const;
  Error not_found_with_hint(const Caller& caller, std::string_view identifier, std::string_view why);
  // ValidationException naming every violation of the tag policy by a profile's resulting tags.
  Status enforce_tag_policy(const std::vector<Tag>& tags) const;
  ProfileView view_of(const Caller& caller, const catalog::SystemProfile& profile) const;
  Result<InvocationTarget> model_target(std::string_view model_id, std::string_view region);
  InvocationTarget system_target(const Caller& caller, const catalog::SystemProfile& profile) const;
  Result<ListPage> list_system(const Caller& caller, const std::string& after, size_t limit);
  Result<ListPage> list_application(const Caller& caller, const std::string& after, size_t limit);

  const catalog::Catalog& catalog_;
  store::ProfileStore& store_;
  const Clock& clock_;
  TagObserver tag_observer_;
  std::shared_ptr<const TagPolicy> tag_policy_;
};

ProfileView view_of(const store::ApplicationProfile& profile);

}  // namespace tollgate::profiles
