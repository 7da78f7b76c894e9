// Durable state of application inference profiles. An interface so that the
// embedded SQLite store and a PostgreSQL store (for many gateway nodes) can both
// satisfy it; no database types appear here.
//
// Every method is one transaction: it either commits completely or changes
// nothing. Failures of the database itself are InternalServer errors.
// Thread-safety: implementations are safe to call from many threads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/tag.h"

namespace tollgate::store {

// Identifies a profile: profiles are regional resources of one account.
struct ProfileKey {
  std::string account_id;
  std::string region;
  std::string id;
};

struct ApplicationProfile {
  std::string account_id;
  std::string region;
  std::string id;  // 12 lowercase alphanumerics
  std::string name;
  std::string description;  // empty when none was given
  std::string source_arn;   // modelSource.copyFrom as given
  std::vector<std::string> model_arns;  // foundation-model ARN per region the profile can use
  std::vector<Tag> tags;                // in the order they were first set
  TimePoint created_at;
  TimePoint updated_at;
  std::string client_request_token;  // empty when none was given

  ProfileKey key() const { return {account_id, region, id}; }
  std::string arn() const;
};

class ProfileStore {
 public:
  virtual ~ProfileStore() = default;

  // Stores a new profile. Conflict when the account already has a profile of
  // that name in the region, or one created with the same client request token.
  virtual Status insert(const ApplicationProfile& profile) = 0;

  virtual Result<std::optional<ApplicationProfile>> find(const ProfileKey& key) = 0;
  virtual Result<std::optional<ApplicationProfile>> find_by_name(const std::string& account_id,
                                                                 const std::string& region,
                                                                 const std::string& name) = 0;
  virtual Result<std::optional<ApplicationProfile>> find_by_token(const std::string& account_id,
                                                                  const std::string& region,
                                                                  const std::string& token) = 0;
  // Finds a profile by id in any region of the account (to explain a wrong-region call).
  virtual Result<std::optional<ApplicationProfile>> find_in_any_region(const std::string& account_id,
                                                                       const std::string& id) = 0;

  // Profiles of an account in a region ordered by id, those with id > after_id, at most `limit`.
  virtual Result<std::vector<ApplicationProfile>> list(const std::string& account_id, const std::string& region,
                                                       const std::string& after_id, size_t limit) = 0;

  // Deletes; ResourceNotFound when absent.
  virtual Status remove(const ProfileKey& key) = 0;

  // Reads the profile, applies `mutate`, and saves the result, all in one
  // transaction; when `mutate` fails nothing is saved and its error is returned.
  // ResourceNotFound when absent.
  using Mutation = std::function<Status(ApplicationProfile&)>;
  virtual Result<ApplicationProfile> update(const ProfileKey& key, const Mutation& mutate) = 0;
};

}  // namespace tollgate::store
