/// `httpx serve`: one access-log line per response, in the short text form, Common or Combined
/// Log Format, or JSON; written to stderr or a file, from any of the server's threads.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>

namespace httpx::app {

/// The formats of `--log-format` (`text` is the default: `PEER "METHOD URL HTTP/V" STATUS`).
enum class LogFormat { text, common, combined, json };

/// What one line says about a response.
struct AccessRecord {
  std::string remote;
  std::string user;  ///< the Basic-auth user, or ""
  std::string method;
  std::string url;
  std::string version;  ///< "1.1"
  int status = 0;
  std::optional<std::uint64_t> bytes;  ///< body bytes sent (nullopt: unknown)
  std::string referer;
  std::string user_agent;
  std::time_t time = 0;
  double duration_ms = 0;
};

/// The line for `r` (without newline). JSON lines are objects with `"event":"request"`.
std::string format_access_line(const AccessRecord& r, LogFormat format);

/// Where lines go: a file opened for appending, or stderr. Lines from several threads never
/// interleave (one lock around each write).
class AccessLog {
 public:
  /// Logs to stderr.
  AccessLog() = default;
  /// Opens `path` for appending; returns the error text (strerror) when it cannot.
  std::optional<std::string> open(const std::string& path);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  /// Writes `line` and a newline, flushed.
  void write(const std::string& line);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace httpx::app
