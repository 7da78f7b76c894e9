// The edge between HTTP and the AWS APIs: finds the operation a request
// addresses (rest-json by method and path; json-1.1 by X-Amz-Target),
// authenticates it with the operation's signing name, authorizes it against the
// caller's access policy (govern/), runs the operation's handler, and encodes
// every answer — errors included, in the protocol of the API addressed — with
// x-amzn-RequestId. This is the one place an Error becomes bytes on the wire.
//
// Thread-safety: register operations before serving; handle() is then
// safe to call concurrently.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"
#include "core/result.h"
#include "http/server.h"

namespace tollgate::api {

enum class Protocol { RestJson, AwsJson11 };

// What an operation handler receives.
struct Call {
  const http::Request& request;
  const auth::AuthContext& auth;
  std::string label;       // the decoded path label of rest-json routes, e.g. {inferenceProfileIdentifier}
  std::string request_id;  // also sent as x-amzn-RequestId
};

// A handler that computes its whole answer at once.
using OperationHandler = std::function<Result<http::Response>(const Call&)>;
// A handler that answers through the writer itself (streams, upstream calls).
// An error it returns before writing anything is encoded by the Gateway; once
// it has started writing, errors are its own to encode (e.g. in-stream).
using AsyncOperationHandler = std::function<Task<Status>(const Call&, http::ResponseWriter&)>;

struct Operation {
  std::string name;  // e.g. "CreateInferenceProfile"
  Protocol protocol;
  std::string signing_name;  // SigV4 service in the credential scope: "bedrock", "ce", "budgets"
  bool bearer_allowed;       // Bedrock API keys (Authorization: Bearer)
  size_t body_limit;
  OperationHandler handler;               // either this…
  AsyncOperationHandler async_handler{};  // …or this
  // The Gateway authorizes every call against the caller's access policy before its handler runs
  // (govern::access_request_of names the action and resource). True: the handler does it itself, where
  // the resource becomes known (the runtime, once the modelId is resolved), before a model is called.
  bool authorizes_itself = false;
};

class Gateway final : public http::RequestHandler {
 public:
  explicit Gateway(const auth::Authenticator& authenticator);

  // A rest-json route. `path` is literal except for at most one "{label}", which
  // matches one or more characters (slashes included, as Bedrock ARNs in paths
  // may arrive unencoded) and is percent-decoded for the handler.
  void add_rest(std::string method, std::string path, Operation op);
  // A json-1.1 operation addressed by `POST /` with `X-Amz-Target: <target>`.
  void add_json(std::string target, Operation op);

  size_t body_limit(const http::Request& request) const override;
  Task<void> handle(http::Request& request, http::ResponseWriter& writer) override;
  http::Response reject(const http::Request& request, const Error& error) override;

  // Encodes `error` the way `protocol` does. Exposed for tests.
  static http::Response error_response(Protocol protocol, const Error& error, const std::string& request_id);
  static http::Response json_response(int status, std::string body, Protocol protocol = Protocol::RestJson);

 private:
  struct Route {
    std::string method;
    std::string prefix;  // text before {label}, or the whole path
    std::string suffix;  // text after {label}
    bool has_label;
    Operation op;
  };
  struct Match {
    const Operation* op = nullptr;
    std::string label;
  };

  Result<Match> match(const http::Request& request) const;
  static Protocol protocol_of(const http::Request& request);

  const auth::Authenticator& authenticator_;
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, Operation>> targets_;
};

}  // namespace tollgate::api
