/// `httpx serve --gzip`: content negotiation for encodings and gzip compression (zlib).
#pragma once

#include <string>
#include <string_view>

namespace httpx::app {

/// True when the Accept-Encoding value `header` accepts `coding` ("gzip", "br") with a q-value
/// above 0, directly or through `*` (RFC 9110 §12.5.3).
bool accepts_encoding(std::string_view header, std::string_view coding);

/// `data` compressed as a gzip member (RFC 1952) at zlib's default level.
std::string gzip_compress(std::string_view data);

/// Files smaller than this are not worth compressing on the fly.
inline constexpr std::size_t kGzipMinSize = 256;
/// Files larger than this are not compressed on the fly (they would be read into memory).
inline constexpr std::size_t kGzipMaxSize = 8 * 1024 * 1024;

}  // namespace httpx::app
