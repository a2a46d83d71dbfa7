/// The load engine of `httpx bench`: one core::Loop per thread, each with its own http::Agent
/// (keepAlive, maxSockets = its share of the connections), sending requests with http::request in a
/// closed model (each connection sends its next request when the last answer arrived) or an open
/// model (requests due at a constant rate, latency measured from when each was due).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <httpx/http.hpp>

#include "httpx/bench/results.hpp"

namespace httpx::app::bench {

/// What to send and how. Node names where there is one: `keep_alive` and `max_sockets` are the
/// Agent's, `timeout` is `request.setTimeout`'s.
struct LoadOptions {
  std::string url;                  ///< http:// only
  std::string method = "GET";
  http::HeaderList headers{};
  std::optional<std::string> body{};
  std::optional<std::uint64_t> requests{};               ///< -n: exactly this many (warm-up aside)
  std::optional<std::chrono::milliseconds> duration{};   ///< -d: measure this long (after warm-up)
  std::uint64_t connections = 50;   ///< -c: all threads together (the agents' maxSockets)
  std::uint64_t threads = 1;        ///< -t: loops; never more than connections
  std::optional<double> rate{};     ///< --rate: open model at this many requests/s in all
  std::optional<std::chrono::milliseconds> timeout{};  ///< a request idle this long fails (timeout)
  bool keep_alive = true;           ///< Agent keepAlive; false sends Connection: close
  std::chrono::milliseconds warmup{0};  ///< load before measuring; its requests are not counted
  bool fail_status = false;         ///< --fail: statuses >= 400 count as errors
  /// How long requests in flight when a duration ends (or on Ctrl-C) may still finish; the ones
  /// still in flight then are cancelled and counted as unfinished.
  std::chrono::milliseconds grace{500};
};

/// What the progress view shows, taken while the run goes on.
struct Progress {
  double elapsed_seconds = 0;  ///< since measuring began (negative during warm-up)
  std::uint64_t done = 0;      ///< requests with an outcome, measured ones only
  std::uint64_t errors = 0;
  bool warming_up = false;
};

/// Checks `options` (URL, counts) and throws std::invalid_argument with a one-line message.
void validate(const LoadOptions& options);

/// Runs the load (of options validate() accepted) and returns what was measured. Blocks; SIGINT/SIGTERM stop it early (the report
/// then covers what was done and `interrupted` is set). `on_progress` is called on the calling
/// thread about four times a second while it runs.
Report run_load(const LoadOptions& options, const std::function<void(const Progress&)>& on_progress = {});

}  // namespace httpx::app::bench
