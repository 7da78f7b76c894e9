// A signed client for the commands that talk to a running gateway (`tollgate apply`, `tollgate validate
// --live`): requests are signed with SigV4 (signing name "bedrock") as the AWS CLI signs them, from the
// usual environment:
//   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) — default test / test, the embedded
//   default principal; or AWS_BEARER_TOKEN_BEDROCK, a Bedrock API key, sent as a bearer token instead;
//   the region from --region, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "http/client.h"

namespace tollgate::app {

struct GatewayClientOptions {
  std::string endpoint_url = "http://127.0.0.1:8420";
  std::string region;  // "" = from the environment
};

class GatewayClient {
 public:
  // Throws StartupError when the endpoint URL is unusable.
  explicit GatewayClient(GatewayClientOptions options);
  ~GatewayClient();

  const std::string& region() const { return region_; }
  const std::string& endpoint() const { return endpoint_url_; }

  // Sends one signed request (`path` percent-encoded, `query` without '?') and answers the response,
  // whatever its status; an Error only when no answer arrived (the message names the endpoint).
  Result<http::ClientResponse> send(const std::string& method, const std::string& path, const std::string& query,
                                    const std::string& json_body);

  // What a non-2xx response says: "<AWS error code>: <message>" (from x-amzn-ErrorType or __type, and
  // the body's message), or the status and body when it is not an AWS error.
  static std::string error_text(const http::ClientResponse& response);

 private:
  std::string endpoint_url_, origin_, host_header_, base_path_, region_;
  std::unique_ptr<http::HttpClient> http_;
};

}  // namespace tollgate::app
