#include "httpx/serve/echo.hpp"

#include <nlohmann/json.hpp>

namespace httpx::app {
namespace {

using nlohmann::ordered_json;

// Node builds header, URL and method strings from the bytes as latin1.
std::string text(std::string_view bytes) { return core::decode(bytes, core::Encoding::latin1); }

ordered_json header_object(const http::HeaderMap& headers) {
  ordered_json out = ordered_json::object();
  for (const auto& [name, value] : headers) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      out[text(name)] = text(*s);
    } else {
      ordered_json list = ordered_json::array();
      for (const auto& v : std::get<std::vector<std::string>>(value)) list.push_back(text(v));
      out[text(name)] = std::move(list);
    }
  }
  return out;
}

ordered_json string_list(const std::vector<std::string>& values) {
  ordered_json out = ordered_json::array();
  for (const auto& v : values) out.push_back(text(v));
  return out;
}

}  // namespace

std::string echo_json(http::IncomingMessage& req, std::string_view body) {
  ordered_json out = ordered_json::object();
  out["method"] = text(req.method());
  out["url"] = text(req.url());
  out["httpVersion"] = req.http_version();
  out["headers"] = header_object(req.headers());
  out["rawHeaders"] = string_list(req.raw_headers());
  out["trailers"] = header_object(req.trailers());
  out["rawTrailers"] = string_list(req.raw_trailers());
  // Node: Buffer.concat(chunks).toString() — invalid UTF-8 becomes U+FFFD.
  out["body"] = core::decode(body, core::Encoding::utf8);
  return out.dump();
}

void attach_echo(http::Server& server, std::function<bool()> closing) {
  server.events().request.on([closing](const std::shared_ptr<http::IncomingMessage>& req,
                                       const std::shared_ptr<http::ServerResponse>& res) {
    auto body = std::make_shared<std::string>();
    req->events().data.on([body](std::string_view chunk) { body->append(chunk); });
    // The listener lives inside `req`, which `res` holds: a raw pointer back to `req` and a weak
    // one to `res`, so neither keeps itself alive.
    std::weak_ptr<http::ServerResponse> weak_res = res;
    req->events().end.once([req = req.get(), weak_res, body, closing] {
      auto res = weak_res.lock();
      if (!res) return;
      res->set_header("Content-Type", "application/json");
      if (closing && closing()) res->set_header("Connection", "close");
      res->end(echo_json(*req, *body));
    });
  });
}

}  // namespace httpx::app
