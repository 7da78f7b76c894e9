#include "eventstream/eventstream.h"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace tollgate::eventstream {
namespace {

// Wire type bytes (see eventstream.h).
enum class WireType : uint8_t {
  BoolTrue = 0,
  BoolFalse = 1,
  Byte = 2,
  Int16 = 3,
  Int32 = 4,
  Int64 = 5,
  ByteArray = 6,
  String = 7,
  Timestamp = 8,
  Uuid = 9,
};

uint32_t crc32_of(std::string_view bytes, uint32_t crc = 0) {
  // Frames are bounded far below 4 GiB by the limits, but stay correct for any size.
  while (!bytes.empty()) {
    auto chunk = static_cast<uInt>(std::min<size_t>(bytes.size(), 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), chunk));
    bytes.remove_prefix(chunk);
  }
  return crc;
}

uint64_t read_be(std::string_view bytes, size_t offset, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return v;
}

uint32_t read_u32(std::string_view bytes, size_t offset) { return static_cast<uint32_t>(read_be(bytes, offset, 4)); }

void append_be(std::string& out, uint64_t v, size_t width) {
  for (size_t i = width; i > 0; --i) out.push_back(static_cast<char>((v >> (8 * (i - 1))) & 0xFF));
}

Error invalid(std::string message, std::string detail = {}) {
  return Error(ErrorCode::Validation, std::move(message), std::move(detail));
}

// A header name for an error message: printable ASCII kept, anything else as \xNN, at most 64 bytes.
std::string printable(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : name.substr(0, 64)) {
    auto u = static_cast<uint8_t>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\' && c != '\'') {
      out.push_back(c);
    } else {
      out += {'\\', 'x', kHex[u >> 4], kHex[u & 15]};
    }
  }
  if (name.size() > 64) out += "...";
  return out;
}

// The parts of a prelude; lengths already checked against each other and the limits.
struct Prelude {
  size_t total_length;
  size_t headers_length;
};

// Checks the first 12 bytes of a message (`bytes` holds at least that many).
Result<Prelude> parse_prelude(std::string_view bytes) {
  uint32_t total = read_u32(bytes, 0);
  uint32_t headers = read_u32(bytes, 4);
  uint32_t expected = read_u32(bytes, 8);
  uint32_t actual = crc32_of(bytes.substr(0, 8));
  if (actual != expected) {
    return invalid("Prelude checksum mismatch",
                   "prelude_crc " + std::to_string(expected) + ", computed " + std::to_string(actual));
  }
  if (total < kMinMessageBytes) {
    return invalid("Event stream message total length " + std::to_string(total) + " is below the minimum of " +
                   std::to_string(kMinMessageBytes) + " bytes");
  }
  if (headers > total - kMinMessageBytes) {
    return invalid("Event stream headers length " + std::to_string(headers) + " does not fit in a message of " +
                   std::to_string(total) + " bytes (at most " + std::to_string(total - kMinMessageBytes) + ")");
  }
  if (headers > kMaxHeadersBytes) {
    return invalid("Event stream headers length " + std::to_string(headers) + " exceeds the limit of " +
                   std::to_string(kMaxHeadersBytes) + " bytes");
  }
  size_t payload = size_t{total} - kMinMessageBytes - headers;
  if (payload > kMaxPayloadBytes) {
    return invalid("Event stream payload length " + std::to_string(payload) + " exceeds the limit of " +
                   std::to_string(kMaxPayloadBytes) + " bytes");
  }
  return Prelude{total, headers};
}

// Parses the headers section (exactly `bytes`, already covered by a good message CRC).
Result<std::vector<Header>> parse_headers(std::string_view bytes) {
  std::vector<Header> headers;
  size_t pos = 0;
  auto malformed = [&](size_t at, const std::string& what) {
    return invalid("Malformed event stream header " + std::to_string(headers.size() + 1) + " at headers offset " +
                   std::to_string(at) + ": " + what);
  };
  while (pos < bytes.size()) {
    size_t start = pos;
    size_t name_length = static_cast<uint8_t>(bytes[pos++]);
    if (name_length > bytes.size() - pos) {
      return malformed(start, "name of " + std::to_string(name_length) + " bytes is truncated (" +
                                  std::to_string(bytes.size() - pos) + " bytes left)");
    }
    std::string name(bytes.substr(pos, name_length));
    pos += name_length;
    if (pos == bytes.size()) return malformed(start, "header '" + printable(name) + "' has no value type byte");
    uint8_t type = static_cast<uint8_t>(bytes[pos++]);
    auto need = [&](size_t n) { return n <= bytes.size() - pos; };
    auto truncated = [&](std::string_view what, size_t n) {
      return malformed(start, std::string(what) + " value of header '" + printable(name) + "' needs " +
                                  std::to_string(n) + " bytes, " + std::to_string(bytes.size() - pos) + " left");
    };
    HeaderValue value;
    switch (static_cast<WireType>(type)) {
      case WireType::BoolTrue:
        value = true;
        break;
      case WireType::BoolFalse:
        value = false;
        break;
      case WireType::Byte:
        if (!need(1)) return truncated("byte", 1);
        value = static_cast<int8_t>(static_cast<uint8_t>(bytes[pos]));
        pos += 1;
        break;
      case WireType::Int16:
        if (!need(2)) return truncated("int16", 2);
        value = static_cast<int16_t>(read_be(bytes, pos, 2));
        pos += 2;
        break;
      case WireType::Int32:
        if (!need(4)) return truncated("int32", 4);
        value = static_cast<int32_t>(read_be(bytes, pos, 4));
        pos += 4;
        break;
      case WireType::Int64:
        if (!need(8)) return truncated("int64", 8);
        value = static_cast<int64_t>(read_be(bytes, pos, 8));
        pos += 8;
        break;
      case WireType::Timestamp:
        if (!need(8)) return truncated("timestamp", 8);
        value = Timestamp{static_cast<int64_t>(read_be(bytes, pos, 8))};
        pos += 8;
        break;
      case WireType::ByteArray:
      case WireType::String: {
        bool is_string = static_cast<WireType>(type) == WireType::String;
        std::string_view kind = is_string ? "string" : "byte array";
        if (!need(2)) return truncated(std::string(kind) + " length of", 2);
        size_t length = read_be(bytes, pos, 2);
        pos += 2;
        if (!need(length)) return truncated(kind, length);
        std::string data(bytes.substr(pos, length));
        pos += length;
        if (is_string) {
          value = std::move(data);
        } else {
          value = ByteArray{std::move(data)};
        }
        break;
      }
      case WireType::Uuid: {
        if (!need(16)) return truncated("uuid", 16);
        Uuid uuid{};
        for (size_t i = 0; i < 16; ++i) uuid.bytes[i] = static_cast<uint8_t>(bytes[pos + i]);
        value = uuid;
        pos += 16;
        break;
      }
      default:
        return malformed(start, "header '" + printable(name) + "' has unknown value type " + std::to_string(type) +
                                    " (known: 0 to 9)");
    }
    headers.push_back({std::move(name), std::move(value)});
  }
  return headers;
}

void encode_header(std::string& out, const Header& header) {
  if (header.name.size() > kMaxHeaderNameBytes) {
    throw std::length_error("event stream header name of " + std::to_string(header.name.size()) + " bytes exceeds 255");
  }
  out.push_back(static_cast<char>(header.name.size()));
  out += header.name;
  auto put = [&](WireType type, uint64_t bits, size_t width) {
    out.push_back(static_cast<char>(type));
    append_be(out, bits, width);
  };
  auto put_variable = [&](WireType type, const std::string& data) {
    if (data.size() > kMaxHeaderValueBytes) {
      throw std::length_error("event stream header '" + printable(header.name) + "' value of " +
                              std::to_string(data.size()) + " bytes exceeds 65535");
    }
    put(type, data.size(), 2);
    out += data;
  };
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          put(v ? WireType::BoolTrue : WireType::BoolFalse, 0, 0);
        } else if constexpr (std::is_same_v<T, int8_t>) {
          put(WireType::Byte, static_cast<uint8_t>(v), 1);
        } else if constexpr (std::is_same_v<T, int16_t>) {
          put(WireType::Int16, static_cast<uint16_t>(v), 2);
        } else if constexpr (std::is_same_v<T, int32_t>) {
          put(WireType::Int32, static_cast<uint32_t>(v), 4);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          put(WireType::Int64, static_cast<uint64_t>(v), 8);
        } else if constexpr (std::is_same_v<T, ByteArray>) {
          put_variable(WireType::ByteArray, v.bytes);
        } else if constexpr (std::is_same_v<T, std::string>) {
          put_variable(WireType::String, v);
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          put(WireType::Timestamp, static_cast<uint64_t>(v.millis_since_epoch), 8);
        } else {
          static_assert(std::is_same_v<T, Uuid>);
          put(WireType::Uuid, 0, 0);
          out.append(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size());
        }
      },
      header.value);
}

// Cuts text to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

const HeaderValue* Message::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

std::optional<std::string_view> Message::string_header(std::string_view name) const {
  const HeaderValue* value = header(name);
  if (value == nullptr) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(value)) return std::string_view(*s);
  return std::nullopt;
}

std::string encode(const Message& message) {
  std::string headers;
  for (const auto& h : message.headers) encode_header(headers, h);
  if (headers.size() > kMaxHeadersBytes) {
    throw std::length_error("event stream headers of " + std::to_string(headers.size()) + " bytes exceed the limit");
  }
  if (message.payload.size() > kMaxPayloadBytes) {
    throw std::length_error("event stream payload of " + std::to_string(message.payload.size()) +
                            " bytes exceeds the limit");
  }
  size_t total = kMinMessageBytes + headers.size() + message.payload.size();
  std::string out;
  out.reserve(total);
  append_be(out, total, 4);
  append_be(out, headers.size(), 4);
  append_be(out, crc32_of(out), 4);
  out += headers;
  out += message.payload;
  append_be(out, crc32_of(out), 4);
  return out;
}

Result<Message> decode(std::string_view frame) {
  if (frame.size() < kPreludeBytes) {
    return invalid("Event stream message is truncated: " + std::to_string(frame.size()) +
                   " bytes, a message has at least " + std::to_string(kMinMessageBytes));
  }
  auto prelude = parse_prelude(frame);
  if (!prelude.ok()) return std::move(prelude).error();
  size_t total = prelude->total_length;
  if (frame.size() < total) {
    return invalid("Event stream message is truncated: total length " + std::to_string(total) + ", only " +
                   std::to_string(frame.size()) + " bytes present");
  }
  if (frame.size() > total) {
    return invalid("Event stream message of " + std::to_string(total) + " bytes is followed by " +
                   std::to_string(frame.size() - total) + " trailing bytes");
  }
  uint32_t expected = read_u32(frame, total - 4);
  uint32_t actual = crc32_of(frame.substr(0, total - 4));
  if (actual != expected) {
    return invalid("Message checksum mismatch",
                   "message_crc " + std::to_string(expected) + ", computed " + std::to_string(actual));
  }
  Message message;
  auto headers = parse_headers(frame.substr(kPreludeBytes, prelude->headers_length));
  if (!headers.ok()) return std::move(headers).error();
  message.headers = std::move(headers).value();
  size_t payload_offset = kPreludeBytes + prelude->headers_length;
  message.payload = std::string(frame.substr(payload_offset, total - 4 - payload_offset));
  return message;
}

Result<std::vector<Message>> Decoder::feed(std::string_view bytes) {
  if (failed_) {
    return invalid("Event stream decoder is unusable: an earlier message was malformed");
  }
  buffer_.append(bytes);
  std::vector<Message> messages;
  std::string_view rest = buffer_;
  while (rest.size() >= kPreludeBytes) {
    auto prelude = parse_prelude(rest);
    if (!prelude.ok()) {
      failed_ = true;
      buffer_.clear();
      return std::move(prelude).error();
    }
    if (rest.size() < prelude->total_length) break;
    auto message = decode(rest.substr(0, prelude->total_length));
    if (!message.ok()) {
      failed_ = true;
      buffer_.clear();
      return std::move(message).error();
    }
    messages.push_back(std::move(message).value());
    rest.remove_prefix(prelude->total_length);
  }
  buffer_.erase(0, buffer_.size() - rest.size());
  return messages;
}

Message event(std::string_view event_type, std::string payload_json) {
  Message m;
  m.headers = {
      {":event-type", std::string(event_type)},
      {":content-type", std::string("application/json")},
      {":message-type", std::string("event")},
  };
  m.payload = std::move(payload_json);
  return m;
}

Message exception(std::string_view exception_type, std::string payload_json) {
  Message m;
  m.headers = {
      {":exception-type", std::string(exception_type)},
      {":content-type", std::string("application/json")},
      {":message-type", std::string("exception")},
  };
  m.payload = std::move(payload_json);
  return m;
}

Message error(std::string_view code, std::string_view message) {
  Message m;
  m.headers = {
      {":error-code", std::string(cut_utf8(code, kMaxHeaderValueBytes))},
      {":error-message", std::string(cut_utf8(message, kMaxHeaderValueBytes))},
      {":message-type", std::string("error")},
  };
  return m;
}

}  // namespace tollgate::eventstream
