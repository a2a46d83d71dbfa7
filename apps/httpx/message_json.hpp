/// HTTP message fields as JSON values with Node's strings: what `httpx serve --echo` and
/// `httpx request --format json` print.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include <httpx/http.hpp>

namespace httpx::app {

/// Bytes of a head field (name, value, method, URL, reason) as Node's string: latin1.
std::string head_text(std::string_view bytes);
/// A headers or trailers object: lower-case names in JS key order, array values for set-cookie.
nlohmann::ordered_json header_object(const http::HeaderMap& headers);
/// rawHeaders / rawTrailers.
nlohmann::ordered_json string_list(const std::vector<std::string>& values);

}  // namespace httpx::app
