/// What a load run measured, and its two pictures: the JSON object (lossless, so runs merge) and the
/// readable report.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "httpx/bench/histogram.hpp"

namespace httpx::app::bench {

/// Failed requests by what failed.
struct ErrorCounts {
  std::uint64_t connect = 0;  ///< no connection: refused, unreachable, lookup failed
  std::uint64_t read = 0;     ///< the connection broke while waiting for or reading the response
  std::uint64_t write = 0;    ///< the connection broke while the request was being sent
  std::uint64_t timeout = 0;  ///< --timeout passed without data
  std::uint64_t parse = 0;    ///< the response was not valid HTTP (llhttp's HPE_* codes)
  std::uint64_t status = 0;   ///< a status >= 400, counted as an error only with --fail

  std::uint64_t total() const noexcept { return connect + read + write + timeout + parse + status; }
  void merge(const ErrorCounts& o) noexcept;
  friend bool operator==(const ErrorCounts&, const ErrorCounts&) = default;
};

/// The numbers of one run (or of several merged).
struct Results {
  Histogram latency;                              ///< µs, per request from its start (or due time)
  std::map<int, std::uint64_t> status_codes;      ///< every response, error statuses included
  std::uint64_t ok = 0;                           ///< complete responses not counted as errors
  ErrorCounts errors;
  std::uint64_t unfinished = 0;                   ///< in flight when the run stopped: no outcome
  std::uint64_t bytes = 0;                        ///< response body bytes
  double seconds = 0;                             ///< measured wall time
  double rps = 0;                                 ///< (ok + errors) / seconds; merged runs add up
  double bytes_per_second = 0;                    ///< bytes / seconds; merged runs add up

  std::uint64_t total() const noexcept { return ok + errors.total(); }
  /// Sets rps and bytes_per_second from the counts and `elapsed_seconds`.
  void finish(double elapsed_seconds);
  /// Adds `other` as a run beside this one: counts and rates add, seconds is the longer run's.
  void merge(const Results& other);
};

/// How the load was made; printed in the report and kept in the JSON.
struct RunInfo {
  std::string url;
  std::string method = "GET";
  std::uint64_t connections = 0;
  std::uint64_t threads = 0;
  std::optional<double> rate{};  ///< requests/s of the open model; empty: closed model
  bool keep_alive = true;
  bool interrupted = false;      ///< stopped early by SIGINT/SIGTERM
};

struct Report {
  RunInfo info;
  Results results;
};

/// The JSON object of `httpx bench --format json` (latency in milliseconds; `histogram` lossless).
nlohmann::ordered_json to_json(const Report& report);
/// Reads an object written by to_json back. Throws std::runtime_error naming what is wrong.
Report from_json(const nlohmann::json& json);
/// Merges reports of runs made side by side (see Results::merge); `info` sums connections, threads
/// and rates, and keeps the URL when every run had the same.
Report merge_reports(const std::vector<Report>& reports);

/// The readable report: summary, latency table and a distribution bar chart. `unicode` draws the
/// bars with block characters, otherwise with '#'.
std::string text_report(const Report& report, bool unicode);

/// Milliseconds, as the JSON and thresholds give latency.
inline double to_ms(double us) { return us / 1000.0; }

}  // namespace httpx::app::bench
