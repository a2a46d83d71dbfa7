#include "httpx/header_lines.hpp"

#include <string_view>

namespace httpx::app {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

http::HeaderList header_list(const std::vector<std::string>& lines) {
  http::HeaderList out;
  for (const auto& line : lines) {
    const auto colon = line.find(':');
    out.emplace_back(trim(std::string_view(line).substr(0, colon)), trim(std::string_view(line).substr(colon + 1)));
  }
  return out;
}

CLI::Validator header_line_check() {
  return CLI::Validator(
      [](const std::string& line) {
        return line.find(':') == std::string::npos ? std::string("expected 'Name: value', got '" + line + "'")
                                                   : std::string();
      },
      "");
}

}  // namespace httpx::app
