// bench::Results and its pictures: merging runs made side by side (halves add up to the whole),
// the documented JSON shape with latency in milliseconds, a lossless from_json(to_json(r)), and
// from_json refusing malformed reports with std::runtime_error.
#include "httpx/bench/results.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace httpx::app::bench {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// One request's outcome, as the load engine adds it to a Results.
struct Outcome {
  std::int64_t latency_us = 0;
  int status = 200;        // 0: no response
  const char* error = "";  // "" for ok, else an ErrorCounts field
  std::uint64_t bytes = 0;
};

void add(Results& r, const Outcome& o) {
  const std::string kind = o.error;
  if (o.status) {
    r.latency.record(o.latency_us);
    ++r.status_codes[o.status];
    r.bytes += o.bytes;
  }
  if (kind.empty()) {
    ++r.ok;
  } else if (kind == "connect") {
    ++r.errors.connect;
  } else if (kind == "read") {
    ++r.errors.read;
  } else if (kind == "write") {
    ++r.errors.write;
  } else if (kind == "timeout") {
    ++r.errors.timeout;
  } else if (kind == "parse") {
    ++r.errors.parse;
  } else if (kind == "status") {
    ++r.errors.status;
  } else if (kind == "unfinished") {
    ++r.unfinished;
  }
}

std::vector<Outcome> outcomes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> latency(8.0, 2.0);
  const char* kinds[] = {"connect", "read", "write", "timeout", "parse", "unfinished"};
  std::vector<Outcome> out;
  for (std::size_t i = 0; i < n; ++i) {
    Outcome o;
    o.latency_us = static_cast<std::int64_t>(latency(rng));
    switch (rng() % 10) {
      case 0: o = {0, 0, kinds[rng() % 6], 0}; break;
      case 1: o.status = 404; o.error = "status"; o.bytes = 9; break;
      case 2: o.status = 500; o.bytes = 21; break;  // not an error without --fail
      default: o.status = 200; o.bytes = 1 + rng() % 4096; break;
    }
    out.push_back(o);
  }
  return out;
}

Report report_of(const Results& r, std::string url = "http://127.0.0.1:8080/") {
  Report report;
  report.info = {std::move(url), "GET", 10, 2, std::nullopt, true, false};
  report.results = r;
  return report;
}

// Results with known content: latencies 1, 2 and 3 ms, 2 ok (200), 1 status error (503).
Results known_results() {
  Results r;
  r.latency.record(1000);
  r.latency.record(2000);
  r.latency.record(3000);
  r.status_codes[200] = 2;
  r.status_codes[503] = 1;
  r.ok = 2;
  r.errors.status = 1;
  r.errors.timeout = 4;
  r.unfinished = 5;
  r.bytes = 300;
  r.finish(2.0);
  return r;
}

ordered_json without_rates(ordered_json j) {
  j.erase("rps");
  j.erase("bytesPerSecond");
  return j;
}

TEST(BenchResultsTest, MergeOfTwoHalvesEqualsTheWhole) {
  const auto all = outcomes(20'000, 11);
  Results whole, first, second;
  for (std::size_t i = 0; i < all.size(); ++i) {
    add(whole, all[i]);
    add(i % 3 ? second : first, all[i]);
  }
  // Side by side: both halves ran as long as the whole.
  whole.finish(3.5);
  first.finish(3.5);
  second.finish(3.5);
  Results merged = first;
  merged.merge(second);
  EXPECT_EQ(merged.latency, whole.latency);
  EXPECT_EQ(merged.status_codes, whole.status_codes);
  EXPECT_EQ(merged.errors, whole.errors);
  EXPECT_EQ(merged.ok, whole.ok);
  EXPECT_EQ(merged.unfinished, whole.unfinished);
  EXPECT_EQ(merged.total(), whole.total());
  EXPECT_EQ(merged.seconds, 3.5);
  EXPECT_NEAR(merged.rps, whole.rps, whole.rps * 1e-12);
  EXPECT_NEAR(merged.bytes_per_second, whole.bytes_per_second, whole.bytes_per_second * 1e-12);
  EXPECT_EQ(without_rates(to_json(report_of(merged))), without_rates(to_json(report_of(whole))));
  // The errors of every kind and several statuses are there, so the comparison covers them.
  EXPECT_GT(whole.errors.connect, 0u);
  EXPECT_GT(whole.errors.parse, 0u);
  EXPECT_GT(whole.errors.status, 0u);
  EXPECT_EQ(whole.status_codes.size(), 3u);
}

TEST(BenchResultsTest, MergeTakesTheLongerRunsSecondsAndAddsRates) {
  Results a, b;
  for (int i = 0; i < 10; ++i) add(a, {1000, 200, "", 10});
  for (int i = 0; i < 30; ++i) add(b, {2000, 200, "", 10});
  a.finish(1.0);
  b.finish(3.0);
  a.merge(b);
  EXPECT_EQ(a.seconds, 3.0);
  EXPECT_DOUBLE_EQ(a.rps, 20.0);  // 10/s beside 10/s
  EXPECT_DOUBLE_EQ(a.bytes_per_second, 200.0);
  EXPECT_EQ(a.total(), 40u);
}

TEST(BenchResultsTest, FinishWithoutTimeGivesZeroRates) {
  Results r;
  add(r, {5, 200, "", 1});
  r.finish(0);
  EXPECT_EQ(r.rps, 0.0);
  EXPECT_EQ(r.bytes_per_second, 0.0);
}

TEST(BenchResultsTest, MergeReportsAddsRatesConnectionsAndThreads) {
  Results half;
  for (int i = 0; i < 100; ++i) add(half, {1500, 200, "", 4});
  half.finish(2.0);
  Report a = report_of(half, "http://127.0.0.1:1/a");
  Report b = report_of(half, "http://127.0.0.1:1/a");
  a.info.connections = 8;
  a.info.threads = 2;
  b.info.connections = 4;
  b.info.threads = 1;
  const Report same = merge_reports({a, b});
  EXPECT_DOUBLE_EQ(same.results.rps, 100.0);
  EXPECT_DOUBLE_EQ(same.results.bytes_per_second, 400.0);
  EXPECT_EQ(same.results.seconds, 2.0);
  EXPECT_EQ(same.results.total(), 200u);
  EXPECT_EQ(same.info.connections, 12u);
  EXPECT_EQ(same.info.threads, 3u);
  EXPECT_EQ(same.info.url, "http://127.0.0.1:1/a");
  EXPECT_EQ(same.info.method, "GET");
  EXPECT_FALSE(same.info.rate);
  EXPECT_FALSE(same.info.interrupted);
  EXPECT_TRUE(same.info.keep_alive);

  b.info.url = "http://127.0.0.1:1/b";
  b.info.method = "POST";
  b.info.rate = 50;
  a.info.rate = 25;
  b.info.interrupted = true;
  b.info.keep_alive = false;
  const Report several = merge_reports({a, b});
  EXPECT_EQ(several.info.url, "(several)");
  EXPECT_EQ(several.info.method, "(several)");
  ASSERT_TRUE(several.info.rate);
  EXPECT_DOUBLE_EQ(*several.info.rate, 75.0);
  EXPECT_TRUE(several.info.interrupted);
  EXPECT_FALSE(several.info.keep_alive);
  // Three runs: the URL stays "(several)" once two differ, also when the third equals the first.
  EXPECT_EQ(merge_reports({a, b, a}).info.url, "(several)");
}

TEST(BenchResultsTest, JsonHasTheDocumentedShapeWithLatencyInMilliseconds) {
  const Report report = report_of(known_results());
  const ordered_json j = to_json(report);
  EXPECT_EQ(j["url"], "http://127.0.0.1:8080/");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["connections"], 10);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["model"], "closed");
  EXPECT_TRUE(j["rate"].is_null());
  EXPECT_EQ(j["keepAlive"], true);
  EXPECT_EQ(j["interrupted"], false);
  EXPECT_EQ(j["seconds"], 2.0);
  EXPECT_EQ(j["requests"], ordered_json({{"total", 7}, {"ok", 2}, {"errors", 5}, {"unfinished", 5}}));
  EXPECT_EQ(j["statusCodes"], ordered_json({{"200", 2}, {"503", 1}}));
  EXPECT_EQ(j["rps"], 3.5);
  EXPECT_EQ(j["bytes"], 300);
  EXPECT_EQ(j["bytesPerSecond"], 150.0);
  const auto& latency = j["latency"];
  EXPECT_EQ(latency["min"], 1.0);
  EXPECT_EQ(latency["mean"], 2.0);
  EXPECT_NEAR(latency["stdev"].get<double>(), 0.8165, 0.001);  // sqrt(2/3) ms (3000's bucket: 3000..3001)
  EXPECT_EQ(latency["p50"], 2.0);
  EXPECT_EQ(latency["p75"], 3.0);
  EXPECT_EQ(latency["p90"], 3.0);
  EXPECT_EQ(latency["p99"], 3.0);
  EXPECT_EQ(latency["p999"], 3.0);
  EXPECT_EQ(latency["p9999"], 3.0);
  EXPECT_EQ(latency["max"], 3.0);
  EXPECT_EQ(j["errors"],
            ordered_json({{"connect", 0}, {"read", 0}, {"write", 0}, {"timeout", 4}, {"parse", 0}, {"status", 1}}));
  const auto& h = j["histogram"];
  EXPECT_EQ(h["unit"], "us");
  EXPECT_EQ(h["lowest"], 1);
  EXPECT_EQ(h["highest"], 3'600'000'000LL);
  EXPECT_EQ(h["significantDigits"], 3);
  EXPECT_EQ(h["count"], 3);
  EXPECT_EQ(h["min"], 1000);
  EXPECT_EQ(h["max"], 3000);
  EXPECT_EQ(h["sum"], 6000);
  EXPECT_EQ(h["buckets"], ordered_json::parse("[[1000,1],[2000,1],[3000,1]]"));
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"url", "method", "connections", "threads", "model", "rate", "keepAlive",
                                            "interrupted", "seconds", "requests", "statusCodes", "rps", "bytes",
                                            "bytesPerSecond", "latency", "errors", "histogram"}));
}

TEST(BenchResultsTest, JsonOfAnOpenModelRunHasItsRate) {
  Report report = report_of(known_results());
  report.info.rate = 250.5;
  report.info.interrupted = true;
  const ordered_json j = to_json(report);
  EXPECT_EQ(j["model"], "open");
  EXPECT_EQ(j["rate"], 250.5);
  EXPECT_EQ(j["interrupted"], true);
}

TEST(BenchResultsTest, JsonOfAnEmptyRunHasZeroLatencies) {
  const ordered_json j = to_json(report_of(Results{}));
  EXPECT_EQ(j["requests"]["total"], 0);
  EXPECT_TRUE(j["statusCodes"].is_object());
  EXPECT_TRUE(j["statusCodes"].empty());
  for (const char* key : {"min", "mean", "stdev", "p50", "p90", "p99", "p999", "max"}) {
    EXPECT_EQ(j["latency"][key], 0.0) << key;
  }
  EXPECT_TRUE(j["histogram"]["buckets"].is_array());
  EXPECT_TRUE(j["histogram"]["buckets"].empty());
}

// Through text, as `httpx bench merge` reads a file.
Report round_trip(const Report& report) { return from_json(json::parse(to_json(report).dump())); }

void expect_same(const Report& back, const Report& report) {
  EXPECT_EQ(back.results.latency, report.results.latency);
  EXPECT_EQ(back.results.status_codes, report.results.status_codes);
  EXPECT_EQ(back.results.ok, report.results.ok);
  EXPECT_EQ(back.results.errors, report.results.errors);
  EXPECT_EQ(back.results.unfinished, report.results.unfinished);
  EXPECT_EQ(back.results.bytes, report.results.bytes);
  EXPECT_EQ(back.results.seconds, report.results.seconds);
  EXPECT_EQ(back.results.rps, report.results.rps);
  EXPECT_EQ(back.results.bytes_per_second, report.results.bytes_per_second);
  EXPECT_EQ(back.info.url, report.info.url);
  EXPECT_EQ(back.info.method, report.info.method);
  EXPECT_EQ(back.info.connections, report.info.connections);
  EXPECT_EQ(back.info.threads, report.info.threads);
  EXPECT_EQ(back.info.rate, report.info.rate);
  EXPECT_EQ(back.info.keep_alive, report.info.keep_alive);
  EXPECT_EQ(back.info.interrupted, report.info.interrupted);
}

TEST(BenchResultsTest, FromJsonOfToJsonIsLossless) {
  Results r;
  for (const auto& o : outcomes(5'000, 3)) add(r, o);
  // Values spread to both ends of the range, so min, max and sum are not bucket values.
  r.latency.record(1);
  r.latency.record(3'599'999'999);
  r.latency.record(123'456'789);
  r.finish(1.2345678901234567);
  Report report = report_of(r);
  const Report back = round_trip(report);
  expect_same(back, report);
  EXPECT_EQ(to_json(back), to_json(report));

  report.info.rate = 1234.5;
  report.info.interrupted = true;
  report.info.keep_alive = false;
  report.info.method = "POST";
  expect_same(round_trip(report), report);

  const Report empty = report_of(Results{});
  expect_same(round_trip(empty), empty);
}

// A valid report's JSON (parsed back from text) for the malformed-input tests to break.
json valid_json() {
  Results r;
  for (const auto& o : outcomes(200, 8)) add(r, o);
  r.latency.record(100'000);
  r.finish(1.5);
  return json::parse(to_json(report_of(r)).dump());
}

void expect_rejected(const std::function<void(json&)>& breakage, const std::string& what) {
  json j = valid_json();
  breakage(j);
  try {
    from_json(j);
    ADD_FAILURE() << what << ": accepted " << j.dump().substr(0, 300);
  } catch (const std::runtime_error& e) {
    EXPECT_FALSE(std::string(e.what()).empty()) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw something other than std::runtime_error: " << e.what();
  }
}

TEST(BenchResultsTest, FromJsonAcceptsTheValidReport) { EXPECT_NO_THROW(from_json(valid_json())); }

TEST(BenchResultsTest, FromJsonRejectsMissingKeys) {
  for (const char* key : {"url", "method", "connections", "threads", "rate", "keepAlive", "interrupted", "seconds",
                          "requests", "statusCodes", "rps", "bytes", "bytesPerSecond", "errors", "histogram"}) {
    expect_rejected([key](json& j) { j.erase(key); }, std::string("without ") + key);
  }
  for (const char* key : {"total", "ok", "errors", "unfinished"}) {
    expect_rejected([key](json& j) { j["requests"].erase(key); }, std::string("without requests.") + key);
  }
  for (const char* key : {"connect", "read", "write", "timeout", "parse", "status"}) {
    expect_rejected([key](json& j) { j["errors"].erase(key); }, std::string("without errors.") + key);
  }
  for (const char* key : {"unit", "lowest", "highest", "significantDigits", "count", "min", "max", "sum", "buckets"}) {
    expect_rejected([key](json& j) { j["histogram"].erase(key); }, std::string("without histogram.") + key);
  }
}

TEST(BenchResultsTest, FromJsonRejectsWrongTypes) {
  const std::vector<std::pair<std::string, std::function<void(json&)>>> cases = {
      {"an array", [](json& j) { j = json::array(); }},
      {"a number", [](json& j) { j = 42; }},
      {"url a number", [](json& j) { j["url"] = 1; }},
      {"method a number", [](json& j) { j["method"] = 5; }},
      {"connections a string", [](json& j) { j["connections"] = "10"; }},
      {"connections negative", [](json& j) { j["connections"] = -1; }},
      {"threads a fraction", [](json& j) { j["threads"] = 1.5; }},
      {"rate a string", [](json& j) { j["rate"] = "fast"; }},
      {"keepAlive a string", [](json& j) { j["keepAlive"] = "yes"; }},
      {"interrupted a number", [](json& j) { j["interrupted"] = 1; }},
      {"seconds a string", [](json& j) { j["seconds"] = "1.5"; }},
      {"requests an array", [](json& j) { j["requests"] = json::array(); }},
      {"requests.ok a string", [](json& j) { j["requests"]["ok"] = "3"; }},
      {"statusCodes an array", [](json& j) { j["statusCodes"] = json::array({200}); }},
      {"a status not a number", [](json& j) { j["statusCodes"]["OK"] = 1; }},
      {"a status count a string", [](json& j) { j["statusCodes"]["200"] = "1"; }},
      {"a status count negative", [](json& j) { j["statusCodes"]["200"] = -1; }},
      {"rps a string", [](json& j) { j["rps"] = "many"; }},
      {"bytes negative", [](json& j) { j["bytes"] = -5; }},
      {"errors.read a fraction", [](json& j) { j["errors"]["read"] = 0.5; }},
      {"histogram a string", [](json& j) { j["histogram"] = "hdr"; }},
      {"unit ms", [](json& j) { j["histogram"]["unit"] = "ms"; }},
      {"another highest", [](json& j) { j["histogram"]["highest"] = 60'000'000; }},
      {"two significant digits", [](json& j) { j["histogram"]["significantDigits"] = 2; }},
      {"buckets an object", [](json& j) { j["histogram"]["buckets"] = json::object(); }},
      {"a bucket a number", [](json& j) { j["histogram"]["buckets"][0] = 5; }},
      {"a bucket of three", [](json& j) { j["histogram"]["buckets"][0].push_back(1); }},
      {"a bucket count a fraction", [](json& j) { j["histogram"]["buckets"][0][1] = 1.5; }},
      {"a bucket count a string", [](json& j) { j["histogram"]["buckets"][0][1] = "1"; }},
      {"a status with trailing letters", [](json& j) { j["statusCodes"]["200x"] = 1; }},
      {"a status below 100", [](json& j) { j["statusCodes"]["99"] = 1; }},
  };
  for (const auto& [what, breakage] : cases) expect_rejected(breakage, what);
}

TEST(BenchResultsTest, FromJsonRejectsBucketValuesThatAreNoBucketsLowestValue) {
  // 2049 shares 2048's bucket; 4097 shares 4096's.
  for (const std::int64_t value : {std::int64_t{0}, std::int64_t{-3}, std::int64_t{2049}, std::int64_t{4097},
                                   std::int64_t{99'999}, std::int64_t{3'600'000'001}}) {
    expect_rejected(
        [value](json& j) {
          auto& buckets = j["histogram"]["buckets"];
          buckets.push_back(json::array({value, 1}));
          j["histogram"]["count"] = j["histogram"]["count"].get<std::uint64_t>() + 1;
        },
        "bucket value " + std::to_string(value));
  }
  // A bucket's lowest value is accepted (the control for the cases above).
  json j = valid_json();
  j["histogram"]["buckets"].push_back(json::array({4096, 1}));
  j["histogram"]["count"] = j["histogram"]["count"].get<std::uint64_t>() + 1;
  EXPECT_NO_THROW(from_json(j));
}

TEST(BenchResultsTest, FromJsonRejectsCountsThatDoNotAddUp) {
  expect_rejected([](json& j) { j["histogram"]["count"] = j["histogram"]["count"].get<std::uint64_t>() + 1; },
                  "histogram count one more than its buckets");
  expect_rejected([](json& j) { j["requests"]["total"] = j["requests"]["total"].get<std::uint64_t>() + 1; },
                  "requests.total one more than ok + errors");
  expect_rejected([](json& j) { j["requests"]["errors"] = j["requests"]["errors"].get<std::uint64_t>() + 1; },
                  "requests.errors one more than the errors");
  expect_rejected([](json& j) { j["requests"]["ok"] = j["requests"]["ok"].get<std::uint64_t>() + 1; },
                  "requests.ok one more than total - errors");
  expect_rejected([](json& j) { j["histogram"]["min"] = 1'000'000; }, "min not in the lowest bucket");
  expect_rejected([](json& j) { j["histogram"]["max"] = 1; }, "max not in the highest bucket");
  // A negative count must not wrap around to make the total match: [v, -1] beside [w, 1]
  // adds up to 0 in unsigned arithmetic.
  expect_rejected(
      [](json& j) {
        auto& buckets = j["histogram"]["buckets"];
        buckets.push_back(json::array({4096, 1}));
        buckets.push_back(json::array({8192, -1}));
      },
      "a negative bucket count");
  // The exact sum must keep the mean within min and max.
  expect_rejected([](json& j) { j["histogram"]["sum"] = 0; }, "a sum below count * min");
  expect_rejected(
      [](json& j) {
        j["histogram"]["sum"] = j["histogram"]["max"].get<std::uint64_t>() * j["histogram"]["count"].get<std::uint64_t>() + 1;
      },
      "a sum above count * max");
}

}  // namespace
}  // namespace httpx::app::bench
