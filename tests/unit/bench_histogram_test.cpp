// bench::Histogram against plain sorted lists of known samples: nearest-rank percentiles within
// the stated precision (s <= v <= s*(1+1/1024)+1, never above max), exact min/max/sum/mean,
// clamping to 1 µs .. 1 h, the standard deviation, bucket boundaries, and merging.
#include "httpx/bench/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace httpx::app::bench {
namespace {

using Samples = std::vector<std::int64_t>;

// Percentiles in thousandths of a percent, so the nearest rank can be computed exactly in integers.
constexpr std::int64_t kPercentilesMilli[] = {50'000, 75'000, 90'000, 99'000, 99'900, 99'990,
                                              // and a few odd ones
                                              1, 100, 12'500, 33'333, 66'667, 95'500, 99'999, 100'000};

double percent_of(std::int64_t milli) { return static_cast<double>(milli) / 1000.0; }

// Nearest rank: the smallest rank r with r >= p/100 * n, at least 1.
std::size_t nearest_rank(std::int64_t milli, std::size_t n) {
  const auto rank = (static_cast<std::uint64_t>(milli) * n + 99'999) / 100'000;
  return static_cast<std::size_t>(std::max<std::uint64_t>(rank, 1));
}

Histogram record_all(const Samples& samples) {
  Histogram h;
  for (auto v : samples) h.record(v);
  return h;
}

long double exact_mean(const Samples& s) {
  long double sum = 0;
  for (auto v : s) sum += static_cast<long double>(v);
  return sum / static_cast<long double>(s.size());
}

double exact_stdev(const Samples& s) {
  const long double m = exact_mean(s);
  long double squares = 0;
  for (auto v : s) squares += (static_cast<long double>(v) - m) * (static_cast<long double>(v) - m);
  return static_cast<double>(std::sqrt(squares / static_cast<long double>(s.size())));
}

// Checks every percentile, min, max, sum, mean and stdev of a histogram of `samples` against the
// sorted samples. `name` labels failures.
void expect_matches(const Samples& samples, const std::string& name) {
  SCOPED_TRACE(name);
  const Histogram h = record_all(samples);
  Samples sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(h.count(), sorted.size());
  EXPECT_EQ(h.min(), sorted.front());
  EXPECT_EQ(h.max(), sorted.back());
  std::uint64_t sum = 0;
  for (auto v : sorted) sum += static_cast<std::uint64_t>(v);
  EXPECT_EQ(h.sum(), sum);
  EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(sum) / static_cast<double>(sorted.size()));
  for (auto milli : kPercentilesMilli) {
    const std::int64_t s = sorted[nearest_rank(milli, sorted.size()) - 1];
    const std::int64_t v = h.value_at_percentile(percent_of(milli));
    EXPECT_GE(v, s) << "p" << percent_of(milli);
    EXPECT_LE(static_cast<double>(v), static_cast<double>(s) * (1.0 + 1.0 / 1024) + 1) << "p" << percent_of(milli);
    EXPECT_LE(v, h.max()) << "p" << percent_of(milli);
  }
  EXPECT_EQ(h.value_at_percentile(100), sorted.back());
  const double stdev = exact_stdev(sorted);
  EXPECT_NEAR(h.stdev(), stdev, stdev * 0.002 + 1e-9) << "exact stdev " << stdev;
}

TEST(BenchHistogramTest, PercentilesMatchSortedSamplesWithinPrecision) {
  std::mt19937_64 rng(20261202);
  {
    Samples uniform(200'000);
    std::uniform_int_distribution<std::int64_t> dist(1, 1'000'000);
    for (auto& v : uniform) v = dist(rng);
    expect_matches(uniform, "uniform 1us..1s");
  }
  {
    // A log-normal-ish spread over the whole range, 1 µs to 1 h (ln(3.6e9) ~ 22).
    Samples spread(100'000);
    std::normal_distribution<double> ln(11.0, 4.0);
    for (auto& v : spread) {
      v = std::clamp<std::int64_t>(std::llround(std::exp(ln(rng))), Histogram::kLowest, Histogram::kHighest);
    }
    EXPECT_LT(*std::min_element(spread.begin(), spread.end()), 10);
    EXPECT_GT(*std::max_element(spread.begin(), spread.end()), 1'000'000'000);
    expect_matches(spread, "log-normal 1us..1h");
  }
  {
    // Many equal values around a few others.
    Samples equal(10'000, 5'003);
    equal.insert(equal.end(), 20, 7);
    equal.insert(equal.end(), 20, 12'345'678);
    std::shuffle(equal.begin(), equal.end(), rng);
    expect_matches(equal, "many equal values");
  }
  expect_matches({42}, "one small value");
  expect_matches({123'456'789}, "one large value");
  expect_matches(Samples(1000, 987'654'321), "one large value many times");
}

TEST(BenchHistogramTest, ValuesBelow2048AreExactAtEveryRank) {
  // Below 2048 every value has a bucket of its own, so a percentile is the nearest-rank sample
  // itself: an off-by-one rank shows.
  Samples samples;
  for (std::int64_t v = 1; v <= 2000; ++v) samples.push_back(v);
  std::shuffle(samples.begin(), samples.end(), std::mt19937_64(7));
  const Histogram h = record_all(samples);
  for (auto milli : kPercentilesMilli) {
    EXPECT_EQ(h.value_at_percentile(percent_of(milli)), static_cast<std::int64_t>(nearest_rank(milli, 2000)))
        << "p" << percent_of(milli);
  }
  Histogram thousand;
  for (std::int64_t v = 1; v <= 1000; ++v) thousand.record(v);
  EXPECT_EQ(thousand.value_at_percentile(99.9), 999);
  EXPECT_EQ(thousand.value_at_percentile(99.99), 1000);
  EXPECT_EQ(thousand.value_at_percentile(50), 500);
  EXPECT_EQ(thousand.value_at_percentile(0.1), 1);
  EXPECT_EQ(thousand.value_at_percentile(0.1001), 2);
}

TEST(BenchHistogramTest, PercentileIsTheHighestEquivalentValueCappedAtMax) {
  Histogram h;
  h.record(100'000);  // a bucket 64 wide: 99'968 .. 100'031
  h.record(100'001);
  h.record(200'000);
  EXPECT_EQ(Histogram::lowest_equivalent(100'000), 99'968);
  EXPECT_EQ(Histogram::highest_equivalent(100'000), 100'031);
  EXPECT_EQ(h.value_at_percentile(50), 100'031);
  // The top bucket is capped at the exact max.
  EXPECT_EQ(h.value_at_percentile(99), 200'000);
  EXPECT_EQ(h.value_at_percentile(100), 200'000);
}

TEST(BenchHistogramTest, BucketBoundariesKeepValuesWithin1Of1024) {
  EXPECT_EQ(Histogram::lowest_equivalent(2047), 2047);
  EXPECT_EQ(Histogram::highest_equivalent(2047), 2047);
  EXPECT_EQ(Histogram::lowest_equivalent(2049), 2048);
  EXPECT_EQ(Histogram::highest_equivalent(2048), 2049);
  EXPECT_EQ(Histogram::lowest_equivalent(4096), 4096);
  EXPECT_EQ(Histogram::highest_equivalent(4096), 4099);
  for (std::int64_t v : {std::int64_t{1}, std::int64_t{3000}, std::int64_t{65'537}, std::int64_t{999'999'999},
                         std::int64_t{3'000'000'000}}) {
    const auto low = Histogram::lowest_equivalent(v);
    const auto high = Histogram::highest_equivalent(v);
    EXPECT_LE(low, v);
    EXPECT_GE(high, v);
    EXPECT_LE(static_cast<double>(high - low), static_cast<double>(v) / 1024) << v;
    EXPECT_EQ(Histogram::lowest_equivalent(low), low);
    EXPECT_EQ(Histogram::lowest_equivalent(high), low);
    EXPECT_EQ(Histogram::lowest_equivalent(high + 1), high + 1) << v;
  }
}

TEST(BenchHistogramTest, ClampsBelowOneMicrosecondAndAboveOneHour) {
  Histogram h;
  h.record(0);
  h.record(-5);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 1);
  EXPECT_EQ(h.sum(), 2u);
  h.record(Histogram::kHighest + 1);
  h.record(Histogram::kHighest * 10, 3);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.max(), Histogram::kHighest);
  EXPECT_EQ(h.sum(), 2u + 4u * static_cast<std::uint64_t>(Histogram::kHighest));
  EXPECT_EQ(h.value_at_percentile(100), Histogram::kHighest);
  EXPECT_EQ(h.value_at_percentile(33), 1);
  const auto buckets = h.buckets();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0], (std::pair<std::int64_t, std::uint64_t>{1, 2}));
  EXPECT_EQ(buckets[1].first, Histogram::lowest_equivalent(Histogram::kHighest));
  EXPECT_EQ(buckets[1].second, 4u);
}

TEST(BenchHistogramTest, RecordWithACountIsThatManyRecords) {
  Histogram once, many;
  for (int i = 0; i < 5; ++i) once.record(77'777);
  many.record(77'777, 5);
  many.record(12, 0);  // nothing
  EXPECT_EQ(once, many);
  EXPECT_EQ(many.count(), 5u);
  EXPECT_EQ(many.min(), 77'777);
}

TEST(BenchHistogramTest, EmptyHistogramReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.sum(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.stdev(), 0.0);
  EXPECT_EQ(h.value_at_percentile(50), 0);
  EXPECT_EQ(h.value_at_percentile(100), 0);
  EXPECT_TRUE(h.buckets().empty());
}

TEST(BenchHistogramTest, ResetForgetsEverything) {
  Histogram h;
  h.record(5);
  h.record(5'000'000);
  h.reset();
  EXPECT_EQ(h, Histogram());
  h.record(9);
  EXPECT_EQ(h.min(), 9);
  EXPECT_EQ(h.max(), 9);
}

TEST(BenchHistogramTest, MergeOfTwoHalvesEqualsTheWhole) {
  std::mt19937_64 rng(99);
  std::lognormal_distribution<double> dist(9.0, 3.0);
  Histogram whole, first, second;
  for (int i = 0; i < 50'000; ++i) {
    const auto v = std::llround(dist(rng));
    whole.record(v);
    (rng() % 3 == 0 ? first : second).record(v);
  }
  Histogram merged = first;
  merged.merge(second);
  EXPECT_EQ(merged, whole);
  // Either order, and with an empty histogram on either side.
  Histogram other_way = second;
  other_way.merge(first);
  EXPECT_EQ(other_way, whole);
  Histogram empty;
  empty.merge(whole);
  EXPECT_EQ(empty, whole);
  Histogram same = whole;
  same.merge(Histogram());
  EXPECT_EQ(same, whole);
}

TEST(BenchHistogramTest, MergeKeepsTheSmallerMinWhenTheFirstHasLargerValues) {
  Histogram high, low;
  high.record(1'000'000);
  low.record(3);
  high.merge(low);
  EXPECT_EQ(high.min(), 3);
  EXPECT_EQ(high.max(), 1'000'000);
  EXPECT_EQ(high.count(), 2u);
  EXPECT_EQ(high.sum(), 1'000'003u);
}

TEST(BenchHistogramTest, BucketsRecordedBackGiveTheSameHistogram) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::int64_t> dist(1, Histogram::kHighest);
  Histogram h;
  for (int i = 0; i < 10'000; ++i) h.record(dist(rng) >> (i % 30));
  Histogram back;
  for (const auto& [value, count] : h.buckets()) {
    EXPECT_EQ(Histogram::lowest_equivalent(value), value);
    back.record(value, count);
  }
  back.restore_exact(h.min(), h.max(), h.sum());
  EXPECT_EQ(back, h);
}

}  // namespace
}  // namespace httpx::app::bench
