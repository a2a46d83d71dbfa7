/// The umbrella header of libhttp: everything a user of the library needs.
#pragma once

#include "httpx/core/abort.hpp"
#include "httpx/core/encoding.hpp"
#include "httpx/core/error.hpp"
#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/core/signals.hpp"
#include "httpx/core/stream.hpp"
#include "httpx/http/agent.hpp"
#include "httpx/http/client_request.hpp"
#include "httpx/http/constants.hpp"
#include "httpx/http/headers.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/options.hpp"
#include "httpx/http/outgoing_message.hpp"
#include "httpx/http/server.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/http/url.hpp"
#include "httpx/net/server.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http {
/// Misuse errors, as `httpx::http::Error` (Node's coded TypeError/RangeError).
using core::Error;
using core::errc;
using core::node_code;
}  // namespace httpx::http
