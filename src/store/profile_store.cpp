#include "store/profile_store.h"

namespace tollgate::store {

std::string ApplicationProfile::arn() const {
  return "arn:aws:bedrock:" + region + ":" + account_id + ":application-inference-profile/" + id;
}

}  // namespace tollgate::store
