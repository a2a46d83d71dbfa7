#include "httpx/header_lines.hpp"

#include <string_view>

#include "httpx/field_text.hpp"

namespace httpx::app {

http::HeaderList header_list(const std::vector<std::string>& lines) {
  http::HeaderList out;
  for (const auto& line : lines) {
    const auto colon = line.find(':');
    const std::string_view text(line);
    out.emplace_back(std::string(trim_ows(text.substr(0, colon))), std::string(trim_ows(text.substr(colon + 1))));
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
