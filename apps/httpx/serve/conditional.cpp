#include "httpx/serve/conditional.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "httpx/field_text.hpp"

namespace httpx::app {
namespace {

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(std::string_view m) {
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[static_cast<std::size_t>(i)]) return i;
  }
  return -1;
}

// Reads exactly `n` digits at `s[pos]`.
bool read_number(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, std::string_view what) {
  if (s.substr(pos, what.size()) != what) return false;
  pos += what.size();
  return true;
}

// "HH:MM:SS" at pos.
bool read_time(std::string_view s, std::size_t& pos, std::tm& tm) {
  return read_number(s, pos, 2, tm.tm_hour) && expect(s, pos, ":") && read_number(s, pos, 2, tm.tm_min) &&
         expect(s, pos, ":") && read_number(s, pos, 2, tm.tm_sec);
}

bool read_month(std::string_view s, std::size_t& pos, std::tm& tm) {
  tm.tm_mon = month_index(s.substr(pos, 3));
  pos += 3;
  return tm.tm_mon >= 0;
}

std::optional<std::time_t> finish(const std::tm& parsed) {
  if (parsed.tm_mday < 1 || parsed.tm_mday > 31 || parsed.tm_hour > 23 || parsed.tm_min > 59 || parsed.tm_sec > 60) {
    return std::nullopt;
  }
  std::tm tm = parsed;
  return ::timegm(&tm);
}

// One entity tag at the start of `s` (`"x"` or `W/"x"`); advances past it.
std::optional<std::string_view> next_etag(std::string_view& s, bool& weak) {
  s = trim_ows(s);
  weak = s.starts_with("W/");
  const std::size_t open = weak ? 2 : 0;
  if (s.size() <= open || s[open] != '"') return std::nullopt;
  const auto close = s.find('"', open + 1);
  if (close == std::string_view::npos) return std::nullopt;
  const auto tag = s.substr(open, close - open + 1);
  s.remove_prefix(close + 1);
  return tag;
}

}  // namespace

bool etag_list_matches(std::string_view list, std::string_view etag, bool weak_compare) {
  list = trim_ows(list);
  if (list == "*") return true;
  const bool ours_weak = etag.starts_with("W/");
  const std::string_view ours = ours_weak ? etag.substr(2) : etag;
  while (!list.empty()) {
    bool weak = false;
    const auto tag = next_etag(list, weak);
    if (!tag) return false;
    if (*tag == ours && (weak_compare || (!weak && !ours_weak))) return true;
    list = trim_ows(list);
    if (list.empty()) break;
    if (list.front() != ',') return false;
    list.remove_prefix(1);
  }
  return false;
}

ConditionalResult evaluate_preconditions(const Preconditions& p, bool safe, std::string_view etag,
                                         std::time_t last_modified) {
  // Step 1 and 2 (§13.2.2): If-Match, else If-Unmodified-Since.
  if (p.if_match) {
    if (!etag_list_matches(*p.if_match, etag, false)) return ConditionalResult::precondition_failed;
  } else if (p.if_unmodified_since) {
    if (const auto date = parse_http_date(*p.if_unmodified_since); date && last_modified > *date) {
      return ConditionalResult::precondition_failed;
    }
  }
  // Step 3 and 4: If-None-Match, else If-Modified-Since (GET and HEAD only).
  if (p.if_none_match) {
    if (etag_list_matches(*p.if_none_match, etag, true)) {
      return safe ? ConditionalResult::not_modified : ConditionalResult::precondition_failed;
    }
  } else if (safe && p.if_modified_since) {
    if (const auto date = parse_http_date(*p.if_modified_since); date && last_modified <= *date) {
      return ConditionalResult::not_modified;
    }
  }
  return ConditionalResult::proceed;
}

bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t last_modified, std::time_t now) {
  if_range = trim_ows(if_range);
  if (if_range.starts_with("\"") || if_range.starts_with("W/")) {
    bool weak = false;
    std::string_view rest = if_range;
    const auto tag = next_etag(rest, weak);
    return tag && !weak && trim_ows(rest).empty() && *tag == etag;
  }
  const auto date = parse_http_date(if_range);
  return date && *date == last_modified && now - last_modified >= 1;
}

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[static_cast<std::size_t>(tm.tm_wday)],
                tm.tm_mday, kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
  s = trim_ows(s);
  std::tm tm{};
  std::size_t pos = 0;
  const auto comma = s.find(',');
  if (comma == 3) {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    pos = 4;
    int year = 0;
    if (!expect(s, pos, " ") || !read_number(s, pos, 2, tm.tm_mday) || !expect(s, pos, " ") ||
        !read_month(s, pos, tm) || !expect(s, pos, " ") || !read_number(s, pos, 4, year) || !expect(s, pos, " ") ||
        !read_time(s, pos, tm) || !expect(s, pos, " GMT") || pos != s.size()) {
      return std::nullopt;
    }
    tm.tm_year = year - 1900;
    return finish(tm);
  }
  if (comma != std::string_view::npos) {
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: 70..99 are 19xx, §5.6.7)
    pos = comma + 1;
    int year = 0;
    if (!expect(s, pos, " ") || !read_number(s, pos, 2, tm.tm_mday) || !expect(s, pos, "-") ||
        !read_month(s, pos, tm) || !expect(s, pos, "-") || !read_number(s, pos, 2, year) || !expect(s, pos, " ") ||
        !read_time(s, pos, tm) || !expect(s, pos, " GMT") || pos != s.size()) {
      return std::nullopt;
    }
    tm.tm_year = year < 70 ? year + 100 : year;
    return finish(tm);
  }
  // asctime: Sun Nov  6 08:49:37 1994
  pos = 3;
  int year = 0;
  if (s.size() != 24 || !expect(s, pos, " ") || !read_month(s, pos, tm) || !expect(s, pos, " ")) return std::nullopt;
  if (s[pos] == ' ') {
    ++pos;
    if (!read_number(s, pos, 1, tm.tm_mday)) return std::nullopt;
  } else if (!read_number(s, pos, 2, tm.tm_mday)) {
    return std::nullopt;
  }
  if (!expect(s, pos, " ") || !read_time(s, pos, tm) || !expect(s, pos, " ") || !read_number(s, pos, 4, year)) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  return finish(tm);
}

}  // namespace httpx::app
