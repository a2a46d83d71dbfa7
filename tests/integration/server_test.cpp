// net::Server over real listeners on 127.0.0.1, ::1, the dual-stack wildcard and a Unix path:
// 'listening' and address(), misuse errors, EADDRINUSE, close() waiting for connections,
// max_connections and 'drop', reuse_port, and the loop reference a listener holds. Orders and
// codes were checked first against Node 20 (net.createServer, server.close, maxConnections).
#include "httpx/net/server.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "httpx/net/socket.hpp"
#include "support/net.hpp"
#include "support/support.hpp"

namespace httpx::net {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;

// Far more than any test needs; reaching it means something did not finish by itself.
constexpr auto kLimit = 10s;

using test::TempDir;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

using test::end_and_drain;

TEST(ServerTest, EmitsListeningThenReportsTheAddress) {
  core::Loop loop;
  auto server = Server::create(loop);
  EXPECT_FALSE(server->address());
  EXPECT_FALSE(server->listening());
  Log log;
  server->events().listening.on([&] {
    log.push_back("listening");
    const auto address = server->address();
    ASSERT_TRUE(address);
    EXPECT_EQ(address->address, "127.0.0.1");
    EXPECT_EQ(address->family, "IPv4");
    EXPECT_GT(address->port, 0);
    server->close();
  });
  server->events().close.on([&] { log.push_back("close"); });
  server->listen({.port = 0, .host = "127.0.0.1"}, [&] { log.push_back("callback"); });
  // Bound at once, announced on a later tick.
  EXPECT_TRUE(server->listening());
  EXPECT_TRUE(log.empty());
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"listening", "callback", "close"}));
  EXPECT_FALSE(server->listening());
  EXPECT_FALSE(server->address());
}

TEST(ServerTest, ListeningOnTheWildcardAcceptsIpv4AsMappedIpv6) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    end_and_drain(s);
  });
  server->listen({.port = 0}, test::must_call([&] {
                   const auto address = server->address();
                   ASSERT_TRUE(address);
                   EXPECT_EQ(address->address, "::");
                   EXPECT_EQ(address->family, "IPv6");
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = address->port});
                   client->resume();
                   client->events().close.on([&] { server->close(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  ASSERT_TRUE(accepted);
  // Node reports the peers of a dual-stack listener as IPv4-mapped IPv6 addresses.
  EXPECT_EQ(accepted->remote_address(), "::ffff:127.0.0.1");
  EXPECT_EQ(accepted->remote_family(), "IPv6");
  EXPECT_EQ(client->remote_family(), "IPv4");
}

TEST(ServerTest, ListenTwiceThrows) {
  core::Loop loop;
  auto server = Server::create(loop);
  server->listen({.port = 0, .host = "127.0.0.1"});
  try {
    server->listen({.port = 0, .host = "127.0.0.1"});
    ADD_FAILURE() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_SERVER_ALREADY_LISTEN");
    EXPECT_EQ(std::string(e.what()), "Listen method has been called more than once without closing.");
  }
  EXPECT_TRUE(server->listening());
  server->close(test::must_call<std::error_code>([](std::error_code ec) { EXPECT_FALSE(ec); }));
  ASSERT_TRUE(loop.run_for(kLimit));
}

TEST(ServerTest, BadPortThrowsWithNodesMessage) {
  core::Loop loop;
  auto server = Server::create(loop);
  for (int port : {70000, -1}) {
    try {
      server->listen({.port = port, .host = "127.0.0.1"});
      ADD_FAILURE() << "no throw for " << port;
    } catch (const core::Error& e) {
      EXPECT_EQ(e.node_code(), "ERR_SOCKET_BAD_PORT");
      EXPECT_EQ(std::string(e.what()),
                "options.port should be >= 0 and < 65536. Received type number (" + std::to_string(port) + ").");
    }
  }
  EXPECT_FALSE(server->listening());
  EXPECT_FALSE(loop.alive());
}

TEST(ServerTest, EmitsAddressInUseAsAnError) {
  core::Loop loop;
  auto first = Server::create(loop);
  auto second = Server::create(loop);
  Log log;
  first->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                  second->events().listening.on(test::must_not_call());
                  second->events().error.on([&](std::error_code ec) {
                    log.push_back("error:" + core::node_code(ec));
                    EXPECT_FALSE(second->listening());
                    first->close();
                  });
                  // Not thrown: emitted on a later tick, so a listener attached afterwards hears it.
                  EXPECT_NO_THROW(second->listen({.port = first->address()->port, .host = "127.0.0.1"}));
                  log.push_back("listen returned");
                }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"listen returned", "error:EADDRINUSE"}));
  EXPECT_FALSE(second->address());
}

TEST(ServerTest, CloseStopsAcceptingAndWaitsForOpenConnections) {
  core::Loop loop;
  auto server = Server::create(loop);
  Log log;
  std::shared_ptr<Socket> accepted, client, late;
  int port = 0;
  server->events().connection.on(test::must_call<const std::shared_ptr<Socket>&>([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->resume();
    EXPECT_EQ(server->get_connections(), 1u);
    server->close(test::must_call<std::error_code>([&](std::error_code ec) {
      EXPECT_FALSE(ec);
      log.push_back("close callback");
    }));
    EXPECT_FALSE(server->listening());
    // Nothing listens on the port any more.
    late = Socket::create_connection(loop, {.host = "127.0.0.1", .port = port}, test::must_not_call());
    late->events().error.on([&](std::error_code ec) { log.push_back("late:" + core::node_code(ec)); });
    late->events().close.on([&] {
      // The open connection still holds the server's 'close' back; now end it.
      EXPECT_EQ(server->get_connections(), 1u);
      log.push_back("ending connection");
      client->end();
    });
  }));
  server->events().close.on([&] {
    log.push_back("close");
    EXPECT_EQ(server->get_connections(), 0u);
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   port = server->address()->port;
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = port});
                   client->resume();
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"late:ECONNREFUSED", "ending connection", "close", "close callback"}));
  EXPECT_TRUE(client->closed());
  EXPECT_TRUE(accepted->closed());
}

TEST(ServerTest, CloseWhenNotListeningReportsNotRunning) {
  core::Loop loop;
  auto server = Server::create(loop);
  Log log;
  server->events().close.on([&] { log.push_back("close"); });
  server->close([&](std::error_code ec) { log.push_back("callback:" + core::node_code(ec)); });
  EXPECT_TRUE(log.empty());  // never inside the call
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"close", "callback:ERR_SERVER_NOT_RUNNING"}));

  // After a completed close, a second close() is just as "not running".
  log.clear();
  server->listen({.port = 0, .host = "127.0.0.1"}, [&] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"close"}));
  server->close([&](std::error_code ec) { log.push_back("callback:" + core::node_code(ec)); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"close", "close", "callback:ERR_SERVER_NOT_RUNNING"}));
}

TEST(ServerTest, ClosesAgainWhileClosingWithNotRunning) {
  core::Loop loop;
  auto server = Server::create(loop);
  Log log;
  std::shared_ptr<Socket> client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    s->resume();
    server->close([&](std::error_code ec) { log.push_back("first:" + core::node_code(ec)); });
    // Node: a second close() while draining waits for the same 'close' and reports not running.
    server->close([&](std::error_code ec) { log.push_back("second:" + core::node_code(ec)); });
    client->end();
  });
  server->events().close.on([&] { log.push_back("close"); });
  server->listen({.port = 0, .host = "127.0.0.1"}, [&] {
    client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
    client->resume();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"close", "first:", "second:ERR_SERVER_NOT_RUNNING"}));
}

TEST(ServerTest, MaxConnectionsDropsTheExtraConnection) {
  core::Loop loop;
  auto server = Server::create(loop);
  server->max_connections = 1;
  std::shared_ptr<Socket> first, second;
  Log log;
  int dropped_port = -1;
  server->events().connection.on(test::must_call<const std::shared_ptr<Socket>&>([&](const std::shared_ptr<Socket>& s) {
    s->resume();
    log.push_back("connection");
    second = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
    second->resume();
    second->events().end.on([&] { log.push_back("second end"); });
    second->events().close.on([&] {
      log.push_back("second close");
      first->end();
      server->close();
    });
  }));
  server->events().drop.on(test::must_call<const std::string&, int>(
      [&](const std::string& address, int port) {
        log.push_back("drop");
        EXPECT_EQ(address, "127.0.0.1");
        dropped_port = port;
        EXPECT_EQ(server->get_connections(), 1u);
      }));
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   first = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   first->resume();
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"connection", "drop", "second end", "second close"}));
  EXPECT_EQ(dropped_port, second->local_port());
  EXPECT_FALSE(second->errored());
}

TEST(ServerTest, KeepsAcceptedConnectionsAliveUntilTheyClose) {
  core::Loop loop;
  // A one-byte high-water mark: the paused socket stops reading after the first read, so no
  // operation of its own holds it any more.
  auto server = Server::create(loop, {.high_water_mark = 1});
  std::weak_ptr<Socket> weak;
  std::shared_ptr<Socket> client;
  std::shared_ptr<core::Timer> poll;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    weak = s;  // the test keeps no reference
    s->pause();
    poll = loop.set_interval(
        [&] {
          auto socket = weak.lock();
          if (!socket) {
            ADD_FAILURE() << "an open accepted connection was freed";
            poll->close();
            server->close();
            return;
          }
          if (socket->readable_length() == 0) return;  // not read yet
          poll->close();
          EXPECT_EQ(server->get_connections(), 1u);
          socket->events().data.on([](std::string_view) {});
          socket->resume();
          server->close(test::must_call<std::error_code>([](std::error_code ec) { EXPECT_FALSE(ec); }));
        },
        5ms);
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, [&] {
    client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
    client->resume();
    client->end("hello");
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(server->get_connections(), 0u);
}

TEST(ServerTest, ListensOnAUnixPathAndRemovesItOnClose) {
  core::Loop loop;
  TempDir dir;
  const auto path = dir.file("server.sock");
  auto server = Server::create(loop);
  std::string received;
  std::shared_ptr<Socket> client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    s->events().data.on([&](std::string_view d) { received += d; });
    s->end("bye");
  });
  server->listen({.path = path}, test::must_call([&] {
                   const auto address = server->address();
                   ASSERT_TRUE(address);
                   EXPECT_EQ(address->address, path);
                   EXPECT_EQ(address->family, "");
                   EXPECT_EQ(address->port, 0);
                   EXPECT_TRUE(exists(path));
                   client = Socket::create_connection(loop, {.path = path});
                   client->resume();
                   client->end("hi");
                   client->events().close.on([&] { server->close(); });
                 }));
  server->events().close.on(test::must_call([&] { EXPECT_FALSE(exists(path)); }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(received, "hi");
  EXPECT_FALSE(exists(path));
}

TEST(ServerTest, UnixPathInUseIsAnError) {
  core::Loop loop;
  TempDir dir;
  const auto path = dir.file("busy.sock");
  auto first = Server::create(loop);
  auto second = Server::create(loop);
  first->listen({.path = path}, test::must_call([&] {
                  second->events().error.on(test::must_call<std::error_code>([&](std::error_code ec) {
                    EXPECT_EQ(core::node_code(ec), "EADDRINUSE");
                    EXPECT_TRUE(exists(path));
                    first->close();
                  }));
                  second->listen({.path = path});
                }));
  ASSERT_TRUE(loop.run_for(kLimit));
  // The failed listener left the path alone; its owner removed it on close.
  EXPECT_FALSE(exists(path));
}

TEST(ServerTest, ListensOnIpv6Loopback) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    end_and_drain(s);
  });
  server->listen({.port = 0, .host = "::1"}, test::must_call([&] {
                   const auto address = server->address();
                   ASSERT_TRUE(address);
                   EXPECT_EQ(address->address, "::1");
                   EXPECT_EQ(address->family, "IPv6");
                   client = Socket::create_connection(loop, {.host = "::1", .port = address->port});
                   client->resume();
                   client->events().close.on([&] { server->close(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->remote_address(), "::1");
  EXPECT_EQ(accepted->remote_family(), "IPv6");
}

TEST(ServerTest, ReusePortLetsTwoServersShareAPort) {
  core::Loop loop;
  auto first = Server::create(loop);
  auto second = Server::create(loop);
  int accepted = 0;
  std::shared_ptr<Socket> client;
  for (auto* s : {&first, &second}) {
    (*s)->events().connection.on([&](const std::shared_ptr<Socket>& c) {
      ++accepted;
      end_and_drain(c);
    });
  }
  first->listen({.port = 0, .host = "127.0.0.1", .reuse_port = true}, test::must_call([&] {
                  const int port = first->address()->port;
                  second->events().error.on(test::must_not_call<std::error_code>());
                  second->listen({.port = port, .host = "127.0.0.1", .reuse_port = true}, test::must_call([&, port] {
                                   EXPECT_EQ(second->address()->port, port);
                                   // Either listener may take it; exactly one does.
                                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = port});
                                   client->resume();
                                   client->events().close.on([&] {
                                     first->close();
                                     second->close();
                                   });
                                 }));
                }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(accepted, 1);
  EXPECT_FALSE(client->errored());
}

TEST(ServerTest, ListeningKeepsTheLoopAliveUnlessUnrefd) {
  core::Loop loop;
  auto server = Server::create(loop);
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call());
  // Listening and referenced: the loop only ends at the time limit.
  EXPECT_FALSE(loop.run_for(150ms));
  EXPECT_TRUE(server->listening());

  server->unref();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(server->listening());
  EXPECT_FALSE(loop.alive());

  // Still accepting while unreferenced: a referenced client keeps the loop going meanwhile.
  std::shared_ptr<Socket> client;
  server->events().connection.on(test::must_call<const std::shared_ptr<Socket>&>(end_and_drain));
  client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
  client->resume();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(client->closed());
  EXPECT_FALSE(client->errored());

  server->ref();
  EXPECT_FALSE(loop.run_for(100ms));
  server->close(test::must_call<std::error_code>({}));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(loop.alive());
}

TEST(ServerTest, PauseOnConnectReadsNothingUntilResumed) {
  core::Loop loop;
  auto server = Server::create(loop, {.pause_on_connect = true});
  std::shared_ptr<Socket> accepted, client;
  std::string received;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    EXPECT_TRUE(s->is_paused());
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->write("hello", [&](std::error_code ec) {
                     EXPECT_FALSE(ec);
                     // The bytes are in the server's kernel buffer by now; give the loop time to
                     // (wrongly) read them before looking.
                     loop.set_timeout(
                         [&] {
                           ASSERT_TRUE(accepted);
                           EXPECT_EQ(accepted->bytes_read(), 0u);
                           EXPECT_EQ(accepted->readable_length(), 0u);
                           accepted->events().data.on([&](std::string_view d) {
                             received += d;
                             client->destroy();
                             accepted->destroy();
                             server->close();
                           });
                           accepted->resume();
                         },
                         50ms);
                   });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(received, "hello");
}

TEST(ServerTest, ListensWithTheRequestedBacklog) {
  // The kernel shows a listener's backlog as its Send-Q in `ss -ltn`.
  if (test::run_process({"ss", "-V"}).exit_code != 0) GTEST_SKIP() << "ss (iproute2) is not installed";
  core::Loop loop;
  auto server = Server::create(loop);
  server->listen({.port = 0, .host = "127.0.0.1", .backlog = 37});
  const int port = server->address()->port;
  const auto r = test::run_process({"ss", "-ltnH", "sport = :" + std::to_string(port)});
  EXPECT_NE(r.out.find(" 37 "), std::string::npos) << r.out;
  server->close();
  ASSERT_TRUE(loop.run_for(kLimit));
}

}  // namespace
}  // namespace httpx::net
