// Follows Node's lib/http.js (METHODS, STATUS_CODES, maxHeaderSize, setMaxIdleHTTPParsers),
// lib/_http_common.js (the token and header-character checks) and lib/_http_outgoing.js
// (validateHeaderName, validateHeaderValue).
#include "httpx/http/constants.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <string>

namespace httpx::http {

// The list llhttp's method table produces, sorted, exactly as `node -p http.METHODS` prints it.
const std::vector<std::string> METHODS = {
    "ACL",        "BIND",        "CHECKOUT", "CONNECT",   "COPY",      "DELETE",  "GET",
    "HEAD",       "LINK",        "LOCK",     "M-SEARCH",  "MERGE",     "MKACTIVITY",
    "MKCALENDAR", "MKCOL",       "MOVE",     "NOTIFY",    "OPTIONS",   "PATCH",   "POST",
    "PROPFIND",   "PROPPATCH",   "PURGE",    "PUT",       "QUERY",     "REBIND",  "REPORT",
    "SEARCH",     "SOURCE",      "SUBSCRIBE", "TRACE",    "UNBIND",    "UNLINK",  "UNLOCK",
    "UNSUBSCRIBE",
};

// Node 20's table, including its spellings ("I'm a Teapot", "Payload Too Large") and the
// non-RFC 509.
const std::map<int, std::string> STATUS_CODES = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {102, "Processing"},
    {103, "Early Hints"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {207, "Multi-Status"},
    {208, "Already Reported"},
    {226, "IM Used"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {305, "Use Proxy"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {418, "I'm a Teapot"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Entity"},
    {423, "Locked"},
    {424, "Failed Dependency"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {506, "Variant Also Negotiates"},
    {507, "Insufficient Storage"},
    {508, "Loop Detected"},
    {509, "Bandwidth Limit Exceeded"},
    {510, "Not Extended"},
    {511, "Network Authentication Required"},
};

namespace {

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
// "`" / "|" / "~" / DIGIT / ALPHA. A table keeps the check branch-free per byte, which matters
// because every header name sent passes through it.
constexpr std::array<bool, 256> make_token_table() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) table[c] = true;
  return table;
}

constexpr std::array<bool, 256> token_table = make_token_table();

// Node's default when setMaxIdleHTTPParsers was never called. Atomic because servers run one loop
// per thread and all of them read the limit; relaxed order is enough for a tuning knob.
std::atomic<std::size_t> idle_parsers_limit{1000};

// 2^53 - 1: Number.MAX_SAFE_INTEGER, the upper bound of Node's validateInteger default.
constexpr long long max_safe_integer = 9007199254740991LL;

// What `String(n)` prints for the JS number that `v` becomes. Above 2^53 a long long is rounded
// to a double, and JS prints the shortest digits that identify that double, padded with zeros
// (2^63 - 1 prints as 9223372036854776000).
std::string js_number_string(long long v) {
  if (v >= -max_safe_integer && v <= max_safe_integer) return std::to_string(v);
  const double d = static_cast<double>(v);
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string_view text(buf, static_cast<std::size_t>(result.ptr - buf));
  const auto e = text.find('e');
  std::string out;
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c == '-') {
      out += c;
    } else if (c != '.') {
      digits += c;
    }
  }
  const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  // |d| > 2^53 is an integer, so its shortest digits never reach past the units place.
  digits.append(static_cast<std::size_t>(exponent + 1) - digits.size(), '0');
  return out + digits;
}

// Node's addNumericalSeparator: groups of three digits joined by "_", sign kept in front.
std::string add_numerical_separator(const std::string& value) {
  const std::size_t start = !value.empty() && value[0] == '-' ? 1 : 0;
  std::string grouped;
  std::size_t end = value.size();
  while (end >= start + 4) {
    grouped.insert(0, "_" + value.substr(end - 3, 3));
    end -= 3;
  }
  return value.substr(0, end) + grouped;
}

// Node's ERR_OUT_OF_RANGE prints integers beyond ±2^32 with separators and others as inspect()
// does, which for an integer is its plain decimal form.
std::string out_of_range_received(long long v) {
  const std::string text = js_number_string(v);
  constexpr long long two_to_32 = 4294967296LL;
  return (v > two_to_32 || v < -two_to_32) ? add_numerical_separator(text) : text;
}

}  // namespace

bool check_is_http_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!token_table[c]) return false;
  }
  return true;
}

bool check_invalid_header_char(std::string_view value) noexcept {
  // Node tests /[^\t\x20-\x7e\x80-\xff]/ on the JS string. In UTF-8 the allowed code points are the
  // printable ASCII bytes, HTAB, and U+0080–U+00FF, which are exactly the two-byte sequences
  // C2 80–C2 BF and C3 80–C3 BF. Every other lead byte encodes a code point above U+00FF, is an
  // overlong form, or is not UTF-8 at all, so it is invalid without decoding further.
  const std::size_t n = value.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if ((c >= 0x20 && c <= 0x7E) || c == '\t') continue;
    if ((c == 0xC2 || c == 0xC3) && i + 1 < n) {
      const auto next = static_cast<unsigned char>(value[i + 1]);
      if (next >= 0x80 && next <= 0xBF) {
        ++i;
        continue;
      }
    }
    return true;
  }
  return false;
}

void validate_header_name(std::string_view name, std::string_view label) {
  if (!check_is_http_token(name)) {
    // Node writes `label || 'Header name'`, so an empty label falls back too.
    std::string message(label.empty() ? std::string_view("Header name") : label);
    message += " must be a valid HTTP token [\"";
    message += name;
    message += "\"]";
    throw Error(errc::err_invalid_http_token, std::move(message));
  }
}

void validate_header_value(std::string_view name, std::optional<std::string_view> value) {
  if (!value) {
    std::string message = "Invalid value \"undefined\" for header \"";
    message += name;
    message += '"';
    throw Error(errc::err_http_invalid_header_value, std::move(message));
  }
  if (check_invalid_header_char(*value)) {
    std::string message = "Invalid character in header content [\"";
    message += name;
    message += "\"]";
    throw Error(errc::err_invalid_char, std::move(message));
  }
}

void set_max_idle_http_parsers(long long max) {
  // Node: validateInteger(max, 'max', 1). A long long is always an integer, so only the range
  // check can fail; comparing the integer is the same as comparing the double it becomes, because
  // every long long above 2^53 - 1 rounds to a double that is still above it.
  if (max < 1 || max > max_safe_integer) {
    throw Error(errc::err_out_of_range,
                "The value of \"max\" is out of range. It must be >= 1 && <= 9007199254740991. Received " +
                    out_of_range_received(max));
  }
  idle_parsers_limit.store(static_cast<std::size_t>(max), std::memory_order_relaxed);
}

std::size_t max_idle_http_parsers() noexcept { return idle_parsers_limit.load(std::memory_order_relaxed); }

}  // namespace httpx::http
