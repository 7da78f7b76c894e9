#include <gtest/gtest.h>

#include "core/error.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/time_format.h"

namespace tollgate {
namespace {

TEST(ErrorTable, MapsCodesToAwsNamesAndStatus) {
  EXPECT_EQ(error_info(ErrorCode::Validation).aws_name, "ValidationException");
  EXPECT_EQ(error_info(ErrorCode::ResourceNotFound).http_status, 404);
  EXPECT_EQ(error_info(ErrorCode::Conflict).http_status, 400);
  EXPECT_EQ(error_info(ErrorCode::InvalidSignature).http_status, 403);
  EXPECT_EQ(error_info(ErrorCode::IncompleteSignature).http_status, 400);
  EXPECT_TRUE(error_info(ErrorCode::Throttling).retryable);
}

TEST(Result, HoldsValueOrError) {
  Result<int> ok = 3;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  Result<int> bad = Error(ErrorCode::Validation, "no");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "no");
}

TEST(Ids, RequestIdIsATimeOrderedUuidV7) {
  std::string id = new_request_id();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  std::string later = new_request_id();
  EXPECT_NE(later, id);
  EXPECT_LE(id.substr(0, 8), later.substr(0, 8));  // the leading time field never goes back
}

TEST(Ids, ResourceIdIsLowercaseAlphanumeric) {
  std::string id = new_resource_id();
  ASSERT_EQ(id.size(), 12u);
  for (char c : id) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

TEST(TimeFormat, RoundTripsAmzDate) {
  auto t = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_amz_date(*t), "20150830T123600Z");
  EXPECT_EQ(format_iso8601(*t), "2015-08-30T12:36:00.000Z");
  EXPECT_FALSE(parse_amz_date("2015-08-30T12:36:00Z").has_value());
  EXPECT_FALSE(parse_amz_date("20151330T123600Z").has_value());
}

TEST(TimeFormat, ParsesCostExplorerDatesWithinTheRangeTimePointHolds) {
  auto day = parse_date_or_date_time("2026-11-03");
  ASSERT_TRUE(day.has_value());
  EXPECT_EQ(format_date_time(*day), "2026-11-03T00:00:00Z");
  EXPECT_EQ(format_date(*day), "2026-11-03");
  auto hour = parse_date_or_date_time("2026-11-03T10:00:00Z");
  ASSERT_TRUE(hour.has_value());
  EXPECT_EQ(*hour - *day, std::chrono::hours(10));
  EXPECT_EQ(format_date_time(TimePoint(std::chrono::milliseconds(-1))), "1969-12-31T23:59:59Z");  // floored
  for (const char* bad : {"2026-13-01", "2026-02-30", "0001-01-01", "9999-12-31", "2026-1-01", "2026-+1-01",
                          "2026/11/03", "2026-11-03T24:00:00Z", "2026-11-03T10:00:00", "2026-11-03 ", ""}) {
    EXPECT_FALSE(parse_date_or_date_time(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace tollgate

#include "core/arn.h"
#include "core/tag.h"
#include "core/validation.h"

namespace tollgate {
namespace {

TEST(Arn, ParsesProfileAndModelArns) {
  auto a = parse_arn("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->account, "123456789012");
  EXPECT_EQ(a->resource_type, "application-inference-profile");
  EXPECT_EQ(a->resource_id, "abc123def456");
  auto m = parse_arn("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->account, "");
  EXPECT_EQ(m->resource_id, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(m->to_string(), "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_FALSE(parse_arn("support-bot-prod").has_value());
  EXPECT_FALSE(parse_arn("arn:aws:bedrock:us-east-1:123").has_value());
  EXPECT_FALSE(parse_arn("arn:aws:bedrock:us-east-1:123:nothing").has_value());
}

TEST(WordPattern, MatchesModelNamePattern) {
  EXPECT_TRUE(matches_word_pattern("support-bot-prod"));
  EXPECT_TRUE(matches_word_pattern("a b_c-d"));
  EXPECT_TRUE(matches_word_pattern("trailing-"));
  EXPECT_FALSE(matches_word_pattern(""));
  EXPECT_FALSE(matches_word_pattern("-leading"));
  EXPECT_FALSE(matches_word_pattern("double--sep"));
  EXPECT_FALSE(matches_word_pattern("bad!char"));
  EXPECT_TRUE(matches_word_pattern("v1.2: notes", ":."));
}

struct TagCase {
  std::vector<Tag> tags;
  bool ok;
  std::string message_part;
};

TEST(Tags, ValidatesListsTableDriven) {
  std::vector<TagCase> cases = {
      {{{"team", "growth"}, {"cost-center", "cc:1234/x"}}, true, ""},
      {{{"team", ""}}, true, ""},
      {{{"", "x"}}, false, "length greater than or equal to 1"},
      {{{std::string(129, 'k'), "x"}}, false, "length less than or equal to 128"},
      {{{"k", std::string(257, 'v')}}, false, "tags.1.member.value"},
      {{{"bad#key", "x"}}, false, "regular expression pattern"},
      {{{"AWS:owner", "x"}}, false, "reserved"},
      {{{"team", "a"}, {"team", "b"}}, false, "more than once"},
  };
  for (const auto& c : cases) {
    Status s = validate_tag_list("tags", c.tags);
    EXPECT_EQ(s.ok(), c.ok) << (c.tags.empty() ? "" : c.tags[0].key);
    if (!c.ok) {
      EXPECT_NE(s.error().message().find(c.message_part), std::string::npos) << s.error().message();
    }
  }
  std::vector<Tag> many(201, Tag{"k", "v"});
  EXPECT_FALSE(validate_tag_list("tags", many).ok());
}

TEST(Tags, MergeOverwritesAndAppends) {
  std::vector<Tag> current = {{"a", "1"}, {"b", "2"}};
  merge_tags(current, {{"b", "3"}, {"c", "4"}});
  EXPECT_EQ(current, (std::vector<Tag>{{"a", "1"}, {"b", "3"}, {"c", "4"}}));
}

}  // namespace
}  // namespace tollgate

#include "core/base64.h"

namespace tollgate {
namespace {

TEST(Base64, RoundTripsRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded).value(), plain);
  }
  EXPECT_FALSE(base64_decode("Zm9").has_value());
  EXPECT_FALSE(base64_decode("Zm=v").has_value());
  EXPECT_FALSE(base64_decode("Zm9v!A==").has_value());
}

}  // namespace
}  // namespace tollgate
