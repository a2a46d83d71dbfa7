/// `httpx serve`: validators (ETag, Last-Modified) and conditional requests, RFC 9110 §8.8 and §13.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace httpx::app {

/// The preconditions of a request, as the header values it carried (nullopt: absent).
struct Preconditions {
  std::optional<std::string_view> if_match{};
  std::optional<std::string_view> if_none_match{};
  std::optional<std::string_view> if_modified_since{};
  std::optional<std::string_view> if_unmodified_since{};
};

/// What to do after evaluating the preconditions.
enum class ConditionalResult {
  proceed,              ///< answer normally
  not_modified,         ///< 304
  precondition_failed,  ///< 412
};

/// Evaluates `p` for a GET or HEAD (`safe` true) or another method, against the representation's
/// strong `etag` (with its quotes) and `last_modified` (seconds), in RFC 9110 §13.2.2's order:
/// If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since (GET/HEAD only).
/// Invalid dates are ignored, as §13.1.3 and §13.1.4 require.
ConditionalResult evaluate_preconditions(const Preconditions& p, bool safe, std::string_view etag,
                                         std::time_t last_modified);

/// Whether a Range may be honoured given `if_range` (§13.1.5): an entity tag must match `etag`
/// strongly; a date must equal `last_modified` exactly (and, being a weak validator otherwise,
/// only counts when the file is older than a second, §8.8.2.2 — `now` is the current time).
bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t last_modified, std::time_t now);

/// True when the entity-tag list `list` (`*` or `"a", W/"b"`) holds `etag`; `weak` chooses
/// the weak comparison (W/ prefixes ignored) over the strong one (§8.8.3.2).
bool etag_list_matches(std::string_view list, std::string_view etag, bool weak);

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
std::string format_http_date(std::time_t t);

/// Parses an HTTP-date in any of the three forms of §5.6.7 (IMF-fixdate, RFC 850, asctime).
std::optional<std::time_t> parse_http_date(std::string_view text);

}  // namespace httpx::app
