/// A high-dynamic-range latency histogram: 1 µs to 1 h at 3 significant digits, in the layout of
/// Gil Tene's HdrHistogram (log2 buckets of 2048 linear sub-buckets), so every recorded value is
/// kept within 1/1024 of itself and histograms of threads or machines add up exactly.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace httpx::app::bench {

/// Counts of values (microseconds) in HdrHistogram's layout. Values below 1 µs count as 1 µs and
/// above one hour as one hour. min, max and sum are exact; percentiles are within 1/1024 (0.1%).
class Histogram {
 public:
  static constexpr std::int64_t kLowest = 1;                    ///< 1 µs
  static constexpr std::int64_t kHighest = 3'600'000'000;       ///< 1 h in µs
  static constexpr int kSignificantDigits = 3;

  Histogram();

  /// Records `count` occurrences of `value_us`.
  void record(std::int64_t value_us, std::uint64_t count = 1);
  /// Adds every count of `other` (the histogram a single run over both would have given).
  void merge(const Histogram& other);
  /// Forgets every value.
  void reset();

  std::uint64_t count() const noexcept { return total_; }
  /// Exact smallest and largest recorded values; 0 when empty.
  std::int64_t min() const noexcept { return total_ ? min_ : 0; }
  std::int64_t max() const noexcept { return max_; }
  /// Exact sum of the recorded (clamped) values.
  std::uint64_t sum() const noexcept { return sum_; }
  double mean() const noexcept;
  /// Standard deviation over the buckets' middle values (HdrHistogram's definition).
  double stdev() const;
  /// The nearest-rank percentile (0 < p <= 100): the highest value equivalent to the sample at
  /// rank ceil(p/100 * count), never above max(); 0 when empty.
  std::int64_t value_at_percentile(double percentile) const;

  /// The non-empty buckets as (lowest equivalent value, count), ascending: a lossless picture, since
  /// recording each pair back gives the same histogram.
  std::vector<std::pair<std::int64_t, std::uint64_t>> buckets() const;
  /// Values v and w are in one bucket when lowest_equivalent(v) == lowest_equivalent(w).
  static std::int64_t lowest_equivalent(std::int64_t value);
  static std::int64_t highest_equivalent(std::int64_t value);

  /// Restores the exact min, max and sum after buckets were recorded back (the buckets alone keep
  /// only bucket-precision values).
  void restore_exact(std::int64_t min, std::int64_t max, std::uint64_t sum);

  friend bool operator==(const Histogram&, const Histogram&) = default;

 private:
  static std::size_t index_of(std::int64_t value);
  static std::int64_t value_of_index(std::size_t index);

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace httpx::app::bench
