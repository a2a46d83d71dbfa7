#include "detail/http_text.hpp"

namespace httpx::http::detail {
namespace {
bool word_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
}  // namespace

bool contains_word(std::string_view value, std::string_view word) noexcept {
  for (std::size_t i = 0; i + word.size() <= value.size(); ++i) {
    bool match = true;
    for (std::size_t j = 0; j < word.size() && match; ++j) match = ascii_lower(value[i + j]) == word[j];
    if (!match) continue;
    const bool before = i == 0 || !word_char(value[i - 1]);
    const bool after = i + word.size() == value.size() || !word_char(value[i + word.size()]);
    if (before && after) return true;
  }
  return false;
}

}  // namespace httpx::http::detail
