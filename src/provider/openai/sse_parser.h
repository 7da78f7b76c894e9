// Server-sent events (the WHATWG text/event-stream format) parsed incrementally,
// as bytes arrive in pieces cut anywhere: the data of each complete event, in
// order. Lines end with LF, CRLF or CR; "data:" lines of one event are joined
// with LF; comments (":"), other fields (event, id, retry) and events without
// data are skipped. Parses untrusted bytes: an event larger than the limit is
// an error. Not thread-safe (one parser per stream).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::provider::openai {

class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes = 8 * 1024 * 1024) : max_event_bytes_(max_event_bytes) {}

  // The data of the events completed by `bytes`. Once it failed, it keeps failing.
  Result<std::vector<std::string>> feed(std::string_view bytes);

 private:
  void end_line(std::vector<std::string>& events);

  size_t max_event_bytes_;
  std::string line_;  // the line being read
  std::string data_;  // the data of the event being read
  bool has_data_ = false;
  bool after_cr_ = false;  // the last byte was CR: a following LF ends nothing
  bool failed_ = false;
};

}  // namespace tollgate::provider::openai
