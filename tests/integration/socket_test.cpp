// net::Socket over real connections on 127.0.0.1, ::1 and a Unix path: connecting (lookup, errors,
// family, local binding), data in both directions, backpressure, half-close, idle timeouts,
// ref/unref and resets. The event orders and error codes were checked first against Node 20 with
// small `net` scripts (for example: 'lookup' precedes 'connect' for names and is absent for IP
// literals; a refused connect gives 'error' ECONNREFUSED then 'close'; 'timeout' fires once per
// idle period; resetAndDestroy gives the peer 'error' ECONNRESET).
#include "httpx/net/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "httpx/net/server.hpp"
#include "support/net.hpp"
#include "support/support.hpp"

namespace httpx::net {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;

// Far more than any test needs; reaching it means something did not finish by itself.
constexpr auto kLimit = 10s;

// Deterministic bytes, so a transfer can be checked end to end.
std::string pattern(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// A TCP socket bound to 127.0.0.1:<ephemeral> but not listening: connecting to it is refused, and
// holding it open keeps anyone else from taking the port while the test runs.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "could not bind a port";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A free port on 127.0.0.1 at the time of the call (bound to port 0, then released).
int free_port() {
  RefusingPort p;
  return p.port();
}

using test::TempDir;

// Records the connect-phase events of `s` into `log`, with the arguments that matter.
void trace_connect(const std::shared_ptr<Socket>& s, Log& log) {
  s->events().lookup.on([&log](std::error_code ec, const std::string& address, int family, const std::string& host) {
    log.push_back("lookup:" + core::node_code(ec) + ":" + address + ":" + std::to_string(family) + ":" + host);
  });
  s->events().connect.on([&log] { log.push_back("connect"); });
  s->events().ready.on([&log] { log.push_back("ready"); });
  s->events().error.on([&log](std::error_code ec) { log.push_back("error:" + core::node_code(ec)); });
  s->events().close.on([&log] { log.push_back("close"); });
}

// Writes `data` in `chunk`-sized pieces, waiting for 'drain' whenever write() says so, then ends.
void write_all_then_end(const std::shared_ptr<Socket>& s, std::shared_ptr<const std::string> data, std::size_t chunk) {
  struct Writer {
    std::weak_ptr<Socket> socket;
    std::shared_ptr<const std::string> data;
    std::size_t chunk = 0;
    std::size_t offset = 0;
    void step(const std::shared_ptr<Writer>& self) {
      auto s = socket.lock();
      if (!s || s->destroyed()) return;
      while (offset < data->size()) {
        const auto n = std::min(chunk, data->size() - offset);
        const bool more = s->write(std::string_view(*data).substr(offset, n));
        offset += n;
        if (!more) {
          s->events().drain.once([self] { self->step(self); });
          return;
        }
      }
      s->end();
    }
  };
  auto writer = std::make_shared<Writer>(Writer{s, std::move(data), chunk, 0});
  writer->step(writer);
}

using test::end_and_drain;

// ---- connecting ----------------------------------------------------------------------------------

TEST(SocketTest, EmitsLookupForHostNamesOnly) {
  core::Loop loop;
  auto server = Server::create(loop);
  server->events().connection.on(end_and_drain);
  Log by_name, by_ip;
  std::shared_ptr<Socket> a, b;
  int closed = 0;
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   const int port = server->address()->port;
                   a = Socket::create_connection(loop, {.host = "localhost", .port = port, .family = 4});
                   b = Socket::create_connection(loop, {.host = "127.0.0.1", .port = port});
                   EXPECT_TRUE(a->connecting());
                   EXPECT_TRUE(a->pending());
                   EXPECT_EQ(a->ready_state(), "opening");
                   trace_connect(a, by_name);
                   trace_connect(b, by_ip);
                   for (auto* s : {&a, &b}) {
                     (*s)->resume();
                     (*s)->events().connect.on([s] {
                       EXPECT_FALSE((*s)->connecting());
                       EXPECT_FALSE((*s)->pending());
                       EXPECT_EQ((*s)->ready_state(), "open");
                     });
                     (*s)->events().close.on([&] {
                       if (++closed == 2) server->close();
                     });
                   }
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(by_name, (Log{"lookup::127.0.0.1:4:localhost", "connect", "ready", "close"}));
  EXPECT_EQ(by_ip, (Log{"connect", "ready", "close"}));
}

TEST(SocketTest, ReportsConnectionRefusedThenCloses) {
  core::Loop loop;
  RefusingPort refusing;
  Log log;
  auto s = Socket::create_connection(loop, {.host = "127.0.0.1", .port = refusing.port()}, test::must_not_call());
  trace_connect(s, log);
  s->events().close.on(test::must_call([&] {
    EXPECT_FALSE(s->connecting());
    EXPECT_EQ(s->ready_state(), "closed");
    EXPECT_EQ(core::node_code(s->errored()), "ECONNREFUSED");
  }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"error:ECONNREFUSED", "close"}));
}

TEST(SocketTest, ThrowsBadPortAndBadFamilyWithNodesMessages) {
  core::Loop loop;
  for (int port : {70000, -1, 65536}) {
    auto s = Socket::create(loop);
    try {
      s->connect({.host = "127.0.0.1", .port = port});
      ADD_FAILURE() << "no throw for port " << port;
    } catch (const core::Error& e) {
      EXPECT_EQ(e.node_code(), "ERR_SOCKET_BAD_PORT");
      EXPECT_EQ(std::string(e.what()),
                "Port should be >= 0 and < 65536. Received type number (" + std::to_string(port) + ").");
    }
    EXPECT_FALSE(s->connecting());
  }
  try {
    Socket::create_connection(loop, {.host = "127.0.0.1", .port = 1, .family = 5});
    ADD_FAILURE() << "no throw for family 5";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_INVALID_ARG_VALUE");
    EXPECT_EQ(std::string(e.what()), "The property 'options.family' must be one of: 0, 4, 6. Received 5");
  }
  // Nothing was started, so there is nothing to run.
  EXPECT_FALSE(loop.alive());
}

TEST(SocketTest, ReportsUnknownHostAsNotFound) {
  core::Loop loop;
  Log log;
  // RFC 6761: names under .invalid never resolve, and the resolver may answer that locally.
  auto s = Socket::create_connection(loop, {.host = "no-such-host.invalid", .port = 80}, test::must_not_call());
  trace_connect(s, log);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"lookup:ENOTFOUND::0:no-such-host.invalid", "error:ENOTFOUND", "close"}));
}

TEST(SocketTest, UsesCustomLookupAndReportsItsAnswer) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::string received;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    s->events().data.on([&](std::string_view d) { received += d; });
    s->events().close.on([&] { server->close(); });
  });
  Log ok, failed, bad_ip;
  std::vector<std::string> asked;
  std::shared_ptr<Socket> a, b, c;
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   const int port = server->address()->port;
                   // Answers later, as a real resolver does.
                   a = Socket::create_connection(loop, {.host = "service.test",
                                                 .port = port,
                                                 .family = 4,
                                                 .lookup = [&](const std::string& host, int family, LookupCallback cb) {
                                                   asked.push_back(host + "/" + std::to_string(family));
                                                   loop.post([cb] { cb({}, "127.0.0.1", 4); });
                                                 }});
                   a->end("via custom lookup");
                   b = Socket::create_connection(loop, {.host = "broken.test",
                                                 .port = port,
                                                 .lookup = [&](const std::string& host, int family, LookupCallback cb) {
                                                   asked.push_back(host + "/" + std::to_string(family));
                                                   cb(std::make_error_code(std::errc::host_unreachable), "", 0);
                                                 }});
                   c = Socket::create_connection(loop, {.host = "garbage.test",
                                                 .port = port,
                                                 .lookup = [](const std::string&, int, LookupCallback cb) {
                                                   cb({}, "not an address", 4);
                                                 }});
                   trace_connect(a, ok);
                   trace_connect(b, failed);
                   trace_connect(c, bad_ip);
                   a->resume();
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(asked, (std::vector<std::string>{"service.test/4", "broken.test/0"}));
  EXPECT_EQ(ok, (Log{"lookup::127.0.0.1:4:service.test", "connect", "ready", "close"}));
  EXPECT_EQ(failed, (Log{"lookup:EHOSTUNREACH::0:broken.test", "error:EHOSTUNREACH", "close"}));
  EXPECT_EQ(bad_ip, (Log{"lookup::not an address:4:garbage.test", "error:ERR_INVALID_IP_ADDRESS", "close"}));
  EXPECT_EQ(received, "via custom lookup");
}

TEST(SocketTest, FamilyRestrictsTheDefaultLookup) {
  core::Loop loop;
  auto server = Server::create(loop);
  server->events().connection.on(end_and_drain);
  Log v4;
  std::string v6_answer;
  std::shared_ptr<Socket> a, b, c;
  int closed = 0;
  auto one_closed = [&] {
    if (++closed == 3) server->close();
  };
  // Dual-stack, so an IPv6 answer for "localhost" would connect too.
  server->listen({.port = 0, .host = ""}, test::must_call([&] {
                   const int port = server->address()->port;
                   a = Socket::create_connection(loop, {.host = "localhost", .port = port, .family = 4});
                   trace_connect(a, v4);
                   a->resume();
                   a->events().close.on(one_closed);
                   b = Socket::create_connection(loop, {.host = "localhost", .port = port, .family = 6});
                   b->events().lookup.on([&](std::error_code ec, const std::string& address, int family,
                                             const std::string&) {
                     // Machines differ in whether "localhost" has an IPv6 address; never an IPv4 one.
                     v6_answer = ec ? core::node_code(ec) : std::to_string(family);
                     if (!ec) {
                       EXPECT_NE(address.find(':'), std::string::npos) << address;
                     }
                   });
                   b->events().error.on([](std::error_code) {});
                   b->resume();
                   b->events().close.on(one_closed);
                   // Node ignores the family for an IP literal and connects.
                   c = Socket::create_connection(loop, {.host = "127.0.0.1", .port = port, .family = 6},
                                          test::must_call());
                   c->resume();
                   c->events().close.on(one_closed);
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(v4, (Log{"lookup::127.0.0.1:4:localhost", "connect", "ready", "close"}));
  EXPECT_TRUE(v6_answer == "6" || v6_answer == "ENOTFOUND") << v6_answer;
  EXPECT_FALSE(c->errored());
}

TEST(SocketTest, BindsLocalAddressAndPortSeenByTheServer) {
  core::Loop loop;
  const int local_port = free_port();
  ASSERT_NE(local_port, 0);
  auto server = Server::create(loop);
  std::shared_ptr<Socket> client;
  server->events().connection.on(test::must_call<const std::shared_ptr<Socket>&>([&](const std::shared_ptr<Socket>& s) {
    EXPECT_EQ(s->remote_address(), "127.0.0.1");
    EXPECT_EQ(s->remote_port(), local_port);
    EXPECT_EQ(s->remote_family(), "IPv4");
    end_and_drain(s);
  }));
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop,
                                               {.host = "127.0.0.1",
                                                .port = server->address()->port,
                                                .local_address = "127.0.0.1",
                                                .local_port = local_port},
                                               test::must_call([&] {
                                                 EXPECT_EQ(client->local_address(), "127.0.0.1");
                                                 EXPECT_EQ(client->local_port(), local_port);
                                               }));
                   client->resume();
                   client->events().close.on([&] { server->close(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(client->errored());
}

TEST(SocketTest, ReportsBindFailureOfLocalAddress) {
  core::Loop loop;
  Log log;
  // An address of another family than the destination cannot be bound.
  auto s = Socket::create_connection(loop, {.host = "127.0.0.1", .port = 9, .local_address = "::1"}, test::must_not_call());
  trace_connect(s, log);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"error:EINVAL", "close"}));
}

TEST(SocketTest, ThrowsForALocalAddressThatIsNoIp) {
  core::Loop loop;
  try {
    Socket::create_connection(loop, {.host = "127.0.0.1", .port = 9, .local_address = "localhost"});
    ADD_FAILURE() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_INVALID_IP_ADDRESS");
    EXPECT_EQ(std::string(e.what()), "Invalid IP address: localhost");
  }
  EXPECT_FALSE(loop.alive());
}

// ---- data ----------------------------------------------------------------------------------------

TEST(SocketTest, DeliversWritesMadeBeforeConnect) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::string received;
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->events().data.on([&](std::string_view d) { received += d; });
    s->events().end.on(test::must_call());
  });
  Log written;
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   EXPECT_TRUE(client->connecting());
                   client->write("one,", [&](std::error_code ec) { written.push_back("one:" + core::node_code(ec)); });
                   client->write("two,", [&](std::error_code ec) { written.push_back("two:" + core::node_code(ec)); });
                   client->end("three", [&](std::error_code ec) { written.push_back("end:" + core::node_code(ec)); });
                   // Node counts queued bytes in bytesWritten.
                   EXPECT_EQ(client->bytes_written(), 13u);
                   client->resume();
                   client->events().close.on([&] { server->close(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(received, "one,two,three");
  EXPECT_EQ(written, (Log{"one:", "two:", "end:"}));
  EXPECT_EQ(client->bytes_written(), 13u);
  EXPECT_EQ(accepted->bytes_read(), 13u);
  EXPECT_EQ(client->bytes_read(), 0u);
}

TEST(SocketTest, TransfersEightMegabytesIntactInBothDirections) {
  core::Loop loop;
  constexpr std::size_t kSize = 8 * 1024 * 1024;
  const auto up = std::make_shared<const std::string>(pattern(kSize, 1));
  const auto down = std::make_shared<const std::string>(pattern(kSize, 2));
  auto server = Server::create(loop);
  std::string at_server, at_client;
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->events().data.on([&](std::string_view d) { at_server += d; });
    // All at once: the stream buffers what the kernel does not take yet.
    for (std::size_t off = 0; off < kSize; off += 100000) s->write(std::string_view(*down).substr(off, 100000));
    s->end();
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   // Half-open: the server's FIN may arrive while this side is still writing.
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port}, {},
                                               {.allow_half_open = true, .high_water_mark = 16384});
                   client->events().data.on([&](std::string_view d) { at_client += d; });
                   client->events().connect.once([&] { write_all_then_end(client, up, 65536); });
                   client->events().close.on(test::must_call([&] { server->close(); }));
                 }));
  ASSERT_TRUE(loop.run_for(std::chrono::milliseconds(60s)));
  ASSERT_EQ(at_server.size(), kSize);
  ASSERT_EQ(at_client.size(), kSize);
  EXPECT_TRUE(at_server == *up);
  EXPECT_TRUE(at_client == *down);
  EXPECT_EQ(client->bytes_written(), kSize);
  EXPECT_EQ(client->bytes_read(), kSize);
  EXPECT_EQ(accepted->bytes_written(), kSize);
  EXPECT_EQ(accepted->bytes_read(), kSize);
  EXPECT_FALSE(client->errored());
  EXPECT_FALSE(accepted->errored());
}

TEST(SocketTest, ReportsAddressesPortsAndFamilies) {
  struct Case {
    std::string host;
    std::string family;
  };
  for (const Case& c : {Case{"127.0.0.1", "IPv4"}, Case{"::1", "IPv6"}}) {
    SCOPED_TRACE(c.host);
    core::Loop loop;
    auto server = Server::create(loop);
    std::shared_ptr<Socket> accepted, client;
    server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
      accepted = s;
      end_and_drain(s);
    });
    server->listen({.port = 0, .host = c.host}, test::must_call([&] {
                     const int port = server->address()->port;
                     client = Socket::create_connection(loop, {.host = c.host, .port = port}, test::must_call([&, port] {
                                                   EXPECT_EQ(client->remote_address(), c.host);
                                                   EXPECT_EQ(client->remote_port(), port);
                                                   EXPECT_EQ(client->remote_family(), c.family);
                                                   EXPECT_EQ(client->local_address(), c.host);
                                                   EXPECT_NE(client->local_port(), 0);
                                                   EXPECT_EQ(client->local_family(), c.family);
                                                 }));
                     // Before connecting nothing is known.
                     EXPECT_EQ(client->remote_address(), "");
                     EXPECT_EQ(client->remote_port(), 0);
                     client->resume();
                     client->events().close.on([&] { server->close(); });
                   }));
    ASSERT_TRUE(loop.run_for(kLimit));
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->remote_address(), c.host);
    EXPECT_EQ(accepted->remote_port(), client->local_port());
    EXPECT_EQ(accepted->remote_family(), c.family);
    EXPECT_EQ(accepted->local_port(), client->remote_port());
    EXPECT_EQ(accepted->local_family(), c.family);
    // The addresses stay readable after close (Node caches them once read).
    EXPECT_EQ(client->remote_address(), c.host);
  }
}

TEST(SocketTest, ExchangesDataOverAUnixPath) {
  core::Loop loop;
  TempDir dir;
  const auto path = dir.file("s.sock");
  auto server = Server::create(loop);
  std::string at_server, at_client;
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->events().data.on([&](std::string_view d) { at_server += d; });
    s->end("pong");
  });
  server->listen({.path = path}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.path = path}, test::must_call([&] {
                                                 EXPECT_EQ(client->remote_family(), "");
                                                 EXPECT_EQ(client->remote_port(), 0);
                                               }));
                   client->events().data.on([&](std::string_view d) { at_client += d; });
                   client->end("ping");
                   client->events().close.on([&] { server->close(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(at_server, "ping");
  EXPECT_EQ(at_client, "pong");
  EXPECT_EQ(client->bytes_read(), 4u);
  EXPECT_EQ(accepted->bytes_read(), 4u);
}

TEST(SocketTest, ReportsMissingUnixPath) {
  core::Loop loop;
  TempDir dir;
  Log log;
  auto s = Socket::create_connection(loop, {.path = dir.file("absent.sock")}, test::must_not_call());
  trace_connect(s, log);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"error:ENOENT", "close"}));
}

// ---- backpressure --------------------------------------------------------------------------------

TEST(SocketTest, PausedReceiverStopsReadingUntilResumed) {
  core::Loop loop;
  constexpr std::size_t kChunk = 1024;
  const std::string chunk(kChunk, 'x');
  auto server = Server::create(loop);
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->pause();
  });
  bool saw_false = false;
  bool stop_writing = false;
  std::function<void()> pump = [&] {
    while (!stop_writing) {
      if (!client->write(chunk)) {
        saw_false = true;
        client->events().drain.once(pump);
        return;
      }
    }
  };
  std::size_t received = 0;
  std::shared_ptr<core::Timer> watch;
  // The sender stalls once the kernel buffers on both sides are full; watch for a state that no
  // longer changes, then look at both ends.
  std::uint64_t last_written = 0;
  std::uint64_t last_read = 0;
  int still = 0;
  auto check = [&] {
    if (!accepted) return;
    if (client->bytes_written() != last_written || accepted->bytes_read() != last_read) {
      last_written = client->bytes_written();
      last_read = accepted->bytes_read();
      still = 0;
      return;
    }
    if (++still < 4) return;
    watch->close();
    EXPECT_TRUE(saw_false);
    EXPECT_TRUE(client->writable_need_drain());
    EXPECT_GE(client->writable_length(), client->writable_high_water_mark());
    // The receiver read up to its high-water mark (one read may overshoot by the loop's
    // 64 KiB read buffer) and then left the rest in the kernel.
    const auto hwm = accepted->readable_high_water_mark();
    EXPECT_GE(accepted->readable_length(), hwm);
    EXPECT_LE(accepted->readable_length(), hwm + 64 * 1024);
    EXPECT_EQ(accepted->bytes_read(), accepted->readable_length());
    EXPECT_GT(client->bytes_written() - client->writable_length(), accepted->bytes_read());
    stop_writing = true;
    client->end();
    accepted->events().data.on([&](std::string_view d) { received += d.size(); });
    // Paused explicitly, so a new 'data' listener alone does not resume (Node's rule).
    accepted->resume();
    accepted->events().end.on(test::must_call([&] { server->close(); }));
  };
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->events().connect.once(pump);
                   client->resume();
                   watch = loop.set_interval(check, 25ms);
                 }));
  ASSERT_TRUE(loop.run_for(std::chrono::milliseconds(60s)));
  EXPECT_EQ(received, client->bytes_written());
  EXPECT_EQ(accepted->bytes_read(), client->bytes_written());
  EXPECT_GT(received, accepted->readable_high_water_mark());
}

// ---- half-close ----------------------------------------------------------------------------------

TEST(SocketTest, EndWithoutHalfOpenEndsAndClosesBothSides) {
  core::Loop loop;
  auto server = Server::create(loop);
  Log client_log, server_log;
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->resume();
    s->events().end.on([&] {
      server_log.push_back("end");
      // Without allow_half_open the socket ends its own side on a later tick (Node's onEndNT).
      EXPECT_FALSE(accepted->writable_ended());
    });
    s->events().finish.on([&] { server_log.push_back("finish"); });
    s->events().close.on([&] { server_log.push_back("close"); });
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->resume();
                   client->events().finish.on([&] {
                     client_log.push_back("finish");
                     EXPECT_EQ(client->ready_state(), "readOnly");
                   });
                   client->events().end.on([&] { client_log.push_back("end"); });
                   client->events().close.on([&] {
                     client_log.push_back("close");
                     server->close();
                   });
                   client->end();
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client_log, (Log{"finish", "end", "close"}));
  EXPECT_EQ(server_log, (Log{"end", "finish", "close"}));
  EXPECT_TRUE(accepted->destroyed());
  EXPECT_TRUE(client->destroyed());
}

TEST(SocketTest, HalfOpenKeepsTheOtherDirectionWritable) {
  core::Loop loop;
  auto server = Server::create(loop, {.allow_half_open = true});
  Log server_log;
  std::string at_server, at_client;
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->events().data.on([&](std::string_view d) { at_server += d; });
    s->events().end.on([&] {
      server_log.push_back("end");
      EXPECT_TRUE(accepted->writable());
      EXPECT_EQ(accepted->ready_state(), "writeOnly");
      accepted->write("late ", [&](std::error_code ec) {
        EXPECT_FALSE(ec);
        server_log.push_back("late written");
        accepted->end("reply");
      });
    });
    s->events().finish.on([&] { server_log.push_back("finish"); });
    s->events().close.on([&] { server_log.push_back("close"); });
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->events().data.on([&](std::string_view d) {
                     at_client += d;
                     EXPECT_EQ(client->ready_state(), "readOnly");
                   });
                   client->events().end.on(test::must_call());
                   client->events().close.on([&] { server->close(); });
                   client->end("request");
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(at_server, "request");
  EXPECT_EQ(at_client, "late reply");
  EXPECT_EQ(server_log, (Log{"end", "late written", "finish", "close"}));
}

// ---- timeouts ------------------------------------------------------------------------------------

TEST(SocketTest, EmitsTimeoutOncePerIdlePeriodAndStaysOpen) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::shared_ptr<Socket> accepted, client;
  std::string at_server;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->events().data.on([&](std::string_view d) { at_server += d; });
  });
  int timeouts = 0;
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->resume();
                   client->set_timeout(50ms);
                   EXPECT_EQ(client->timeout(), 50ms);
                   client->events().timeout.on([&] {
                     ++timeouts;
                     EXPECT_FALSE(client->destroyed());
                     EXPECT_EQ(client->ready_state(), "open");
                     if (timeouts == 1) {
                       // Idle for four more periods: Node does not repeat 'timeout' without activity.
                       loop.set_timeout(
                           [&] {
                             EXPECT_EQ(timeouts, 1);
                             client->write("activity");
                           },
                           200ms);
                     } else {
                       // Activity re-armed the timer; the socket still works after both.
                       client->end();
                       accepted->end();
                     }
                   });
                   client->events().close.on([&] { server->close(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(timeouts, 2);
  EXPECT_EQ(at_server, "activity");
}

TEST(SocketTest, NoTimeoutWhileDataFlows) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->pipe(s);  // echo
  });
  const auto idle = 200ms;
  std::chrono::steady_clock::time_point started, stopped;
  bool flowing = true;
  int round_trips = 0;
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->set_timeout(idle, test::must_call([&] {
                                         EXPECT_FALSE(flowing) << "timed out after " << round_trips << " round trips";
                                         EXPECT_GE(std::chrono::steady_clock::now() - stopped, idle);
                                         client->end();
                                       }));
                   client->events().connect.once([&] {
                     started = std::chrono::steady_clock::now();
                     client->write("ping");
                   });
                   // Ping-pong for 2.5 idle periods, then go quiet.
                   client->events().data.on([&](std::string_view) {
                     ++round_trips;
                     if (std::chrono::steady_clock::now() - started < idle * 5 / 2) {
                       client->write("ping");
                     } else if (flowing) {
                       flowing = false;
                       stopped = std::chrono::steady_clock::now();
                     }
                   });
                   client->events().close.on([&] { server->close(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(flowing);
  EXPECT_GT(round_trips, 10);
}

TEST(SocketTest, ZeroTimeoutDisablesTheTimer) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->resume();
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->resume();
                   client->set_timeout(30ms, test::must_not_call());
                   client->set_timeout(0ms);
                   EXPECT_EQ(client->timeout(), 0ms);
                   client->events().timeout.on(test::must_not_call());
                   // Well past the disabled timeout, finish.
                   loop.set_timeout(
                       [&] {
                         client->end();
                         server->close();
                       },
                       150ms);
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(client->destroyed());
}

TEST(SocketTest, TimeoutOptionCoversTheConnectPhase) {
  core::Loop loop;
  // A name whose lookup never answers: only the idle timer can end this attempt.
  auto s = Socket::create_connection(loop, {.host = "slow.test",
                                     .port = 80,
                                     .lookup = [](const std::string&, int, LookupCallback) {},
                                     .timeout = 50ms});
  s->events().timeout.on(test::must_call([&] {
    EXPECT_TRUE(s->connecting());
    s->destroy();
  }));
  s->events().close.on(test::must_call());
  ASSERT_TRUE(loop.run_for(kLimit));
}

// ---- ref / unref ---------------------------------------------------------------------------------

TEST(SocketTest, UnrefdIdleSocketLetsTheLoopEnd) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->unref();
    server->close();  // 'close' waits for this connection, but holds no reference itself
  });
  server->events().close.on(test::must_call());
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port},
                                               test::must_call([&] { client->unref(); }));
                 }));
  // Both ends are connected and idle, and neither is referenced.
  ASSERT_TRUE(loop.run_for(kLimit));
  ASSERT_TRUE(client && accepted);
  EXPECT_EQ(client->ready_state(), "open");
  EXPECT_EQ(accepted->ready_state(), "open");
  EXPECT_FALSE(loop.alive());

  // Referenced again, the idle client keeps the loop running until the time limit.
  client->ref();
  EXPECT_TRUE(loop.alive());
  EXPECT_FALSE(loop.run_for(150ms));

  // Referenced again, the peer stays until it has seen the FIN and closed.
  accepted->ref();
  accepted->resume();
  client->destroy();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(client->closed());
  EXPECT_TRUE(accepted->closed());  // the peer saw the FIN and closed too
}

// ---- reset ---------------------------------------------------------------------------------------

TEST(SocketTest, ResetAndDestroyGivesThePeerEconnreset) {
  core::Loop loop;
  auto server = Server::create(loop);
  Log client_log, server_log;
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    s->resume();
    s->events().error.on([&](std::error_code ec) { server_log.push_back("error:" + core::node_code(ec)); });
    s->events().end.on([&] { server_log.push_back("end"); });
    s->events().close.on([&] {
      server_log.push_back("close");
      server->close();
    });
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   trace_connect(client, client_log);
                   client->events().connect.once([&] { client->reset_and_destroy(); });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client_log, (Log{"connect", "ready", "close"}));
  EXPECT_EQ(server_log, (Log{"error:ECONNRESET", "close"}));
}

// ---- socket options, read back from the kernel -----------------------------------------------------

int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) return -1;
  return value;
}

TEST(SocketTest, AppliesNoDelayAndKeepAliveToTheConnection) {
  core::Loop loop;
  auto server = Server::create(loop, {.no_delay = true, .keep_alive = true, .keep_alive_initial_delay = 7s});
  std::shared_ptr<Socket> accepted, client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    accepted = s;
    // ServerOptions reach every accepted socket.
    EXPECT_EQ(int_option(s->native_handle(), IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(int_option(s->native_handle(), SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(int_option(s->native_handle(), IPPROTO_TCP, TCP_KEEPIDLE), 7);
  });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(
                       loop, {.host = "127.0.0.1", .port = server->address()->port, .no_delay = true,
                              .keep_alive = true, .keep_alive_initial_delay = 3s});
                   EXPECT_EQ(client->native_handle(), -1);  // not connected yet
                   client->events().connect.on([&] {
                     const int fd = client->native_handle();
                     // ConnectOptions are applied once connected.
                     EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_NODELAY), 1);
                     EXPECT_EQ(int_option(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
                     EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE), 3);
                     // And the setters change them on a live socket.
                     client->set_no_delay(false);
                     EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_NODELAY), 0);
                     client->set_keep_alive(true, 1500ms);  // Node rounds down to whole seconds
                     EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE), 1);
                     client->set_keep_alive(false);
                     EXPECT_EQ(int_option(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
                     client->set_no_delay();
                     EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_NODELAY), 1);
                     client->destroy();
                     if (accepted) accepted->destroy();
                     server->close();
                   });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->native_handle(), -1);  // closed
}

TEST(SocketTest, SettersBeforeConnectApplyOnceConnected) {
  core::Loop loop;
  auto server = Server::create(loop);
  std::shared_ptr<Socket> client;
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) { s->destroy(); });
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create(loop);
                   client->set_no_delay(true);
                   client->set_keep_alive(true, 5s);
                   client->connect({.host = "127.0.0.1", .port = server->address()->port});
                   client->events().connect.on([&] {
                     EXPECT_EQ(int_option(client->native_handle(), IPPROTO_TCP, TCP_NODELAY), 1);
                     EXPECT_EQ(int_option(client->native_handle(), IPPROTO_TCP, TCP_KEEPIDLE), 5);
                     client->destroy();
                     server->close();
                   });
                 }));
  ASSERT_TRUE(loop.run_for(kLimit));
}

}  // namespace
}  // namespace httpx::net
