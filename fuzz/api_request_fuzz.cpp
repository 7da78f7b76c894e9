// Feeds arbitrary bytes through the gateway as a Bedrock control-plane request:
// routing, percent-decoding of path labels and query strings, JSON bodies, field
// validation and the profile logic, against an in-memory store. Input layout:
// "METHOD PATH?QUERY\n" then the body (a line that does not parse is a POST to
// /inference-profiles with the whole input as its body).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "api/bedrock/control_plane.h"
#include "api/gateway.h"
#include "http/in_memory.h"
#include "store/sqlite/sqlite_profile_store.h"

namespace {

struct Fixture {
  Fixture()
      : catalog(tollgate::catalog::Catalog::embedded()),
        store(tollgate::store::sqlite::open_profile_store(":memory:")),
        clock(std::chrono::system_clock::now()),
        authenticator({}, {{"fuzz", "fuzz-token", "123456789012", "fuzz"}}, clock, "us-east-1"),
        service(catalog, *store, clock),
        gateway(authenticator) {
    spdlog::set_level(spdlog::level::off);  // one access-log line per input would drown the output
    tollgate::api::bedrock::register_control_plane(gateway, service, catalog, 1 << 20);
  }
  tollgate::catalog::Catalog catalog;
  std::unique_ptr<tollgate::store::ProfileStore> store;
  tollgate::ManualClock clock;
  tollgate::auth::Authenticator authenticator;
  tollgate::profiles::ProfileService service;
  tollgate::api::Gateway gateway;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  tollgate::http::Request req;
  req.headers = {{"Host", "localhost"}, {"Authorization", "Bearer fuzz-token"}};
  size_t newline = input.find('\n');
  std::string_view line = input.substr(0, newline);
  size_t space = line.find(' ');
  if (newline != std::string_view::npos && space != std::string_view::npos && line.substr(space + 1).starts_with("/")) {
    req.method = std::string(line.substr(0, space));
    std::string_view target = line.substr(space + 1);
    size_t q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.body = std::string(input.substr(newline + 1));
  } else {
    req.method = "POST";
    req.path = "/inference-profiles";
    req.body = std::string(input);
  }
  (void)tollgate::http::serve_in_memory(fixture.gateway, req);
  return 0;
}
