// Small text helpers shared by the http sources.
#pragma once

#include <string>
#include <string_view>

namespace httpx::http::detail {

/// ASCII lower case (header names are tokens, which are ASCII).
inline char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

/// `s` in ASCII lower case.
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

/// Whether `value` holds `word` (lower case) between non-word characters, case-insensitively.
/// Node: the regular expressions /(?:^|\W)close(?:$|\W)/i and /(?:^|\W)chunked(?:$|\W)/i.
bool contains_word(std::string_view value, std::string_view word) noexcept;

}  // namespace httpx::http::detail
