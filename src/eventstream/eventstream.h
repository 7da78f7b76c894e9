// The application/vnd.amazon.eventstream framing used by Bedrock's streaming
// responses: [total_length u32][headers_length u32][prelude_crc u32][headers]
// [payload][message_crc u32], big-endian, CRC-32/IEEE. See doc/eventstream.md.
//
// Pure functions and a pure incremental decoder: no I/O, no Boost.
//
// decode() and Decoder parse untrusted bytes: they never read outside the input, check a frame's
// lengths against the limits below before trusting them, and accept only frames that encode()
// reproduces byte for byte (one wire form per Message).
// encode() is for what tollgate itself sends; a Message it cannot represent (a header name over
// 255 bytes, a string or byte-array value over 65535 bytes, headers or payload beyond the limits)
// is a programming error and throws std::length_error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace tollgate::eventstream {

struct ByteArray {
  std::string bytes;
  friend bool operator==(const ByteArray&, const ByteArray&) = default;
};
struct Timestamp {
  int64_t millis_since_epoch;
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
};
struct Uuid {
  std::array<uint8_t, 16> bytes;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

// Wire type bytes: bool true 0 / false 1, byte 2, int16 3, int32 4, int64 5,
// byte array 6, string 7, timestamp 8, uuid 9.
using HeaderValue = std::variant<bool, int8_t, int16_t, int32_t, int64_t, ByteArray, std::string, Timestamp, Uuid>;

struct Header {
  std::string name;
  HeaderValue value;
  friend bool operator==(const Header&, const Header&) = default;
};

struct Message {
  std::vector<Header> headers;
  std::string payload;

  // The first header of that name, if any.
  const HeaderValue* header(std::string_view name) const;
  // The value of a string header, if present and a string.
  std::optional<std::string_view> string_header(std::string_view name) const;

  friend bool operator==(const Message&, const Message&) = default;
};

// Limits botocore enforces on what it accepts.
inline constexpr size_t kMaxHeadersBytes = 128 * 1024;
inline constexpr size_t kMaxPayloadBytes = 24 * 1024 * 1024;
// Frame overhead: the 12-byte prelude (two lengths and the prelude CRC) plus the 4-byte message CRC.
inline constexpr size_t kPreludeBytes = 12;
inline constexpr size_t kMinMessageBytes = 16;
inline constexpr size_t kMaxHeaderNameBytes = 255;
inline constexpr size_t kMaxHeaderValueBytes = 65535;  // string and byte-array values

std::string encode(const Message& message);

// Decodes exactly one whole message. Errors (ErrorCode::Validation) say what is
// wrong: "Prelude checksum mismatch", "Message checksum mismatch", a length
// that does not fit, a malformed header.
Result<Message> decode(std::string_view frame);

// Splits a byte stream into messages as bytes arrive. A message's prelude is checked (checksum,
// lengths, limits) as soon as its 12 bytes are in, so a bad or oversized length fails at once
// instead of making the decoder wait for (and buffer) bytes that will never form a valid message.
class Decoder {
 public:
  // Appends bytes. Returns the complete messages now available, or the error of
  // the first malformed one (after which the decoder is unusable).
  Result<std::vector<Message>> feed(std::string_view bytes);
  // Bytes received that do not yet form a whole message.
  size_t pending_bytes() const { return buffer_.size(); }

 private:
  std::string buffer_;
  bool failed_ = false;
};

// The three message kinds Bedrock sends (see aws-reference §3.5).
// :message-type=event, :event-type=<type>, :content-type=application/json.
Message event(std::string_view event_type, std::string payload_json);
// :message-type=exception, :exception-type=<type>, :content-type=application/json;
// payload {"message": "..."}.
Message exception(std::string_view exception_type, std::string payload_json);
// :message-type=error, :error-code, :error-message; empty payload. Code and message are cut to
// 65535 bytes (at a UTF-8 character boundary) so that any text can be sent.
Message error(std::string_view code, std::string_view message);

}  // namespace tollgate::eventstream
