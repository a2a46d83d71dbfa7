#include "httpx/serve/echo.hpp"

#include <nlohmann/json.hpp>

#include "httpx/message_json.hpp"

namespace httpx::app {

using nlohmann::ordered_json;

std::string echo_json(http::IncomingMessage& req, std::string_view body) {
  ordered_json out = ordered_json::object();
  out["method"] = head_text(req.method());
  out["url"] = head_text(req.url());
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
