/// Pass/fail conditions on a run's results for CI pipelines (`--threshold 'p99<50ms'`, as k6's
/// thresholds), and the DURATION syntax of -d/--warmup.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "httpx/bench/results.hpp"

namespace httpx::app::bench {

/// Parses a DURATION: a number with an optional unit ms, s (the default), m or h: `10`, `10s`,
/// `1.5s`, `500ms`, `2m`. Throws std::invalid_argument with a message naming the text.
std::chrono::milliseconds parse_duration(std::string_view text);

/// One condition `METRIC OP VALUE`. Metrics: min, mean, stdev, max, p<N> (p50, p99, p99.9; p999
/// and p9999 are read as 99.9 and 99.99) with a latency VALUE in us, ms (the default) or s;
/// rps (requests/s); errors (a count, or a share of all requests with %); requests (total).
/// OP: <, <=, >, >=.
struct Threshold {
  enum class Metric { latency_min, latency_mean, latency_stdev, latency_max, latency_percentile, rps, errors, requests };
  enum class Op { lt, le, gt, ge };
  std::string text;        ///< as written
  Metric metric{};
  double percentile = 0;   ///< for latency_percentile
  Op op{};
  double value = 0;        ///< latency in µs; rps; a count; or a percentage when `percent`
  bool percent = false;

  /// Parses `text`. Throws std::invalid_argument with a message that names what is wrong.
  static Threshold parse(std::string_view text);
};

/// The outcome of one threshold on one run.
struct ThresholdResult {
  bool passed = false;
  std::string actual;  ///< the measured value, in the threshold's terms ("p99 = 73.20ms")
};

ThresholdResult evaluate(const Threshold& threshold, const Results& results);

}  // namespace httpx::app::bench
