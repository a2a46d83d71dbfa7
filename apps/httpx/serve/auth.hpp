/// `httpx serve --auth user:pass`: HTTP Basic authentication (RFC 7617).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace httpx::app {

/// Decodes standard base64 (with or without padding); nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);

/// The `user:pass` of an Authorization value `Basic <base64>` (scheme in any case), or nullopt.
std::optional<std::string> basic_credentials(std::string_view authorization);

/// Compares in time that depends only on the lengths, so a wrong password's prefix does not show.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace httpx::app
