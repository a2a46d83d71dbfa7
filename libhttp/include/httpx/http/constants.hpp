/// The constants and validators of Node's `http` module: METHODS, STATUS_CODES, maxHeaderSize,
/// validateHeaderName, validateHeaderValue and setMaxIdleHTTPParsers.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "httpx/core/error.hpp"

namespace httpx::http {

/// The exception thrown for misuse of the http layer (Node's coded TypeError/RangeError).
using core::Error;
/// Node's `ERR_*` codes.
using core::errc;

/// The methods the parser supports, in Node's (alphabetical) order.
/// Node: `http.METHODS`.
extern const std::vector<std::string> METHODS;

/// Every standard status code with its reason phrase, e.g. 404 → "Not Found".
/// Node: `http.STATUS_CODES`.
extern const std::map<int, std::string> STATUS_CODES;

/// The default limit, in bytes, on the size of a message's head (request/status line and headers).
/// Node: `http.maxHeaderSize` (16 KiB, the `--max-http-header-size` default).
inline constexpr std::size_t max_header_size = 16384;

/// True when `s` is a non-empty RFC 9110 token (`tchar`: letters, digits and ``!#$%&'*+-.^_`|~``).
/// Node: `checkIsHttpToken` in lib/_http_common.js.
bool check_is_http_token(std::string_view s) noexcept;

/// True when `value` holds a character that may not appear in a header value.
/// `value` is UTF-8 text standing for a JS string; the characters allowed are those Node allows:
/// HTAB, U+0020–U+007E and U+0080–U+00FF. Anything else — controls, DEL, code points above U+00FF,
/// and bytes that are not valid UTF-8 — makes it invalid.
/// Node: `checkInvalidHeaderChar` in lib/_http_common.js.
bool check_invalid_header_char(std::string_view value) noexcept;

/// Checks that `name` can be sent as a header name (a token).
/// Throws `Error` `err_invalid_http_token` with Node's message
/// `<label> must be a valid HTTP token ["<name>"]`; an empty `label` means "Header name", as in Node.
/// Node: `http.validateHeaderName(name[, label])`.
void validate_header_name(std::string_view name, std::string_view label = "Header name");

/// Checks that `value` can be sent as the value of header `name`; `std::nullopt` stands for JS
/// `undefined`.
/// Throws `Error` `err_http_invalid_header_value` (`Invalid value "undefined" for header "<name>"`)
/// for nullopt, `err_invalid_char` (`Invalid character in header content ["<name>"]`) when
/// `check_invalid_header_char(*value)`.
/// Node: `http.validateHeaderValue(name, value)`.
void validate_header_value(std::string_view name, std::optional<std::string_view> value);

/// Sets how many idle parsers the parser pool keeps for reuse.
/// Throws `Error` `err_out_of_range` with Node's message unless 1 <= max <= 2^53 - 1; the limit is
/// then unchanged. May be called from any thread.
/// Node: `http.setMaxIdleHTTPParsers(max)`.
void set_max_idle_http_parsers(long long max);

/// The current idle-parser limit that the parser pool reads (default 1000).
/// Node: the `max` of the `parsers` FreeList in lib/_http_common.js.
std::size_t max_idle_http_parsers() noexcept;

}  // namespace httpx::http
