#include "httpx/message_json.hpp"

namespace httpx::app {

using nlohmann::ordered_json;

// Node builds header, URL and method strings from the bytes as latin1.
std::string head_text(std::string_view bytes) { return core::decode(bytes, core::Encoding::latin1); }

ordered_json header_object(const http::HeaderMap& headers) {
  ordered_json out = ordered_json::object();
  for (const auto& [name, value] : headers) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      out[head_text(name)] = head_text(*s);
    } else {
      ordered_json list = ordered_json::array();
      for (const auto& v : std::get<std::vector<std::string>>(value)) list.push_back(head_text(v));
      out[head_text(name)] = std::move(list);
    }
  }
  return out;
}

ordered_json string_list(const std::vector<std::string>& values) {
  ordered_json out = ordered_json::array();
  for (const auto& v : values) out.push_back(head_text(v));
  return out;
}

}  // namespace httpx::app
