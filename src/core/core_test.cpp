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

TEST(Ids, RequestIdIsUuidV4) {
  std::string id = new_request_id();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(new_request_id(), id);
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

}  // namespace
}  // namespace tollgate
