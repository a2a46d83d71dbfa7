#include "httpx/serve/conditional.hpp"

#include <gtest/gtest.h>

namespace {

using httpx::app::ConditionalResult;
using httpx::app::etag_list_matches;
using httpx::app::evaluate_preconditions;
using httpx::app::format_http_date;
using httpx::app::if_range_allows;
using httpx::app::parse_http_date;
using httpx::app::Preconditions;

constexpr std::time_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr const char* kTag = "\"abc\"";

TEST(ConditionalTest, HttpDatesInAllThreeFormsAndBack) {
  EXPECT_EQ(format_http_date(kMtime), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kMtime);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kMtime);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kMtime);
  for (const char* bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT x"}) {
    EXPECT_FALSE(parse_http_date(bad)) << bad;
  }
}

TEST(ConditionalTest, EtagListsCompareStronglyOrWeakly) {
  EXPECT_TRUE(etag_list_matches("*", kTag, false));
  EXPECT_TRUE(etag_list_matches("\"x\", \"abc\"", kTag, false));
  EXPECT_FALSE(etag_list_matches("W/\"abc\"", kTag, false));
  EXPECT_TRUE(etag_list_matches("W/\"abc\"", kTag, true));
  EXPECT_FALSE(etag_list_matches("\"abcd\"", kTag, true));
  EXPECT_FALSE(etag_list_matches("abc", kTag, true));
  EXPECT_FALSE(etag_list_matches("\"abc", kTag, true));
}

ConditionalResult eval(Preconditions p, bool safe = true) { return evaluate_preconditions(p, safe, kTag, kMtime); }

TEST(ConditionalTest, Rfc9110Precedence) {
  const std::string_view before = "Sat, 05 Nov 1994 08:49:37 GMT";
  const std::string_view same = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(eval({}), ConditionalResult::proceed);
  EXPECT_EQ(eval({.if_match = "\"x\""}), ConditionalResult::precondition_failed);
  EXPECT_EQ(eval({.if_match = kTag}), ConditionalResult::proceed);
  EXPECT_EQ(eval({.if_unmodified_since = before}), ConditionalResult::precondition_failed);
  EXPECT_EQ(eval({.if_unmodified_since = same}), ConditionalResult::proceed);
  EXPECT_EQ(eval({.if_unmodified_since = "garbage"}), ConditionalResult::proceed);
  // If-Match present: If-Unmodified-Since is not evaluated.
  EXPECT_EQ(eval({.if_match = kTag, .if_unmodified_since = before}), ConditionalResult::proceed);
  EXPECT_EQ(eval({.if_none_match = kTag}), ConditionalResult::not_modified);
  EXPECT_EQ(eval({.if_none_match = kTag}, false), ConditionalResult::precondition_failed);
  EXPECT_EQ(eval({.if_modified_since = same}), ConditionalResult::not_modified);
  EXPECT_EQ(eval({.if_modified_since = before}), ConditionalResult::proceed);
  EXPECT_EQ(eval({.if_modified_since = same}, false), ConditionalResult::proceed);
  // If-None-Match present: If-Modified-Since is not evaluated.
  EXPECT_EQ(eval({.if_none_match = "\"x\"", .if_modified_since = same}), ConditionalResult::proceed);
  // A failed If-Match wins over a matching If-None-Match.
  EXPECT_EQ(eval({.if_match = "\"x\"", .if_none_match = kTag}), ConditionalResult::precondition_failed);
}

TEST(ConditionalTest, IfRange) {
  const std::time_t now = kMtime + 100;
  EXPECT_TRUE(if_range_allows(kTag, kTag, kMtime, now));
  EXPECT_FALSE(if_range_allows("W/\"abc\"", kTag, kMtime, now));
  EXPECT_FALSE(if_range_allows("\"other\"", kTag, kMtime, now));
  EXPECT_TRUE(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", kTag, kMtime, now));
  EXPECT_FALSE(if_range_allows("Sun, 06 Nov 1994 08:49:38 GMT", kTag, kMtime, now));
  // A date validator of a file modified this second is weak: no range.
  EXPECT_FALSE(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", kTag, kMtime, kMtime));
  EXPECT_FALSE(if_range_allows("not a date", kTag, kMtime, now));
}

}  // namespace
