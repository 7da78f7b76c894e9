#include "provider/bedrock/request.h"

#include <boost/url/parse.hpp>

#include "auth/sigv4.h"

namespace tollgate::provider::bedrock {
namespace {

constexpr std::string_view kService = "bedrock";

Error bad_endpoint(std::string_view url, std::string_view why) {
  return Error(ErrorCode::Validation,
               "The Bedrock endpoint '" + std::string(url) + "' cannot be used: " + std::string(why) + ".");
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The headers of the request before signing (Host included, as SigV4 requires).
std::vector<http::Header> unsigned_headers(const Invocation& invocation, const Endpoint& endpoint) {
  std::vector<http::Header> headers{{"Host", endpoint.host_header}, {"Content-Type", invocation.content_type}};
  std::string_view accept_header;
  if (invocation.operation == Operation::InvokeModel) accept_header = "Accept";
  if (invocation.operation == Operation::InvokeModelWithResponseStream) accept_header = "X-Amzn-Bedrock-Accept";
  if (!accept_header.empty()) headers.push_back({std::string(accept_header), invocation.accept});
  for (const auto& h : invocation.bedrock_headers) {
    // The accept header above already carries the invocation's value.
    if (!accept_header.empty() && http::header_name_equals(h.name, accept_header)) continue;
    headers.push_back(h);
  }
  return headers;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return bad_endpoint(url, "it is not an absolute URL");
  const auto& u = *parsed;
  std::string scheme = lowercase(u.scheme());
  if (scheme != "http" && scheme != "https") return bad_endpoint(url, "the scheme must be http or https");
  if (u.has_userinfo()) return bad_endpoint(url, "it must not carry user information");
  if (u.has_query() || u.has_fragment()) return bad_endpoint(url, "it must not have a query or fragment");
  std::string host = u.host_address();
  if (host.empty()) return bad_endpoint(url, "it has no host");
  uint16_t default_port = scheme == "https" ? 443 : 80;
  uint16_t port = u.has_port() ? u.port_number() : default_port;
  if (port == 0) return bad_endpoint(url, "its port is not a number from 1 to 65535");
  if (u.host_type() == boost::urls::host_type::ipv6) host = "[" + host + "]";
  Endpoint endpoint;
  endpoint.host_header = port == default_port ? host : host + ":" + std::to_string(port);
  endpoint.origin = scheme + "://" + endpoint.host_header;
  endpoint.base_path = std::string(u.encoded_path());
  while (!endpoint.base_path.empty() && endpoint.base_path.back() == '/') endpoint.base_path.pop_back();
  return endpoint;
}

Endpoint regional_endpoint(std::string_view region) {
  Endpoint endpoint;
  endpoint.host_header = "bedrock-runtime." + std::string(region) + ".amazonaws.com";
  endpoint.origin = "https://" + endpoint.host_header;
  return endpoint;
}

std::string_view operation_suffix(Operation operation) {
  switch (operation) {
    case Operation::Converse: return "converse";
    case Operation::ConverseStream: return "converse-stream";
    case Operation::InvokeModel: return "invoke";
    case Operation::InvokeModelWithResponseStream: return "invoke-with-response-stream";
    case Operation::CountTokens: return "count-tokens";
  }
  return "converse";
}

std::string model_path(std::string_view model_id, Operation operation) {
  return "/model/" + auth::sigv4::uri_encode(model_id, false) + "/" + std::string(operation_suffix(operation));
}

bool valid_region(std::string_view region) {
  if (region.empty() || region.size() > 63) return false;
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<http::ClientRequest> build_request(const Invocation& invocation, const Endpoint* endpoint,
                                          const Credentials& credentials, TimePoint now,
                                          std::chrono::milliseconds timeout) {
  if (!valid_region(invocation.region)) {
    return Error(ErrorCode::InternalServer, "The gateway has no usable region for this Bedrock model.",
                 "bedrock: served region '" + invocation.region + "' is not a valid region name");
  }
  if (invocation.model_id.empty()) return Error(ErrorCode::Validation, "The model identifier is empty.");
  Endpoint regional;
  if (!endpoint) {
    regional = regional_endpoint(invocation.region);
    endpoint = &regional;
  }
  http::Request request;
  request.method = "POST";
  request.path = endpoint->base_path + model_path(invocation.model_id, invocation.operation);
  request.headers = unsigned_headers(invocation, *endpoint);
  request.body = invocation.body;
  auth::sigv4::SigningParams params{credentials.access_key_id, credentials.secret_access_key, invocation.region,
                                    std::string(kService), now, credentials.session_token};
  auth::sigv4::sign_request(request, params);

  http::ClientRequest out;
  out.method = "POST";
  out.url = endpoint->origin + request.path;
  out.headers = std::move(request.headers);
  out.body = std::move(request.body);
  out.timeout = timeout;
  return out;
}

}  // namespace tollgate::provider::bedrock
