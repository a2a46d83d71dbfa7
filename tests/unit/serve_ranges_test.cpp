#include "httpx/serve/ranges.hpp"

#include <gtest/gtest.h>

namespace {

using httpx::app::ByteRange;
using httpx::app::content_range;
using httpx::app::parse_range;
using Kind = httpx::app::RangeRequest::Kind;

TEST(RangesTest, SingleSuffixAndOpenRanges) {
  EXPECT_EQ(parse_range("bytes=0-99", 1000).ranges, (std::vector<ByteRange>{{0, 99}}));
  EXPECT_EQ(parse_range("bytes=-100", 1000).ranges, (std::vector<ByteRange>{{900, 999}}));
  EXPECT_EQ(parse_range("bytes=990-", 1000).ranges, (std::vector<ByteRange>{{990, 999}}));
  EXPECT_EQ(parse_range("bytes=-5000", 1000).ranges, (std::vector<ByteRange>{{0, 999}}));
  EXPECT_EQ(parse_range("bytes=500-5000", 1000).ranges, (std::vector<ByteRange>{{500, 999}}));
  EXPECT_EQ(parse_range("BYTES = 1-2", 10).kind, Kind::partial);
}

TEST(RangesTest, SeveralRangesKeepTheirOrderAndDropUnsatisfiableOnes) {
  const auto r = parse_range("bytes=500-600, 0-9 ,, 2000-3000, -1", 1000);
  ASSERT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.ranges, (std::vector<ByteRange>{{500, 600}, {0, 9}, {999, 999}}));
}

TEST(RangesTest, UnsatisfiableRanges) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-10", 0).kind, Kind::unsatisfiable);
}

TEST(RangesTest, MalformedOrForeignRangesAreIgnored) {
  for (const char* h : {"", "bytes", "bytes=", "items=0-1", "bytes=5-1", "bytes=a-b", "bytes=1-2-3", "bytes=--1",
                        "bytes=0x1-2", "bytes=1", "bytes=99999999999999999999999-"}) {
    EXPECT_EQ(parse_range(h, 1000).kind, Kind::whole) << h;
  }
}

TEST(RangesTest, TooManyRangesAreIgnored) {
  std::string h = "bytes=0-0";
  for (std::size_t i = 1; i < httpx::app::kMaxRanges; ++i) h += "," + std::to_string(i) + "-" + std::to_string(i);
  EXPECT_EQ(parse_range(h, 1000).kind, Kind::partial);
  EXPECT_EQ(parse_range(h + ",999-999", 1000).kind, Kind::whole);
}

TEST(RangesTest, ContentRangeSpelling) { EXPECT_EQ(content_range({5, 9}, 10), "bytes 5-9/10"); }

}  // namespace
