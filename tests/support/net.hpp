// Helpers shared by the tests that use net::Socket and net::Server.
#pragma once

#include <memory>

#include "httpx/net/socket.hpp"

namespace httpx::test {

/// A 'connection' listener that ends its side and consumes the peer's, so the socket closes.
inline void end_and_drain(const std::shared_ptr<net::Socket>& s) {
  s->resume();
  s->end();
}

}  // namespace httpx::test
