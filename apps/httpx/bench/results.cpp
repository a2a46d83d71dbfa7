#include "httpx/bench/results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace httpx::app::bench {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// The percentiles of the report, as (JSON key, label, percentile).
struct Percentile {
  const char* key;
  const char* label;
  double value;
};
constexpr Percentile kPercentiles[] = {{"p50", "p50", 50},      {"p75", "p75", 75},
                                       {"p90", "p90", 90},      {"p99", "p99", 99},
                                       {"p999", "p99.9", 99.9}, {"p9999", "p99.99", 99.99}};

constexpr const char* kErrorKinds[] = {"connect", "read", "write", "timeout", "parse", "status"};

std::uint64_t* error_field(ErrorCounts& e, std::string_view kind) {
  if (kind == "connect") return &e.connect;
  if (kind == "read") return &e.read;
  if (kind == "write") return &e.write;
  if (kind == "timeout") return &e.timeout;
  if (kind == "parse") return &e.parse;
  if (kind == "status") return &e.status;
  return nullptr;
}

const json& member(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) throw std::runtime_error(fmt::format("missing \"{}\"", key));
  return j.at(key);
}

// A non-negative integer.
bool is_count(const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0); }

std::uint64_t count_of(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!is_count(v)) {
    throw std::runtime_error(fmt::format("\"{}\" is not a count", key));
  }
  return v.get<std::uint64_t>();
}

const std::string& string_of(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_string()) throw std::runtime_error(fmt::format("\"{}\" is not a string", key));
  return v.get_ref<const std::string&>();
}

bool bool_of(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_boolean()) throw std::runtime_error(fmt::format("\"{}\" is not true or false", key));
  return v.get<bool>();
}

double number_of(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_number()) throw std::runtime_error(fmt::format("\"{}\" is not a number", key));
  return v.get<double>();
}

ordered_json histogram_json(const Histogram& h) {
  ordered_json buckets = ordered_json::array();
  for (const auto& [value, count] : h.buckets()) buckets.push_back({value, count});
  return {{"unit", "us"},
          {"lowest", Histogram::kLowest},
          {"highest", Histogram::kHighest},
          {"significantDigits", Histogram::kSignificantDigits},
          {"count", h.count()},
          {"min", h.min()},
          {"max", h.max()},
          {"sum", h.sum()},
          {"buckets", std::move(buckets)}};
}

Histogram histogram_from_json(const json& j) {
  if (member(j, "unit") != "us" || count_of(j, "lowest") != Histogram::kLowest ||
      count_of(j, "highest") != Histogram::kHighest || count_of(j, "significantDigits") != Histogram::kSignificantDigits) {
    throw std::runtime_error("histogram has another layout (expected us, 1..3600000000, 3 digits)");
  }
  Histogram h;
  const json& buckets = member(j, "buckets");
  if (!buckets.is_array()) throw std::runtime_error("\"buckets\" is not an array");
  for (const auto& b : buckets) {
    // A negative count would wrap around and could still make the counts add up.
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !is_count(b[1])) {
      throw std::runtime_error("a bucket is not [value, count]");
    }
    const auto value = b[0].get<std::int64_t>();
    if (value < Histogram::kLowest || value > Histogram::kHighest || Histogram::lowest_equivalent(value) != value) {
      throw std::runtime_error(fmt::format("bucket value {} is not a bucket's lowest value", value));
    }
    h.record(value, b[1].get<std::uint64_t>());
  }
  if (h.count() != count_of(j, "count")) throw std::runtime_error("histogram counts do not add up to \"count\"");
  const auto min = static_cast<std::int64_t>(count_of(j, "min"));
  const auto max = static_cast<std::int64_t>(count_of(j, "max"));
  if (h.count() && (Histogram::lowest_equivalent(min) != Histogram::lowest_equivalent(h.min()) ||
                    Histogram::lowest_equivalent(max) != Histogram::lowest_equivalent(h.max()))) {
    throw std::runtime_error("histogram min/max do not match its buckets");
  }
  const std::uint64_t sum = count_of(j, "sum");
  // The exact sum lies between count * min and count * max (else the mean would lie outside them).
  if (h.count() && (sum < static_cast<std::uint64_t>(min) * h.count() || sum > static_cast<std::uint64_t>(max) * h.count())) {
    throw std::runtime_error("histogram \"sum\" does not fit its count, min and max");
  }
  h.restore_exact(min, max, sum);
  return h;
}

std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string duration_text(double us) {
  if (us < 1000) return fmt::format("{:.0f}us", us);
  if (us < 1'000'000) return fmt::format("{:.2f}ms", us / 1000);
  return fmt::format("{:.3f}s", us / 1'000'000);
}

std::string bytes_text(double bytes) {
  constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.2f} {}", bytes, units[unit]);
}

// Ten bins spaced evenly on a log scale from min to max (latencies spread over orders of magnitude).
std::string distribution(const Histogram& h, bool unicode) {
  if (h.count() == 0) return {};
  constexpr int kBins = 10;
  constexpr int kWidth = 40;
  const double lo = static_cast<double>(h.min());
  const double hi = static_cast<double>(std::max(h.max(), h.min() + 1));
  const double step = std::log(hi / lo) / kBins;
  std::uint64_t bins[kBins] = {};
  for (const auto& [value, count] : h.buckets()) {
    const double v = std::clamp(static_cast<double>(value), lo, hi);
    const int bin = std::clamp(static_cast<int>(std::log(v / lo) / step), 0, kBins - 1);
    bins[bin] += count;
  }
  const std::uint64_t most = *std::max_element(bins, bins + kBins);
  std::string out = "  latency distribution (upper bound of each bin)\n";
  for (int i = 0; i < kBins; ++i) {
    const double upper = lo * std::exp(step * (i + 1));
    const int length = most ? static_cast<int>(std::lround(static_cast<double>(bins[i]) * kWidth / most)) : 0;
    std::string bar;
    for (int k = 0; k < length; ++k) bar += unicode ? "\u2588" : "#";
    // fmt pads by display width, so block characters line up as '#' does.
    out += fmt::format("  {:>10} | {:<{}} {:>6.2f}%  {}\n", duration_text(upper), bar, kWidth,
                       100.0 * static_cast<double>(bins[i]) / static_cast<double>(h.count()), grouped(bins[i]));
  }
  return out;
}

}  // namespace

void ErrorCounts::merge(const ErrorCounts& o) noexcept {
  connect += o.connect;
  read += o.read;
  write += o.write;
  timeout += o.timeout;
  parse += o.parse;
  status += o.status;
}

void Results::finish(double elapsed_seconds) {
  seconds = elapsed_seconds;
  rps = seconds > 0 ? static_cast<double>(total()) / seconds : 0;
  bytes_per_second = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
}

void Results::merge(const Results& other) {
  latency.merge(other.latency);
  for (const auto& [status, count] : other.status_codes) status_codes[status] += count;
  ok += other.ok;
  errors.merge(other.errors);
  unfinished += other.unfinished;
  bytes += other.bytes;
  seconds = std::max(seconds, other.seconds);
  rps += other.rps;
  bytes_per_second += other.bytes_per_second;
}

ordered_json to_json(const Report& report) {
  const Results& r = report.results;
  const Histogram& h = r.latency;
  ordered_json codes = ordered_json::object();
  for (const auto& [status, count] : r.status_codes) codes[std::to_string(status)] = count;
  ordered_json latency = {{"min", to_ms(static_cast<double>(h.min()))},
                          {"mean", to_ms(h.mean())},
                          {"stdev", to_ms(h.stdev())}};
  for (const auto& p : kPercentiles) latency[p.key] = to_ms(static_cast<double>(h.value_at_percentile(p.value)));
  latency["max"] = to_ms(static_cast<double>(h.max()));
  ordered_json errors = ordered_json::object();
  ErrorCounts e = r.errors;
  for (const char* kind : kErrorKinds) errors[kind] = *error_field(e, kind);
  return {{"url", report.info.url},
          {"method", report.info.method},
          {"connections", report.info.connections},
          {"threads", report.info.threads},
          {"model", report.info.rate ? "open" : "closed"},
          {"rate", report.info.rate ? ordered_json(*report.info.rate) : ordered_json(nullptr)},
          {"keepAlive", report.info.keep_alive},
          {"interrupted", report.info.interrupted},
          {"seconds", r.seconds},
          {"requests", {{"total", r.total()}, {"ok", r.ok}, {"errors", r.errors.total()}, {"unfinished", r.unfinished}}},
          {"statusCodes", std::move(codes)},
          {"rps", r.rps},
          {"bytes", r.bytes},
          {"bytesPerSecond", r.bytes_per_second},
          {"latency", std::move(latency)},
          {"errors", std::move(errors)},
          {"histogram", histogram_json(h)}};
}

Report from_json(const json& j) {
  if (!j.is_object()) throw std::runtime_error("not a JSON object");
  Report report;
  RunInfo& info = report.info;
  info.url = string_of(j, "url");
  info.method = string_of(j, "method");
  info.connections = count_of(j, "connections");
  info.threads = count_of(j, "threads");
  if (const json& rate = member(j, "rate"); !rate.is_null()) info.rate = number_of(j, "rate");
  info.keep_alive = bool_of(j, "keepAlive");
  info.interrupted = bool_of(j, "interrupted");

  Results& r = report.results;
  r.latency = histogram_from_json(member(j, "histogram"));
  const json& requests = member(j, "requests");
  r.ok = count_of(requests, "ok");
  r.unfinished = count_of(requests, "unfinished");
  const json& errors = member(j, "errors");
  for (const char* kind : kErrorKinds) *error_field(r.errors, kind) = count_of(errors, kind);
  if (count_of(requests, "errors") != r.errors.total() || count_of(requests, "total") != r.total()) {
    throw std::runtime_error("\"requests\" does not add up with \"errors\"");
  }
  const json& codes = member(j, "statusCodes");
  if (!codes.is_object()) throw std::runtime_error("\"statusCodes\" is not an object");
  for (const auto& [status, count] : codes.items()) {
    int code = 0;
    const auto [end, ec] = std::from_chars(status.data(), status.data() + status.size(), code);
    if (ec != std::errc{} || end != status.data() + status.size() || code < 100 || code > 999) {
      throw std::runtime_error(fmt::format("status code \"{}\" is not a number from 100 to 999", status));
    }
    if (!count.is_number_unsigned()) throw std::runtime_error(fmt::format("status {} has no count", status));
    r.status_codes[code] = count.get<std::uint64_t>();
  }
  r.bytes = count_of(j, "bytes");
  r.seconds = number_of(j, "seconds");
  r.rps = number_of(j, "rps");
  r.bytes_per_second = number_of(j, "bytesPerSecond");
  return report;
}

Report merge_reports(const std::vector<Report>& reports) {
  Report out;
  bool first = true;
  for (const Report& r : reports) {
    if (first) {
      out.info = r.info;
      out.info.connections = out.info.threads = 0;
      out.info.rate.reset();
      out.info.interrupted = false;
      first = false;
    }
    if (r.info.url != out.info.url) out.info.url = "(several)";
    if (r.info.method != out.info.method) out.info.method = "(several)";
    out.info.connections += r.info.connections;
    out.info.threads += r.info.threads;
    if (r.info.rate) out.info.rate = out.info.rate.value_or(0) + *r.info.rate;
    out.info.keep_alive = out.info.keep_alive && r.info.keep_alive;
    out.info.interrupted = out.info.interrupted || r.info.interrupted;
    out.results.merge(r.results);
  }
  return out;
}

std::string text_report(const Report& report, bool unicode) {
  const RunInfo& info = report.info;
  const Results& r = report.results;
  const Histogram& h = r.latency;
  std::string out = fmt::format("{} {}\n  {:.2f} s, {} connection{}, {} thread{}, {}{}{}\n\n", info.method,
                                info.url, r.seconds, info.connections, info.connections == 1 ? "" : "s",
                                info.threads, info.threads == 1 ? "" : "s",
                                info.rate ? fmt::format("open model at {:.0f} req/s", *info.rate) : "closed model",
                                info.keep_alive ? "" : ", no keep-alive", info.interrupted ? ", interrupted" : "");
  out += fmt::format("  requests    {} total, {} ok, {} errors{}\n", grouped(r.total()), grouped(r.ok),
                     grouped(r.errors.total()),
                     r.unfinished ? fmt::format(", {} unfinished at the stop", grouped(r.unfinished)) : "");
  out += fmt::format("  throughput  {:.1f} req/s, {}/s (bodies: {})\n", r.rps, bytes_text(r.bytes_per_second),
                     bytes_text(static_cast<double>(r.bytes)));
  std::string codes;
  for (const auto& [status, count] : r.status_codes) {
    codes += fmt::format("{}{}: {}", codes.empty() ? "" : ", ", status, grouped(count));
  }
  out += fmt::format("  status      {}\n", codes.empty() ? "(no responses)" : codes);
  if (r.errors.total()) {
    std::string kinds;
    ErrorCounts e = r.errors;
    for (const char* kind : kErrorKinds) {
      if (*error_field(e, kind)) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", kind, grouped(*error_field(e, kind)));
    }
    out += fmt::format("  errors      {}\n", kinds);
  }
  if (h.count() == 0) return out + "\n  no latencies recorded\n";
  out += "\n  latency  ";
  std::string values = "           ";
  const auto column = [&](const char* label, double us) {
    out += fmt::format("{:>9}", label);
    values += fmt::format("{:>9}", duration_text(us));
  };
  column("min", static_cast<double>(h.min()));
  column("mean", h.mean());
  column("stdev", h.stdev());
  for (const auto& p : kPercentiles) column(p.label, static_cast<double>(h.value_at_percentile(p.value)));
  column("max", static_cast<double>(h.max()));
  out += "\n" + values + "\n\n";
  out += distribution(h, unicode);
  return out;
}

}  // namespace httpx::app::bench
