// bench::parse_duration, bench::Threshold::parse and bench::evaluate: the DURATION and threshold
// grammars with their errors, and each metric under each comparison on results of known content.
#include "httpx/bench/threshold.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace httpx::app::bench {
namespace {

using std::chrono::milliseconds;
using M = Threshold::Metric;
using Op = Threshold::Op;

TEST(BenchThresholdTest, ParseDurationReadsEachUnit) {
  EXPECT_EQ(parse_duration("10"), milliseconds(10'000));  // seconds by default
  EXPECT_EQ(parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1'500));
  EXPECT_EQ(parse_duration("0.5"), milliseconds(500));
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
}

TEST(BenchThresholdTest, ParseDurationRejectsWhatIsNoDuration) {
  for (const char* text : {"", "abc", "10x", "-1", "+1", "s", "ms", "1..5s", "10 s", " 10", "1e3", "10sec", "5mss"}) {
    try {
      parse_duration(text);
      ADD_FAILURE() << "'" << text << "' was accepted";
    } catch (const std::invalid_argument& e) {
      // The message names the text.
      EXPECT_NE(std::string(e.what()).find(std::string("'") + text + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(BenchThresholdTest, ParsesPercentileThresholdsInMicroseconds) {
  const auto p99 = Threshold::parse("p99<50ms");
  EXPECT_EQ(p99.text, "p99<50ms");
  EXPECT_EQ(p99.metric, M::latency_percentile);
  EXPECT_EQ(p99.percentile, 99.0);
  EXPECT_EQ(p99.op, Op::lt);
  EXPECT_EQ(p99.value, 50'000.0);
  EXPECT_FALSE(p99.percent);

  const auto p999s = Threshold::parse("p99.9<=2s");
  EXPECT_EQ(p999s.metric, M::latency_percentile);
  EXPECT_DOUBLE_EQ(p999s.percentile, 99.9);
  EXPECT_EQ(p999s.op, Op::le);
  EXPECT_EQ(p999s.value, 2'000'000.0);

  // The JSON key spelling: p999 is p99.9, p9999 is p99.99.
  const auto p999 = Threshold::parse("p999<100us");
  EXPECT_DOUBLE_EQ(p999.percentile, 99.9);
  EXPECT_EQ(p999.value, 100.0);
  EXPECT_DOUBLE_EQ(Threshold::parse("p9999<1").percentile, 99.99);
  EXPECT_EQ(Threshold::parse("p50>=1.5").value, 1'500.0);
  EXPECT_EQ(Threshold::parse("p50>=1.5").op, Op::ge);
}

TEST(BenchThresholdTest, ParsesLatencyStatisticsWithMillisecondsByDefault) {
  const auto mean = Threshold::parse("mean<3");
  EXPECT_EQ(mean.metric, M::latency_mean);
  EXPECT_EQ(mean.op, Op::lt);
  EXPECT_EQ(mean.value, 3'000.0);
  EXPECT_EQ(Threshold::parse("avg<3").metric, M::latency_mean);
  EXPECT_EQ(Threshold::parse("min>10us").metric, M::latency_min);
  EXPECT_EQ(Threshold::parse("min>10us").value, 10.0);
  EXPECT_EQ(Threshold::parse("max<=1s").metric, M::latency_max);
  EXPECT_EQ(Threshold::parse("max<=1s").value, 1'000'000.0);
  EXPECT_EQ(Threshold::parse("stdev<0.5ms").metric, M::latency_stdev);
  EXPECT_EQ(Threshold::parse("stdev<0.5ms").value, 500.0);
}

TEST(BenchThresholdTest, ParsesRpsErrorsAndRequests) {
  const auto rps = Threshold::parse("rps>10000");
  EXPECT_EQ(rps.metric, M::rps);
  EXPECT_EQ(rps.op, Op::gt);
  EXPECT_EQ(rps.value, 10'000.0);

  const auto share = Threshold::parse("errors<0.1%");
  EXPECT_EQ(share.metric, M::errors);
  EXPECT_TRUE(share.percent);
  EXPECT_EQ(share.value, 0.1);

  const auto count = Threshold::parse("errors<5");
  EXPECT_EQ(count.metric, M::errors);
  EXPECT_FALSE(count.percent);
  EXPECT_EQ(count.value, 5.0);

  const auto requests = Threshold::parse("requests>=100");
  EXPECT_EQ(requests.metric, M::requests);
  EXPECT_EQ(requests.op, Op::ge);
  EXPECT_EQ(requests.value, 100.0);
}

TEST(BenchThresholdTest, SpacesAroundTheOperatorAreAllowed) {
  const auto t = Threshold::parse("  p99 <  50ms ");
  EXPECT_EQ(t.metric, M::latency_percentile);
  EXPECT_EQ(t.percentile, 99.0);
  EXPECT_EQ(t.op, Op::lt);
  EXPECT_EQ(t.value, 50'000.0);
  EXPECT_EQ(t.text, "  p99 <  50ms ");
  const auto r = Threshold::parse("rps >= 10");
  EXPECT_EQ(r.metric, M::rps);
  EXPECT_EQ(r.op, Op::ge);
  EXPECT_EQ(r.value, 10.0);
  EXPECT_TRUE(Threshold::parse("errors <= 1%").percent);
}

void expect_invalid(const std::string& text, const std::string& says) {
  try {
    Threshold::parse(text);
    ADD_FAILURE() << "'" << text << "' was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'" + text + "'"), std::string::npos) << "message does not name the threshold: " << what;
    EXPECT_NE(what.find(says), std::string::npos) << text << ": " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "'" << text << "' threw something other than std::invalid_argument: " << e.what();
  }
}

TEST(BenchThresholdTest, RejectsAThresholdWithoutOperator) {
  for (const char* text : {"p99", "p99 50ms", "p99=50ms", "p99!50", ""}) expect_invalid(text, "no comparison");
}

TEST(BenchThresholdTest, RejectsAnUnknownMetric) {
  for (const char* text : {"latency<5", "foo>1", "<5", "p<5", "px<5", "P99<5", "rate>10", "error<1"}) {
    expect_invalid(text, "unknown metric");
  }
  expect_invalid("p0<5", "percentile");
}

TEST(BenchThresholdTest, RejectsABadNumber) {
  for (const char* text :
       {"p99<abc", "p99<", "p99<-5", "p99<<5", "rps>1.2.3", "rps>", "errors<+1", "mean<.", "max<inf"}) {
    expect_invalid(text, "not a number");
  }
}

TEST(BenchThresholdTest, RejectsAUnitThatDoesNotFitTheMetric) {
  for (const char* text : {"rps>5ms", "rps>10%", "requests>=10s", "errors<5ms", "p99<50kg", "p99<5%", "mean<2h",
                           "max<1m", "stdev<3us5"}) {
    expect_invalid(text, "unit");
  }
}

// Known content: latencies 20, 40, ..., 2000 µs (all below 2048, so the histogram holds them
// exactly), 95 ok and 5 errors over 2 s.
Results known_results() {
  Results r;
  for (int i = 1; i <= 100; ++i) r.latency.record(20 * i);
  r.ok = 95;
  r.errors.timeout = 3;
  r.errors.status = 2;
  r.status_codes[200] = 95;
  r.status_codes[500] = 2;
  r.finish(2.0);
  return r;
}

struct Case {
  const char* threshold;
  bool passes;
  const char* actual;
};

TEST(BenchThresholdTest, EvaluatesEveryMetricUnderEveryOperator) {
  const Results r = known_results();
  ASSERT_EQ(r.latency.value_at_percentile(99), 1980);
  ASSERT_DOUBLE_EQ(r.rps, 50.0);
  // stdev of 20..2000 step 20: 20 * sqrt((100^2 - 1) / 12) = 577.32 µs.
  ASSERT_NEAR(r.latency.stdev(), 577.32, 0.01);
  const std::vector<Case> cases = {
      {"p99<2ms", true, "p99 = 1.980ms"},
      {"p99<1.98ms", false, "p99 = 1.980ms"},
      {"p99<=1.98ms", true, "p99 = 1.980ms"},
      {"p99<=1979us", false, "p99 = 1.980ms"},
      {"p99>1ms", true, "p99 = 1.980ms"},
      {"p99>1980us", false, "p99 = 1.980ms"},
      {"p99>=1980us", true, "p99 = 1.980ms"},
      {"p99>=0.002s", false, "p99 = 1.980ms"},
      {"p50<=1", true, "p50 = 1.000ms"},
      {"p50<1", false, "p50 = 1.000ms"},
      {"p99.9<2.001", true, "p99.9 = 2.000ms"},
      {"p999<2", false, "p99.9 = 2.000ms"},
      {"p12.5<=260us", true, "p12.5 = 0.260ms"},
      {"p12.5<260us", false, "p12.5 = 0.260ms"},
      {"mean<1.1", true, "mean = 1.010ms"},
      {"mean<1", false, "mean = 1.010ms"},
      {"mean>=1010us", true, "mean = 1.010ms"},
      {"mean>1010us", false, "mean = 1.010ms"},
      {"min>=20us", true, "min = 0.020ms"},
      {"min>20us", false, "min = 0.020ms"},
      {"max<=2ms", true, "max = 2.000ms"},
      {"max<2ms", false, "max = 2.000ms"},
      {"stdev<0.6", true, "stdev = 0.577ms"},
      {"stdev<0.5", false, "stdev = 0.577ms"},
      {"stdev>500us", true, "stdev = 0.577ms"},
      {"rps>49", true, "rps = 50.0"},
      {"rps>50", false, "rps = 50.0"},
      {"rps>=50", true, "rps = 50.0"},
      {"rps<50", false, "rps = 50.0"},
      {"rps<=50", true, "rps = 50.0"},
      {"rps>=50.5", false, "rps = 50.0"},
      {"errors<6", true, "errors = 5"},
      {"errors<5", false, "errors = 5"},
      {"errors<=5", true, "errors = 5"},
      {"errors>5", false, "errors = 5"},
      {"errors>=5", true, "errors = 5"},
      {"errors<=4", false, "errors = 5"},
      {"errors<5.1%", true, "errors = 5.000% (5 of 100)"},
      {"errors<5%", false, "errors = 5.000% (5 of 100)"},
      {"errors<=5%", true, "errors = 5.000% (5 of 100)"},
      {"errors>5%", false, "errors = 5.000% (5 of 100)"},
      {"errors>=4.9%", true, "errors = 5.000% (5 of 100)"},
      {"requests>=100", true, "requests = 100"},
      {"requests>100", false, "requests = 100"},
      {"requests<101", true, "requests = 100"},
      {"requests<=99", false, "requests = 100"},
  };
  for (const auto& c : cases) {
    const auto result = evaluate(Threshold::parse(c.threshold), r);
    EXPECT_EQ(result.passed, c.passes) << c.threshold << " with " << result.actual;
    EXPECT_EQ(result.actual, c.actual) << c.threshold;
  }
}

TEST(BenchThresholdTest, EvaluatesAnEmptyRunAsZeros) {
  const Results empty;
  const auto share = evaluate(Threshold::parse("errors<0.1%"), empty);
  EXPECT_TRUE(share.passed);
  EXPECT_EQ(share.actual, "errors = 0.000% (0 of 0)");
  EXPECT_FALSE(evaluate(Threshold::parse("requests>=1"), empty).passed);
  EXPECT_TRUE(evaluate(Threshold::parse("p99<1us"), empty).passed);
  EXPECT_EQ(evaluate(Threshold::parse("p99<1us"), empty).actual, "p99 = 0.000ms");
}

TEST(BenchThresholdTest, EvaluatesALatencyBelowOneMicrosecondAsOne) {
  // The histogram's floor: a run's p99 can never pass '<1us', which the CLI tests rely on.
  Results r;
  r.latency.record(0);
  r.ok = 1;
  EXPECT_FALSE(evaluate(Threshold::parse("p99<1us"), r).passed);
  EXPECT_TRUE(evaluate(Threshold::parse("p99<=1us"), r).passed);
}

}  // namespace
}  // namespace httpx::app::bench
