#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include "ledger/tag_set.h"

namespace tollgate::ledger {
namespace {

TEST(LedgerNames, UsageStatusRoundTrips) {
  for (auto [status, text] :
       {std::pair{UsageStatus::Success, "success"}, std::pair{UsageStatus::ClientCancelled, "client_cancelled"},
        std::pair{UsageStatus::UpstreamCut, "upstream_cut"}, std::pair{UsageStatus::ModelError, "model_error"}}) {
    EXPECT_EQ(to_string(status), text);
    UsageStatus parsed = UsageStatus::Success;
    ASSERT_TRUE(parse_usage_status(text, parsed)) << text;
    EXPECT_EQ(parsed, status);
  }
  UsageStatus out = UsageStatus::ModelError;
  EXPECT_FALSE(parse_usage_status("Success", out));
  EXPECT_FALSE(parse_usage_status("", out));
  EXPECT_EQ(out, UsageStatus::ModelError);
}

TEST(LedgerNames, TokenTypeRoundTrips) {
  for (auto [type, text] :
       {std::pair{TokenType::Input, "input"}, std::pair{TokenType::Output, "output"},
        std::pair{TokenType::CacheRead, "cache-read"}, std::pair{TokenType::CacheWrite, "cache-write"}}) {
    EXPECT_EQ(to_string(type), text);
    TokenType parsed = TokenType::Input;
    ASSERT_TRUE(parse_token_type(text, parsed)) << text;
    EXPECT_EQ(parsed, type);
  }
  TokenType out = TokenType::Input;
  EXPECT_FALSE(parse_token_type("cache_read", out));
  EXPECT_FALSE(parse_token_type("INPUT", out));
}

TEST(TagSet, IsSortedCompactJson) {
  EXPECT_EQ(canonical_tag_set({}), "[]");
  EXPECT_EQ(canonical_tag_set({{"team", "growth"}, {"env", "prod"}}), R"([["env","prod"],["team","growth"]])");
  // Order of the input never matters.
  EXPECT_EQ(canonical_tag_set({{"b", "1"}, {"a", "2"}, {"c", "0"}}),
            canonical_tag_set({{"c", "0"}, {"a", "2"}, {"b", "1"}}));
}

TEST(TagSet, EscapesJsonStrings) {
  std::string control = "x";
  control.push_back('\x01');
  control.push_back('\x1f');
  EXPECT_EQ(canonical_tag_set({{"k\"q", "back\\slash"}, {"n", "a\nb\tc\rd\be\ff"}, {"z", control}}),
            R"([["k\"q","back\\slash"],["n","a\nb\tc\rd\be\ff"],["z","x\u0001\u001f"]])");
  // Non-ASCII UTF-8 and '/' pass through as they are.
  EXPECT_EQ(canonical_tag_set({{"owner", "zoë/ops"}}), R"([["owner","zoë/ops"]])");
}

TEST(TagSet, ParsesWhatItWrites) {
  std::string control = "x";
  control.push_back('\x01');
  std::vector<Tag> tags = {{"env", "prod"}, {"k\"q", "back\\slash"}, {"n", "a\nb"}, {"owner", "zoë"}, {"z", control}};
  std::vector<Tag> parsed;
  ASSERT_TRUE(parse_tag_set(canonical_tag_set(tags), parsed));
  EXPECT_EQ(parsed, tags);
  ASSERT_TRUE(parse_tag_set("[]", parsed));
  EXPECT_TRUE(parsed.empty());
  // Equivalent JSON is accepted too: whitespace, \/ and \u escapes (surrogate pairs included).
  ASSERT_TRUE(parse_tag_set(R"( [ ["a" , "\u00e9\/\ud83d\ude00"] ] )", parsed));
  EXPECT_EQ(parsed, (std::vector<Tag>{{"a", "é/😀"}}));
}

TEST(TagSet, RejectsOtherShapes) {
  std::vector<Tag> parsed;
  for (std::string_view bad :
       {"", "{}", "[", "[[]]", R"([["a"]])", R"([["a","b","c"]])", R"([["a","b"],])", R"([["a",1]])",
        R"([["a","b"]] x)", R"([["a","\x"]])", R"([["a","\ud800"]])", "[[\"a\",\"b\nc\"]]", R"([["a","b)"}) {
    EXPECT_FALSE(parse_tag_set(bad, parsed)) << bad;
  }
}

}  // namespace
}  // namespace tollgate::ledger
