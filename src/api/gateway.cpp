#include "api/gateway.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/ids.h"

namespace tollgate::api {
namespace {

constexpr size_t kDefaultBodyLimit = 1024 * 1024;

std::string_view content_type(Protocol protocol) {
  return protocol == Protocol::AwsJson11 ? "application/x-amz-json-1.1" : "application/json";
}

}  // namespace

Gateway::Gateway(const auth::Authenticator& authenticator) : authenticator_(authenticator) {}

void Gateway::add_rest(std::string method, std::string path, Operation op) {
  size_t open = path.find("{");
  Route route{std::move(method), path, "", false, std::move(op)};
  if (open != std::string::npos) {
    size_t close = path.find('}', open);
    route.prefix = path.substr(0, open);
    route.suffix = path.substr(close + 1);
    route.has_label = true;
  }
  routes_.push_back(std::move(route));
}

void Gateway::add_json(std::string target, Operation op) { targets_.emplace_back(std::move(target), std::move(op)); }

Protocol Gateway::protocol_of(const http::Request& request) {
  return request.header("X-Amz-Target") ? Protocol::AwsJson11 : Protocol::RestJson;
}

Result<Gateway::Match> Gateway::match(const http::Request& request) const {
  if (auto target = request.header("X-Amz-Target")) {
    for (const auto& [name, op] : targets_) {
      if (name == *target && request.method == "POST") return Match{&op, {}};
    }
    return Error(ErrorCode::UnknownOperation, "The operation " + std::string(*target) +
                                                  " is not supported by this endpoint (POST / with X-Amz-Target).");
  }
  std::string_view path = request.path;
  bool path_known = false;
  for (const auto& route : routes_) {
    bool path_matches = false;
    std::string_view label;
    if (!route.has_label) {
      path_matches = path == route.prefix;
    } else if (path.size() > route.prefix.size() + route.suffix.size() && path.starts_with(route.prefix) &&
               path.ends_with(route.suffix)) {
      label = path.substr(route.prefix.size(), path.size() - route.prefix.size() - route.suffix.size());
      path_matches = true;
    }
    if (!path_matches) continue;
    path_known = true;
    if (route.method != request.method) continue;
    auto decoded = http::percent_decode(label);
    if (!decoded) {
      return Error(ErrorCode::Validation, "The request path " + request.path + " has a malformed percent-escape.");
    }
    return Match{&route.op, std::move(*decoded)};
  }
  if (path_known) {
    return Error(ErrorCode::UnknownOperation, "No operation answers " + request.method + " " + request.path + ".");
  }
  return Error(ErrorCode::UnknownOperation, "No operation is found at " + request.method + " " + request.path +
                                                ". This endpoint serves the bedrock and bedrock-runtime REST APIs "
                                                "and json-1.1 APIs by X-Amz-Target.");
}

size_t Gateway::body_limit(const http::Request& request) const {
  auto m = match(request);
  return m.ok() ? m->op->body_limit : kDefaultBodyLimit;
}

http::Response Gateway::json_response(int status, std::string body, Protocol protocol) {
  http::Response res;
  res.status = status;
  res.set_header("Content-Type", std::string(content_type(protocol)));
  res.body = std::move(body);
  return res;
}

http::Response Gateway::error_response(Protocol protocol, const Error& error, const std::string& request_id) {
  boost::json::object body;
  if (protocol == Protocol::AwsJson11) {
    body["__type"] = error.aws_name();
    body["Message"] = error.message();
  }
  body["message"] = error.message();
  http::Response res = json_response(error.http_status(), boost::json::serialize(body), protocol);
  if (protocol == Protocol::RestJson) res.set_header("x-amzn-ErrorType", std::string(error.aws_name()));
  res.set_header("x-amzn-RequestId", request_id);
  return res;
}

http::Response Gateway::reject(const http::Request& request, const Error& error) {
  std::string request_id = new_request_id();
  spdlog::info("{} {} {} -> {} {} ({})", request_id, request.method, request.path, error.http_status(),
               error.aws_name(), error.message());
  return error_response(protocol_of(request), error, request_id);
}

http::Response Gateway::handle(http::Request& request) {
  auto started = std::chrono::steady_clock::now();
  std::string request_id = new_request_id();
  Protocol protocol = protocol_of(request);
  std::string operation = "-";
  auto respond = [&](Result<http::Response> result) {
    http::Response res = result.ok() ? std::move(*result) : error_response(protocol, result.error(), request_id);
    res.set_header("x-amzn-RequestId", request_id);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (result.ok()) {
      spdlog::info("{} {} {} {} -> {} ({} ms)", request_id, operation, request.method, request.path, res.status,
                   ms.count());
    } else {
      spdlog::info("{} {} {} {} -> {} {}: {}{}{}", request_id, operation, request.method, request.path, res.status,
                   result.error().aws_name(), result.error().message(), result.error().detail().empty() ? "" : " | ",
                   result.error().detail());
    }
    return res;
  };

  auto m = match(request);
  if (!m.ok()) return respond(std::move(m).error());
  const Operation& op = *m->op;
  operation = op.name;
  protocol = op.protocol;
  auto auth = authenticator_.authenticate(request, op.signing_name, op.bearer_allowed);
  if (!auth.ok()) return respond(std::move(auth).error());
  return respond(op.handler(Call{request, *auth, std::move(m->label)}));
}

}  // namespace tollgate::api
