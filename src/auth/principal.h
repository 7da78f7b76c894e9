// Who may call tollgate, and who a request turned out to come from.
//
// Credentials are configuration (loaded at start-up, immutable afterwards); a Principal is the
// result of authenticating one request and never carries a secret.
#pragma once

#include <string>

namespace tollgate::auth {

// An AWS-style access key pair, verified with SigV4.
struct AccessKeyCredential {
  std::string access_key_id;      // e.g. "AKIAIOSFODNN7EXAMPLE"
  std::string secret_access_key;  // never logged, never returned
  std::string account_id;         // 12 digits
  std::string name;               // human-readable owner, for logs and metering
};

// A Bedrock API key, sent as `Authorization: Bearer <key>` (bedrock and bedrock-runtime only).
struct ApiKeyCredential {
  std::string id;          // public identifier of the key (safe to log)
  std::string key;         // the bearer token itself; secret
  std::string account_id;  // 12 digits
  std::string name;
};

// The authenticated caller of one request.
struct Principal {
  enum class Kind { AccessKey, ApiKey };
  Kind kind = Kind::AccessKey;
  std::string account_id;  // 12 digits
  std::string key_id;      // access key id, or the API key's id (never the secret)
  std::string name;        // an IAM user name: [A-Za-z0-9+=,.@_-]{1,64} (checked when configured)

  // Who the caller is, as IAM names it (usage records, Cost Explorer's IAM_PRINCIPAL, access policies).
  std::string arn() const { return "arn:aws:iam::" + account_id + ":user/" + name; }
};

}  // namespace tollgate::auth
