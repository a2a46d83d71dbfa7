// HdrHistogram's layout with unit magnitude 0 (1 µs) and 3 significant digits: values below 2048
// have a bucket each; above, every power of two is split into 1024 equal sub-buckets, so a
// bucket's width is at most 1/1024 of its values.
#include "httpx/bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace httpx::app::bench {
namespace {

constexpr int kSubBucketHalfMagnitude = 10;  // 2 * 10^3 significant values need 2^11 sub-buckets
constexpr std::int64_t kSubBucketHalfCount = std::int64_t{1} << kSubBucketHalfMagnitude;
constexpr std::int64_t kSubBucketMask = 2 * kSubBucketHalfCount - 1;

constexpr int bucket_count() {
  int buckets = 1;
  std::int64_t smallest_untracked = 2 * kSubBucketHalfCount;
  while (smallest_untracked <= Histogram::kHighest) {
    smallest_untracked <<= 1;
    ++buckets;
  }
  return buckets;
}

constexpr std::size_t kCountsLength = static_cast<std::size_t>(bucket_count() + 1) << kSubBucketHalfMagnitude;

int bucket_of(std::int64_t value) {
  const int pow2_ceiling = 64 - std::countl_zero(static_cast<std::uint64_t>(value | kSubBucketMask));
  return pow2_ceiling - (kSubBucketHalfMagnitude + 1);
}

std::int64_t clamp_value(std::int64_t value) { return std::clamp(value, Histogram::kLowest, Histogram::kHighest); }

}  // namespace

Histogram::Histogram() : counts_(kCountsLength, 0) {}

std::size_t Histogram::index_of(std::int64_t value) {
  const int bucket = bucket_of(value);
  const std::int64_t sub = value >> bucket;
  return static_cast<std::size_t>((static_cast<std::int64_t>(bucket + 1) << kSubBucketHalfMagnitude) +
                                  (sub - kSubBucketHalfCount));
}

std::int64_t Histogram::value_of_index(std::size_t index) {
  int bucket = static_cast<int>(index >> kSubBucketHalfMagnitude) - 1;
  std::int64_t sub = static_cast<std::int64_t>(index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

std::int64_t Histogram::lowest_equivalent(std::int64_t value) { return value_of_index(index_of(clamp_value(value))); }

std::int64_t Histogram::highest_equivalent(std::int64_t value) {
  const std::int64_t v = clamp_value(value);
  return lowest_equivalent(v) + (std::int64_t{1} << bucket_of(v)) - 1;
}

void Histogram::record(std::int64_t value_us, std::uint64_t count) {
  if (count == 0) return;
  const std::int64_t v = clamp_value(value_us);
  counts_[index_of(v)] += count;
  if (total_ == 0 || v < min_) min_ = v;
  if (v > max_) max_ = v;
  total_ += count;
  sum_ += static_cast<std::uint64_t>(v) * count;
}

void Histogram::merge(const Histogram& other) {
  if (other.total_ == 0) return;
  for (std::size_t i = 0; i < kCountsLength; ++i) counts_[i] += other.counts_[i];
  min_ = total_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  total_ += other.total_;
  sum_ += other.sum_;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

void Histogram::restore_exact(std::int64_t min, std::int64_t max, std::uint64_t sum) {
  if (total_ == 0) return;
  min_ = min;
  max_ = max;
  sum_ = sum;
}

double Histogram::mean() const noexcept {
  return total_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(total_);
}

double Histogram::stdev() const {
  if (total_ == 0) return 0.0;
  const double m = mean();
  double squares = 0;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    if (counts_[i] == 0) continue;
    const std::int64_t low = value_of_index(i);
    // Within the exact min and max: a bucket holding one distinct value must not add half its
    // width as spread (a single 2-minute latency would show a stdev of 32 ms).
    const double middle =
        static_cast<double>(std::clamp(low + ((std::int64_t{1} << bucket_of(low)) >> 1), min_, max_));
    squares += (middle - m) * (middle - m) * static_cast<double>(counts_[i]);
  }
  return std::sqrt(squares / static_cast<double>(total_));
}

std::int64_t Histogram::value_at_percentile(double percentile) const {
  if (total_ == 0) return 0;
  const double p = std::clamp(percentile, 0.0, 100.0);
  // Nearest rank; the small epsilon keeps 99.9% of 1000 at rank 999, not 1000, despite rounding.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_) - 1e-9));
  rank = std::clamp<std::uint64_t>(rank, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_equivalent(value_of_index(i)), max_);
  }
  return max_;
}

std::vector<std::pair<std::int64_t, std::uint64_t>> Histogram::buckets() const {
  std::vector<std::pair<std::int64_t, std::uint64_t>> out;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    if (counts_[i] != 0) out.emplace_back(value_of_index(i), counts_[i]);
  }
  return out;
}

}  // namespace httpx::app::bench
