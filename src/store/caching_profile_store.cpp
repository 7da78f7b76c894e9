#include "store/caching_profile_store.h"

#include <mutex>

namespace tollgate::store {

std::string CachingProfileStore::cache_key(const ProfileKey& key) {
  return key.account_id + '\n' + key.region + '\n' + key.id;
}

void CachingProfileStore::forget(const ProfileKey& key) {
  std::unique_lock lock(mu_);
  generation_.fetch_add(1);
  cache_.erase(cache_key(key));
}

Status CachingProfileStore::insert(const ApplicationProfile& profile) {
  Status s = inner_.insert(profile);
  forget(profile.key());
  return s;
}

Status CachingProfileStore::remove(const ProfileKey& key) {
  Status s = inner_.remove(key);
  forget(key);
  return s;
}

Result<ApplicationProfile> CachingProfileStore::update(const ProfileKey& key, const Mutation& mutate) {
  auto updated = inner_.update(key, mutate);
  forget(key);
  return updated;
}

Result<std::optional<ApplicationProfile>> CachingProfileStore::find(const ProfileKey& key) {
  std::string k = cache_key(key);
  {
    std::shared_lock lock(mu_);
    if (auto it = cache_.find(k); it != cache_.end()) return std::optional<ApplicationProfile>(it->second);
  }
  uint64_t generation = generation_.load();
  auto found = inner_.find(key);
  if (found.ok() && found->has_value()) {
    std::unique_lock lock(mu_);
    if (generation_.load() == generation) cache_.emplace(std::move(k), **found);
  }
  return found;
}

}  // namespace tollgate::store
