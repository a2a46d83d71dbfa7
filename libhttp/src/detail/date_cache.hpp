// The value of the Date header (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once a second per
// thread. Node: utcDate() in lib/internal/http.js, which caches the string for the current second.
#pragma once

#include <string_view>

namespace httpx::http::detail {

/// "Sun, 06 Nov 1994 08:49:37 GMT" for now; valid until the next call on this thread.
std::string_view utc_date();

}  // namespace httpx::http::detail
