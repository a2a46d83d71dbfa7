// http::IncomingMessage as a server's request, over real connections on 127.0.0.1: the request
// line and headers (raw, lower-cased, distinct), trailers, complete/aborted, destroy, timeouts, and
// backpressure — a paused request stops the socket, so a client sending 8 MiB fills the kernel's
// buffers instead of the server's memory, and resume() delivers every byte. Orders and values were
// checked against Node 20 first (each test says how).
#include "httpx/http/incoming_message.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "httpx/core/encoding.hpp"
#include "httpx/core/error.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/server.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/net/socket.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

namespace httpx::http {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;
using Req = std::shared_ptr<IncomingMessage>;
using Res = std::shared_ptr<ServerResponse>;
using Strings = std::vector<std::string>;
using test::must_call;
using test::must_not_call;
using test::RawClient;
using test::listen;
using test::only_response;
using test::serve_one;

// Far more than any test needs; reaching it means something did not finish by itself.
constexpr auto kLimit = 10s;

/// Sends `request` on a new connection, waits for `n` final responses (or the server's close),
/// closes both ends and runs the loop dry.
std::string text(const HeaderValue* value) {
  if (!value) return "<absent>";
  if (const auto* s = std::get_if<std::string>(value)) return *s;
  std::string out = "[";
  for (const auto& v : std::get<std::vector<std::string>>(*value)) out += (out.size() > 1 ? "," : "") + v;
  return out + "]";
}

std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  std::uint32_t x = 987654321u;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

TEST(IncomingMessageTest, ExposesTheRequestLineAndHeaders) {
  core::Loop loop;
  std::shared_ptr<net::Socket> accepted;
  auto server = create_server(loop);
  server->events().connection.on([&](const std::shared_ptr<net::Socket>& s) { accepted = s; });
  server->events().request.on(must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
    EXPECT_EQ(req->method(), "GET");
    EXPECT_EQ(req->url(), "/path/x?q=1&r=%20");
    EXPECT_EQ(req->http_version(), "1.1");
    EXPECT_EQ(req->http_version_major(), 1);
    EXPECT_EQ(req->http_version_minor(), 1);
    EXPECT_EQ(req->status_code(), 0);
    EXPECT_FALSE(req->upgrade());
    EXPECT_FALSE(req->join_duplicate_headers());
    EXPECT_EQ(req->socket(), accepted);
    EXPECT_EQ(req->connection(), accepted);
    EXPECT_EQ(req->raw_headers(),
              (Strings{"Host", "a.test", "X-Dup", "1", "x-dup", "2", "User-Agent", "one", "USER-AGENT", "two", "Cookie",
                       "a=1", "cookie", "b=2", "Set-Cookie", "s", "X-Empty", ""}));
    const auto& h = req->headers();
    EXPECT_EQ(h.keys(), (Strings{"host", "x-dup", "user-agent", "cookie", "set-cookie", "x-empty"}));
    EXPECT_EQ(text(h.find("host")), "a.test");
    EXPECT_EQ(text(h.find("x-dup")), "1, 2");
    EXPECT_EQ(text(h.find("user-agent")), "one");  // duplicates of user-agent are dropped
    EXPECT_EQ(text(h.find("cookie")), "a=1; b=2");
    EXPECT_EQ(text(h.find("set-cookie")), "[s]");
    EXPECT_EQ(text(h.find("x-empty")), "");
    const auto& d = req->headers_distinct();
    ASSERT_NE(d.find("user-agent"), nullptr);
    EXPECT_EQ(*d.find("user-agent"), (Strings{"one", "two"}));
    ASSERT_NE(d.find("x-dup"), nullptr);
    EXPECT_EQ(*d.find("x-dup"), (Strings{"1", "2"}));
    EXPECT_EQ(*d.find("host"), (Strings{"a.test"}));
    res->end();
  }));
  serve_one(loop, server,
            "GET /path/x?q=1&r=%20 HTTP/1.1\r\nHost: a.test\r\nX-Dup: 1\r\nx-dup: 2\r\nUser-Agent: one\r\n"
            "USER-AGENT: two\r\nCookie: a=1\r\ncookie: b=2\r\nSet-Cookie: s\r\nX-Empty:\r\n\r\n");
}

TEST(IncomingMessageTest, JoinDuplicateHeadersJoinsTheDroppedOnes) {
  core::Loop loop;
  auto server = create_server(loop, {.join_duplicate_headers = true},
                              must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
                                EXPECT_TRUE(req->join_duplicate_headers());
                                EXPECT_EQ(text(req->headers().find("user-agent")), "one, two");
                                res->end();
                              }));
  serve_one(loop, server, "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: one\r\nUser-Agent: two\r\n\r\n");
}

TEST(IncomingMessageTest, Http10RequestsSayTheirVersion) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
                                EXPECT_EQ(req->http_version(), "1.0");
                                EXPECT_EQ(req->http_version_major(), 1);
                                EXPECT_EQ(req->http_version_minor(), 0);
                                EXPECT_TRUE(req->headers().empty());
                                res->end();
                              }));
  const auto client = serve_one(loop, server, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(client->ended()) << "HTTP/1.0 without keep-alive closes";
}

// Node 20: `complete` is false when 'request' is emitted (even for a GET), true at 'end'; trailers
// are there at 'end' (x-t joined, set-cookie an array, raw as received).
TEST(IncomingMessageTest, BodyTrailersAndCompleteOfAChunkedRequest) {
  core::Loop loop;
  std::string body;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
                                EXPECT_FALSE(req->complete());
                                EXPECT_TRUE(req->raw_trailers().empty());
                                IncomingMessage* r = req.get();
                                std::weak_ptr<ServerResponse> weak = res;
                                req->events().data.on([&](std::string_view d) { body += d; });
                                req->events().end.on(must_call([r, weak] {
                                  EXPECT_TRUE(r->complete());
                                  EXPECT_FALSE(r->aborted());
                                  EXPECT_EQ(r->raw_trailers(), (Strings{"X-T", "1", "x-t", "2", "Set-Cookie", "a"}));
                                  EXPECT_EQ(text(r->trailers().find("x-t")), "1, 2");
                                  EXPECT_EQ(text(r->trailers().find("set-cookie")), "[a]");
                                  ASSERT_NE(r->trailers_distinct().find("x-t"), nullptr);
                                  EXPECT_EQ(*r->trailers_distinct().find("x-t"), (Strings{"1", "2"}));
                                  weak.lock()->end();
                                }));
                              }));
  serve_one(loop, server,
            "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-T: 1\r\nx-t: 2\r\nSet-Cookie: a\r\n\r\n");
  EXPECT_EQ(body, "abcdefg");
}

TEST(IncomingMessageTest, CompleteIsFalseAtRequestEvenWithoutABody) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
                                EXPECT_FALSE(req->complete());
                                IncomingMessage* r = req.get();
                                req->events().end.on(must_call([r] { EXPECT_TRUE(r->complete()); }));
                                req->resume();
                                res->end();
                              }));
  serve_one(loop, server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(IncomingMessageTest, SetEncodingDecodesTheBody) {
  core::Loop loop;
  std::string seen;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
                                req->set_encoding(core::Encoding::hex);
                                std::weak_ptr<ServerResponse> weak = res;
                                req->events().data.on([&](std::string_view d) { seen += d; });
                                req->events().end.on([weak] { weak.lock()->end(); });
                              }));
  serve_one(loop, server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(seen, "616263");
}

TEST(IncomingMessageTest, AbortedWhenTheClientDisconnectsMidBody) {
  core::Loop loop;
  Log log;
  std::shared_ptr<RawClient> client;
  Req request;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req& req, const Res&) {
                                request = req;
                                EXPECT_FALSE(req->aborted());
                                IncomingMessage* r = req.get();
                                req->events().data.on([&](std::string_view d) {
                                  log.push_back("data " + std::string(d));
                                  client->destroy();
                                });
                                req->events().aborted.on(must_call([&, r] {
                                  log.push_back("aborted");
                                  EXPECT_TRUE(r->aborted());
                                  EXPECT_FALSE(r->complete());
                                }));
                                req->events().end.on(must_not_call());
                                req->events().close.on(must_call([&] { log.push_back("close"); }));
                              }));
  client = RawClient::connect(loop, listen(server), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"data abc", "aborted", "close"}));
  ASSERT_TRUE(request);
  EXPECT_TRUE(request->aborted());
  EXPECT_TRUE(request->destroyed());
  EXPECT_FALSE(request->complete());
}

// Node 20 (req.destroy() on the first 'data' of a 10-byte body that sent 3):
// ["request", "req aborted", "destroy returned true true false", "req close", "res close"], and the
// client gets nothing but the close. Which of the two 'close' events comes first is a matter of
// ticks (libhttp emits the response's first); each message's own order is what is checked.
TEST(IncomingMessageTest, DestroyMidBodyAbortsAndClosesTheConnection) {
  core::Loop loop;
  Log req_log, res_log;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
        req_log.push_back("request");
        IncomingMessage* r = req.get();
        req->events().aborted.on([&] { req_log.push_back("req aborted"); });
        req->events().error.on([&](std::error_code ec) { req_log.push_back("req error " + core::node_code(ec)); });
        req->events().close.on([&] { req_log.push_back("req close"); });
        res->events().close.on([&] { res_log.push_back("res close"); });
        req->events().data.once([&, r](std::string_view) {
          r->destroy();
          req_log.push_back(std::string("destroy returned ") + (r->destroyed() ? "true" : "false") + " " +
                            (r->aborted() ? "true" : "false") + " " + (r->complete() ? "true" : "false"));
        });
      }));
  auto client = RawClient::connect(loop, listen(server), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(), "");
  EXPECT_EQ(req_log, (Log{"request", "req aborted", "destroy returned true true false", "req close"}));
  EXPECT_EQ(res_log, (Log{"res close"}));
}

// Node 20: req.setTimeout() on a request whose body is incomplete emits 'timeout' (the socket
// stays open because someone listened), and the handler can still answer.
TEST(IncomingMessageTest, SetTimeoutEmitsTimeoutWhileTheBodyIsIncomplete) {
  core::Loop loop;
  const auto start = std::chrono::steady_clock::now();
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
                                IncomingMessage* r = req.get();
                                std::weak_ptr<ServerResponse> weak = res;
                                IncomingMessage& same =
                                    req->set_timeout(100ms, must_call([&, r, weak] {
                                                       EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
                                                       EXPECT_FALSE(r->complete());
                                                       EXPECT_FALSE(r->socket()->destroyed());
                                                       weak.lock()->end("after");
                                                     }));
                                EXPECT_EQ(&same, req.get());
                                EXPECT_EQ(req->socket()->timeout(), 100ms);
                              }));
  const auto client = serve_one(loop, server, "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
  const auto finals = client->finals();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].body, "after");
}

// A body nobody reads is discarded once the response finished, so the next request on the
// connection is served (Node's _dump).
TEST(IncomingMessageTest, UnreadBodyIsDiscardedAndTheNextRequestServed) {
  core::Loop loop;
  Log urls;
  auto server = create_server(loop, must_call<const Req&, const Res&>(
                                        [&](const Req& req, const Res& res) {
                                          urls.push_back(req->url());
                                          res->end(req->url());
                                        },
                                        2));
  const std::string big(200 * 1024, 'b');
  const auto client = serve_one(loop, server,
                                "POST /ignored HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) +
                                    "\r\n\r\n" + big + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
                                2);
  const auto finals = client->finals();
  ASSERT_EQ(finals.size(), 2u);
  EXPECT_EQ(finals[0].body, "/ignored");
  EXPECT_EQ(finals[1].body, "/next");
  EXPECT_EQ(urls, (Log{"/ignored", "/next"}));
}

// The handler pauses the request while the client sends 8 MiB. The server stops reading: what it
// holds (the request's buffer plus the socket's) stays within the two high-water marks plus one read
// each, the rest waits in the client and the kernel. resume() then delivers every byte, in order.
TEST(IncomingMessageTest, PausedRequestBoundsServerBufferingAndResumeDeliversEverything) {
  core::Loop loop;
  constexpr std::size_t kBody = 8 * 1024 * 1024;
  constexpr std::size_t kHighWaterMark = 16384;
  constexpr std::size_t kOneRead = 64 * 1024;  // the loop's read buffer
  const std::string body = pattern(kBody);
  Req request;
  std::size_t received = 0;
  bool intact = true;
  std::size_t max_buffered = 0;
  std::uint64_t read_at_stall = 0;
  bool resumed = false;
  std::shared_ptr<RawClient> client;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
                                request = req;
                                std::weak_ptr<ServerResponse> weak = res;
                                req->events().data.on([&](std::string_view d) {
                                  intact = intact && body.compare(received, d.size(), d) == 0;
                                  received += d.size();
                                });
                                req->pause();
                                req->events().end.on([&, weak] { weak.lock()->end(std::to_string(received)); });
                              }));
  client = RawClient::connect(
      loop, listen(server),
      "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n" + body);
  // Sample what the server holds; once the server has read nothing more for 200 ms, resume.
  std::uint64_t last_read = 0;
  auto last_progress = std::chrono::steady_clock::now();
  auto monitor = loop.set_interval(
      [&] {
        if (!request) return;
        max_buffered = std::max(max_buffered, request->readable_length() + request->socket()->readable_length());
        if (resumed) return;
        const std::uint64_t read = request->socket()->bytes_read();
        const auto now = std::chrono::steady_clock::now();
        if (read != last_read) {
          last_read = read;
          last_progress = now;
          return;
        }
        if (now - last_progress < 200ms) return;
        EXPECT_EQ(received, 0u) << "a paused request emitted data";
        read_at_stall = read;
        resumed = true;
        request->resume();
      },
      10ms);
  client->when_responses(1, [c = client.get(), monitor] {
    monitor->close();
    c->destroy();
  });
  client->on_close([server, monitor] {
    monitor->close();
    server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(resumed);
  // The server stopped reading the socket: most of the body was still in the client and the kernel.
  EXPECT_GT(read_at_stall, 0u);
  EXPECT_LT(read_at_stall, kBody / 2) << "the server kept reading a paused request";
  EXPECT_LE(max_buffered, 2 * (kHighWaterMark + kOneRead));
  EXPECT_EQ(received, kBody);
  EXPECT_TRUE(intact);
  const auto finals = client->finals();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].body, std::to_string(kBody));
}

}  // namespace
}  // namespace httpx::http
