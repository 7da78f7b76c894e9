// The event-stream codec against the aws-sdk-go vectors in test/data/eventstream/ (see its
// README.md): every positive frame decodes to exactly the fields of its JSON and re-encodes byte for
// byte, every negative frame fails with the expected text, the incremental Decoder gives the same
// messages however the stream is split. Then what the vectors do not cover: every header type at
// its edges, Bedrock's three message kinds, the limits, malformed lengths and headers.
#include "eventstream/eventstream.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/base64.h"

namespace tollgate::eventstream {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kRoot = fs::path(TOLLGATE_TEST_DATA) / "eventstream" / "aws-sdk-go";
constexpr size_t kPositiveCases = 5;
constexpr size_t kNegativeCases = 4;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string_view trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// name → file contents of every file in a folder.
std::map<std::string, std::string> read_cases(const fs::path& folder) {
  std::map<std::string, std::string> cases;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file()) cases[entry.path().filename().string()] = read_file(entry.path());
  }
  return cases;
}

std::string unbase64(const json::value& v) {
  auto decoded = base64_decode(v.as_string());
  EXPECT_TRUE(decoded.has_value()) << v;
  return decoded.value_or("");
}

uint32_t be32(std::string_view bytes, size_t offset) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return v;
}

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

uint32_t crc(std::string_view bytes) {
  return static_cast<uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// A frame with the given length fields around `body` (headers + payload), with correct CRCs, so
// that decoding gets past the checksums to the check under test.
std::string frame_with(uint32_t total, uint32_t headers_length, std::string_view body) {
  std::string out;
  put_be32(out, total);
  put_be32(out, headers_length);
  put_be32(out, crc(out));
  out += body;
  put_be32(out, crc(out));
  return out;
}

// A well-formed frame whose headers section is `headers` (raw bytes) followed by `payload`.
std::string raw_frame(std::string_view headers, std::string_view payload = {}) {
  return frame_with(static_cast<uint32_t>(16 + headers.size() + payload.size()), static_cast<uint32_t>(headers.size()),
                    std::string(headers) + std::string(payload));
}

std::string error_of(std::string_view frame) {
  auto r = decode(frame);
  return r.ok() ? "(decoded)" : r.error().message();
}

class Vectors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    positive_frames_ = read_cases(kRoot / "encoded" / "positive");
    positive_json_ = read_cases(kRoot / "decoded" / "positive");
    negative_frames_ = read_cases(kRoot / "encoded" / "negative");
    negative_errors_ = read_cases(kRoot / "decoded" / "negative");
  }
  static std::string stream() {
    std::string all;
    for (const auto& [name, frame] : positive_frames_) all += frame;
    return all;
  }
  static std::vector<Message> expected_messages() {
    std::vector<Message> out;
    for (const auto& [name, frame] : positive_frames_) out.push_back(decode(frame).value());
    return out;
  }

  static inline std::map<std::string, std::string> positive_frames_, positive_json_, negative_frames_, negative_errors_;
};

TEST_F(Vectors, SuiteHasTheExpectedNumberOfCases) {
  EXPECT_EQ(positive_frames_.size(), kPositiveCases);
  EXPECT_EQ(positive_json_.size(), kPositiveCases);
  EXPECT_EQ(negative_frames_.size(), kNegativeCases);
  EXPECT_EQ(negative_errors_.size(), kNegativeCases);
  for (const auto& [name, frame] : positive_frames_) EXPECT_TRUE(positive_json_.contains(name)) << name;
  for (const auto& [name, frame] : negative_frames_) EXPECT_TRUE(negative_errors_.contains(name)) << name;
}

TEST_F(Vectors, PositiveFramesDecodeToTheirJsonAndReencodeExactly) {
  size_t checked = 0;
  for (const auto& [name, frame] : positive_frames_) {
    SCOPED_TRACE(name);
    json::object expected = json::parse(positive_json_.at(name)).as_object();
    // The prelude and CRC fields, as uint32 (the JSON writes CRCs as signed ints).
    ASSERT_GE(frame.size(), 16u);
    EXPECT_EQ(frame.size(), expected.at("total_length").to_number<uint64_t>());
    EXPECT_EQ(be32(frame, 0), expected.at("total_length").to_number<uint64_t>());
    EXPECT_EQ(be32(frame, 4), expected.at("headers_length").to_number<uint64_t>());
    EXPECT_EQ(be32(frame, 8), static_cast<uint32_t>(expected.at("prelude_crc").to_number<int64_t>()));
    EXPECT_EQ(be32(frame, frame.size() - 4), static_cast<uint32_t>(expected.at("message_crc").to_number<int64_t>()));
    EXPECT_EQ(be32(frame, 8), crc(std::string_view(frame).substr(0, 8)));
    EXPECT_EQ(be32(frame, frame.size() - 4), crc(std::string_view(frame).substr(0, frame.size() - 4)));

    auto decoded = decode(frame);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    const Message& m = *decoded;
    EXPECT_EQ(m.payload, unbase64(expected.at("payload")));
    const json::array& headers = expected.at("headers").as_array();
    ASSERT_EQ(m.headers.size(), headers.size());
    for (size_t i = 0; i < headers.size(); ++i) {
      const json::object& h = headers[i].as_object();
      const Header& got = m.headers[i];
      SCOPED_TRACE(got.name);
      EXPECT_EQ(got.name, h.at("name").as_string());
      const json::value& v = h.at("value");
      switch (h.at("type").to_number<int>()) {
        case 0:
          EXPECT_EQ(got.value, HeaderValue(true));
          EXPECT_TRUE(v.as_bool());
          break;
        case 1:
          EXPECT_EQ(got.value, HeaderValue(false));
          EXPECT_FALSE(v.as_bool());
          break;
        case 2:
          EXPECT_EQ(got.value, HeaderValue(static_cast<int8_t>(v.to_number<int>())));
          break;
        case 3:
          EXPECT_EQ(got.value, HeaderValue(static_cast<int16_t>(v.to_number<int>())));
          break;
        case 4:
          EXPECT_EQ(got.value, HeaderValue(static_cast<int32_t>(v.to_number<int64_t>())));
          break;
        case 5:
          EXPECT_EQ(got.value, HeaderValue(v.to_number<int64_t>()));
          break;
        case 6:
          EXPECT_EQ(got.value, HeaderValue(ByteArray{unbase64(v)}));
          break;
        case 7:
          EXPECT_EQ(got.value, HeaderValue(unbase64(v)));
          break;
        case 8:
          EXPECT_EQ(got.value, HeaderValue(Timestamp{v.to_number<int64_t>()}));
          break;
        case 9: {
          std::string bytes = unbase64(v);
          ASSERT_EQ(bytes.size(), 16u);
          Uuid uuid{};
          std::copy(bytes.begin(), bytes.end(), uuid.bytes.begin());
          EXPECT_EQ(got.value, HeaderValue(uuid));
          break;
        }
        default:
          ADD_FAILURE() << "unknown type in the JSON: " << h.at("type");
      }
    }
    EXPECT_EQ(encode(m), frame);
    ++checked;
  }
  EXPECT_EQ(checked, kPositiveCases);
}

TEST_F(Vectors, AllHeadersCoversEveryWireType) {
  auto m = decode(positive_frames_.at("all_headers"));
  ASSERT_TRUE(m.ok());
  std::vector<bool> seen(std::variant_size_v<HeaderValue>);
  for (const auto& h : m->headers) seen[h.value.index()] = true;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<long>(seen.size()));
}

TEST_F(Vectors, NegativeFramesFailWithTheExpectedText) {
  size_t checked = 0;
  for (const auto& [name, frame] : negative_frames_) {
    SCOPED_TRACE(name);
    std::string expected(trim(negative_errors_.at(name)));
    auto r = decode(frame);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::Validation);
    EXPECT_EQ(r.error().message(), expected);
    Decoder decoder;
    auto fed = decoder.feed(frame);
    ASSERT_FALSE(fed.ok());
    EXPECT_EQ(fed.error().message(), expected);
    ++checked;
  }
  EXPECT_EQ(checked, kNegativeCases);
}

TEST_F(Vectors, DecoderTakesSeveralMessagesInOneFeed) {
  Decoder decoder;
  auto messages = decoder.feed(stream());
  ASSERT_TRUE(messages.ok()) << messages.error().message();
  EXPECT_EQ(*messages, expected_messages());
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST_F(Vectors, DecoderFedByteByByte) {
  std::string all = stream();
  Decoder decoder;
  std::vector<Message> got;
  for (char c : all) {
    auto messages = decoder.feed(std::string_view(&c, 1));
    ASSERT_TRUE(messages.ok()) << messages.error().message();
    for (auto& m : *messages) got.push_back(std::move(m));
  }
  EXPECT_EQ(got, expected_messages());
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST_F(Vectors, DecoderFedInRandomSplits) {
  std::string all = stream();
  std::mt19937 rng(20240611);
  for (int round = 0; round < 200; ++round) {
    Decoder decoder;
    std::vector<Message> got;
    size_t pos = 0;
    while (pos < all.size()) {
      size_t n = std::uniform_int_distribution<size_t>(0, 80)(rng);  // empty feeds included
      n = std::min(n, all.size() - pos);
      auto messages = decoder.feed(std::string_view(all).substr(pos, n));
      ASSERT_TRUE(messages.ok()) << messages.error().message();
      for (auto& m : *messages) got.push_back(std::move(m));
      pos += n;
      EXPECT_LT(decoder.pending_bytes(), 205u);  // never more than one (the largest) message
    }
    ASSERT_EQ(got, expected_messages()) << "round " << round;
    EXPECT_EQ(decoder.pending_bytes(), 0u);
  }
}

TEST_F(Vectors, DecoderReportsAPartialMessageAsPending) {
  std::string frame = positive_frames_.at("all_headers");
  Decoder decoder;
  auto first = decoder.feed(std::string_view(frame).substr(0, 100));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->empty());
  EXPECT_EQ(decoder.pending_bytes(), 100u);
  auto rest = decoder.feed(std::string_view(frame).substr(100));
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->size(), 1u);
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST_F(Vectors, DecoderIsUnusableAfterAnError) {
  Decoder decoder;
  ASSERT_FALSE(decoder.feed(negative_frames_.at("corrupted_payload")).ok());
  auto again = decoder.feed(positive_frames_.at("empty_message"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::Validation);
}

TEST_F(Vectors, DecoderRejectsACorruptPreludeBeforeTheRestArrives) {
  // corrupted_length claims 62 bytes; the prelude checksum fails on its first 12 bytes.
  Decoder decoder;
  auto r = decoder.feed(std::string_view(negative_frames_.at("corrupted_length")).substr(0, 12));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Prelude checksum mismatch");
}

TEST_F(Vectors, DecodeRejectsTrailingAndMissingBytes) {
  std::string frame = positive_frames_.at("payload_one_str_header");
  EXPECT_EQ(error_of(frame + '\0'), "Event stream message of 61 bytes is followed by 1 trailing bytes");
  EXPECT_EQ(error_of(frame + frame), "Event stream message of 61 bytes is followed by 61 trailing bytes");
  EXPECT_EQ(error_of(frame.substr(0, 60)), "Event stream message is truncated: total length 61, only 60 bytes present");
  for (size_t n = 0; n < 12; ++n) {
    EXPECT_EQ(error_of(frame.substr(0, n)),
              "Event stream message is truncated: " + std::to_string(n) + " bytes, a message has at least 16");
  }
}

// --- Beyond the vectors ---------------------------------------------------------------------------

Message round_trip(const Message& m) {
  std::string bytes = encode(m);
  auto decoded = decode(bytes);
  EXPECT_TRUE(decoded.ok()) << decoded.error().message();
  if (!decoded.ok()) return {};
  EXPECT_EQ(encode(*decoded), bytes);
  return std::move(decoded).value();
}

TEST(HeaderTypes, EveryTypeRoundTripsAtItsEdges) {
  Uuid uuid{};
  for (size_t i = 0; i < 16; ++i) uuid.bytes[i] = static_cast<uint8_t>(0xF0 + i);
  Message m;
  m.headers = {
      {"t", true},
      {"f", false},
      {"byte min", std::numeric_limits<int8_t>::min()},
      {"byte max", std::numeric_limits<int8_t>::max()},
      {"int16 min", std::numeric_limits<int16_t>::min()},
      {"int16 -1", int16_t{-1}},
      {"int32 min", std::numeric_limits<int32_t>::min()},
      {"int32 max", std::numeric_limits<int32_t>::max()},
      {"int64 min", std::numeric_limits<int64_t>::min()},
      {"int64 max", std::numeric_limits<int64_t>::max()},
      {"bytes empty", ByteArray{}},
      {"bytes", ByteArray{std::string("\0\xff\x01", 3)}},
      {"bytes max", ByteArray{std::string(65535, 'b')}},
      {"string empty", std::string()},
      {"string", std::string("h\xc3\xa9llo")},
      {"timestamp", Timestamp{1718000000123}},
      {"timestamp before 1970", Timestamp{-1}},
      {"uuid", uuid},
      {"", std::string("empty name")},
      {std::string(255, 'n'), int32_t{7}},
      {"t", false},  // a repeated name is kept, in order
  };
  m.payload = std::string("\0payload\xff", 9);
  Message back = round_trip(m);
  EXPECT_EQ(back, m);
  ASSERT_NE(back.header("t"), nullptr);
  EXPECT_EQ(*back.header("t"), HeaderValue(true));  // the first of that name
  EXPECT_EQ(back.header("absent"), nullptr);
  EXPECT_EQ(back.string_header("string"), "h\xc3\xa9llo");
  EXPECT_EQ(back.string_header("bytes"), std::nullopt);  // present but not a string
  EXPECT_EQ(back.string_header("absent"), std::nullopt);

  // Two maximal values would exceed kMaxHeadersBytes together: the longest string on its own.
  Message longest{{{"string max", std::string(65535, 's')}}, ""};
  EXPECT_EQ(round_trip(longest), longest);
}

TEST(HeaderTypes, WireBytesOfEachType) {
  auto header_bytes = [](HeaderValue v) {
    std::string frame = encode(Message{{{"k", std::move(v)}}, ""});
    return frame.substr(12, frame.size() - 16);
  };
  using std::string_literals::operator""s;
  EXPECT_EQ(header_bytes(true), "\x01k\x00"s);
  EXPECT_EQ(header_bytes(false), "\x01k\x01"s);
  EXPECT_EQ(header_bytes(int8_t{-2}), "\x01k\x02\xfe"s);
  EXPECT_EQ(header_bytes(int16_t{0x0102}), "\x01k\x03\x01\x02"s);
  EXPECT_EQ(header_bytes(int32_t{0x01020304}), "\x01k\x04\x01\x02\x03\x04"s);
  EXPECT_EQ(header_bytes(int64_t{-2}), "\x01k\x05\xff\xff\xff\xff\xff\xff\xff\xfe"s);
  EXPECT_EQ(header_bytes(ByteArray{"ab"}),
            "\x01k\x06\x00\x02"
            "ab"s);
  EXPECT_EQ(header_bytes(std::string("ab")),
            "\x01k\x07\x00\x02"
            "ab"s);
  EXPECT_EQ(header_bytes(Timestamp{0x0102}), "\x01k\x08\x00\x00\x00\x00\x00\x00\x01\x02"s);
  Uuid uuid{};
  uuid.bytes[15] = 9;
  EXPECT_EQ(header_bytes(uuid), "\x01k\x09" + std::string(15, '\0') + "\x09");
}

TEST(HeaderTypes, EncodeRefusesWhatTheWireCannotCarry) {
  EXPECT_THROW(encode(Message{{{std::string(256, 'n'), true}}, ""}), std::length_error);
  EXPECT_THROW(encode(Message{{{"s", std::string(65536, 's')}}, ""}), std::length_error);
  EXPECT_THROW(encode(Message{{{"b", ByteArray{std::string(65536, 'b')}}}, ""}), std::length_error);
}

TEST(Bedrock, ChunkEventRoundTrips) {
  std::string inner = R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})";
  Message chunk = event("chunk", R"({"bytes":")" + base64_encode(inner) + R"("})");
  std::string frame = encode(chunk);
  // Headers on the wire, in Bedrock's order, all strings (type 7).
  using std::string_literals::operator""s;
  std::string expected_headers =
      "\x0b:event-type\x07\x00\x05"
      "chunk"
      "\x0d:content-type\x07\x00\x10"
      "application/json"
      "\x0d:message-type\x07\x00\x05"
      "event"s;
  EXPECT_EQ(be32(frame, 4), expected_headers.size());
  EXPECT_EQ(frame.substr(12, expected_headers.size()), expected_headers);

  Decoder decoder;
  auto messages = decoder.feed(frame);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 1u);
  const Message& got = messages->front();
  EXPECT_EQ(got, chunk);
  EXPECT_EQ(got.string_header(":message-type"), "event");
  EXPECT_EQ(got.string_header(":event-type"), "chunk");
  EXPECT_EQ(got.string_header(":content-type"), "application/json");
  json::value payload = json::parse(got.payload);
  EXPECT_EQ(base64_decode(payload.at("bytes").as_string()), inner);
}

TEST(Bedrock, ExceptionAndErrorHeadersInOrder) {
  Message ex = exception("throttlingException", R"({"message":"Too many requests"})");
  ASSERT_EQ(ex.headers.size(), 3u);
  EXPECT_EQ(ex.headers[0], (Header{":exception-type", std::string("throttlingException")}));
  EXPECT_EQ(ex.headers[1], (Header{":content-type", std::string("application/json")}));
  EXPECT_EQ(ex.headers[2], (Header{":message-type", std::string("exception")}));
  EXPECT_EQ(round_trip(ex), ex);

  Message err = error("InternalFailure", "something broke");
  ASSERT_EQ(err.headers.size(), 3u);
  EXPECT_EQ(err.headers[0], (Header{":error-code", std::string("InternalFailure")}));
  EXPECT_EQ(err.headers[1], (Header{":error-message", std::string("something broke")}));
  EXPECT_EQ(err.headers[2], (Header{":message-type", std::string("error")}));
  EXPECT_TRUE(err.payload.empty());
  EXPECT_EQ(round_trip(err), err);

  Message ev = event("messageStart", R"({"role":"assistant"})");
  EXPECT_EQ(ev.headers[0].name, ":event-type");
  EXPECT_EQ(ev.headers[1].name, ":content-type");
  EXPECT_EQ(ev.headers[2].name, ":message-type");
}

TEST(Bedrock, ErrorCutsAnOverlongMessageAtACharacterBoundary) {
  std::string text = std::string(65534, 'a') + "\xc3\xa9";  // 65536 bytes, 'é' straddles the limit
  Message err = error("Code", text);
  auto message = err.string_header(":error-message");
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(*message, std::string(65534, 'a'));
  EXPECT_EQ(round_trip(err), err);
}

TEST(Limits, HeadersAndPayloadAtTheLimitAreAccepted) {
  // Two byte-array headers named "h": 5 + 65535 and 5 + 65527 bytes = 131072.
  Message m;
  m.headers = {{"h", ByteArray{std::string(65535, 'x')}}, {"h", ByteArray{std::string(65527, 'y')}}};
  m.payload = std::string(kMaxPayloadBytes, 'p');
  std::string frame = encode(m);
  EXPECT_EQ(be32(frame, 4), kMaxHeadersBytes);
  EXPECT_EQ(frame.size(), 16 + kMaxHeadersBytes + kMaxPayloadBytes);
  auto back = decode(frame);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, m);
}

TEST(Limits, BeyondTheLimitIsRejected) {
  Message m;
  m.headers = {{"h", ByteArray{std::string(65535, 'x')}}, {"h", ByteArray{std::string(65528, 'y')}}};
  EXPECT_THROW(encode(m), std::length_error);
  EXPECT_THROW(encode(Message{{}, std::string(kMaxPayloadBytes + 1, 'p')}), std::length_error);

  // Frames that claim too much: the prelude alone is enough to reject them.
  std::string prelude;
  put_be32(prelude, 16 + kMaxHeadersBytes + 1);
  put_be32(prelude, kMaxHeadersBytes + 1);
  put_be32(prelude, crc(prelude));
  EXPECT_EQ(error_of(prelude), "Event stream headers length 131073 exceeds the limit of 131072 bytes");
  Decoder decoder;
  auto r = decoder.feed(prelude);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Event stream headers length 131073 exceeds the limit of 131072 bytes");

  prelude.clear();
  put_be32(prelude, 0xFFFFFFFF);
  put_be32(prelude, 0);
  put_be32(prelude, crc(prelude));
  EXPECT_EQ(error_of(prelude), "Event stream payload length 4294967279 exceeds the limit of 25165824 bytes");

  std::string big = frame_with(16 + kMaxPayloadBytes + 1, 0, std::string(kMaxPayloadBytes + 1, 'p'));
  EXPECT_EQ(error_of(big), "Event stream payload length 25165825 exceeds the limit of 25165824 bytes");
}

TEST(Lengths, TotalAndHeadersLengthMustFit) {
  EXPECT_EQ(error_of(frame_with(12, 0, "").substr(0, 12)),
            "Event stream message total length 12 is below the minimum of 16 bytes");
  EXPECT_EQ(error_of(frame_with(0, 0, "")), "Event stream message total length 0 is below the minimum of 16 bytes");
  EXPECT_EQ(error_of(frame_with(20, 5, "abcd")),
            "Event stream headers length 5 does not fit in a message of 20 bytes (at most 4)");
  EXPECT_EQ(error_of(frame_with(16, 0xFFFFFFFF, "")),
            "Event stream headers length 4294967295 does not fit in a message of 16 bytes (at most 0)");
  // The prelude checksum is checked first, so corruption reads as corruption.
  std::string frame = frame_with(20, 5, "abcd");
  frame[8] ^= 1;
  EXPECT_EQ(error_of(frame), "Prelude checksum mismatch");
}

TEST(Headers, MalformedHeadersAreRejected) {
  using std::string_literals::operator""s;
  EXPECT_EQ(error_of(raw_frame("\x05"
                               "ab"s)),
            "Malformed event stream header 1 at headers offset 0: name of 5 bytes is truncated (2 bytes left)");
  EXPECT_EQ(error_of(raw_frame("\x02"
                               "ab"s)),
            "Malformed event stream header 1 at headers offset 0: header 'ab' has no value type byte");
  EXPECT_EQ(
      error_of(raw_frame("\x01k\x00\x01m\x0a"s, "payload")),
      "Malformed event stream header 2 at headers offset 3: header 'm' has unknown value type 10 (known: 0 to 9)");
  EXPECT_EQ(error_of(raw_frame("\x01k\xff"s)),
            "Malformed event stream header 1 at headers offset 0: header 'k' has unknown value type 255 "
            "(known: 0 to 9)");
  EXPECT_EQ(error_of(raw_frame("\x01k\x04\x00\x00"s, "payload")),
            "Malformed event stream header 1 at headers offset 0: int32 value of header 'k' needs 4 bytes, 2 left");
  EXPECT_EQ(error_of(raw_frame("\x01k\x07\x00"s)),
            "Malformed event stream header 1 at headers offset 0: string length of value of header 'k' needs 2 bytes, "
            "1 left");
  EXPECT_EQ(error_of(raw_frame("\x01k\x07\x00\x09"
                               "abc"s,
                               "the payload must not be read as the value")),
            "Malformed event stream header 1 at headers offset 0: string value of header 'k' needs 9 bytes, 3 left");
  EXPECT_EQ(error_of(raw_frame("\x01k\x06\xff\xff"s)),
            "Malformed event stream header 1 at headers offset 0: byte array value of header 'k' needs 65535 bytes, "
            "0 left");
  EXPECT_EQ(error_of(raw_frame("\x01k\x09\x01\x02"s)),
            "Malformed event stream header 1 at headers offset 0: uuid value of header 'k' needs 16 bytes, 2 left");
  EXPECT_EQ(error_of(raw_frame("\x01k\x08"s)),
            "Malformed event stream header 1 at headers offset 0: timestamp value of header 'k' needs 8 bytes, 0 left");
  // Non-printable name bytes are escaped in the message.
  EXPECT_EQ(error_of(raw_frame("\x02\x01'\x0c"s)),
            "Malformed event stream header 1 at headers offset 0: header '\\x01\\x27' has unknown value type 12 "
            "(known: 0 to 9)");
  auto r = decode(raw_frame("\x01k\x0c"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::Validation);
}

TEST(Headers, EveryTruncationOfAValidHeaderSectionIsRejected) {
  // Cut the all-types header section at every length: each shorter section must fail cleanly
  // (or, at a header boundary, decode to fewer headers).
  Uuid uuid{};
  Message m{{{"a", true},
             {"b", int8_t{1}},
             {"c", int16_t{2}},
             {"d", int32_t{3}},
             {"e", int64_t{4}},
             {"f", ByteArray{"xy"}},
             {"g", std::string("zw")},
             {"h", Timestamp{5}},
             {"i", uuid}},
            ""};
  std::string frame = encode(m);
  std::string headers = frame.substr(12, frame.size() - 16);
  size_t ok = 0;
  for (size_t n = 0; n <= headers.size(); ++n) {
    auto r = decode(raw_frame(headers.substr(0, n)));
    if (r.ok()) {
      ++ok;
      EXPECT_EQ(encode(*r), raw_frame(headers.substr(0, n)));
    }
  }
  EXPECT_EQ(ok, m.headers.size() + 1);  // the empty section and each header boundary
}

}  // namespace
}  // namespace tollgate::eventstream
