// libFuzzer target: the event-stream codec of src/eventstream/eventstream.h on arbitrary bytes (a
// provider's streaming response is untrusted). Besides not crashing or reading out of bounds, checks:
//   * a frame decode() accepts re-encodes to exactly the same bytes (one wire form per Message);
//   * every failure is a Validation error;
//   * a Decoder fed the same bytes in two pieces (split point taken from the input) yields messages
//     whose encodings, followed by the pending bytes, are the input — and, when decode() accepted
//     the input, exactly that one message with nothing pending;
//   * the same for the input with its lengths and CRCs repaired, since random bytes almost never
//     pass the CRCs and would otherwise leave the header parser unexercised.
// A broken invariant aborts, which libFuzzer and replay_main.cpp report as a crash.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventstream/eventstream.h"

namespace {

using namespace tollgate::eventstream;

void check(bool ok) {
  if (!ok) std::abort();
}

void put_be32(std::string& s, size_t offset, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) s[offset + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
}

uint32_t crc(std::string_view bytes) {
  return static_cast<uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// The input as one frame with consistent lengths (headers_length taken from the input, modulo the
// room there is) and both CRCs correct: only the headers section can make it fail.
void fuzz_repaired(std::string_view input) {
  if (input.size() < kMinMessageBytes || input.size() > kMinMessageBytes + kMaxHeadersBytes) return;
  std::string frame(input);
  auto total = static_cast<uint32_t>(frame.size());
  uint32_t claimed = (static_cast<uint8_t>(frame[6]) << 8) | static_cast<uint8_t>(frame[7]);
  put_be32(frame, 0, total);
  put_be32(frame, 4, claimed % (total - kMinMessageBytes + 1));
  put_be32(frame, 8, crc(std::string_view(frame).substr(0, 8)));
  put_be32(frame, total - 4, crc(std::string_view(frame).substr(0, total - 4)));
  auto decoded = decode(frame);
  if (decoded.ok()) {
    check(encode(*decoded) == frame);
  } else {
    std::string_view text = decoded.error().message();
    check(text.starts_with("Malformed event stream header"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto decoded = decode(input);
  if (decoded.ok()) {
    check(encode(*decoded) == input);
  } else {
    check(decoded.error().code() == tollgate::ErrorCode::Validation && !decoded.error().message().empty());
  }
  fuzz_repaired(input);

  size_t split = size == 0 ? 0 : static_cast<uint8_t>(input[0]) * size / 256;
  Decoder decoder;
  std::vector<Message> messages;
  bool failed = false;
  for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
    auto fed = decoder.feed(piece);
    if (!fed.ok()) {
      check(fed.error().code() == tollgate::ErrorCode::Validation);
      failed = true;
      break;
    }
    for (auto& m : *fed) messages.push_back(std::move(m));
  }
  if (decoded.ok()) {
    check(!failed && messages.size() == 1 && messages.front() == *decoded && decoder.pending_bytes() == 0);
  }
  if (!failed) {
    std::string replayed;
    for (const auto& m : messages) replayed += encode(m);
    check(replayed.size() + decoder.pending_bytes() == input.size());
    check(input.starts_with(replayed));
  }
  return 0;
}
