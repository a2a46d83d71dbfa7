/// URL parsing as Node's `new URL()` does it (WHATWG URL Standard) and the URL → request options merge
/// of `http.request(url, options)`.
#pragma once

#include <string>
#include <string_view>

#include "httpx/http/options.hpp"

namespace httpx::http {

/// A parsed absolute URL, with the WHATWG URL fields Node's `new URL()` exposes.
/// Every field is already serialised: percent-encoded where the standard encodes, host in its
/// canonical form.
/// Node: a `URL` instance (its `href`, `protocol`, `username`, ... getters).
struct Url {
  std::string href;      ///< The whole serialised URL; Node: url.href.
  std::string protocol;  ///< Scheme plus ':', lower-cased, e.g. "http:"; Node: url.protocol.
  std::string username;  ///< Percent-encoded user name, "" when absent; Node: url.username.
  std::string password;  ///< Percent-encoded password, "" when absent; Node: url.password.
  std::string host;      ///< hostname plus ":port" when the port is not the default; Node: url.host.
  std::string hostname;  ///< Canonical host; an IPv6 address keeps its brackets, "[::1]"; Node: url.hostname.
  std::string port;      ///< Decimal port, "" when absent or the scheme's default; Node: url.port.
  std::string pathname;  ///< Path with dot segments resolved, "/" at least; Node: url.pathname.
  std::string search;    ///< "?query", or "" when the query is absent or empty; Node: url.search.
  std::string hash;      ///< "#fragment", or "" when absent or empty; Node: url.hash.
};

/// Parses an absolute URL whose scheme is http:, https:, ws: or wss:.
/// Node: `new URL(input)`, followed by the protocol check `http.request()` makes.
/// Throws `core::Error(errc::err_invalid_url, "Invalid URL")` for a string `new URL()` rejects, and
/// `core::Error(errc::err_invalid_protocol, "Protocol \"ftp:\" not supported. Expected \"http:\"")`
/// for a valid URL of any other scheme. Invalid UTF-8 in `input` reads as U+FFFD, as it would in
/// a JS string. Non-ASCII host names go through IDNA (UTS #46 mapping, then punycode) for Latin,
/// Greek, Cyrillic, Armenian, Georgian, Thai, kana, CJK, Hangul, emoji and full-width forms; host
/// characters that would need the full UTS #46 tables (other scripts, symbols, combining marks
/// NFC would compose) are rejected with err_invalid_url where Node accepts them.
Url parse_url(std::string_view input);

/// Converts a parsed URL to request options.
/// Node: `url.urlToHttpOptions(url)`: protocol; hostname (an IPv6 address without brackets);
/// port only when the URL has one; path = pathname + search (never the fragment); auth =
/// "user:password", both percent-decoded, only when either is non-empty. `host` is left unset.
/// Throws `core::Error(errc::err_invalid_url, "URI malformed")` where Node's `decodeURIComponent`
/// throws its URIError (a user name or password holding `%zz` or an invalid UTF-8 escape).
RequestOptions url_to_http_options(const Url& url);

/// The options `http.request(url, options)` works with: `url_to_http_options(url)` with every field
/// set in `options` taking precedence.
/// Node: `Object.assign(urlToHttpOptions(new URL(url)), options)` in ClientRequest. Like Node, an
/// options `host` does not displace the URL's `hostname`: both are kept and the request connects to
/// `hostname` (it wins over `host`), so only an options `hostname` changes the target host.
/// Throws as `url_to_http_options` does.
RequestOptions merge_url_options(const Url& url, const RequestOptions& options);

}  // namespace httpx::http
