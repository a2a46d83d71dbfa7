#include "httpx/serve/auth.hpp"

namespace httpx::app {

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

std::optional<std::string> basic_credentials(std::string_view authorization) {
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  const auto space = authorization.find(' ');
  if (space != 5) return std::nullopt;
  const auto scheme = authorization.substr(0, 5);
  for (std::size_t i = 0; i < 5; ++i) {
    if ((scheme[i] | 0x20) != "basic"[i]) return std::nullopt;
  }
  auto rest = authorization.substr(6);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  auto decoded = base64_decode(rest);
  if (!decoded || decoded->find(':') == std::string::npos) return std::nullopt;
  return decoded;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Lengths differ: still walk `a` (against itself), so the time does not say where it differs.
  const std::string_view other = a.size() == b.size() ? b : a;
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ other[i]);
  return diff == 0;
}

}  // namespace httpx::app
