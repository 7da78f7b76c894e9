#include "provider/openai/sse_parser.h"

namespace tollgate::provider::openai {

Result<std::vector<std::string>> SseParser::feed(std::string_view bytes) {
  std::vector<std::string> events;
  for (char c : bytes) {
    if (failed_) break;
    if (c == '\n' && after_cr_) {
      after_cr_ = false;
      continue;
    }
    after_cr_ = c == '\r';
    if (c == '\r' || c == '\n') {
      end_line(events);
      continue;
    }
    line_ += c;
    if (line_.size() + data_.size() > max_event_bytes_) failed_ = true;
  }
  if (failed_) {
    return Error(ErrorCode::ModelStreamError,
                 "The model server sent an event larger than " + std::to_string(max_event_bytes_) + " bytes.");
  }
  return events;
}

void SseParser::end_line(std::vector<std::string>& events) {
  if (line_.empty()) {  // a blank line dispatches the event
    if (has_data_) events.push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  std::string_view line = line_;
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  }
  line_.clear();
}

}  // namespace tollgate::provider::openai
