#include "app/gateway_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>

#include "auth/sigv4.h"
#include "core/clock.h"
#include "core/error.h"
#include "io/async.h"
#include "provider/bedrock/request.h"

namespace tollgate::app {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string first_set(std::initializer_list<std::string> candidates) {
  for (const auto& c : candidates) {
    if (!c.empty()) return c;
  }
  return {};
}

}  // namespace

GatewayClient::GatewayClient(GatewayClientOptions options)
    : endpoint_url_(options.endpoint_url), http_(std::make_unique<http::HttpClient>()) {
  auto endpoint = provider::bedrock::parse_endpoint(options.endpoint_url);
  if (!endpoint.ok()) throw StartupError("--endpoint-url: " + endpoint.error().message());
  origin_ = endpoint->origin;
  host_header_ = endpoint->host_header;
  base_path_ = endpoint->base_path;
  region_ = first_set({options.region, environment("AWS_REGION"), environment("AWS_DEFAULT_REGION"), "us-east-1"});
  if (environment("AWS_ACCESS_KEY_ID").empty() != environment("AWS_SECRET_ACCESS_KEY").empty()) {
    throw StartupError(
        "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (then test / test, the "
        "embedded default principal)");
  }
}

GatewayClient::~GatewayClient() = default;

Result<http::ClientResponse> GatewayClient::send(const std::string& method, const std::string& path,
                                                 const std::string& query, const std::string& json_body) {
  http::Request request;
  request.method = method;
  request.path = base_path_ + path;
  request.query = query;
  request.headers = {{"Host", host_header_}};
  if (!json_body.empty()) request.headers.push_back({"Content-Type", "application/json"});
  request.body = json_body;
  if (std::string api_key = environment("AWS_BEARER_TOKEN_BEDROCK"); !api_key.empty()) {
    request.headers.push_back({"Authorization", "Bearer " + api_key});
  } else {
    auth::sigv4::SigningParams params{first_set({environment("AWS_ACCESS_KEY_ID"), "test"}),
                                      first_set({environment("AWS_SECRET_ACCESS_KEY"), "test"}),
                                      region_,
                                      "bedrock",
                                      SystemClock().now(),
                                      environment("AWS_SESSION_TOKEN")};
    auth::sigv4::sign_request(request, params);
  }
  http::ClientRequest out;
  out.method = method;
  out.url = origin_ + request.path + (query.empty() ? "" : "?" + query);
  out.headers = std::move(request.headers);
  out.body = std::move(request.body);

  std::optional<Result<http::ClientResponse>> answer;
  run_to_completion({[&]() -> Task<void> { answer = co_await http_->request(std::move(out)); }});
  if (!answer) return Error(ErrorCode::ServiceUnavailable, "No answer from " + endpoint_url_ + ".");
  if (!answer->ok()) {
    return Error(ErrorCode::ServiceUnavailable, "Cannot reach the gateway at " + endpoint_url_ + ": " +
                                                    answer->error().message() +
                                                    " (is `tollgate serve` running there? see --endpoint-url)");
  }
  return std::move(*answer);
}

std::string GatewayClient::error_text(const http::ClientResponse& response) {
  std::string code(response.header("x-amzn-ErrorType").value_or(""));
  std::string message;
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    const auto& object = body.get_object();
    for (const char* key : {"message", "Message"}) {
      if (const auto* m = object.if_contains(key); m && m->is_string()) message = std::string(m->get_string());
    }
    if (const auto* type = object.if_contains("__type"); code.empty() && type && type->is_string()) {
      code = std::string(type->get_string());
    }
  }
  code = code.substr(0, code.find(':'));  // "ValidationException:http://..." carries a URL after the name
  if (code.empty() && message.empty()) return "HTTP " + std::to_string(response.status) + ": " + response.body;
  return (code.empty() ? "HTTP " + std::to_string(response.status) : code) + ": " + message;
}

}  // namespace tollgate::app
