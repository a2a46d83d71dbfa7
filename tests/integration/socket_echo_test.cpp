// A Socket and a Server talking over 127.0.0.1: connect, echo through pipe(), half-close, close.
#include "httpx/net/server.hpp"
#include "httpx/net/socket.hpp"

#include <gtest/gtest.h>

#include "support/support.hpp"

namespace httpx::net {
namespace {

using namespace std::chrono_literals;

TEST(SocketEchoTest, EchoesThroughPipeAndClosesBothEnds) {
  core::Loop loop;
  auto server = Server::create(loop);
  server->events().connection.on([](const std::shared_ptr<Socket>& s) { s->pipe(s); });
  std::string received;
  std::vector<std::string> order;
  // Held here, not captured by its own listeners: that would be a reference cycle.
  std::shared_ptr<Socket> client;
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   const int port = server->address()->port;
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = port});
                   client->events().connect.on([&] { order.push_back("connect"); });
                   client->events().data.on([&](std::string_view d) { received += d; });
                   client->events().end.on([&] { order.push_back("end"); });
                   client->events().finish.on([&] { order.push_back("finish"); });
                   client->events().close.on([&] {
                     order.push_back("close");
                     server->close();
                   });
                   client->write("hello ");
                   client->end("world");
                 }));
  ASSERT_TRUE(loop.run_for(10s));
  EXPECT_EQ(received, "hello world");
  EXPECT_EQ(order, (std::vector<std::string>{"connect", "finish", "end", "close"}));
}

}  // namespace
}  // namespace httpx::net
