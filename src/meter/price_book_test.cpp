#include "meter/price_book.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "core/error.h"
#include "meter/embedded_prices.h"

// Suite "meter" for every test so that `ctest -R meter` selects them (ctest matches test names).
namespace tollgate::meter {
namespace {

using ledger::TokenCosts;
using ledger::TokenCounts;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
const std::string kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
const std::string kNovaMicro = "amazon.nova-micro-v1:0";

const PriceBook& embedded() {
  static const PriceBook book = PriceBook::embedded();
  return book;
}

const catalog::Catalog& embedded_catalog() {
  static const catalog::Catalog c = catalog::Catalog::embedded();
  return c;
}

TokenPrices prices(std::optional<int64_t> input, std::optional<int64_t> output,
                   std::optional<int64_t> cache_read = std::nullopt,
                   std::optional<int64_t> cache_write = std::nullopt) {
  return TokenPrices{input, output, cache_read, cache_write};
}

// --- The embedded book --------------------------------------------------------------------------------------

TEST(meter, EmbeddedParses) {
  EXPECT_GT(embedded().size(), 300u);
  EXPECT_FALSE(embedded().unpriced().empty());
  EXPECT_TRUE(std::is_sorted(embedded().unpriced().begin(), embedded().unpriced().end()));
}

TEST(meter, ClaudeThreeHaikuBasePrice) {
  const TokenPrices* p = embedded().find(kHaiku, "us-east-1", "");
  ASSERT_NE(p, nullptr);
  // 2.5e-07 USD/token = 0.25 USD per million tokens = 250,000,000 nano-USD per million tokens.
  EXPECT_EQ(p->input, 250'000'000);
  EXPECT_EQ(p->output, 1'250'000'000);
  EXPECT_EQ(p->cache_read, 25'000'000);
  EXPECT_EQ(p->cache_write, 312'500'000);
  EXPECT_EQ(embedded().find(kHaiku, "", ""), p);  // no Region price for us-east-1: the base price
}

TEST(meter, NovaMicroEuGeographyPriceDiffersFromBase) {
  const TokenPrices* base = embedded().find(kNovaMicro, "eu-west-1", "");
  const TokenPrices* eu = embedded().find(kNovaMicro, "eu-west-1", "eu");
  ASSERT_NE(base, nullptr);
  ASSERT_NE(eu, nullptr);
  EXPECT_EQ(*base, prices(35'000'000, 140'000'000));
  EXPECT_EQ(*eu, prices(46'000'000, 184'000'000));  // eu.amazon.nova-micro-v1:0: 4.6e-08 / 1.84e-07
  EXPECT_EQ(*embedded().find(kNovaMicro, "ap-south-1", "apac"), prices(37'000'000, 148'000'000));
  // A geography without its own price falls back to the base price.
  EXPECT_EQ(embedded().find(kNovaMicro, "ap-northeast-1", "jp"), base);
}

TEST(meter, ClaudeThreeHaikuUsGovRegionPrice) {
  for (const char* region : {"us-gov-west-1", "us-gov-east-1"}) {
    const TokenPrices* p = embedded().find(kHaiku, region, "");
    ASSERT_NE(p, nullptr) << region;
    EXPECT_EQ(*p, prices(300'000'000, 1'500'000'000, 30'000'000, 375'000'000)) << region;
  }
}

TEST(meter, ModelWithoutBasePriceIsOnlyPricedThroughItsProfile) {
  // amazon.nova-premier-v1:0 is priced only as us.amazon.nova-premier-v1:0.
  EXPECT_EQ(embedded().find("amazon.nova-premier-v1:0", "us-east-1", ""), nullptr);
  const TokenPrices* us = embedded().find("amazon.nova-premier-v1:0", "us-east-1", "us");
  ASSERT_NE(us, nullptr);
  EXPECT_EQ(*us, prices(2'500'000'000, 12'500'000'000));
}

TEST(meter, UnknownModelHasNoPrice) {
  EXPECT_EQ(embedded().find("acme.no-such-model-v1:0", "us-east-1", ""), nullptr);
  EXPECT_EQ(embedded().find("", "", ""), nullptr);
  EXPECT_EQ(embedded().find("anthropic.claude-3-haiku", "", ""), nullptr);  // a prefix is not a match
}

// Every catalog model that reads or writes text has an input and an output price (as a base, geography or
// Region price), or the generator listed it as unpriced; an unpriced model really has no complete price.
TEST(meter, EveryTextModelIsPricedOrListedUnpriced) {
  const catalog::Catalog& c = embedded_catalog();
  const std::vector<std::string>& unpriced = embedded().unpriced();
  auto complete = [](const TokenPrices* p) { return p != nullptr && p->input && p->output; };
  size_t priced = 0;
  for (const catalog::FoundationModel& m : c.models()) {
    auto has_text = [](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), "TEXT") != v.end(); };
    bool found = complete(embedded().find(m.model_id, "", ""));
    for (const std::string& region : m.regions) found = found || complete(embedded().find(m.model_id, region, ""));
    for (const catalog::SystemProfile& p : c.system_profiles()) {
      if (p.model_id == m.model_id) found = found || complete(embedded().find(m.model_id, "", p.geography));
    }
    const bool listed = std::binary_search(unpriced.begin(), unpriced.end(), m.model_id);
    EXPECT_FALSE(found && listed) << m.model_id << " is priced but listed as unpriced";
    if (has_text(m.input_modalities) || has_text(m.output_modalities)) {
      EXPECT_TRUE(found || listed) << m.model_id << " has no input/output price and is not listed as unpriced";
    }
    priced += found ? 1 : 0;
  }
  for (const std::string& id : unpriced) EXPECT_NE(c.find_model(id), nullptr) << id;
  EXPECT_GT(priced, 100u);
  EXPECT_EQ(priced + unpriced.size(), c.models().size());
}

// --- Precedence ---------------------------------------------------------------------------------------------

TEST(meter, PrecedenceRegionThenGeographyThenBase) {
  PriceBook book;
  book.set("acme.m-v1:0", "", "", prices(1, 1));             // base
  book.set("acme.m-v1:0", "", "eu", prices(2, 2));           // geography
  book.set("acme.m-v1:0", "eu-west-1", "", prices(3, 3));    // Region
  book.set("acme.m-v1:0", "eu-west-1", "eu", prices(4, 4));  // Region + geography (an override)
  book.set("acme.m-v1:0", "us-gov-west-1", "", prices(5, 5));

  struct Case {
    const char* region;
    const char* geography;
    int64_t expect;
  };
  const Case cases[] = {
      {"eu-west-1", "eu", 4},      // region + geography
      {"eu-west-1", "", 3},        // region
      {"eu-west-1", "global", 3},  // region beats the base even through another geography
      {"eu-central-1", "eu", 2},   // geography
      {"eu-central-1", "", 1},     // base
      {"us-east-1", "us", 1},      // a geography without its own price: base
      {"", "", 1},                 // nothing known: base
      {"", "eu", 2},
      {"us-gov-west-1", "us-gov", 5},
  };
  for (const Case& c : cases) {
    const TokenPrices* p = book.find("acme.m-v1:0", c.region, c.geography);
    ASSERT_NE(p, nullptr) << c.region << " / " << c.geography;
    EXPECT_EQ(p->input, c.expect) << c.region << " / " << c.geography;
  }
}

TEST(meter, NoBasePriceMeansNoMatchOutsideTheSpecificEntries) {
  PriceBook book;
  book.set("acme.m-v1:0", "us-west-2", "", prices(3, 3));
  book.set("acme.m-v1:0", "", "us", prices(2, 2));
  EXPECT_EQ(book.find("acme.m-v1:0", "us-east-1", ""), nullptr);
  EXPECT_EQ(book.find("acme.m-v1:0", "", ""), nullptr);
  EXPECT_EQ(book.find("acme.m-v1:0", "eu-west-1", "eu"), nullptr);
  EXPECT_EQ(book.find("acme.m-v1:0", "us-east-1", "us")->input, 2);
  EXPECT_EQ(book.find("acme.m-v1:0", "us-west-2", "us")->input, 3);
}

TEST(meter, SetReplacesAndAdds) {
  PriceBook book = PriceBook::from_json(
      R"({"units": "nano-USD per 1000000 tokens",
          "prices": [{"model": "acme.m-v1:0", "input": 10, "output": 20}]})");
  EXPECT_EQ(book.size(), 1u);
  book.set("acme.m-v1:0", "", "", prices(11, std::nullopt));
  EXPECT_EQ(book.size(), 1u);
  EXPECT_EQ(*book.find("acme.m-v1:0", "", ""), prices(11, std::nullopt));  // replaced as a whole
  book.set("acme.a-v1:0", "", "", prices(1, 2));
  book.set("acme.z-v1:0", "", "", prices(3, 4));
  EXPECT_EQ(book.size(), 3u);
  EXPECT_EQ(book.find("acme.a-v1:0", "", "")->output, 2);
  EXPECT_EQ(book.find("acme.z-v1:0", "", "")->output, 4);
  EXPECT_EQ(book.find("acme.m-v1:0", "", "")->input, 11);

  // Overriding the embedded book: the configured price wins for that slot only.
  PriceBook emb = PriceBook::embedded();
  emb.set(kHaiku, "", "", prices(1, 2));
  EXPECT_EQ(*emb.find(kHaiku, "us-east-1", ""), prices(1, 2));
  EXPECT_EQ(emb.find(kHaiku, "us-gov-west-1", "")->input, 300'000'000);
}

TEST(meter, SetRejectsNegativePricesEmptyModelAndBadNames) {
  PriceBook book;
  EXPECT_THROW(book.set("acme.m-v1:0", "", "", prices(-1, 1)), StartupError);
  EXPECT_THROW(book.set("acme.m-v1:0", "", "", prices(1, 1, std::nullopt, -5)), StartupError);
  EXPECT_THROW(book.set("", "", "", prices(1, 1)), StartupError);
  EXPECT_THROW(book.set("acme.m-v1:0", "Europe", "", prices(1, 1)), StartupError);
  EXPECT_THROW(book.set("acme.m-v1:0", "", "EU", prices(1, 1)), StartupError);
  EXPECT_EQ(book.size(), 0u);
}

TEST(meter, FromJsonRejectsMalformed) {
  const std::string units = R"("units": "nano-USD per 1000000 tokens")";
  const std::vector<std::string> bad = {
      "",
      "not json",
      "[]",
      R"({"prices": []})",                            // no units
      R"({"units": "USD per token", "prices": []})",  // wrong units
      "{" + units + "}",                              // no prices
      "{" + units + R"(, "prices": {}})",
      "{" + units + R"(, "prices": [1]})",
      "{" + units + R"(, "prices": [{"input": 1}]})",  // no model
      "{" + units + R"(, "prices": [{"model": "", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "input": -1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "input": 0.5}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "input": 2.5e-7}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "input": "1"}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "input": 18446744073709551615}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "cache_read": 1}]})",  // unknown field
      "{" + units + R"(, "prices": [{"model": "a.b"}]})",                   // no price
      "{" + units + R"(, "prices": [{"model": "a.b", "region": "Mars", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "region": "", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "geography": "EU", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "region": "us-east", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "region": "us-east-123", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "region": "use-east-1", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "region": "us--1", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "region": "us-east-1-", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "geography": "us--gov", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "geography": "-us", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "geography": "us.", "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "geography": 1, "input": 1}]})",
      "{" + units + R"(, "prices": [{"model": "a.b", "input": 1}, {"model": "a.b", "output": 1}]})",  // duplicate
      "{" + units + R"(, "prices": [], "unpriced": [{"missing": []}]})",
      "{" + units + R"(, "prices": [], "unpriced": "x"})",
  };
  for (const std::string& text : bad) EXPECT_THROW(PriceBook::from_json(text), StartupError) << text;

  PriceBook ok = PriceBook::from_json("{" + units + R"(, "prices": [
      {"model": "a.b", "input": 0, "output": 9223372036854775807},
      {"model": "a.b", "region": "us-gov-west-1", "cacheRead": 1, "cacheWrite": 2},
      {"model": "a.b", "geography": "us-gov", "input": 3},
      {"model": "a.b", "region": "ap-southeast-12", "input": 4}],
      "unpriced": [{"model": "z.y", "missing": ["input"]}, {"model": "c.d"}]})");
  EXPECT_EQ(ok.size(), 4u);
  EXPECT_EQ(ok.find("a.b", "ap-southeast-12", "")->input, 4);
  EXPECT_EQ(*ok.find("a.b", "", ""), prices(0, kInt64Max));
  EXPECT_EQ(*ok.find("a.b", "us-gov-west-1", "us-gov"), prices(std::nullopt, std::nullopt, 1, 2));
  EXPECT_EQ(ok.unpriced(), (std::vector<std::string>{"c.d", "z.y"}));
}

// --- cost_of ------------------------------------------------------------------------------------------------

TEST(meter, CostOfRoundsHalfUp) {
  struct Case {
    int64_t tokens, price, expect;
  };
  const Case cases[] = {
      {1, 499'999, 0},  // 0.499999 nano-USD
      {1, 500'000, 1},  // 0.5 → 1
      {1, 1'499'999, 1},
      {1, 1'500'000, 2},      // 1.5 → 2
      {3, 500'000, 2},        // 1.5 → 2
      {1, 250'000'000, 250},  // one Haiku input token: 250 nano-USD
      {1000, 250'000'000, 250'000},
      {7, 35'000'000, 245},  // Nova Micro input
      {13, 46'000'000, 598},
      {1, 37'000'000, 37},
      {3, 546'875'000, 1'641},                    // 1640.625 → 1641
      {1'000'000, 1'250'000'000, 1'250'000'000},  // a million Haiku output tokens: 1.25 USD
      {0, 250'000'000, 0},
      {12345, 0, 0},
  };
  for (const Case& c : cases) {
    const TokenPrices p = prices(c.price, c.price, c.price, c.price);
    bool missing = true;
    const TokenCosts costs = cost_of(&p, TokenCounts{c.tokens, c.tokens, c.tokens, c.tokens}, missing);
    EXPECT_FALSE(missing);
    EXPECT_EQ(costs.input_nano_usd, c.expect) << c.tokens << " × " << c.price;
    EXPECT_EQ(costs.output_nano_usd, c.expect);
    EXPECT_EQ(costs.cache_read_nano_usd, c.expect);
    EXPECT_EQ(costs.cache_write_nano_usd, c.expect);
  }
}

TEST(meter, CostOfTokenTypesUseTheirOwnPrice) {
  const TokenPrices* haiku = embedded().find(kHaiku, "us-east-1", "");
  bool missing = true;
  const TokenCosts costs = cost_of(haiku, TokenCounts{1000, 200, 3000, 400}, missing);
  EXPECT_FALSE(missing);
  EXPECT_EQ(costs, (TokenCosts{250'000, 250'000, 75'000, 125'000}));
  EXPECT_EQ(costs.total_nano_usd(), 700'000);
}

// The largest price in prices.json (read from the embedded bytes, so the test follows the data).
int64_t largest_embedded_price() {
  const boost::json::value doc = boost::json::parse(detail::embedded_prices_json());
  int64_t largest = 0;
  for (const boost::json::value& e : doc.at("prices").as_array()) {
    for (const char* f : {"input", "output", "cacheRead", "cacheWrite"}) {
      if (const boost::json::value* v = e.as_object().if_contains(f)) largest = std::max(largest, v->as_int64());
    }
  }
  return largest;
}

TEST(meter, CostOfIs128BitSafe) {
  const int64_t largest = largest_embedded_price();
  EXPECT_GE(largest, 75'000'000'000);  // 75 USD per million tokens (Claude Opus output), this price file
  constexpr int64_t kBillion = 1'000'000'000;
  ASSERT_GT(static_cast<double>(kBillion) * static_cast<double>(largest), static_cast<double>(kInt64Max))
      << "the product must overflow 64 bits for this test to mean anything";
  bool missing = true;
  const TokenPrices p = prices(largest, largest, largest, largest);
  const TokenCosts costs = cost_of(&p, TokenCounts{kBillion, kBillion, kBillion, kBillion}, missing);
  EXPECT_FALSE(missing);
  EXPECT_EQ(costs.input_nano_usd, largest * 1000);  // 1e9 tokens × price / 1e6, exact
  EXPECT_EQ(costs.cache_write_nano_usd, largest * 1000);

  // Exact beyond 64 bits: (2^63-1) × 999,999 / 1e6 = 9,223,362,813,482,738,952.22… → …952.
  const TokenPrices q = prices(999'999, std::nullopt);
  EXPECT_EQ(cost_of(&q, TokenCounts{kInt64Max, 0, 0, 0}, missing).input_nano_usd, 9'223'362'813'482'738'952);
  // A result above INT64_MAX saturates instead of wrapping.
  const TokenPrices r = prices(kInt64Max, kInt64Max);
  const TokenCosts huge = cost_of(&r, TokenCounts{kInt64Max, kBillion, 0, 0}, missing);
  EXPECT_EQ(huge.input_nano_usd, kInt64Max);
  EXPECT_EQ(huge.output_nano_usd, kInt64Max);
  EXPECT_FALSE(missing);
}

TEST(meter, CostOfMissingFlag) {
  bool missing = false;
  // No prices at all: every type with tokens is missing, and costs nothing.
  EXPECT_EQ(cost_of(nullptr, TokenCounts{10, 5, 0, 0}, missing), TokenCosts{});
  EXPECT_TRUE(missing);
  // No prices but no tokens either: nothing is missing.
  EXPECT_EQ(cost_of(nullptr, TokenCounts{}, missing), TokenCosts{});
  EXPECT_FALSE(missing);
  // A type without a price, with tokens: flagged, the priced types still cost.
  const TokenPrices p = prices(1'000'000, 2'000'000);
  TokenCosts costs = cost_of(&p, TokenCounts{10, 5, 7, 0}, missing);
  EXPECT_TRUE(missing);
  EXPECT_EQ(costs, (TokenCosts{10, 10, 0, 0}));
  // The same type with zero tokens: not flagged (missing is assigned on every call).
  costs = cost_of(&p, TokenCounts{10, 5, 0, 0}, missing);
  EXPECT_FALSE(missing);
  EXPECT_EQ(costs, (TokenCosts{10, 10, 0, 0}));
  // Negative counts cost nothing and are not flagged.
  costs = cost_of(&p, TokenCounts{-10, 5, -1, -1}, missing);
  EXPECT_FALSE(missing);
  EXPECT_EQ(costs, (TokenCosts{0, 10, 0, 0}));
  // A price of zero is a price: zero cost, not missing (embedding output).
  const TokenPrices free_output = prices(135'000'000, 0);
  costs = cost_of(&free_output, TokenCounts{1000, 1000, 0, 0}, missing);
  EXPECT_FALSE(missing);
  EXPECT_EQ(costs, (TokenCosts{135'000, 0, 0, 0}));
  // An image model from the embedded book: flagged zero.
  costs = cost_of(embedded().find("amazon.nova-canvas-v1:0", "us-east-1", ""), TokenCounts{100, 0, 0, 0}, missing);
  EXPECT_TRUE(missing);
  EXPECT_EQ(costs.total_nano_usd(), 0);
}

// --- parse_usd_per_million / format_usd ---------------------------------------------------------------------

TEST(meter, ParseUsdPerMillion) {
  struct Good {
    const char* text;
    int64_t nano;
  };
  const Good good[] = {
      {"0.25", 250'000'000},
      {"15", 15'000'000'000},
      {"3.125", 3'125'000'000},
      {"0", 0},
      {"0.0", 0},
      {"1.25", 1'250'000'000},
      {"0.000000001", 1},
      {"0.123456789", 123'456'789},
      {"007.5", 7'500'000'000},
      {"75", 75'000'000'000},
      {"9223372036.854775807", kInt64Max},
  };
  for (const Good& g : good) {
    Result<int64_t> r = parse_usd_per_million(g.text);
    ASSERT_TRUE(r.ok()) << g.text << ": " << r.error().message();
    EXPECT_EQ(*r, g.nano) << g.text;
  }
  const char* bad[] = {
      "",
      "1e-3",
      "-1",
      "+1",
      "0.0000000001",
      "0.2500000000",
      ".5",
      "5.",
      "1.2.3",
      " 1",
      "1 ",
      "abc",
      "1,5",
      "0x10",
      "NaN",
      "inf",
      "1_0",
      "１",
      "9223372036.854775808",
      "9223372037",
      "99999999999999999999",
      "$1",
  };
  for (const char* text : bad) {
    Result<int64_t> r = parse_usd_per_million(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::Validation) << text;
    EXPECT_EQ(r.error().aws_name(), "ValidationException");
    EXPECT_NE(r.error().message().find(std::string("\"") + text + "\""), std::string::npos) << r.error().message();
  }
  EXPECT_NE(parse_usd_per_million("0.0000000001").error().message().find("9 fraction digits"), std::string::npos);
}

TEST(meter, FormatUsd) {
  struct Case {
    int64_t nano;
    const char* text;
  };
  const Case cases[] = {
      {1234, "0.000001234"},
      {0, "0.000000000"},
      {1, "0.000000001"},
      {250'000'000, "0.250000000"},
      {1'000'000'000, "1.000000000"},
      {1'250'000'001, "1.250000001"},
      {-1234, "-0.000001234"},
      {kInt64Max, "9223372036.854775807"},
      {std::numeric_limits<int64_t>::min(), "-9223372036.854775808"},
  };
  for (const Case& c : cases) EXPECT_EQ(format_usd(c.nano), c.text) << c.nano;
  // format_usd and parse_usd_per_million are inverse on non-negative values.
  for (int64_t v : {int64_t{0}, int64_t{7}, int64_t{250'000'000}, int64_t{75'000'000'000}, kInt64Max}) {
    EXPECT_EQ(*parse_usd_per_million(format_usd(v)), v);
  }
}

}  // namespace
}  // namespace tollgate::meter
