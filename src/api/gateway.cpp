#include "api/gateway.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/ids.h"
#include "govern/authorization.h"
#include "io/async.h"

namespace tollgate::api {
namespace {

constexpr size_t kDefaultBodyLimit = 1024 * 1024;

// The caller's access policy on the operation (runtime operations authorize themselves, later).
Status authorize(const Operation& op, const Call& call) {
  if (op.authorizes_itself) return {};
  const auth::Principal& principal = call.auth.principal;
  if (!principal.policy) return {};
  govern::OperationCall what{op.signing_name,   op.name,          call.label,
                             call.request.body, call.auth.region, principal.account_id};
  return govern::authorize(principal.arn(), principal.policy.get(), govern::access_request_of(what));
}

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

namespace {

// Adds x-amzn-RequestId to whatever the handler sends.
class RequestIdWriter final : public http::ResponseWriter {
 public:
  RequestIdWriter(http::ResponseWriter& inner, const std::string& request_id, int& status)
      : inner_(inner), request_id_(request_id), status_(status) {}
  Task<bool> send(http::Response response) override {
    response.set_header("x-amzn-RequestId", request_id_);
    status_ = response.status;
    return inner_.send(std::move(response));
  }
  Task<bool> begin(int status, std::vector<http::Header> headers) override {
    headers.push_back({"x-amzn-RequestId", request_id_});
    status_ = status;
    return inner_.begin(status, std::move(headers));
  }
  Task<bool> write(std::string_view bytes) override { return inner_.write(bytes); }
  Task<bool> end(std::vector<http::Header> trailers) override { return inner_.end(std::move(trailers)); }
  bool started() const override { return inner_.started(); }

 private:
  http::ResponseWriter& inner_;
  const std::string& request_id_;
  int& status_;
};

}  // namespace

Task<void> Gateway::handle(http::Request& request, http::ResponseWriter& raw_writer) {
  auto started = std::chrono::steady_clock::now();
  std::string request_id = new_request_id();
  int status = 0;
  RequestIdWriter writer(raw_writer, request_id, status);
  std::string operation = "-";
  Protocol protocol = protocol_of(request);
  Status outcome;

  auto m = match(request);
  if (!m.ok()) {
    outcome = std::move(m).error();
  } else {
    const Operation& op = *m->op;
    operation = op.name;
    protocol = op.protocol;
    auto auth = authenticator_.authenticate(request, op.signing_name, op.bearer_allowed);
    if (!auth.ok()) {
      outcome = std::move(auth).error();
    } else {
      Call call{request, *auth, std::move(m->label), request_id};
      if (Status allowed = authorize(op, call); !allowed.ok()) {
        outcome = std::move(allowed).error();
      } else if (op.async_handler) {
        outcome = co_await op.async_handler(call, writer);
      } else {
        // Off the io thread: a control-plane write waits for SQLite's fsync.
        Result<http::Response> result = Error(ErrorCode::InternalServer, "The server encountered an internal error.");
        std::function<void()> work = [&] { result = op.handler(call); };
        Status ran = co_await run_blocking(std::move(work));
        if (!ran.ok()) result = std::move(ran).error();
        if (result.ok()) {
          co_await writer.send(std::move(*result));
        } else {
          outcome = std::move(result).error();
        }
      }
    }
  }
  if (!outcome.ok() && !writer.started()) co_await writer.send(error_response(protocol, outcome.error(), request_id));

  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (outcome.ok()) {
    spdlog::info("{} {} {} {} -> {} ({} ms)", request_id, operation, request.method, request.path, status, ms.count());
  } else {
    const Error& e = outcome.error();
    spdlog::info("{} {} {} {} -> {} {}: {}{}{} ({} ms)", request_id, operation, request.method, request.path, status,
                 e.aws_name(), e.message(), e.detail().empty() ? "" : " | ", e.detail(), ms.count());
  }
}

}  // namespace tollgate::api
