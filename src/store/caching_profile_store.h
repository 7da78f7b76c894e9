// A read-through cache in front of a ProfileStore, for the runtime's hot path:
// every bedrock-runtime call looks its application profile up by key. Writes
// go to the store and then drop the cached entry; a generation counter keeps a
// lookup that raced with a write from caching what it read before the write.
//
// Only valid while this process is the only writer (the embedded SQLite store);
// a store shared by several gateway nodes needs expiry instead.
// Thread-safety: safe to call from many threads.
#pragma once

#include <atomic>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "store/profile_store.h"

namespace tollgate::store {

class CachingProfileStore final : public ProfileStore {
 public:
  explicit CachingProfileStore(ProfileStore& inner) : inner_(inner) {}

  Status insert(const ApplicationProfile& profile) override;
  Result<std::optional<ApplicationProfile>> find(const ProfileKey& key) override;
  Result<std::optional<ApplicationProfile>> find_by_name(const std::string& account_id, const std::string& region,
                                                         const std::string& name) override {
    return inner_.find_by_name(account_id, region, name);
  }
  Result<std::optional<ApplicationProfile>> find_by_token(const std::string& account_id, const std::string& region,
                                                          const std::string& token) override {
    return inner_.find_by_token(account_id, region, token);
  }
  Result<std::optional<ApplicationProfile>> find_in_any_region(const std::string& account_id,
                                                               const std::string& id) override {
    return inner_.find_in_any_region(account_id, id);
  }
  Result<std::vector<ApplicationProfile>> list(const std::string& account_id, const std::string& region,
                                               const std::string& after_id, size_t limit) override {
    return inner_.list(account_id, region, after_id, limit);
  }
  Status remove(const ProfileKey& key) override;
  Result<ApplicationProfile> update(const ProfileKey& key, const Mutation& mutate) override;

 private:
  static std::string cache_key(const ProfileKey& key);
  void forget(const ProfileKey& key);

  ProfileStore& inner_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, ApplicationProfile> cache_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};                        // bumped by every write
};

}  // namespace tollgate::store
