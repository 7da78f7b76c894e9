// Feeds arbitrary bytes to the OpenAI provider's server-sent-events parser, whole
// and split at every position of a short prefix: the events found must not depend
// on how the bytes arrive.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "provider/openai/sse_parser.h"

using tollgate::provider::openai::SseParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  SseParser whole(4096);
  auto expected = whole.feed(input);
  for (size_t split = 0; split <= std::min<size_t>(size, 16); ++split) {
    SseParser pieces(4096);
    auto first = pieces.feed(input.substr(0, split));
    auto second = pieces.feed(input.substr(split));
    if (!first.ok() || !second.ok()) {
      if (expected.ok()) std::abort();  // splitting must not turn valid input invalid
      continue;
    }
    if (!expected.ok()) std::abort();
    auto events = *first;
    events.insert(events.end(), second->begin(), second->end());
    if (events != *expected) std::abort();
  }
  return 0;
}
