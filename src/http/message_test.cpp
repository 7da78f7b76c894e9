#include <gtest/gtest.h>

#include "http/message.h"

namespace tollgate::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndKeepsPlus) {
  EXPECT_EQ(percent_decode("a%3Ab%2Fc+d").value(), "a:b/c+d");
  EXPECT_EQ(percent_decode("%e1%88%b4").value(), "\xe1\x88\xb4");
  EXPECT_FALSE(percent_decode("%").has_value());
  EXPECT_FALSE(percent_decode("%4").has_value());
  EXPECT_FALSE(percent_decode("%zz").has_value());
}

TEST(ParseQuery, SplitsAndDecodesPairs) {
  auto q = parse_query("maxResults=5&type=APPLICATION&nextToken=a%2Fb&flag").value();
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"maxResults", "5"}));
  EXPECT_EQ(q[2].second, "a/b");
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_FALSE(parse_query("a=%G0").has_value());
}

TEST(Headers, LookupIsCaseInsensitive) {
  Request req;
  req.headers = {{"X-Amz-Date", "1"}, {"x-amz-date", "2"}};
  EXPECT_EQ(req.header("X-AMZ-DATE").value(), "1");
  Response res;
  res.set_header("Content-Type", "a");
  res.set_header("content-type", "b");
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.header("CONTENT-TYPE").value(), "b");
}

}  // namespace
}  // namespace tollgate::http
