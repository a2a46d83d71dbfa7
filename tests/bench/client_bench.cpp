// The libhttp side of scripts/bench/client-vs-node: an HTTP client that sends N GETs through one
// keep-alive http::Agent, the twin of scripts/bench/client_bench.js (keep the two doing exactly the
// same work).
//
// usage: client_bench MODE URL N [CONCURRENCY]
//   MODE         sequential: N GETs one after another through one Agent{keep_alive}; each starts
//                  a tick after the previous request's 'close' (Node's emitFreeNT emits 'close'
//                  before the socket's 'free', so a request made inside 'close' would find no free
//                  socket and open a new connection). CONCURRENCY, when given, must be 1.
//                concurrent: N GETs in all, CONCURRENCY (default 64) in flight at any time, through
//                  one Agent{keep_alive, max_sockets = CONCURRENCY}; each request that closes starts
//                  the next one a tick later, until N were started.
//   URL          e.g. http://127.0.0.1:8080/ (scripts/bench/client-vs-node runs
//                tests/bench/hello_server.cpp as the peer).
//   N            the number of requests (> 0).
//
// Every response body is read to its end (its bytes counted) and every status must be 200; any
// error, any other status, or a request closing before its response ended prints a message on
// stderr and exits 1. Bad usage exits 2.
//
// Prints one JSON line on stdout:
//   {"mode", "requests", "concurrency", "seconds", "startup_seconds", "cpu_seconds", "bytes",
//    "connections"}
//   seconds          steady_clock, from just before the first request is made to the 'end' of the
//                    last response.
//   startup_seconds  steady_clock, from the entry of main() to just before the first request (the
//                    loop, the agent and the options are made in between). The time before main()
//                    (exec, dynamic linking, static initialisers: about a millisecond, mostly the
//                    dynamic loader's relocations) is NOT included: /proc/self/stat's starttime
//                    would include it but counts in clock ticks (10 ms), coarser than the whole
//                    interval. Node's twin counts from its process start (performance.now()).
//   cpu_seconds      getrusage(RUSAGE_SELF) user + system time, all threads, over the same interval
//                    as `seconds` only.
//   bytes            the body bytes received, all responses together.
//   connections      how many requests got a new connection (!reused_socket()): 1 in sequential
//                    mode, at most CONCURRENCY in concurrent mode, when keep-alive works.
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <httpx/http.hpp>

namespace {

namespace http = httpx::http;
using Clock = std::chrono::steady_clock;

// Taken first thing in main(): the origin of startup_seconds.
Clock::time_point main_entry;

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "client_bench: %s\n"
               "usage: client_bench sequential URL N [1]\n"
               "       client_bench concurrent URL N [CONCURRENCY]\n",
               why);
  std::exit(2);
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "client_bench: %s\n", why.c_str());
  std::exit(1);
}

std::string describe(std::error_code ec) {
  const std::string code = http::node_code(ec);
  return code.empty() ? ec.message() : code + " (" + ec.message() + ")";
}

// A positive integer argument; exits 2 when it is not one.
long long positive_arg(const char* text, const char* name) {
  const std::string_view view = text;
  long long value = 0;
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (view.empty() || ec != std::errc{} || end != view.data() + view.size() || value <= 0) {
    usage((std::string(name) + " must be a positive integer, got \"" + text + "\"").c_str());
  }
  return value;
}

// User + system CPU time of the whole process (all threads), in seconds.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

class Bench {
 public:
  Bench(std::string url, long long total, long long concurrency, bool limit_sockets)
      : url_(std::move(url)), total_(total), concurrency_(concurrency) {
    http::AgentOptions options{.keep_alive = true};
    if (limit_sockets) options.max_sockets = static_cast<std::size_t>(concurrency);
    agent_ = http::Agent::create(loop_, options);
  }

  // Starts the first min(CONCURRENCY, N) requests and runs the loop until all N ended.
  void run() {
    first_ = Clock::now();
    cpu_first_ = cpu_seconds();
    try {
      start_one();
    } catch (const std::exception& e) {
      usage((std::string("cannot request \"") + url_ + "\": " + e.what()).c_str());
    }
    const long long initial = std::min(concurrency_, total_);
    while (started_ < initial) start_one();
    loop_.run();
    if (ended_ != total_) {
      fail("the loop ran out of work after " + std::to_string(ended_) + " of " + std::to_string(total_) +
           " responses");
    }
    // Close the pooled sockets (they are unreferenced, so run() returned with them still open).
    agent_->destroy();
    loop_.run_for(std::chrono::seconds(1));
  }

  void print(const char* mode) const {
    const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
    std::printf(
        "{\"mode\":\"%s\",\"requests\":%lld,\"concurrency\":%lld,\"seconds\":%.6f,\"startup_seconds\":%.6f,"
        "\"cpu_seconds\":%.6f,\"bytes\":%llu,\"connections\":%lld}\n",
        mode, total_, concurrency_, seconds(last_ - first_), seconds(first_ - main_entry), cpu_last_ - cpu_first_,
        bytes_, connections_);
    std::fflush(stdout);
  }

 private:
  using Res = std::shared_ptr<http::IncomingMessage>;

  void start_one() {
    ++started_;
    http::ClientRequestOptions options;
    options.agent = agent_;
    auto req = http::get(loop_, url_, options, [this](const Res& res) {
      if (res->status_code() != 200) fail("status " + std::to_string(res->status_code()) + ", expected 200");
      if (auto r = res->req(); r && !r->reused_socket()) ++connections_;
      res->events().data.on([this](std::string_view chunk) { bytes_ += chunk.size(); });
      res->events().end.on([this] {
        if (++ended_ == total_) {
          last_ = Clock::now();
          cpu_last_ = cpu_seconds();
        }
      });
      res->events().aborted.on([] { fail("a response was aborted"); });
      res->events().error.on([](std::error_code ec) { fail("response error: " + describe(ec)); });
    });
    std::weak_ptr<http::ClientRequest> weak = req;
    req->events().error.on([](std::error_code ec) { fail("request error: " + describe(ec)); });
    req->events().close.on([this, weak] {
      const auto r = weak.lock();
      if (!r || !r->res() || !r->res()->complete()) fail("a request closed before its response was complete");
      if (started_ < total_) {
        loop_.post([this] {
          if (started_ >= total_) return;  // several requests may close before a posted start ran
          try {
            start_one();
          } catch (const std::exception& e) {
            fail(std::string("cannot make a request: ") + e.what());
          }
        });
      }
    });
  }

  httpx::core::Loop loop_;
  std::shared_ptr<http::Agent> agent_;
  std::string url_;
  long long total_;
  long long concurrency_;
  long long started_ = 0;
  long long ended_ = 0;
  long long connections_ = 0;
  unsigned long long bytes_ = 0;
  Clock::time_point first_{};
  Clock::time_point last_{};
  double cpu_first_ = 0;
  double cpu_last_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  main_entry = Clock::now();
  if (argc < 4 || argc > 5) usage("wrong number of arguments");
  const std::string_view mode = argv[1];
  if (mode != "sequential" && mode != "concurrent") usage("MODE must be sequential or concurrent");
  const std::string url = argv[2];
  const long long total = positive_arg(argv[3], "N");
  const bool sequential = mode == "sequential";
  long long concurrency = sequential ? 1 : 64;
  if (argc == 5) concurrency = positive_arg(argv[4], "CONCURRENCY");
  if (sequential && concurrency != 1) usage("CONCURRENCY must be 1 in sequential mode");

  // Sequential: Node's `new http.Agent({keepAlive: true})` (maxSockets unlimited); concurrent:
  // maxSockets = CONCURRENCY.
  Bench bench(url, total, concurrency, !sequential);
  bench.run();
  bench.print(sequential ? "sequential" : "concurrent");
  return 0;
}
