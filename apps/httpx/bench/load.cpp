// The load engine. Each thread owns a Worker: a core::Loop, an http::Agent and the requests in
// flight; nothing is shared between threads but the stop flag, the ticket counter of -n and the
// progress counters (atomics). Results are merged after the threads have joined.
#include "httpx/bench/load.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "httpx/field_text.hpp"

namespace httpx::app::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Res = std::shared_ptr<http::IncomingMessage>;

// State every worker reads; written only before the threads start, except the atomics.
struct Shared {
  std::atomic<std::int64_t> tickets{std::numeric_limits<std::int64_t>::max()};  // -n's remaining requests
  std::atomic<bool> stop{false};
  Clock::time_point start{};         // load begins (warm-up included)
  Clock::time_point measure_from{};  // results count from here
};

// One request in flight: when it was due, whether it counts, and its answer so far. Workers reuse
// them; `generation` tells a listener of an earlier request that its request is gone.
struct Pending {
  class Worker* worker = nullptr;
  Clock::time_point origin{};
  std::weak_ptr<http::ClientRequest> request{};
  std::uint64_t bytes = 0;
  std::uint32_t generation = 0;
  int status = 0;
  bool measured = false;
  bool timed_out = false;
};

// What the request's listeners hold: small and trivially copyable, so std::function keeps it
// inline (no allocation per listener on the hot path).
struct PendingRef {
  Pending* pending;
  std::uint32_t generation;
  Pending* get() const { return pending->generation == generation ? pending : nullptr; }
};

bool is_connect_error(const std::string& code) {
  return code == "ECONNREFUSED" || code == "ENOTFOUND" || code == "EAI_AGAIN" || code == "EHOSTUNREACH" ||
         code == "ENETUNREACH" || code == "EADDRNOTAVAIL" || code == "EADDRINUSE" || code == "EMFILE" ||
         code == "ENFILE" || code == "ENOENT" || code == "EACCES" || code == "ETIMEDOUT";
}

class Worker {
 public:
  Worker(const LoadOptions& options, Shared& shared, std::uint64_t connections, std::optional<double> rate)
      : options_(options), shared_(shared), connections_(connections), rate_(rate) {}

  // The thread's body: runs the load until it stops, then leaves the results in results().
  void run() {
    core::Loop loop;
    loop_ = &loop;
    agent_ = http::Agent::create(loop, {.keep_alive = options_.keep_alive, .max_sockets = connections_});
    base_ = make_base_options();
    if (options_.duration) {
      deadline_ = loop.set_timeout([this] { begin_stop(); },
                                   std::chrono::duration_cast<milliseconds>(shared_.measure_from - Clock::now()) +
                                       *options_.duration);
    }
    // Ctrl-C reaches the main thread; workers look at its flag a few times a second.
    watch_ = loop.set_interval([this] {
      if (shared_.stop.load(std::memory_order_relaxed)) begin_stop();
    }, milliseconds(20));
    if (rate_) {
      interval_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / *rate_));
      next_due_ = shared_.start;
      schedule_open();
    } else {
      for (std::uint64_t i = 0; i < connections_ && !issuing_done_; ++i) issue(Clock::now());
    }
    if (!stopping_ && in_flight_ == 0 && issuing_done_) finish();
    loop.run();
    // The agent's free sockets do not keep the loop alive; close them before the loop goes away.
    agent_->destroy();
    loop.run_for(milliseconds(200));
    // Nothing that belongs to this loop may outlive it: the agent (also held by the request
    // options) and the timers go first.
    base_ = {};
    agent_.reset();
    deadline_.reset();
    watch_.reset();
    tick_.reset();
    grace_.reset();
    loop_ = nullptr;
  }

  Results& results() { return results_; }
  Clock::time_point last_outcome() const { return last_outcome_; }
  Clock::time_point stopped_at() const { return stopped_at_; }
  std::uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  http::ClientRequestOptions make_base_options() const {
    http::ClientRequestOptions o;
    static_cast<http::RequestOptions&>(o) = http::url_to_http_options(http::parse_url(options_.url));
    o.agent = agent_;
    o.method = options_.method;
    http::HeaderList headers = options_.headers;
    // Node keeps a connection alive whenever the agent has a finite maxSockets, even without
    // keepAlive; --no-keep-alive means a connection per request, so it says so in each request.
    const bool has_connection =
        std::any_of(headers.begin(), headers.end(), [](const auto& h) { return iequals(h.first, "connection"); });
    if (!options_.keep_alive && !has_connection) headers.emplace_back("Connection", "close");
    if (!headers.empty()) o.headers = std::move(headers);
    return o;
  }

  // A request may go out when the run is not stopping, and (with -n) a ticket is left. Warm-up
  // requests take no ticket: -n counts measured requests.
  bool may_issue(Clock::time_point origin) {
    if (stopping_ || issuing_done_) return false;
    if (origin < shared_.measure_from) return true;
    if (!options_.requests) return true;
    if (shared_.tickets.fetch_sub(1, std::memory_order_relaxed) > 0) return true;
    issuing_done_ = true;
    return false;
  }

  void issue(Clock::time_point origin) {
    if (!may_issue(origin)) return;
    Pending& p = acquire();
    p.origin = origin;
    p.measured = origin >= shared_.measure_from;
    const PendingRef ref{&p, p.generation};
    ++in_flight_;
    if (p.measured) ++measured_in_flight_;
    std::shared_ptr<http::ClientRequest> req;
    try {
      req = http::request(*loop_, base_, [ref](const Res& res) { on_response(ref, res); });
    } catch (const std::exception&) {
      // validate() made the same request once, so this cannot be bad input; count it as the
      // request's failure rather than lose it.
      fail(p, std::make_error_code(std::errc::invalid_argument));
      return;
    }
    p.request = req;
    req->events().error.on([ref](std::error_code ec) {
      if (Pending* q = ref.get()) q->worker->fail(*q, ec);
    });
    if (options_.timeout) {
      req->set_timeout(*options_.timeout, [ref] {
        Pending* q = ref.get();
        if (!q) return;
        if (auto r = q->request.lock()) {
          q->timed_out = true;
          r->destroy(std::make_error_code(std::errc::timed_out));
        }
      });
    }
    if (options_.body) {
      req->end(*options_.body);
    } else {
      req->end();
    }
  }

  static void on_response(PendingRef ref, const Res& res) {
    Pending* p = ref.get();
    if (!p) return;
    p->status = res->status_code();
    auto& ev = res->events();
    ev.data.on([ref](std::string_view chunk) {
      if (Pending* q = ref.get()) q->bytes += chunk.size();
    });
    ev.end.once([ref] {
      if (Pending* q = ref.get()) q->worker->complete(*q);
    });
    ev.aborted.once([ref] {
      if (Pending* q = ref.get()) q->worker->fail(*q, std::make_error_code(std::errc::connection_reset));
    });
    ev.error.on([ref](std::error_code ec) {
      if (Pending* q = ref.get()) q->worker->fail(*q, ec);
    });
  }

  Pending& acquire() {
    if (free_.empty()) {
      pool_.push_back(std::make_unique<Pending>());
      pool_.back()->worker = this;
      return *pool_.back();
    }
    Pending* p = free_.back();
    free_.pop_back();
    return *p;
  }

  // The request has its outcome: listeners still attached to it see a new generation and do nothing.
  void release(Pending& p) {
    ++p.generation;
    p.request.reset();
    p.bytes = 0;
    p.status = 0;
    p.timed_out = false;
    free_.push_back(&p);
    --in_flight_;
    if (p.measured) --measured_in_flight_;
  }

  void complete(Pending& p) {
    if (finished_) return;
    if (p.measured) {
      const auto now = Clock::now();
      last_outcome_ = now;
      results_.latency.record(std::chrono::duration_cast<std::chrono::microseconds>(now - p.origin).count());
      ++results_.status_codes[p.status];
      results_.bytes += p.bytes;
      if (options_.fail_status && p.status >= 400) {
        ++results_.errors.status;
        errors_.fetch_add(1, std::memory_order_relaxed);
      } else {
        ++results_.ok;
      }
      done_.fetch_add(1, std::memory_order_relaxed);
    }
    release(p);
    after_outcome();
  }

  void fail(Pending& p, std::error_code ec) {
    if (finished_) return;
    if (p.measured) {
      if (cancelling_) {
        ++results_.unfinished;
      } else {
        last_outcome_ = Clock::now();
        count_error(p, ec);
        done_.fetch_add(1, std::memory_order_relaxed);
        errors_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    release(p);
    after_outcome();
  }

  void count_error(const Pending& p, std::error_code ec) {
    const std::string code = core::node_code(ec);
    ErrorCounts& e = results_.errors;
    const auto req = p.request.lock();
    if (p.timed_out) {
      ++e.timeout;
    } else if (code.rfind("HPE_", 0) == 0) {
      ++e.parse;
    } else if (is_connect_error(code)) {
      ++e.connect;
    } else if (code == "EPIPE" || (req && !req->writable_finished())) {
      ++e.write;
    } else {
      ++e.read;
    }
  }

  // Closed model: the connection that just got its answer sends the next request. Both models:
  // the run ends when nothing is left to send or wait for.
  void after_outcome() {
    if (!rate_ && !stopping_ && !issuing_done_) issue(Clock::now());
    if (in_flight_ == 0 && (stopping_ || issuing_done_)) finish();
  }

  // Open model: every request due by now goes out (queued by the agent when all connections are
  // busy: that wait is part of its latency, which counts from the due time).
  void schedule_open() {
    const auto now = Clock::now();
    while (next_due_ <= now && !stopping_ && !issuing_done_) {
      issue(next_due_);
      next_due_ += interval_;
    }
    if (stopping_ || issuing_done_) {
      if (in_flight_ == 0) finish();
      return;
    }
    const auto wait = std::chrono::duration_cast<milliseconds>(next_due_ - Clock::now());
    tick_ = loop_->set_timeout([this] { schedule_open(); }, std::max(wait, milliseconds(0)));
  }

  // The duration is over or Ctrl-C came: nothing new is sent; what is in flight has the grace
  // period to finish.
  void begin_stop() {
    if (stopping_) return;
    stopping_ = true;
    stopped_at_ = Clock::now();
    core::Loop::clear_timeout(tick_);
    if (in_flight_ == 0) {
      finish();
      return;
    }
    grace_ = loop_->set_timeout([this] { cancel_in_flight(); }, options_.grace);
  }

  void cancel_in_flight() {
    cancelling_ = true;
    // Requests still queued for a socket, then every socket: each request fails once, as unfinished.
    std::vector<std::shared_ptr<http::ClientRequest>> queued;
    for (const auto& [name, list] : agent_->requests()) queued.insert(queued.end(), list.begin(), list.end());
    for (const auto& r : queued) r->destroy();
    agent_->destroy();
    // Whatever has not reported by the next tick cannot any more: count it and stop.
    loop_->post([this] {
      if (!finished_) {
        results_.unfinished += measured_in_flight_;
        in_flight_ = measured_in_flight_ = 0;
        finish();
      }
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    if (stopped_at_ == Clock::time_point{}) stopped_at_ = Clock::now();
    core::Loop::clear_timeout(tick_);
    core::Loop::clear_timeout(grace_);
    core::Loop::clear_timeout(deadline_);
    core::Loop::clear_interval(watch_);
    loop_->stop();
  }

  const LoadOptions& options_;
  Shared& shared_;
  std::uint64_t connections_;
  std::optional<double> rate_;
  core::Loop* loop_ = nullptr;
  std::shared_ptr<http::Agent> agent_;
  http::ClientRequestOptions base_;
  std::shared_ptr<core::Timer> deadline_, watch_, tick_, grace_;
  Clock::duration interval_{};
  Clock::time_point next_due_{};
  std::uint64_t in_flight_ = 0;
  std::uint64_t measured_in_flight_ = 0;  // the part of in_flight_ that counts
  bool stopping_ = false;
  bool issuing_done_ = false;
  bool cancelling_ = false;
  bool finished_ = false;
  Clock::time_point last_outcome_{};
  Clock::time_point stopped_at_{};
  Results results_;
  std::vector<std::unique_ptr<Pending>> pool_;
  std::vector<Pending*> free_;
  // Read by the main thread for the progress view.
  alignas(64) std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> errors_{0};
};

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

void validate(const LoadOptions& o) {
  if (o.connections == 0) throw std::invalid_argument("-c/--connections must be at least 1");
  if (o.threads == 0) throw std::invalid_argument("-t/--threads must be at least 1");
  if (o.requests && *o.requests == 0) throw std::invalid_argument("-n/--requests must be at least 1");
  if (o.duration && o.duration->count() <= 0) throw std::invalid_argument("-d/--duration must be above 0");
  if (o.rate && !(*o.rate > 0)) throw std::invalid_argument("--rate must be above 0");
  if (o.timeout && o.timeout->count() <= 0) throw std::invalid_argument("--timeout must be above 0");
  http::Url url;
  try {
    url = http::parse_url(o.url);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("'{}' is not a URL: {}", o.url, e.what()));
  }
  if (url.protocol != "http:") {
    throw std::invalid_argument(fmt::format("'{}': only http:// URLs can be benchmarked (TLS is not supported yet)", o.url));
  }
  // Make one request without sending it: bad methods and headers fail here, with Node's message.
  // Its connection factory makes no socket, so the target sees nothing of it.
  core::Loop loop;
  http::ClientRequestOptions ro;
  static_cast<http::RequestOptions&>(ro) = http::url_to_http_options(url);
  ro.method = o.method;
  if (!o.headers.empty()) ro.headers = o.headers;
  ro.create_connection = [](const net::ConnectOptions&, const http::CreateConnectionCallback&) {
    return std::shared_ptr<net::Socket>();
  };
  try {
    auto req = http::request(loop, ro);
    req->events().error.on([](std::error_code) {});  // the 'socket hang up' of the destroy below
    req->destroy();
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
  loop.run_for(milliseconds(10));
}

Report run_load(const LoadOptions& options, const std::function<void(const Progress&)>& on_progress) {
  const std::uint64_t threads = std::min(options.threads, options.connections);
  Shared shared;
  if (options.requests) shared.tickets = static_cast<std::int64_t>(*options.requests);

  // Signals first, so that Ctrl-C never takes the default action once load is on the wire.
  core::Loop main_loop;
  bool interrupted = false;
  auto signals = core::SignalWatch::create(main_loop, {SIGINT, SIGTERM}, [&](int) {
    interrupted = true;
    shared.stop = true;
  });

  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint64_t i = 0; i < threads; ++i) {
    // Connections (and the rate, in proportion) split as evenly as they go.
    const std::uint64_t conns = options.connections / threads + (i < options.connections % threads ? 1 : 0);
    std::optional<double> rate;
    if (options.rate) rate = *options.rate * static_cast<double>(conns) / static_cast<double>(options.connections);
    workers.push_back(std::make_unique<Worker>(options, shared, conns, rate));
  }
  shared.start = Clock::now();
  shared.measure_from = shared.start + options.warmup;
  std::atomic<std::uint64_t> finished{0};
  std::vector<std::thread> running;
  for (auto& w : workers) {
    running.emplace_back([&finished, worker = w.get()] {
      worker->run();
      finished.fetch_add(1);
    });
  }

  int polls = 0;
  auto poll = main_loop.set_interval([&] {
    if (finished.load() == threads) {
      main_loop.stop();
      return;
    }
    if (on_progress && ++polls % 5 == 0) {
      Progress p;
      p.elapsed_seconds = seconds_between(shared.measure_from, Clock::now());
      p.warming_up = p.elapsed_seconds < 0;
      for (const auto& w : workers) {
        p.done += w->done();
        p.errors += w->errors();
      }
      on_progress(p);
    }
  }, milliseconds(50));
  main_loop.run();
  for (auto& t : running) t.join();
  core::Loop::clear_interval(poll);

  Report report;
  report.info = {options.url, options.method, options.connections, threads, options.rate, options.keep_alive, interrupted};
  Clock::time_point end = shared.measure_from;
  for (auto& w : workers) {
    report.results.merge(w->results());
    end = std::max({end, w->last_outcome(), std::min(w->stopped_at(), Clock::now())});
  }
  // Rates are over the whole measured time: until the last answer, and at least until the stop.
  const double seconds = std::max(0.0, seconds_between(shared.measure_from, end));
  report.results.finish(seconds);
  return report;
}

}  // namespace httpx::app::bench
