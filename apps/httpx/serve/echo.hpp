/// `httpx serve --echo`: every request is answered with a JSON picture of itself.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <httpx/http.hpp>

namespace httpx::app {

/// The JSON object `{"method","url","httpVersion","headers","rawHeaders","trailers","rawTrailers","body"}`
/// with each field as Node's IncomingMessage gives it: head fields read as latin1 (Node makes them
/// one-byte strings), the body read as UTF-8, keys in JS order.
std::string echo_json(http::IncomingMessage& req, std::string_view body);

/// Answers every request of `server` with 200 and echo_json() once the body has arrived. While
/// `closing()` says so, answers carry `Connection: close`, so a graceful shutdown does not wait
/// for keep-alive clients to go away.
void attach_echo(http::Server& server, std::function<bool()> closing = {});

}  // namespace httpx::app
