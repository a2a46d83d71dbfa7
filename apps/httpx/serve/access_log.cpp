#include "httpx/serve/access_log.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace httpx::app {
namespace {

// CLF's `[10/Oct/2000:13:55:36 +0000]` (always UTC).
std::string clf_time(std::time_t t) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000", tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// Quotes and backslashes in a quoted CLF field are escaped, so a request cannot forge a line.
std::string clf_quoted(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string format_access_line(const AccessRecord& r, LogFormat format) {
  const std::string request = clf_quoted(fmt::format("{} {} HTTP/{}", r.method, r.url, r.version));
  const std::string bytes = r.bytes ? std::to_string(*r.bytes) : "-";
  switch (format) {
    case LogFormat::text:
      return fmt::format("{} \"{}\" {}", r.remote, request, r.status);
    case LogFormat::common:
      return fmt::format("{} - {} [{}] \"{}\" {} {}", r.remote, r.user.empty() ? "-" : clf_quoted(r.user),
                         clf_time(r.time), request, r.status, bytes);
    case LogFormat::combined:
      return fmt::format("{} - {} [{}] \"{}\" {} {} \"{}\" \"{}\"", r.remote, r.user.empty() ? "-" : clf_quoted(r.user),
                         clf_time(r.time), request, r.status, bytes, r.referer.empty() ? "-" : clf_quoted(r.referer),
                         r.user_agent.empty() ? "-" : clf_quoted(r.user_agent));
    case LogFormat::json: {
      nlohmann::ordered_json j = {{"event", "request"},  {"time", clf_time(r.time)}, {"remote", r.remote},
                                  {"method", r.method},  {"url", r.url},             {"httpVersion", r.version},
                                  {"status", r.status}};
      j["bytes"] = r.bytes ? nlohmann::ordered_json(*r.bytes) : nlohmann::ordered_json(nullptr);
      j["user"] = r.user;
      j["referer"] = r.referer;
      j["userAgent"] = r.user_agent;
      j["durationMs"] = r.duration_ms;
      return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
  }
  return {};
}

std::optional<std::string> AccessLog::open(const std::string& path) {
  file_ = std::fopen(path.c_str(), "ae");
  if (file_ == nullptr) return std::string(std::strerror(errno));
  return std::nullopt;
}

AccessLog::~AccessLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void AccessLog::write(const std::string& line) {
  const std::lock_guard lock(mutex_);
  std::FILE* out = file_ != nullptr ? file_ : stderr;
  std::fwrite(line.data(), 1, line.size(), out);
  std::fputc('\n', out);
  std::fflush(out);
}

}  // namespace httpx::app
