// Plain HTTP request/response values passed between the server and the stages
// above it. No Beast or Asio here: auth, api and tests use these directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::http {

struct Header {
  std::string name;
  std::string value;
};

// Case-insensitive ASCII comparison of header names.
bool header_name_equals(std::string_view a, std::string_view b);

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string path;          // as received, still percent-encoded, without the query
  std::string query;         // as received, without the leading '?'; empty if none
  std::vector<Header> headers;  // in received order; a repeated header appears repeatedly
  std::string body;
  std::string remote_address;

  // First value of a header (case-insensitive name), if present.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;

  void set_header(std::string name, std::string value);
  std::optional<std::string_view> header(std::string_view name) const;
};

// Percent-decodes a URI component ("%3A" → ":"). Returns nullopt on a malformed escape.
// '+' is kept as '+' (AWS clients encode spaces as %20).
std::optional<std::string> percent_decode(std::string_view in);

// Splits a raw query string into decoded (name, value) pairs in received order.
// Returns nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

}  // namespace tollgate::http
