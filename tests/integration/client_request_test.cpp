// http::ClientRequest and http::Agent against libhttp's own server on 127.0.0.1 (issue 4, the
// client half): a request's event order on success and on a connection that ends before an
// answer, the response stream, keep-alive pooling seen from the server side, queueing at
// maxSockets, and the special request headers. Event orders are Node 20's for the same programs.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "httpx/core/error.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/agent.hpp"
#include "httpx/http/client_request.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/server.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/net/server.hpp"
#include "httpx/net/socket.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

namespace httpx::http {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;
using Req = std::shared_ptr<IncomingMessage>;
using Res = std::shared_ptr<ServerResponse>;
using test::listen;

constexpr auto kLimit = 10s;

std::string url(int port, const std::string& path = "/") { return "http://127.0.0.1:" + std::to_string(port) + path; }

// A server answering `body` to every request, counting the connections it accepted.
struct CountingServer {
  explicit CountingServer(core::Loop& loop, std::string body = "hello") {
    server = create_server(loop, ServerOptions{}, [body](const Req& req, const Res& res) {
      res->set_header("X-Url", req->url());
      res->end(body);
    });
    server->events().connection.on([this](const std::shared_ptr<net::Socket>&) { ++connections; });
    port = listen(server);
  }
  std::shared_ptr<Server> server;
  int port = 0;
  int connections = 0;
};

std::string read_body(core::Loop& loop, const std::shared_ptr<ClientRequest>& req, int* status = nullptr) {
  std::string body;
  req->events().response.on([&](const Req& res) {
    if (status) *status = res->status_code();
    res->events().data.on([&](std::string_view d) { body.append(d); });
  });
  req->end();
  EXPECT_TRUE(loop.run_for(kLimit));
  return body;
}

TEST(ClientRequestTest, GetReceivesTheResponseAndTheEventsComeInNodesOrder) {
  // Node 20 (same program): socket, finish, response, data, end, close(res), close(req)
  // reported as ["socket","finish","response:200","data:hello","end","req-close"].
  core::Loop loop;
  CountingServer peer(loop);
  Log log;
  auto req = get(loop, url(peer.port, "/a?b=1"), {}, [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()));
    EXPECT_EQ(res->http_version(), "1.1");
    EXPECT_EQ(res->status_message(), "OK");
    res->events().data.on([&](std::string_view d) { log.push_back("data:" + std::string(d)); });
    res->events().end.on([&] { log.push_back("end"); });
  });
  req->events().socket.on([&](const std::shared_ptr<net::Socket>&) { log.push_back("socket"); });
  req->events().finish.on([&] { log.push_back("finish"); });
  req->events().close.on([&] {
    log.push_back("req-close");
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"socket", "finish", "response:200", "data:hello", "end", "req-close"}));
  EXPECT_EQ(req->method(), "GET");
  EXPECT_EQ(req->path(), "/a?b=1");
  EXPECT_EQ(req->host(), "127.0.0.1");
  EXPECT_EQ(req->protocol(), "http:");
}

TEST(ClientRequestTest, PostSendsAChunkedBodyByDefault) {
  core::Loop loop;
  std::string seen_te;
  std::string seen_body;
  auto server = create_server(loop, ServerOptions{}, [&](const Req& req, const Res& res) {
    const auto& h = req->headers();
    if (const auto* te = h.find("transfer-encoding")) seen_te = std::get<std::string>(*te);
    req->events().data.on([&](std::string_view d) { seen_body.append(d); });
    req->events().end.on([res] { res->end("ok"); });
  });
  const int port = listen(server);
  ClientRequestOptions options;
  options.method = "post";
  auto req = request(loop, url(port), options);
  EXPECT_EQ(req->method(), "POST");
  req->write("part1,");
  req->events().close.on([&] { server->close(); });
  EXPECT_EQ(read_body(loop, req), "ok");
  EXPECT_EQ(seen_te, "chunked");
  EXPECT_EQ(seen_body, "part1,");
}

TEST(ClientRequestTest, ConnectionRefusedIsAnErrorThenClose) {
  // Node: ["error:ECONNREFUSED","close"].
  core::Loop loop;
  auto probe = net::Server::create(loop);
  int port = 0;
  probe->listen(net::ListenOptions{.port = 0, .host = "127.0.0.1"}, [&] {
    port = probe->address()->port;
    probe->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  Log log;
  auto req = get(loop, url(port), {}, test::must_not_call<const Req&>());
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + core::node_code(ec)); });
  req->events().close.on([&] { log.push_back("close"); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"error:ECONNREFUSED", "close"}));
}

TEST(ClientRequestTest, ServerClosingBeforeAnAnswerIsSocketHangUp) {
  // Node: ["error:ECONNRESET:socket hang up","close"].
  core::Loop loop;
  auto raw = net::Server::create(loop);
  raw->events().connection.on([](const std::shared_ptr<net::Socket>& s) {
    s->events().data.once([s](std::string_view) { s->end(); });
  });
  int port = 0;
  raw->listen(net::ListenOptions{.port = 0, .host = "127.0.0.1"}, [&] { port = raw->address()->port; });
  ASSERT_TRUE(loop.run_for(100ms) || port != 0);
  Log log;
  auto req = get(loop, url(port), {}, test::must_not_call<const Req&>());
  req->events().error.on([&](std::error_code ec) {
    log.push_back("error:" + core::node_code(ec) + ":" + ec.message());
    raw->close();
  });
  req->events().close.on([&] { log.push_back("close"); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"error:ECONNRESET:socket hang up", "close"}));
}

TEST(ClientRequestTest, KeepAliveAgentReusesOneConnection) {
  core::Loop loop;
  CountingServer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  std::vector<bool> reused;
  std::function<void(int)> next = [&](int left) {
    ClientRequestOptions options;
    options.agent = agent;
    auto req = get(loop, url(peer.port, "/" + std::to_string(left)), options, [](const Req& res) { res->resume(); });
    std::weak_ptr<ClientRequest> weak = req;
    req->events().close.on([&, weak, left] {
      reused.push_back(weak.lock()->reused_socket());
      if (left > 1) {
        // Node's emitFreeNT emits the request's 'close' before the socket's 'free': a request
        // made right here would find no free socket, so the next one goes a tick later.
        loop.post([&, left] { next(left - 1); });
      } else {
        agent->destroy();
        peer.server->close();
      }
    });
  };
  next(3);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(peer.connections, 1);
  EXPECT_EQ(reused, (std::vector<bool>{false, true, true}));
}

TEST(ClientRequestTest, MaxSocketsQueuesRequestsPerOrigin) {
  core::Loop loop;
  CountingServer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true, .max_sockets = 2});
  int done = 0;
  std::size_t max_queued = 0;
  for (int i = 0; i < 6; ++i) {
    ClientRequestOptions options;
    options.agent = agent;
    auto req = get(loop, url(peer.port), options, [](const Req& res) { res->resume(); });
    req->events().close.on([&] {
      if (++done == 6) {
        agent->destroy();
        peer.server->close();
      }
    });
    for (const auto& [name, queue] : agent->requests()) max_queued = std::max(max_queued, queue.size());
  }
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(done, 6);
  EXPECT_EQ(max_queued, 4u);
  EXPECT_EQ(peer.connections, 2);
}

TEST(ClientRequestTest, AgentGetNameHasNodesFormat) {
  core::Loop loop;
  auto agent = Agent::create(loop);
  EXPECT_EQ(agent->get_name({}), "localhost::");
  EXPECT_EQ(agent->get_name({.host = "example.com", .port = 80}), "example.com:80:");
  EXPECT_EQ(agent->get_name({.host = "h", .port = 8080, .local_address = "10.0.0.1", .family = 6}),
            "h:8080:10.0.0.1:6");
  EXPECT_EQ(agent->get_name({.host = "h", .port = 0, .socket_path = "/tmp/s"}), "h:::/tmp/s");
}

TEST(ClientRequestTest, HostAndAuthorizationHeadersAreDerivedFromTheOptions) {
  core::Loop loop;
  ClientRequestOptions options;
  options.auth = "user:pass";
  options.agent = Agent::create(loop);
  auto req = request(loop, "http://[::1]:8081/x", options);
  ASSERT_NE(req->get_header("host"), nullptr);
  EXPECT_EQ(std::get<std::string>(*req->get_header("host")), "[::1]:8081");
  EXPECT_EQ(std::get<std::string>(*req->get_header("authorization")), "Basic dXNlcjpwYXNz");
  req->destroy();
  req->events().error.on([](std::error_code) {});
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(ClientRequestTest, IllegalPathAndUnknownProtocolThrowAsInNode) {
  core::Loop loop;
  ClientRequestOptions options;
  options.path = "/a b";
  try {
    (void)request(loop, options);
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_UNESCAPED_CHARACTERS");
    EXPECT_STREQ(e.what(), "Request path contains unescaped characters");
  }
  try {
    (void)request(loop, "https://example.com/");
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_INVALID_PROTOCOL");
    EXPECT_STREQ(e.what(), "Protocol \"https:\" not supported. Expected \"http:\"");
  }
}

TEST(ClientRequestTest, HintsReachTheDefaultLookup) {
  // Node 20: http.get({host: 'localhost', family: 6, hints: dns.V4MAPPED}) looks up an IPv6
  // address for localhost even where it only has 127.0.0.1 ("::ffff:127.0.0.1", family 6).
  core::Loop loop;
  ClientRequestOptions options;
  options.host = "localhost";
  options.port = 1;
  options.family = 6;
  options.hints = net::kHintV4Mapped;
  options.agent = Agent::create(loop);
  std::string address;
  int family = 0;
  auto req = request(loop, options);
  req->events().socket.on([&](const std::shared_ptr<net::Socket>& s) {
    s->events().lookup.on([&](std::error_code ec, const std::string& a, int f, const std::string&) {
      EXPECT_FALSE(ec) << ec.message();
      address = a;
      family = f;
    });
  });
  req->events().error.on([](std::error_code) {});  // nothing listens on port 1
  req->end();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(family, 6);
  EXPECT_TRUE(address == "::ffff:127.0.0.1" || address == "::1") << address;
}

TEST(ClientRequestTest, InvalidHintsThrowAsInNode) {
  // Node: ERR_INVALID_ARG_VALUE "The argument 'hints' is invalid. Received 12345".
  core::Loop loop;
  ClientRequestOptions options;
  options.hints = 12345;
  try {
    (void)request(loop, options);
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_INVALID_ARG_VALUE");
    EXPECT_STREQ(e.what(), "The argument 'hints' is invalid. Received 12345");
  }
}

}  // namespace
}  // namespace httpx::http
