// Who may call tollgate, and who a request turned out to come from.
//
// Credentials are configuration (loaded at start-up, immutable afterwards); a Principal is the
// result of authenticating one request and never carries a secret.
#pragma once

#include <memory>
#include <string>

namespace tollgate::govern {
class AccessPolicy;  // govern/access_policy.h: the auth stage only carries it
}  // namespace tollgate::govern

namespace tollgate::auth {

// A caller's identity-based access policy (doc/governance.md, "Access policies"). Null: no policy, and the
// caller may do everything, as before policies existed.
using PolicyPtr = std::shared_ptr<const govern::AccessPolicy>;

// An AWS-style access key pair, verified with SigV4.
struct AccessKeyCredential {
  std::string access_key_id;      // e.g. "AKIAIOSFODNN7EXAMPLE"
  std::string secret_access_key;  // never logged, never returned
  std::string account_id;         // 12 digits
  std::string name;               // human-readable owner, for logs and metering
  PolicyPtr policy;               // null: everything allowed
};

// A Bedrock API key, sent as `Authorization: Bearer <key>` (bedrock and bedrock-runtime only).
struct ApiKeyCredential {
  std::string id;          // public identifier of the key (safe to log)
  std::string key;         // the bearer token itself; secret
  std::string account_id;  // 12 digits
  std::string name;
  PolicyPtr policy;  // null: everything allowed
};

// The authenticated caller of one request.
struct Principal {
  enum class Kind { AccessKey, ApiKey };
  Kind kind = Kind::AccessKey;
  std::string account_id;  // 12 digits
  std::string key_id;      // access key id, or the API key's id (never the secret)
  std::string name;        // an IAM user name: [A-Za-z0-9+=,.@_-]{1,64} (checked when configured)
  PolicyPtr policy;        // its credential's access policy; null: everything allowed

  // Who the caller is, as IAM names it (usage records, Cost Explorer's IAM_PRINCIPAL, access policies).
  std::string arn() const { return "arn:aws:iam::" + account_id + ":user/" + name; }
};

}  // namespace tollgate::auth
