#include "httpx/bench/threshold.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "httpx/field_text.hpp"

namespace httpx::app::bench {
namespace {

// A non-negative decimal number that fills `text` exactly.
bool parse_number(std::string_view text, double& out) {
  if (text.empty() || text.front() == '-' || text.front() == '+') return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && std::isfinite(out);
}

// Splits "12.5ms" into its number and its unit.
std::pair<std::string_view, std::string_view> split_unit(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  return {text.substr(0, i), text.substr(i)};
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text) {
  const auto [number, unit] = split_unit(text);
  double value = 0;
  if (!parse_number(number, value)) {
    throw std::invalid_argument(fmt::format("'{}' is not a duration (use e.g. 10, 10s, 500ms, 2m)", text));
  }
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = value * 1000;
  } else if (unit == "ms") {
    ms = value;
  } else if (unit == "m") {
    ms = value * 60'000;
  } else if (unit == "h") {
    ms = value * 3'600'000;
  } else {
    throw std::invalid_argument(fmt::format("'{}' has an unknown unit '{}' (use ms, s, m or h)", text, unit));
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

Threshold Threshold::parse(std::string_view text) {
  Threshold t;
  t.text = std::string(text);
  const auto op_at = text.find_first_of("<>");
  if (op_at == std::string_view::npos) {
    throw std::invalid_argument(fmt::format("threshold '{}' has no comparison (use e.g. 'p99<50ms', 'rps>1000')", text));
  }
  const std::string metric(trim_ows(text.substr(0, op_at)));
  std::size_t value_at = op_at + 1;
  const bool or_equal = value_at < text.size() && text[value_at] == '=';
  if (or_equal) ++value_at;
  t.op = text[op_at] == '<' ? (or_equal ? Op::le : Op::lt) : (or_equal ? Op::ge : Op::gt);
  const std::string value_text(trim_ows(text.substr(value_at)));
  const auto [number, unit] = split_unit(value_text);
  if (!parse_number(number, t.value)) {
    throw std::invalid_argument(fmt::format("threshold '{}': '{}' is not a number", text, value_text));
  }
  const auto bad_unit = [&](const char* allowed) {
    return std::invalid_argument(fmt::format("threshold '{}': unit '{}' does not fit {} (use {})", text, unit, metric, allowed));
  };

  if (metric == "rps" || metric == "requests") {
    t.metric = metric == "rps" ? Metric::rps : Metric::requests;
    if (!unit.empty()) throw bad_unit("a plain number");
    return t;
  }
  if (metric == "errors") {
    t.metric = Metric::errors;
    if (unit == "%") {
      t.percent = true;
    } else if (!unit.empty()) {
      throw bad_unit("a count or a percentage like 0.1%");
    }
    return t;
  }
  if (metric == "min") {
    t.metric = Metric::latency_min;
  } else if (metric == "mean" || metric == "avg") {
    t.metric = Metric::latency_mean;
  } else if (metric == "stdev") {
    t.metric = Metric::latency_stdev;
  } else if (metric == "max") {
    t.metric = Metric::latency_max;
  } else if (metric.size() > 1 && metric[0] == 'p' && parse_number(std::string_view(metric).substr(1), t.percentile)) {
    t.metric = Metric::latency_percentile;
    // The JSON keys p999 and p9999 mean 99.9 and 99.99.
    while (t.percentile > 100) t.percentile /= 10;
    if (t.percentile <= 0) throw std::invalid_argument(fmt::format("threshold '{}': percentile must be above 0", text));
  } else {
    throw std::invalid_argument(fmt::format(
        "threshold '{}': unknown metric '{}' (use min, mean, stdev, max, p50..p99.99, rps, errors, requests)", text, metric));
  }
  if (unit.empty() || unit == "ms") {
    t.value *= 1000;
  } else if (unit == "s") {
    t.value *= 1'000'000;
  } else if (unit != "us") {
    throw bad_unit("us, ms or s");
  }
  return t;
}

ThresholdResult evaluate(const Threshold& t, const Results& r) {
  double actual = 0;
  std::string shown;
  using M = Threshold::Metric;
  const Histogram& h = r.latency;
  const auto latency = [&](const std::string& name, double us) {
    actual = us;
    shown = fmt::format("{} = {:.3f}ms", name, us / 1000);
  };
  switch (t.metric) {
    case M::latency_min: latency("min", static_cast<double>(h.min())); break;
    case M::latency_mean: latency("mean", h.mean()); break;
    case M::latency_stdev: latency("stdev", h.stdev()); break;
    case M::latency_max: latency("max", static_cast<double>(h.max())); break;
    case M::latency_percentile:
      latency(fmt::format("p{}", t.percentile), static_cast<double>(h.value_at_percentile(t.percentile)));
      break;
    case M::rps:
      actual = r.rps;
      shown = fmt::format("rps = {:.1f}", actual);
      break;
    case M::requests:
      actual = static_cast<double>(r.total());
      shown = fmt::format("requests = {}", r.total());
      break;
    case M::errors:
      if (t.percent) {
        actual = r.total() ? 100.0 * static_cast<double>(r.errors.total()) / static_cast<double>(r.total()) : 0;
        shown = fmt::format("errors = {:.3f}% ({} of {})", actual, r.errors.total(), r.total());
      } else {
        actual = static_cast<double>(r.errors.total());
        shown = fmt::format("errors = {}", r.errors.total());
      }
      break;
  }
  bool passed = false;
  switch (t.op) {
    case Threshold::Op::lt: passed = actual < t.value; break;
    case Threshold::Op::le: passed = actual <= t.value; break;
    case Threshold::Op::gt: passed = actual > t.value; break;
    case Threshold::Op::ge: passed = actual >= t.value; break;
  }
  return {passed, shown};
}

}  // namespace httpx::app::bench
