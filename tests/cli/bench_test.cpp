// `httpx bench` as a user runs it: the built binary against a counting server that runs in this
// process (a libhttp server on its own thread and loop, 127.0.0.1, port 0). The server counts the
// requests that arrive and keeps what they carried, so the tests check what reached the wire, not
// only what the report says: exactly -n requests, the rate of the open model, the stall showing in
// the latencies, the JSON report, thresholds, merge, bad usage, errors by kind and Ctrl-C.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "httpx/core/loop.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/server.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/net/socket.hpp"
#include "support/child.hpp"
#include "support/support.hpp"

namespace httpx::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr std::string_view kBody = "counted\n";

/// A request as the counting server saw it.
struct SeenRequest {
  std::string method;
  std::string url;
  std::vector<std::string> raw_headers;  // name, value, name, value, ...
  std::string body;
  bool ended = false;
  std::uint64_t connection = 0;  // which accepted connection carried it (1, 2, ...)

  /// The values of header `name` (any case), in order.
  std::vector<std::string> header(std::string_view name) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 1 < raw_headers.size(); i += 2) {
      const std::string& n = raw_headers[i];
      const auto same = [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      };
      if (std::equal(n.begin(), n.end(), name.begin(), name.end(), same)) {
        out.push_back(raw_headers[i + 1]);
      }
    }
    return out;
  }
};

/// How the counting server answers each request.
struct CountingOptions {
  std::chrono::milliseconds stall{0};  ///< before each answer
  int status = 200;
  bool answer = true;  ///< false: never answer
};

/// An HTTP server on 127.0.0.1:0 in a thread of its own (one core::Loop), which counts every
/// request when it arrives, keeps its method, headers and body, and answers `status` with a small
/// body after `stall` (or never, when `answer` is false). Stopped and joined by the destructor.
class CountingServer {
 public:
  using Options = CountingOptions;

  explicit CountingServer(Options options = {}) : options_(options) {
    thread_ = std::thread([this] { run(); });
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [this] { return port_ != 0 || failed_; });
  }

  ~CountingServer() {
    stop_ = true;
    thread_.join();
  }

  CountingServer(const CountingServer&) = delete;
  CountingServer& operator=(const CountingServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  /// Requests that arrived so far (since reset()).
  std::uint64_t count() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  /// Connections accepted so far (since reset()).
  std::uint64_t connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  /// How many of them carried a request.
  std::uint64_t connections_used() const {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> ids;
    for (const auto& r : seen_) ids.push_back(r.connection);
    std::sort(ids.begin(), ids.end());
    return static_cast<std::uint64_t>(std::unique(ids.begin(), ids.end()) - ids.begin());
  }
  std::vector<SeenRequest> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  void reset() {
    std::lock_guard lock(mutex_);
    seen_.clear();
    connections_ = 0;
    ++generation_;
  }

  /// Waits until at least `n` requests arrived; false when `timeout` passed first.
  bool wait_for_count(std::uint64_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
  }

  /// Waits until every connection closed (a client that exited has no request left in transit,
  /// so the count is final); false when `timeout` passed first.
  bool wait_until_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return open_ == 0; });
  }

 private:
  void run() {
    // The id of each open connection (loop thread only; declared before the loop, so it outlives
    // whatever the loop's teardown runs).
    std::map<const net::Socket*, std::uint64_t> ids;
    std::uint64_t next_id = 0;
    core::Loop loop;
    // Responses that are never answered stay here until the server stops.
    std::vector<std::shared_ptr<http::ServerResponse>> silent;
    auto server = http::create_server(loop, [&](const std::shared_ptr<http::IncomingMessage>& req,
                                                const std::shared_ptr<http::ServerResponse>& res) {
      std::size_t index = 0;
      std::uint64_t generation = 0;
      {
        std::lock_guard lock(mutex_);
        const auto id = ids.find(req->socket().get());
        seen_.push_back({req->method(), req->url(), req->raw_headers(), {}, false, id == ids.end() ? 0 : id->second});
        index = seen_.size() - 1;
        generation = generation_;
      }
      changed_.notify_all();
      if (!options_.answer) {
        silent.push_back(res);
        return;
      }
      auto body = std::make_shared<std::string>();
      req->events().data.on([body](std::string_view d) { body->append(d); });
      // The listener lives in req: it holds the response weakly (req owning res would be a cycle).
      std::weak_ptr<http::ServerResponse> weak = res;
      req->events().end.on([this, &loop, weak, body, index, generation] {
        {
          std::lock_guard lock(mutex_);
          if (generation == generation_ && index < seen_.size()) {
            seen_[index].body = *body;
            seen_[index].ended = true;
          }
        }
        auto res = weak.lock();
        if (!res) return;
        res->status_code = options_.status;
        if (options_.stall.count() == 0) {
          res->end(kBody);
        } else {
          loop.set_timeout([res] {
            if (!res->destroyed()) res->end(kBody);
          }, options_.stall);
        }
      });
    });
    server->events().connection.on([this, &ids, &next_id](const std::shared_ptr<net::Socket>& socket) {
      {
        std::lock_guard lock(mutex_);
        ++connections_;
        ++open_;
      }
      ids[socket.get()] = ++next_id;
      socket->events().close.on([this, &ids, raw = socket.get()] {
        ids.erase(raw);
        {
          std::lock_guard lock(mutex_);
          --open_;
        }
        changed_.notify_all();
      });
    });
    server->listen({.port = 0, .host = "127.0.0.1"});
    {
      std::lock_guard lock(mutex_);
      if (const auto address = server->address()) {
        port_ = address->port;
      } else {
        failed_ = true;
      }
    }
    changed_.notify_all();
    // The test thread asks for the stop through the flag; the loop looks at it between callbacks.
    std::shared_ptr<core::Timer> watch;
    watch = loop.set_interval([&] {
      if (!stop_) return;
      core::Loop::clear_interval(watch);
      silent.clear();
      server->close();
      server->close_all_connections();
    }, 5ms);
    loop.run_for(60s);
    silent.clear();
    server.reset();
    loop.run_for(2s);
  }

  Options options_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<int> port_{0};
  bool failed_ = false;
  std::vector<SeenRequest> seen_;
  std::uint64_t generation_ = 0;  // counts reset()s, so a late body never lands in a newer list
  std::uint64_t connections_ = 0;
  std::uint64_t open_ = 0;
  std::atomic<bool> stop_{false};
};

/// A port on 127.0.0.1 where nothing listens: bound to get it, then closed.
int refusing_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

struct BenchRun {
  ProcessResult process;
  json report;        // the parsed stdout (discarded when it is not JSON)
  double wall = 0;    // seconds from start to exit
};

BenchRun httpx(const std::vector<std::string>& args, int timeout_ms = 20000) {
  std::vector<std::string> argv{httpx_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  BenchRun run;
  const auto start = Clock::now();
  run.process = run_process(argv, {}, timeout_ms);
  run.wall = std::chrono::duration<double>(Clock::now() - start).count();
  run.report = json::parse(run.process.out, nullptr, false);
  return run;
}

/// `httpx bench URL ARGS... --format json`.
BenchRun bench(const std::string& url, std::vector<std::string> args, int timeout_ms = 20000) {
  args.insert(args.begin(), {"bench", url});
  args.insert(args.end(), {"--format", "json"});
  return httpx(args, timeout_ms);
}

std::size_t lines_in(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::uint64_t count(const json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].is_object() || !j[a].contains(b) || !j[a][b].is_number_unsigned()) {
    ADD_FAILURE() << "no count " << a << "." << b << " in " << j.dump();
    return ~std::uint64_t{0};
  }
  return j[a][b].get<std::uint64_t>();
}

double latency_ms(const json& j, const char* key) {
  if (!j.is_object() || !j.contains("latency") || !j["latency"].contains(key) || !j["latency"][key].is_number()) {
    ADD_FAILURE() << "no latency." << key << " in " << j.dump();
    return -1;
  }
  return j["latency"][key].get<double>();
}

std::map<std::int64_t, std::uint64_t> buckets_of(const json& report) {
  std::map<std::int64_t, std::uint64_t> out;
  for (const auto& b : report["histogram"]["buckets"]) out[b[0].get<std::int64_t>()] += b[1].get<std::uint64_t>();
  return out;
}

// ---- -n -------------------------------------------------------------------------------------

TEST(BenchCliTest, CountSendsExactlyThatManyRequests) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  struct Case {
    std::uint64_t n;
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {1, {"-c", "1"}},
      {7, {"-c", "3"}},
      {100, {"-c", "10", "-t", "2"}},
      {5, {"-c", "64"}},  // more connections than requests
      {1000, {"-c", "64", "-t", "2"}},
  };
  for (const auto& c : cases) {
    const std::string label = "-n " + std::to_string(c.n) + " " + c.args[0] + " " + c.args[1];
    SCOPED_TRACE(label);
    server.reset();
    std::vector<std::string> args{"-n", std::to_string(c.n)};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto run = bench(server.url("/count"), args);
    EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
    ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
    EXPECT_EQ(count(run.report, "requests", "total"), c.n);
    EXPECT_EQ(count(run.report, "requests", "ok"), c.n);
    EXPECT_EQ(count(run.report, "requests", "errors"), 0u);
    EXPECT_EQ(count(run.report, "requests", "unfinished"), 0u);
    EXPECT_EQ(count(run.report, "statusCodes", "200"), c.n);
    EXPECT_EQ(run.report["bytes"], c.n * kBody.size());
    EXPECT_EQ(run.report["histogram"]["count"], c.n);
    // The process has exited: once its connections are closed nothing more can arrive.
    EXPECT_TRUE(server.wait_until_idle(3s));
    EXPECT_EQ(server.count(), c.n);
    // Never more connections than -c carry requests (keep-alive: each one is reused).
    EXPECT_LE(server.connections_used(), std::stoull(c.args[1]));
    EXPECT_GE(server.connections_used(), 1u);
  }
}

// -c bounds every connection the target sees, also those of option checking: a throwaway
// http::request that validates the options must not connect (it did, twice: `-n 1 -c 1` opened
// 3 connections, 2 of them idle).
TEST(BenchCliTest, OpensNoMoreConnectionsThanAsked) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  for (const char* c : {"1", "4"}) {
    SCOPED_TRACE(std::string("-c ") + c);
    server.reset();
    const auto run = bench(server.url(), {"-n", "40", "-c", c, "-t", "1"});
    EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
    EXPECT_TRUE(server.wait_until_idle(3s));
    EXPECT_EQ(server.count(), 40u);
    EXPECT_LE(server.connections(), std::stoull(c)) << "connections accepted; " << server.connections_used()
                                                    << " of them carried requests";
  }
}

// ---- -d -------------------------------------------------------------------------------------

TEST(BenchCliTest, DurationEndsTheRunWithinASecondOfIt) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const auto run = bench(server.url(), {"-d", "1", "-c", "4"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_GE(run.wall, 1.0);
  EXPECT_LT(run.wall, 2.0);
  EXPECT_NEAR(run.report["seconds"].get<double>(), 1.0, 0.15);
  EXPECT_GT(count(run.report, "requests", "total"), 0u);
  EXPECT_EQ(count(run.report, "requests", "errors"), 0u);
  EXPECT_EQ(run.report["interrupted"], false);
  EXPECT_TRUE(server.wait_until_idle(3s));
  // Every request that arrived was answered and counted, or counted as unfinished.
  EXPECT_EQ(server.count(), count(run.report, "requests", "total") + count(run.report, "requests", "unfinished"));
}

// ---- --rate ---------------------------------------------------------------------------------

TEST(BenchCliTest, OpenModelSendsAtTheRateAndLatencyIncludesTheStall) {
  CountingServer server({.stall = 100ms});
  ASSERT_GT(server.port(), 0);
  // Capacity 40 connections / 0.1 s = 400 requests/s, well above the rate.
  const auto run = bench(server.url(), {"-R", "100", "-d", "1", "-c", "40", "-t", "2"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(run.report["model"], "open");
  EXPECT_EQ(run.report["rate"], 100.0);
  EXPECT_TRUE(server.wait_until_idle(3s));
  EXPECT_GE(server.count(), 80u);
  EXPECT_LE(server.count(), 120u);
  const auto total = count(run.report, "requests", "total");
  EXPECT_GE(total, 80u);
  EXPECT_LE(total, 120u);
  EXPECT_GE(latency_ms(run.report, "p50"), 100.0);
  EXPECT_GE(latency_ms(run.report, "min"), 100.0);
  // No queueing: the latencies stay near the stall.
  EXPECT_LT(latency_ms(run.report, "p90"), 250.0);
}

TEST(BenchCliTest, OpenModelCountsTheWaitFromEachRequestsDueTime) {
  CountingServer server({.stall = 100ms});
  ASSERT_GT(server.port(), 0);
  // One connection serves 10 requests/s; 40/s are due, so each request waits longer than the last
  // (request i, due at 25i ms, is answered at about 100(i+1) ms).
  const auto open = bench(server.url(), {"-R", "40", "-c", "1", "-d", "1"});
  EXPECT_EQ(open.process.exit_code, 0) << open.process.err;
  ASSERT_TRUE(open.report.is_object()) << open.process.out;
  EXPECT_GT(latency_ms(open.report, "p90"), 400.0);
  EXPECT_GT(latency_ms(open.report, "max"), 600.0);
  // Those still queued at the end of the grace period have no outcome.
  EXPECT_GT(count(open.report, "requests", "unfinished"), 0u);
  EXPECT_LT(open.wall, 3.0);

  // The closed model on the same server sees only the stall (coordinated omission).
  const auto closed = bench(server.url(), {"-c", "1", "-d", "1"});
  EXPECT_EQ(closed.process.exit_code, 0) << closed.process.err;
  ASSERT_TRUE(closed.report.is_object()) << closed.process.out;
  EXPECT_EQ(closed.report["model"], "closed");
  EXPECT_GE(latency_ms(closed.report, "p50"), 100.0);
  EXPECT_LT(latency_ms(closed.report, "p90"), 250.0);
}

// ---- --format json --------------------------------------------------------------------------

void expect_counts(const json& j, const std::vector<const char*>& keys, const std::string& where) {
  ASSERT_TRUE(j.is_object()) << where;
  for (const char* key : keys) {
    EXPECT_TRUE(j.contains(key) && j[key].is_number_unsigned()) << where << "." << key << " in " << j.dump();
  }
}

TEST(BenchCliTest, JsonFormatPrintsOneObjectOfTheDocumentedShape) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const std::string url = server.url("/shape?x=1");
  const auto run = bench(url, {"-n", "20", "-c", "2"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  // One line, one object, nothing else on stdout; nothing on stderr (not a terminal).
  EXPECT_EQ(lines_in(run.process.out), 1u) << run.process.out;
  ASSERT_FALSE(run.process.out.empty());
  EXPECT_EQ(run.process.out.back(), '\n');
  EXPECT_TRUE(run.process.err.empty()) << run.process.err;
  const json& j = run.report;
  ASSERT_TRUE(j.is_object()) << run.process.out;

  EXPECT_EQ(j["url"], url);
  EXPECT_EQ(j["method"], "GET");
  expect_counts(j, {"connections", "threads", "bytes"}, "report");
  EXPECT_EQ(j["connections"], 2);
  EXPECT_GE(j["threads"].get<std::uint64_t>(), 1u);
  EXPECT_LE(j["threads"].get<std::uint64_t>(), 2u);
  EXPECT_EQ(j["model"], "closed");
  EXPECT_TRUE(j["rate"].is_null());
  EXPECT_TRUE(j["keepAlive"].is_boolean());
  EXPECT_EQ(j["keepAlive"], true);
  EXPECT_TRUE(j["interrupted"].is_boolean());
  EXPECT_EQ(j["interrupted"], false);
  EXPECT_TRUE(j["seconds"].is_number());
  EXPECT_TRUE(j["rps"].is_number());
  EXPECT_TRUE(j["bytesPerSecond"].is_number());
  EXPECT_GT(j["rps"].get<double>(), 0);
  expect_counts(j["requests"], {"total", "ok", "errors", "unfinished"}, "requests");
  ASSERT_TRUE(j["statusCodes"].is_object());
  EXPECT_EQ(j["statusCodes"].size(), 1u);
  EXPECT_EQ(j["statusCodes"]["200"], 20);
  ASSERT_TRUE(j["latency"].is_object());
  for (const char* key : {"min", "mean", "stdev", "p50", "p75", "p90", "p99", "p999", "p9999", "max"}) {
    EXPECT_TRUE(j["latency"].contains(key) && j["latency"][key].is_number()) << "latency." << key;
  }
  expect_counts(j["errors"], {"connect", "read", "write", "timeout", "parse", "status"}, "errors");
  const json& h = j["histogram"];
  ASSERT_TRUE(h.is_object());
  EXPECT_EQ(h["unit"], "us");
  expect_counts(h, {"lowest", "highest", "significantDigits", "count", "min", "max", "sum"}, "histogram");
  ASSERT_TRUE(h["buckets"].is_array());
  std::uint64_t in_buckets = 0;
  for (const auto& b : h["buckets"]) {
    ASSERT_TRUE(b.is_array() && b.size() == 2 && b[0].is_number_unsigned() && b[1].is_number_unsigned()) << b.dump();
    in_buckets += b[1].get<std::uint64_t>();
  }
  EXPECT_EQ(in_buckets, 20u);
  EXPECT_EQ(h["count"], 20);
  // Latency in milliseconds, the histogram in microseconds.
  EXPECT_DOUBLE_EQ(j["latency"]["min"].get<double>() * 1000, h["min"].get<double>());
  EXPECT_DOUBLE_EQ(j["latency"]["max"].get<double>() * 1000, h["max"].get<double>());
  EXPECT_NEAR(j["latency"]["mean"].get<double>() * 1000, h["sum"].get<double>() / 20, 1e-6);
  EXPECT_LE(j["latency"]["p50"].get<double>(), j["latency"]["p99"].get<double>());
  EXPECT_LE(j["latency"]["p99"].get<double>(), j["latency"]["max"].get<double>());
  EXPECT_EQ(j["bytes"], 20 * kBody.size());
  EXPECT_EQ(server.count(), 20u);
  for (const auto& seen : server.seen()) EXPECT_EQ(seen.url, "/shape?x=1");
}

TEST(BenchCliTest, TextFormatIsTheDefault) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const auto run = httpx({"bench", server.url(), "-n", "12", "-c", "3"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  EXPECT_FALSE(run.report.is_object());
  EXPECT_NE(run.process.out.find("12 total, 12 ok, 0 errors"), std::string::npos) << run.process.out;
  EXPECT_NE(run.process.out.find("200: 12"), std::string::npos) << run.process.out;
  EXPECT_TRUE(run.process.err.empty()) << run.process.err;
}

// ---- --threshold ----------------------------------------------------------------------------

TEST(BenchCliTest, ThresholdsThatPassExitZero) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const auto run = bench(server.url(), {"-n", "20", "-c", "2", "--threshold", "p99<10s", "--threshold", "errors<1",
                                        "--threshold", "errors<0.1%", "--threshold", "requests>=20", "--threshold",
                                        "rps > 1"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  EXPECT_TRUE(run.process.err.empty()) << run.process.err;
  EXPECT_TRUE(run.report.is_object()) << run.process.out;
}

TEST(BenchCliTest, AFailingThresholdExitsOneAndIsNamed) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const auto run =
      bench(server.url(), {"-n", "20", "-c", "2", "--threshold", "p99<1us", "--threshold", "requests>=20"});
  EXPECT_EQ(run.process.exit_code, 1) << run.process.err;
  EXPECT_NE(run.process.err.find("threshold 'p99<1us' failed"), std::string::npos) << run.process.err;
  // Only the failing one is named, on one line.
  EXPECT_EQ(run.process.err.find("requests>=20"), std::string::npos) << run.process.err;
  EXPECT_EQ(lines_in(run.process.err), 1u) << run.process.err;
  // The report is still printed.
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(count(run.report, "requests", "total"), 20u);
}

TEST(BenchCliTest, AMalformedThresholdExitsTwoBeforeAnyLoad) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  for (const char* threshold : {"p99<<5", "latency<5ms", "p99", "rps>5ms"}) {
    SCOPED_TRACE(threshold);
    const auto run = bench(server.url(), {"-n", "5", "--threshold", threshold});
    EXPECT_EQ(run.process.exit_code, 2) << run.process.err;
    EXPECT_EQ(lines_in(run.process.err), 1u) << run.process.err;
    EXPECT_NE(run.process.err.find(threshold), std::string::npos) << run.process.err;
    EXPECT_TRUE(run.process.out.empty()) << run.process.out;
  }
  EXPECT_EQ(server.count(), 0u);
}

// ---- merge ----------------------------------------------------------------------------------

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

TEST(BenchCliTest, MergeAddsUpTwoRealRuns) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  CountingServer missing({.status = 404});
  ASSERT_GT(missing.port(), 0);
  const auto a = bench(server.url(), {"-n", "30", "-c", "3"});
  const auto b = bench(missing.url(), {"-n", "50", "-c", "5", "-t", "1"});
  ASSERT_EQ(a.process.exit_code, 0) << a.process.err;
  ASSERT_EQ(b.process.exit_code, 0) << b.process.err;
  TempDir dir;
  write_file(dir.file("a.json"), a.process.out);
  write_file(dir.file("b.json"), b.process.out);
  const auto merged = httpx({"bench", "merge", dir.file("a.json"), dir.file("b.json"), "--format", "json"});
  EXPECT_EQ(merged.process.exit_code, 0) << merged.process.err;
  const json& m = merged.report;
  ASSERT_TRUE(m.is_object()) << merged.process.out;
  EXPECT_EQ(count(m, "requests", "total"), 80u);
  EXPECT_EQ(count(m, "requests", "ok"), 80u);
  EXPECT_EQ(count(m, "statusCodes", "200"), 30u);
  EXPECT_EQ(count(m, "statusCodes", "404"), 50u);
  EXPECT_EQ(m["bytes"], 80 * kBody.size());
  EXPECT_EQ(m["histogram"]["count"], 80);
  EXPECT_EQ(m["connections"], 8);
  EXPECT_EQ(m["url"], "(several)");
  EXPECT_DOUBLE_EQ(m["seconds"].get<double>(),
                   std::max(a.report["seconds"].get<double>(), b.report["seconds"].get<double>()));
  EXPECT_NEAR(m["rps"].get<double>(), a.report["rps"].get<double>() + b.report["rps"].get<double>(),
              1e-9 * m["rps"].get<double>());
  // Bucket by bucket, the histograms add.
  auto expected = buckets_of(a.report);
  for (const auto& [value, n] : buckets_of(b.report)) expected[value] += n;
  EXPECT_EQ(buckets_of(m), expected);
  EXPECT_EQ(m["histogram"]["min"], std::min(a.report["histogram"]["min"].get<std::uint64_t>(),
                                            b.report["histogram"]["min"].get<std::uint64_t>()));
  EXPECT_EQ(m["histogram"]["sum"],
            a.report["histogram"]["sum"].get<std::uint64_t>() + b.report["histogram"]["sum"].get<std::uint64_t>());

  // The same run twice keeps its URL; the text report is the default.
  const auto twice = httpx({"bench", "merge", dir.file("a.json"), dir.file("a.json")});
  EXPECT_EQ(twice.process.exit_code, 0) << twice.process.err;
  EXPECT_NE(twice.process.out.find("60 total, 60 ok"), std::string::npos) << twice.process.out;
  EXPECT_NE(twice.process.out.find(server.url()), std::string::npos) << twice.process.out;
}

TEST(BenchCliTest, MergeOfAMalformedFileExitsTwoNamingIt) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const auto a = bench(server.url(), {"-n", "3", "-c", "1"});
  ASSERT_EQ(a.process.exit_code, 0) << a.process.err;
  TempDir dir;
  write_file(dir.file("good.json"), a.process.out);
  write_file(dir.file("not-json.json"), "{\"requests\": ");
  json broken = a.report;
  broken.erase("histogram");
  write_file(dir.file("no-histogram.json"), broken.dump());
  json wrong = a.report;
  wrong["requests"]["total"] = 4;
  write_file(dir.file("does-not-add-up.json"), wrong.dump());
  for (const char* name : {"not-json.json", "no-histogram.json", "does-not-add-up.json", "missing.json"}) {
    SCOPED_TRACE(name);
    const auto r = httpx({"bench", "merge", dir.file("good.json"), dir.file(name)});
    EXPECT_EQ(r.process.exit_code, 2) << r.process.err;
    EXPECT_EQ(lines_in(r.process.err), 1u) << r.process.err;
    EXPECT_NE(r.process.err.find(dir.file(name)), std::string::npos) << r.process.err;
    EXPECT_TRUE(r.process.out.empty()) << r.process.out;
  }
}

// ---- bad usage ------------------------------------------------------------------------------

TEST(BenchCliTest, BadUsageExitsTwoWithOneLine) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  TempDir dir;
  write_file(dir.file("body"), "x");
  const std::string url = server.url();
  const std::vector<std::vector<std::string>> cases = {
      {"bench"},
      {"bench", url, "-n", "0"},
      {"bench", url, "-c", "0"},
      {"bench", url, "-t", "0"},
      {"bench", url, "-d", "abc"},
      {"bench", url, "-d", "0"},
      {"bench", url, "-n", "10", "-d", "1"},
      {"bench", "ftp://x"},
      {"bench", "not a url"},
      {"bench", url, "--body", "x", "--body-file", dir.file("body")},
      {"bench", url, "--body-file", dir.file("no-such-file")},
      {"bench", url, "--bogus"},
      {"bench", url, "-R", "0"},
      {"bench", url, "--timeout", "0"},
      {"bench", url, "--warmup", "soon"},
      {"bench", url, "--format", "xml"},
      {"bench", url, "-H", "no colon"},
      {"bench", url, "-m", "BAD METHOD"},
  };
  for (const auto& args : cases) {
    std::string label;
    for (const auto& a : args) label += a + " ";
    SCOPED_TRACE(label);
    const auto r = httpx(args, 10000);
    EXPECT_EQ(r.process.exit_code, 2) << r.process.err;
    EXPECT_EQ(lines_in(r.process.err), 1u) << r.process.err;
    EXPECT_TRUE(r.process.out.empty()) << r.process.out;
  }
  // None of them sent a request.
  EXPECT_EQ(server.count(), 0u);
}

// ---- errors ---------------------------------------------------------------------------------

TEST(BenchCliTest, RefusedConnectionsAreConnectErrorsAndExitOne) {
  const int port = refusing_port();
  ASSERT_GT(port, 0);
  const auto run = bench("http://127.0.0.1:" + std::to_string(port) + "/", {"-n", "20", "-c", "4"});
  EXPECT_EQ(run.process.exit_code, 1) << run.process.err;
  EXPECT_NE(run.process.err.find("no request succeeded"), std::string::npos) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(count(run.report, "errors", "connect"), 20u);
  EXPECT_EQ(count(run.report, "requests", "total"), 20u);
  EXPECT_EQ(count(run.report, "requests", "errors"), 20u);
  EXPECT_EQ(count(run.report, "requests", "ok"), 0u);
  EXPECT_TRUE(run.report["statusCodes"].empty());
}

TEST(BenchCliTest, FailCountsErrorStatusesAsErrors) {
  CountingServer server({.status = 404});
  ASSERT_GT(server.port(), 0);
  const auto failing = bench(server.url(), {"-n", "10", "-c", "2", "--fail"});
  EXPECT_EQ(failing.process.exit_code, 1) << failing.process.err;
  ASSERT_TRUE(failing.report.is_object()) << failing.process.out;
  EXPECT_EQ(count(failing.report, "errors", "status"), 10u);
  EXPECT_EQ(count(failing.report, "requests", "errors"), 10u);
  EXPECT_EQ(count(failing.report, "requests", "ok"), 0u);
  EXPECT_EQ(count(failing.report, "statusCodes", "404"), 10u);

  // Without --fail a 404 is an answer like any other.
  const auto plain = bench(server.url(), {"-n", "10", "-c", "2"});
  EXPECT_EQ(plain.process.exit_code, 0) << plain.process.err;
  ASSERT_TRUE(plain.report.is_object()) << plain.process.out;
  EXPECT_EQ(count(plain.report, "errors", "status"), 0u);
  EXPECT_EQ(count(plain.report, "requests", "ok"), 10u);
  EXPECT_EQ(count(plain.report, "statusCodes", "404"), 10u);
  EXPECT_TRUE(server.wait_until_idle(3s));
  EXPECT_EQ(server.count(), 20u);
}

TEST(BenchCliTest, TimeoutEndsRequestsToAServerThatNeverAnswers) {
  CountingServer server({.answer = false});
  ASSERT_GT(server.port(), 0);
  const auto run = bench(server.url(), {"-n", "3", "-c", "3", "--timeout", "100"}, 10000);
  EXPECT_EQ(run.process.exit_code, 1) << run.process.err;
  EXPECT_LT(run.wall, 3.0);
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_GT(count(run.report, "errors", "timeout"), 0u);
  EXPECT_EQ(count(run.report, "errors", "timeout"), 3u);
  EXPECT_EQ(count(run.report, "requests", "total"), 3u);
  EXPECT_EQ(server.count(), 3u);
}

TEST(BenchCliTest, DurationRunAgainstAServerThatNeverAnswersEndsWithUnfinished) {
  CountingServer server({.answer = false});
  ASSERT_GT(server.port(), 0);
  const auto run = bench(server.url(), {"-d", "0.3", "-c", "2", "-t", "1"}, 10000);
  EXPECT_LT(run.wall, 2.0);
  ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
  EXPECT_EQ(count(run.report, "requests", "total"), 0u);
  EXPECT_EQ(count(run.report, "requests", "unfinished"), 2u);
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;  // no outcome is no failure
}

// ---- SIGINT ---------------------------------------------------------------------------------

TEST(BenchCliTest, SigintStopsTheRunAndPrintsTheReport) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  ChildProcess child({httpx_binary(), "bench", server.url(), "-d", "30", "-c", "4", "--format", "json"});
  // Load is on the wire (so the signal watch is installed) once requests arrive.
  ASSERT_TRUE(server.wait_for_count(200, 5000ms)) << "requests seen: " << server.count();
  const auto signalled = Clock::now();
  ASSERT_TRUE(child.send_signal(SIGINT));
  const int code = child.wait_for_exit(5000ms);
  const double took = std::chrono::duration<double>(Clock::now() - signalled).count();
  EXPECT_EQ(code, 0) << child.err();
  EXPECT_LT(took, 2.0);
  const json report = json::parse(child.out(), nullptr, false);
  ASSERT_TRUE(report.is_object()) << child.out() << child.err();
  EXPECT_EQ(lines_in(child.out()), 1u);
  EXPECT_EQ(report["interrupted"], true);
  EXPECT_GT(count(report, "requests", "total"), 0u);
  EXPECT_LT(report["seconds"].get<double>(), 10.0);
}

TEST(BenchCliTest, SigtermStopsTheRunAsSigintDoes) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  ChildProcess child({httpx_binary(), "bench", server.url(), "-d", "30", "-c", "2", "--format", "json"});
  ASSERT_TRUE(server.wait_for_count(100, 5000ms)) << "requests seen: " << server.count();
  ASSERT_TRUE(child.send_signal(SIGTERM));
  EXPECT_EQ(child.wait_for_exit(3000ms), 0) << child.err();
  const json report = json::parse(child.out(), nullptr, false);
  ASSERT_TRUE(report.is_object()) << child.out() << child.err();
  EXPECT_EQ(report["interrupted"], true);
  EXPECT_GT(count(report, "requests", "total"), 0u);
}

// ---- warm-up and the open model with -n -----------------------------------------------------

TEST(BenchCliTest, WarmupRequestsAreSentButNotCounted) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const auto run = bench(server.url(), {"--warmup", "200ms", "-n", "10", "-c", "2"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_GE(run.wall, 0.2);
  EXPECT_EQ(count(run.report, "requests", "total"), 10u);
  EXPECT_EQ(run.report["histogram"]["count"], 10);
  EXPECT_TRUE(server.wait_until_idle(3s));
  EXPECT_GT(server.count(), 10u);  // the warm-up's requests went out too
}

TEST(BenchCliTest, OpenModelWithACountSendsExactlyThatMany) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  // Due at 0, 20, ..., 180 ms.
  const auto run = bench(server.url(), {"-R", "50", "-n", "10", "-c", "4", "-t", "1"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(count(run.report, "requests", "total"), 10u);
  EXPECT_GE(run.wall, 0.18);
  EXPECT_TRUE(server.wait_until_idle(3s));
  EXPECT_EQ(server.count(), 10u);
}

// ---- what is sent ---------------------------------------------------------------------------

TEST(BenchCliTest, PostSendsTheMethodHeadersAndBodyOnEveryRequest) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const std::string body = "name=bench&n=1";
  const auto run = bench(server.url("/submit"), {"-m", "POST", "--body", body, "-H", "X-Bench: yes", "-H",
                                                 "Content-Type: application/x-www-form-urlencoded", "-n", "6", "-c",
                                                 "2"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(run.report["method"], "POST");
  EXPECT_TRUE(server.wait_until_idle(3s));
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 6u);
  for (const auto& r : seen) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.url, "/submit");
    EXPECT_EQ(r.header("x-bench"), std::vector<std::string>{"yes"});
    EXPECT_EQ(r.header("content-type"), std::vector<std::string>{"application/x-www-form-urlencoded"});
    EXPECT_EQ(r.header("content-length"), std::vector<std::string>{std::to_string(body.size())});
    EXPECT_TRUE(r.ended);
    EXPECT_EQ(r.body, body);
  }
}

TEST(BenchCliTest, BodyFileIsSentAsEveryRequestsBody) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  TempDir dir;
  std::string data;
  for (int i = 0; i < 3000; ++i) data += static_cast<char>(i % 251);  // binary, with NULs
  write_file(dir.file("payload"), data);
  const auto run = bench(server.url(), {"-m", "PUT", "--body-file", dir.file("payload"), "-n", "3", "-c", "1"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  EXPECT_TRUE(server.wait_until_idle(3s));
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& r : seen) {
    EXPECT_EQ(r.method, "PUT");
    EXPECT_EQ(r.body.size(), data.size());
    EXPECT_TRUE(r.body == data);
  }
}

// The man page: "a new connection for every request", "requests carry Connection: close". The
// agent's keepAlive false alone does not give that: Node keeps a connection alive whenever
// maxSockets is finite (it did: all requests on one connection, with Connection: keep-alive).
TEST(BenchCliTest, NoKeepAliveUsesAConnectionPerRequest) {
  CountingServer server;
  ASSERT_GT(server.port(), 0);
  const auto run = bench(server.url(), {"-n", "5", "-c", "1", "--no-keep-alive"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(run.report["keepAlive"], false);
  EXPECT_TRUE(server.wait_until_idle(3s));
  EXPECT_EQ(server.count(), 5u);
  EXPECT_EQ(server.connections_used(), 5u);
  for (const auto& r : server.seen()) EXPECT_EQ(r.header("connection"), std::vector<std::string>{"close"});
}

}  // namespace
}  // namespace httpx::test
