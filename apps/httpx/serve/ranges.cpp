#include "httpx/serve/ranges.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "httpx/field_text.hpp"

namespace httpx::app {
namespace {

// 1*DIGIT, all of `s`.
std::optional<std::uint64_t> digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  RangeRequest out;
  header = trim_ows(header);
  const auto eq = header.find('=');
  // RFC 9110 §14.1: range-unit is case-insensitive; only "bytes" is known here.
  if (eq == std::string_view::npos || !iequals(trim_ows(header.substr(0, eq)), "bytes")) return out;
  std::string_view set = header.substr(eq + 1);
  std::size_t asked = 0;
  std::vector<ByteRange> ranges;
  while (true) {
    const auto comma = set.find(',');
    const std::string_view spec = trim_ows(set.substr(0, comma));
    if (!spec.empty()) {  // §5.6.1: empty list elements are ignored
      if (++asked > kMaxRanges) return out;
      const auto dash = spec.find('-');
      if (dash == std::string_view::npos) return out;
      const auto first = spec.substr(0, dash), last = spec.substr(dash + 1);
      if (first.empty()) {
        // suffix-range: the last N bytes; N = 0 is unsatisfiable (§14.1.2).
        const auto n = digits(last);
        if (!n) return out;
        if (*n > 0 && size > 0) ranges.push_back({*n >= size ? 0 : size - *n, size - 1});
      } else {
        const auto a = digits(first);
        if (!a) return out;
        std::uint64_t b = size == 0 ? 0 : size - 1;
        if (!last.empty()) {
          const auto parsed = digits(last);
          if (!parsed || *parsed < *a) return out;  // last < first: invalid, so the header is ignored
          b = std::min(*parsed, b);
        }
        if (*a < size) ranges.push_back({*a, b});
      }
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (asked == 0) return out;
  if (ranges.empty()) {
    out.kind = RangeRequest::Kind::unsatisfiable;
    return out;
  }
  out.kind = RangeRequest::Kind::partial;
  out.ranges = std::move(ranges);
  return out;
}

std::string content_range(const ByteRange& r, std::uint64_t size) {
  return fmt::format("bytes {}-{}/{}", r.first, r.last, size);
}

}  // namespace httpx::app
