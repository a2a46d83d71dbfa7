// http::ServerResponse (and the OutgoingMessage under it) answering real requests on 127.0.0.1:
// the header methods, writeHead, interim responses, write/end with encodings and callbacks,
// cork/uncork, flushHeaders, strictContentLength, backpressure ('drain'), timeouts, destroy and the
// ERR_* codes of misuse. ServerEventOrderTest compares the order of the server, request and
// response events with Node 20 running the same scenarios (tests/oracle/server_events.js). The
// error messages were checked against Node 20 (`res.writeHead(99)` and friends in a handler).
#include "httpx/http/server_response.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "httpx/core/encoding.hpp"
#include "httpx/core/error.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/server.hpp"
#include "httpx/net/socket.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

namespace httpx::http {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;
using Req = std::shared_ptr<IncomingMessage>;
using Res = std::shared_ptr<ServerResponse>;
using test::must_call;
using test::must_not_call;
using test::RawClient;
using test::listen;
using test::only_response;
using test::serve_one;
using test::WireResponse;

// Far more than any test needs; reaching it means something did not finish by itself.
constexpr auto kLimit = 10s;

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// Serves one connection: sends `request`, waits for `n` final responses (or the server's close),
/// closes both ends and runs the loop dry. Returns the client with what it received.
/// Runs `fn` and returns "CODE|message" of the core::Error it throws, or "no throw".
std::string thrown(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const core::Error& e) {
    return e.node_code() + "|" + e.what();
  }
  return "no throw";
}

// Deterministic bytes, so a big transfer can be checked end to end.
std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  std::uint32_t x = 12345;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>('a' + (x >> 24) % 26);
  }
  return out;
}

// =================================================================================================
// Event order, differential against Node 20.
// =================================================================================================

struct ScenarioContext {
  core::Loop& loop;
  Log& log;
  std::shared_ptr<RawClient> client;
};

/// One scenario of tests/oracle/server_events.js, written the same way.
struct Scenario {
  std::string request;
  bool check_continue = false;
  std::size_t max_requests_per_socket = 0;
  std::size_t close_after_responses = 0;
  std::function<void(ScenarioContext&, const Req&, const Res&)> handler;
};

/// The listeners server_events.js puts on every request and response (no strong references to
/// either message: a listener of req holding res would keep both alive).
void watch(Log& log, const Req& req, const Res& res, const std::string& tag) {
  const std::string t = tag.empty() ? "" : " " + tag;
  auto& rq = req->events();
  rq.aborted.on([&log, t] { log.push_back("req aborted" + t); });
  rq.error.on([&log, t](std::error_code ec) { log.push_back("req error" + t + " " + core::node_code(ec)); });
  rq.end.on([&log, t] { log.push_back("req end" + t); });
  rq.close.on([&log, t] { log.push_back("req close" + t); });
  auto& rs = res->events();
  rs.prefinish.on([&log, t] { log.push_back("res prefinish" + t); });
  rs.finish.on([&log, t] { log.push_back("res finish" + t); });
  rs.close.on([&log, t] { log.push_back("res close" + t); });
  rs.error.on([&log, t](std::error_code ec) { log.push_back("res error" + t + " " + core::node_code(ec)); });
}

const std::map<std::string, Scenario>& scenarios() {
  static const std::map<std::string, Scenario> table = {
      {"respond-after-body",
       {.request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        .handler =
            [](ScenarioContext& ctx, const Req& req, const Res& res) {
              Log& log = ctx.log;
              req->events().data.on(
                  [&log](std::string_view d) { log.push_back("req data " + std::to_string(d.size())); });
              std::weak_ptr<ServerResponse> weak = res;
              req->events().end.on([&log, weak] {
                weak.lock()->end("hello", [&log](std::error_code) { log.push_back("end callback"); });
                log.push_back("end returned");
              });
            }}},
      {"respond-at-once",
       {.request = std::string(kGet),
        .close_after_responses = 1,
        .handler =
            [](ScenarioContext& ctx, const Req&, const Res& res) {
              res->end("hello");
              ctx.log.push_back("end returned");
            }}},
      {"client-aborts-mid-body",
       {.request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        .handler =
            [](ScenarioContext& ctx, const Req& req, const Res&) {
              req->events().data.on([&ctx](std::string_view d) {
                ctx.log.push_back("req data " + std::to_string(d.size()));
                ctx.client->destroy();
              });
            }}},
      {"check-continue",
       {.request =
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n",
        .check_continue = true,
        .handler =
            [](ScenarioContext& ctx, const Req& req, const Res& res) {
              Log& log = ctx.log;
              res->write_continue([&log](std::error_code) { log.push_back("continue written"); });
              req->events().data.on(
                  [&log](std::string_view d) { log.push_back("req data " + std::to_string(d.size())); });
              std::weak_ptr<ServerResponse> weak = res;
              req->events().end.on([weak] { weak.lock()->end("done"); });
              auto client = ctx.client;
              client->when([c = client.get()] { return !c->received().empty(); },
                           [c = client.get()] { c->send("abc"); });
            }}},
      {"pipelined-slow-first",
       {.request = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        .handler =
            [](ScenarioContext& ctx, const Req& req, const Res& res) {
              Log& log = ctx.log;
              if (req->url() == "/1") {
                ctx.loop.set_timeout(
                    [&log, res] {
                      log.push_back("answering /1");
                      res->end("one");
                    },
                    50ms);
              } else {
                res->end("two");
                log.push_back("answered /2");
              }
            }}},
      {"write-after-end",
       {.request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        .handler =
            [](ScenarioContext& ctx, const Req&, const Res& res) {
              Log& log = ctx.log;
              res->end("x");
              const bool ret = res->write(
                  "y", [&log](std::error_code ec) { log.push_back("write callback " + core::node_code(ec)); });
              log.push_back(std::string("write returned ") + (ret ? "true" : "false"));
            }}},
      {"destroy-response",
       {.request = std::string(kGet),
        .handler =
            [](ScenarioContext& ctx, const Req&, const Res& res) {
              res->destroy();
              ctx.log.push_back("destroy returned");
            }}},
      {"chunked-response",
       {.request = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   "2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
        .handler =
            [](ScenarioContext& ctx, const Req& req, const Res& res) {
              Log& log = ctx.log;
              req->events().data.on(
                  [&log](std::string_view d) { log.push_back("req data " + std::to_string(d.size())); });
              std::weak_ptr<ServerResponse> weak = res;
              req->events().end.on([&log, weak] {
                auto r = weak.lock();
                r->write("a", [&log](std::error_code) { log.push_back("write callback"); });
                r->end("b", [&log](std::error_code) { log.push_back("end callback"); });
              });
            }}},
      {"drop-request",
       {.request =
            "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n",
        .max_requests_per_socket = 2,
        .close_after_responses = 3,
        .handler = [](ScenarioContext&, const Req& req, const Res& res) { res->end(req->url()); }}},
  };
  return table;
}

Log run_scenario_on_libhttp(const Scenario& s) {
  core::Loop loop;
  Log log;
  ScenarioContext ctx{loop, log, nullptr};
  auto server = create_server(loop);
  server->max_requests_per_socket = s.max_requests_per_socket;
  auto& signal = s.check_continue ? server->events().check_continue : server->events().request;
  const std::string event = s.check_continue ? "checkContinue" : "request";
  signal.on([&](const Req& req, const Res& res) {
    log.push_back(event + " " + req->url());
    watch(log, req, res, req->url() == "/" ? "" : req->url());
    s.handler(ctx, req, res);
  });
  server->events().drop_request.on(
      [&](const Req& req, const std::shared_ptr<net::Socket>&) { log.push_back("dropRequest " + req->url()); });
  ctx.client = RawClient::connect(loop, listen(server), s.request);
  if (s.close_after_responses > 0) {
    ctx.client->when_responses(s.close_after_responses, [c = ctx.client.get()] { c->destroy(); });
  }
  ctx.client->on_close([server] { server->close(); });
  EXPECT_TRUE(loop.run_for(kLimit));
  ctx.client.reset();
  return log;
}

/// The tag of a log entry ("/1" in "res finish /1"), or "" for the message at "/".
std::string tag_of(const std::string& entry) {
  const auto pos = entry.rfind(" /");
  // "request /" is the untagged message's own url.
  if (pos == std::string::npos || pos + 2 == entry.size()) return std::string();
  return entry.substr(pos + 1);
}

/// One message's view of a log: the request's events ("req ...", the 'request'-like event that
/// starts it, 'dropRequest'), or the response's (everything else: "res ...", the handler's own
/// marks and callbacks, with the starting event as anchor), for one tag.
Log view(const Log& log, const std::string& tag, bool request_side) {
  Log out;
  for (const auto& entry : log) {
    if (tag_of(entry) != tag) continue;
    const bool anchor = entry.rfind("request ", 0) == 0 || entry.rfind("checkContinue ", 0) == 0;
    const bool req = entry.rfind("req ", 0) == 0 || entry.rfind("dropRequest ", 0) == 0;
    if (anchor || req == request_side) out.push_back(entry);
  }
  return out;
}

/// Compares each message's events with Node's, request and response apart: the order within each
/// is what Node 20 guarantees; how a request's events interleave with its response's depends on
/// how many ticks Node's streams take, which libhttp need not copy (and which varies with timing).
void expect_same_orders(const Log& ours, const Log& node) {
  std::vector<std::string> tags;
  for (const auto& entry : node) {
    if (std::find(tags.begin(), tags.end(), tag_of(entry)) == tags.end()) tags.push_back(tag_of(entry));
  }
  for (const auto& tag : tags) {
    EXPECT_EQ(view(ours, tag, true), view(node, tag, true)) << "request " << (tag.empty() ? "/" : tag);
    EXPECT_EQ(view(ours, tag, false), view(node, tag, false)) << "response " << (tag.empty() ? "/" : tag);
  }
  EXPECT_EQ(ours.size(), node.size()) << "every event once";
}

class ServerEventOrderTest : public ::testing::Test {
 protected:
  /// Runs scenario `name` on Node (just that one: a test is often run on its own), then on libhttp.
  static void compare(const std::string& name) {
    const std::string out = test::run_node_oracle("server_events.js", nlohmann::json::array({name}).dump());
    const Log ours = run_scenario_on_libhttp(scenarios().at(name));
    ASSERT_FALSE(out.empty()) << "Node did not run " << name;
    const auto parsed = nlohmann::json::parse(out);
    ASSERT_TRUE(parsed.contains(name));
    last_ours_ = ours;
    check(ours, parsed[name].get<Log>());
  }
  /// How the two logs are compared; per message unless a test says otherwise.
  static void check(const Log& ours, const Log& node) { expect_same_orders(ours, node); }

  static inline Log last_ours_;
};

TEST_F(ServerEventOrderTest, RespondAfterReadingTheBody) { compare("respond-after-body"); }

TEST_F(ServerEventOrderTest, RespondAtOnceWithoutReadingTheBody) { compare("respond-at-once"); }

// Here the interleaving is the point too: 'aborted' first, then the response's 'close', then the
// request's 'error' and 'close'.
TEST_F(ServerEventOrderTest, ClientAbortsInTheMiddleOfTheBody) {
  compare("client-aborts-mid-body");
  EXPECT_EQ(last_ours_,
            (Log{"request /", "req data 3", "req aborted", "res close", "req error ECONNRESET", "req close"}));
}

TEST_F(ServerEventOrderTest, CheckContinueThenBody) { compare("check-continue"); }

TEST_F(ServerEventOrderTest, WriteAfterEndCallsBackThenEmitsError) { compare("write-after-end"); }

TEST_F(ServerEventOrderTest, DestroyingTheResponseAbortsTheRequest) { compare("destroy-response"); }

TEST_F(ServerEventOrderTest, ChunkedResponseCallbacks) { compare("chunked-response"); }

// Besides each message's own order: both requests reach the handler before the first answer, and
// the responses finish in request order.
TEST_F(ServerEventOrderTest, PipelinedRequestsWithASlowFirstAnswer) {
  compare("pipelined-slow-first");
  const Log order = {"request /1", "request /2", "answered /2", "answering /1", "res finish /1", "res finish /2"};
  Log filtered;
  for (const auto& e : last_ours_) {
    if (std::find(order.begin(), order.end(), e) != order.end()) filtered.push_back(e);
  }
  EXPECT_EQ(filtered, order);
}

TEST_F(ServerEventOrderTest, DropRequestBeyondMaxRequestsPerSocket) { compare("drop-request"); }

// =================================================================================================
// Headers.
// =================================================================================================

TEST(ServerResponseTest, HeaderMethodsBeforeTheHead) {
  core::Loop loop;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
        EXPECT_EQ(res->req(), req);
        EXPECT_FALSE(res->headers_sent());
        EXPECT_EQ(res->status_code, 200);
        EXPECT_TRUE(res->send_date);
        res->set_header("Content-Type", "text/plain");
        res->set_header("X-Multi", std::vector<std::string>{"a", "b"});
        res->append_header("x-multi", "c");
        res->append_header("X-Appended", "1");
        res->set_headers({{"X-From-Map", "m"}, {"Set-Cookie", "s=1"}, {"Set-Cookie", "t=2"}});
        res->set_header("X-Gone", "soon");
        EXPECT_TRUE(res->has_header("x-gone"));
        res->remove_header("X-GONE");
        EXPECT_FALSE(res->has_header("x-gone"));
        EXPECT_EQ(res->get_header("x-gone"), nullptr);

        ASSERT_NE(res->get_header("content-type"), nullptr);
        EXPECT_EQ(std::get<std::string>(*res->get_header("CONTENT-TYPE")), "text/plain");
        ASSERT_NE(res->get_header("x-multi"), nullptr);
        EXPECT_EQ(std::get<std::vector<std::string>>(*res->get_header("x-multi")),
                  (std::vector<std::string>{"a", "b", "c"}));
        EXPECT_EQ(res->get_header_names(),
                  (std::vector<std::string>{"content-type", "x-multi", "x-appended", "x-from-map", "set-cookie"}));
        EXPECT_EQ(res->get_raw_header_names(),
                  (std::vector<std::string>{"Content-Type", "X-Multi", "X-Appended", "X-From-Map", "Set-Cookie"}));
        const auto headers = res->get_headers();
        EXPECT_EQ(headers.size(), 5u);
        ASSERT_NE(headers.find("set-cookie"), nullptr);
        EXPECT_EQ(std::get<std::vector<std::string>>(*headers.find("set-cookie")),
                  (std::vector<std::string>{"s=1", "t=2"}));
        res->end("body");
        EXPECT_TRUE(res->headers_sent());
      }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.names(), (std::vector<std::string>{"Content-Type", "X-Multi", "X-Multi", "X-Multi", "X-Appended",
                                                 "X-From-Map", "Set-Cookie", "Set-Cookie", "Date", "Connection",
                                                 "Keep-Alive", "Content-Length"}));
  EXPECT_EQ(r.body, "body");
}

TEST(ServerResponseTest, HeaderChangesAfterTheHeadThrowHeadersSent) {
  core::Loop loop;
  auto server =
      create_server(loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) {
                      res->set_header("X-Before", "1");
                      res->flush_headers();
                      EXPECT_TRUE(res->headers_sent());
                      EXPECT_EQ(thrown([&] { res->set_header("X", "1"); }),
                                "ERR_HTTP_HEADERS_SENT|Cannot set headers after they are sent to the client");
                      EXPECT_EQ(thrown([&] { res->append_header("X", "1"); }),
                                "ERR_HTTP_HEADERS_SENT|Cannot append headers after they are sent to the client");
                      EXPECT_EQ(thrown([&] { res->remove_header("X-Before"); }),
                                "ERR_HTTP_HEADERS_SENT|Cannot remove headers after they are sent to the client");
                      EXPECT_EQ(thrown([&] { res->write_head(201); }),
                                "ERR_HTTP_HEADERS_SENT|Cannot write headers after they are sent to the client");
                      EXPECT_EQ(thrown([&] {
                                  res->set_headers({{"a", "b"}});
                                }),
                                "ERR_HTTP_HEADERS_SENT|Cannot set headers after they are sent to the client");
                      // Reading is still fine.
                      EXPECT_TRUE(res->has_header("x-before"));
                      res->end("ok");
                    }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Before"), "1");
  EXPECT_EQ(r.count("X"), 0u);
  // flushHeaders before any body: the length is unknown, so the body is chunked.
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body, "ok");
}

TEST(ServerResponseTest, InvalidStatusCodesHeaderNamesAndValuesThrow) {
  core::Loop loop;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) {
        EXPECT_EQ(thrown([&] { res->write_head(99); }), "ERR_HTTP_INVALID_STATUS_CODE|Invalid status code: 99");
        EXPECT_EQ(thrown([&] { res->write_head(1000); }), "ERR_HTTP_INVALID_STATUS_CODE|Invalid status code: 1000");
        EXPECT_EQ(thrown([&] { res->set_header("Bad Name", "x"); }),
                  "ERR_INVALID_HTTP_TOKEN|Header name must be a valid HTTP token [\"Bad Name\"]");
        EXPECT_EQ(thrown([&] { res->set_header("X", "a\nb"); }),
                  "ERR_INVALID_CHAR|Invalid character in header content [\"X\"]");
        EXPECT_EQ(thrown([&] { res->append_header("X", "a\rb"); }),
                  "ERR_INVALID_CHAR|Invalid character in header content [\"X\"]");
        EXPECT_EQ(thrown([&] {
                    res->write_head(200, {{"Bad Name", "x"}});
                  }),
                  "ERR_INVALID_HTTP_TOKEN|Header name must be a valid HTTP token [\"Bad Name\"]");
        EXPECT_EQ(thrown([&] {
                    res->add_trailers({{"Bad Name", "x"}});
                  }),
                  "ERR_INVALID_HTTP_TOKEN|Trailer name must be a valid HTTP token [\"Bad Name\"]");
        EXPECT_EQ(thrown([&] {
                    res->add_trailers({{"X", "a\nb"}});
                  }),
                  "ERR_INVALID_CHAR|Invalid character in trailer content [\"X\"]");
        // None of these sent anything: a valid answer still goes out.
        EXPECT_FALSE(res->headers_sent());
        EXPECT_FALSE(res->has_header("x"));
        res->write_head(202);
        res->end();
      }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.status, 202);
  // As in Node 20, the writeHead(200, ...) that threw had already set statusMessage to "OK".
  EXPECT_EQ(r.reason, "OK");
}

TEST(ServerResponseTest, InvalidStatusMessageThrowsInvalidChar) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) {
                                EXPECT_EQ(thrown([&] { res->write_head(200, "Bad\nreason"); }),
                                          "ERR_INVALID_CHAR|Invalid character in statusMessage");
                                EXPECT_FALSE(res->headers_sent());
                                res->status_message = "Fine";
                                res->end();
                              }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "Fine");
}

// =================================================================================================
// Writing.
// =================================================================================================

TEST(ServerResponseTest, WritesTextInEveryEncodingAndCallsBackInOrder) {
  core::Loop loop;
  Log log;
  auto server =
      create_server(loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
                      res->set_header("Content-Type", "text/plain");
                      EXPECT_TRUE(res->write("68656c6c6f", core::Encoding::hex, [&](std::error_code ec) {
                        EXPECT_FALSE(ec);
                        log.push_back("hex");
                      }));
                      res->write("IHdvcmxk", core::Encoding::base64, [&](std::error_code ec) {
                        EXPECT_FALSE(ec);
                        log.push_back("base64");
                      });
                      res->write("\xc3\xa9", core::Encoding::latin1, [&](std::error_code) { log.push_back("latin1"); });
                      res->write("!", [&](std::error_code) { log.push_back("utf8"); });
                      EXPECT_FALSE(res->writable_ended());
                      res->end("2E", core::Encoding::hex, [&log, r = res.get()](std::error_code ec) {
                        EXPECT_FALSE(ec);
                        log.push_back("end");
                        EXPECT_TRUE(r->writable_finished());
                      });
                      EXPECT_TRUE(res->writable_ended());
                      EXPECT_TRUE(res->finished());
                      log.push_back("end returned");
                    }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.body, "hello world\xe9!.");
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(log, (Log{"end returned", "hex", "base64", "latin1", "utf8", "end"}));
}

// Checked against Node 20: a second end() once the response is finished calls back at once with
// ERR_STREAM_ALREADY_FINISHED, before end() returns.
TEST(ServerResponseTest, EndWithDataSendsContentLengthAndCallsBackOnFinish) {
  core::Loop loop;
  Log log;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
        res->events().finish.on([&] { log.push_back("finish"); });
        res->end("whole body", [&](std::error_code ec) { log.push_back("callback " + core::node_code(ec)); });
        EXPECT_TRUE(res->writable_ended());
        res->end([&](std::error_code ec) { log.push_back("second end callback " + core::node_code(ec)); });
        log.push_back("returned");
      }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.header("Content-Length"), "10");
  EXPECT_FALSE(r.chunked);
  EXPECT_EQ(r.body, "whole body");
  EXPECT_EQ(log, (Log{"second end callback ERR_STREAM_ALREADY_FINISHED", "returned", "finish", "callback "}));
}

TEST(ServerResponseTest, FlushHeadersSendsTheHeadBeforeAnyBody) {
  core::Loop loop;
  std::shared_ptr<RawClient> client;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
        res->set_header("X-Early", "yes");
        res->flush_headers();
        EXPECT_TRUE(res->headers_sent());
        // The body follows only once the client has the head.
        client->when([c = client.get()] { return c->received().find("\r\n\r\n") != std::string::npos; },
                     [c = client.get(), res] {
                       EXPECT_EQ(c->received().find("X-Early: yes"), c->received().find("X-Early"));
                       EXPECT_EQ(c->received().substr(c->received().size() - 4), "\r\n\r\n") << "no body yet";
                       res->end("late body");
                     });
      }));
  client = RawClient::connect(loop, listen(server), std::string(kGet));
  client->when_responses(1, [c = client.get()] { c->destroy(); });
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto r = only_response(client);
  EXPECT_EQ(r.body, "late body");
  EXPECT_TRUE(r.chunked);
}

TEST(ServerResponseTest, CorkGathersWritesUntilUncork) {
  core::Loop loop;
  std::vector<std::string> reads;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
                                res->set_header("Content-Length", "9");
                                res->cork();
                                res->cork();
                                EXPECT_EQ(res->writable_corked(), 2u);
                                res->write("abc");
                                res->write("def");
                                // Held back across turns of the loop while corked.
                                loop.set_timeout(
                                    [&loop, res] {
                                      EXPECT_GE(res->writable_length(), 6u) << "the writes left while corked";
                                      res->write("ghi");
                                      res->uncork();
                                      EXPECT_EQ(res->writable_corked(), 1u);
                                      EXPECT_GE(res->writable_length(), 9u) << "one uncork of two must not flush";
                                      res->uncork();
                                      EXPECT_EQ(res->writable_corked(), 0u);
                                      loop.post([res] { res->end(); });
                                    },
                                    30ms);
                              }));
  auto client = RawClient::connect(loop, listen(server), std::string(kGet));
  client->socket()->events().data.on([&](std::string_view d) { reads.emplace_back(d); });
  client->when_responses(1, [c = client.get()] { c->destroy(); });
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto r = only_response(client);
  EXPECT_EQ(r.body, "abcdefghi");
  // Head and body left in one gather write, so they arrive as one read on loopback.
  ASSERT_EQ(reads.size(), 1u) << client->received();
}

TEST(ServerResponseTest, StrictContentLengthThrowsForTooMuchAndTooLittle) {
  core::Loop loop;
  int calls = 0;
  auto server = create_server(loop, must_call<const Req&, const Res&>(
                                        [&](const Req& req, const Res& res) {
                                          ++calls;
                                          res->strict_content_length = true;
                                          res->set_header("Content-Length", "5");
                                          if (req->url() == "/long") {
                                            res->write("abc");
                                            EXPECT_EQ(thrown([&] { res->write("def"); }),
                                                      "ERR_HTTP_CONTENT_LENGTH_MISMATCH|Response body's content-length "
                                                      "of 6 byte(s) does not match the content-length of 5 byte(s) "
                                                      "set in header");
                                            res->end("de");
                                          } else {
                                            res->write("abc");
                                            EXPECT_EQ(thrown([&] { res->end(); }),
                                                      "ERR_HTTP_CONTENT_LENGTH_MISMATCH|Response body's content-length "
                                                      "of 3 byte(s) does not match the content-length of 5 byte(s) "
                                                      "set in header");
                                            res->end("xy");
                                          }
                                        },
                                        2));
  const auto client =
      serve_one(loop, server, "GET /long HTTP/1.1\r\nHost: x\r\n\r\nGET /short HTTP/1.1\r\nHost: x\r\n\r\n", 2);
  const auto finals = client->finals();
  ASSERT_EQ(finals.size(), 2u);
  EXPECT_EQ(finals[0].body, "abcde");
  EXPECT_EQ(finals[1].body, "abcxy");
  EXPECT_EQ(calls, 2);
}

TEST(ServerResponseTest, WriteEarlyHintsRejectsMalformedLinksAndNeedsOne) {
  core::Loop loop;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) {
        const std::string message =
            "ERR_INVALID_ARG_VALUE|The argument 'hints' must be an array or string of format \"</styles.css>; "
            "rel=preload; as=style\". Received 'not-a-link'";
        EXPECT_EQ(thrown([&] { res->write_early_hints({{"link", "not-a-link"}}); }), message);
        EXPECT_EQ(thrown([&] {
                    res->write_early_hints({{"link", "</a.js>; rel=preload"}, {"link", "not-a-link"}});
                  }),
                  message);
        // Without a link nothing is sent at all.
        res->write_early_hints({{"x-other", "1"}}, must_not_call<std::error_code>());
        // Two links become one Link header; other hints follow as they are.
        res->write_early_hints(
            {{"link", "</a.css>; rel=preload; as=style"}, {"x-hint", "h"}, {"link", "</b.js>; rel=preload"}},
            must_call<std::error_code>([](std::error_code ec) { EXPECT_FALSE(ec); }));
        res->end("x");
      }));
  const auto client = serve_one(loop, server);
  const auto parsed = client->parse();
  ASSERT_EQ(parsed.responses.size(), 2u) << client->received();
  EXPECT_EQ(parsed.responses[0].status, 103);
  EXPECT_EQ(parsed.responses[0].header("Link"), "</a.css>; rel=preload; as=style, </b.js>; rel=preload");
  EXPECT_EQ(parsed.responses[0].header("x-hint"), "h");
  EXPECT_EQ(parsed.responses[1].status, 200);
}

TEST(ServerResponseTest, WriteContinueAndWriteProcessingAreInterimResponses) {
  core::Loop loop;
  auto server =
      create_server(loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) {
                      res->write_continue(must_call<std::error_code>([](std::error_code ec) { EXPECT_FALSE(ec); }));
                      res->write_processing(must_call<std::error_code>([](std::error_code ec) { EXPECT_FALSE(ec); }));
                      // Interim responses are not the head.
                      EXPECT_FALSE(res->headers_sent());
                      res->set_header("X-After", "1");
                      res->end("final");
                    }));
  const auto client = serve_one(loop, server);
  const auto parsed = client->parse();
  ASSERT_EQ(parsed.responses.size(), 3u) << client->received();
  EXPECT_EQ(parsed.responses[0].raw_head, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(parsed.responses[1].raw_head, "HTTP/1.1 102 Processing\r\n\r\n");
  EXPECT_EQ(parsed.responses[2].status, 200);
  EXPECT_EQ(parsed.responses[2].header("X-After"), "1");
}

TEST(ServerResponseTest, TrailersGoOutOnlyWithChunking) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>(
                                        [](const Req& req, const Res& res) {
                                          if (req->url() == "/chunked") {
                                            res->write("a");
                                            res->add_trailers({{"X-Checksum", "c1"}, {"X-Checksum", "c2"}});
                                            res->end();
                                          } else {
                                            res->add_trailers({{"X-Checksum", "ignored"}});
                                            res->end("b");
                                          }
                                        },
                                        2));
  const auto client =
      serve_one(loop, server, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /length HTTP/1.1\r\nHost: x\r\n\r\n", 2);
  const auto finals = client->finals();
  ASSERT_EQ(finals.size(), 2u);
  EXPECT_TRUE(finals[0].chunked);
  EXPECT_EQ(finals[0].trailers, (test::WireFields{{"X-Checksum", "c1"}, {"X-Checksum", "c2"}}));
  EXPECT_FALSE(finals[1].chunked);
  EXPECT_TRUE(finals[1].trailers.empty());
  EXPECT_EQ(client->received().find("ignored"), std::string::npos);
}

TEST(ServerResponseTest, StatusCodeAndMessageSetBeforeAnImplicitHead) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) {
                                res->status_code = 418;
                                res->end();
                                EXPECT_EQ(res->status_message, "I'm a Teapot");
                              }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.reason, "I'm a Teapot");
}

TEST(ServerResponseTest, SendDateFalseLeavesDateOut) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>(
                                        [](const Req& req, const Res& res) {
                                          res->send_date = req->url() != "/no-date";
                                          res->end();
                                        },
                                        2));
  const auto client =
      serve_one(loop, server, "GET /no-date HTTP/1.1\r\nHost: x\r\n\r\nGET /date HTTP/1.1\r\nHost: x\r\n\r\n", 2);
  const auto finals = client->finals();
  ASSERT_EQ(finals.size(), 2u);
  EXPECT_EQ(finals[0].count("Date"), 0u);
  ASSERT_EQ(finals[1].count("Date"), 1u);
  // An IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  const auto date = *finals[1].header("Date");
  EXPECT_EQ(date.size(), 29u) << date;
  EXPECT_EQ(date.substr(date.size() - 4), " GMT");
}

// =================================================================================================
// Sockets, backpressure, timeouts, destroy.
// =================================================================================================

// Node 20 emits 'prefinish', 'finish', then 'close' also for a response nobody but the server
// references (the server must keep it alive until its 'close').
TEST(ServerResponseTest, EmitsCloseAfterFinish) {
  core::Loop loop;
  Log log;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
                                res->events().prefinish.on([&] { log.push_back("prefinish"); });
                                res->events().finish.on([&] { log.push_back("finish"); });
                                res->events().close.on([&] { log.push_back("close"); });
                                res->end("x");
                              }));
  only_response(serve_one(loop, server));
  EXPECT_EQ(log, (Log{"prefinish", "finish", "close"}));
}

TEST(ServerResponseTest, SocketIsThereWhileAnsweringAndGoneAfterFinish) {
  core::Loop loop;
  std::shared_ptr<net::Socket> seen;
  auto server = create_server(loop);
  server->events().connection.on([&](const std::shared_ptr<net::Socket>& s) { seen = s; });
  server->events().request.on(must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
    ASSERT_NE(res->socket(), nullptr);
    EXPECT_EQ(res->socket(), seen);
    EXPECT_EQ(res->connection(), seen);
    EXPECT_EQ(req->socket(), seen);
    EXPECT_EQ(res->socket()->remote_address(), "127.0.0.1");
    std::weak_ptr<ServerResponse> weak = res;
    res->events().finish.on(must_call([weak] { EXPECT_EQ(weak.lock()->socket(), nullptr); }));
    res->end("x");
  }));
  only_response(serve_one(loop, server));
}

TEST(ServerResponseTest, HighWaterMarksComeFromTheServerOption) {
  core::Loop loop;
  auto server = create_server(loop, {.high_water_mark = 1024},
                              must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
                                EXPECT_EQ(res->writable_high_water_mark(), 1024u);
                                EXPECT_EQ(res->socket()->writable_high_water_mark(), 1024u);
                                EXPECT_EQ(req->readable_high_water_mark(), 1024u);
                                EXPECT_EQ(req->socket()->readable_high_water_mark(), 1024u);
                                EXPECT_EQ(res->writable_length(), 0u);
                                res->end();
                              }));
  only_response(serve_one(loop, server));

  core::Loop loop2;
  auto defaults = create_server(loop2, must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
                                  EXPECT_EQ(res->writable_high_water_mark(), 16384u);
                                  EXPECT_EQ(req->readable_high_water_mark(), 16384u);
                                  res->end();
                                }));
  only_response(serve_one(loop2, defaults));
}

// A big body to a client that does not read: write() returns false once the socket's buffer is
// past the high-water mark, writable_length() reports what waits, the server stalls (no 'drain')
// while the client holds still, and 'drain' comes again once the client reads. All bytes arrive.
TEST(ServerResponseTest, DrainsABigBodyToASlowClient) {
  core::Loop loop;
  const std::string chunk = pattern(256 * 1024);
  constexpr int kChunks = 32;  // 8 MiB: more than loopback's socket buffers hold
  std::shared_ptr<RawClient> client;
  int written = 0;
  int drains = 0;
  int written_when_stalled = -1;
  bool need_drain_when_stalled = false;
  std::size_t length_when_stalled = 0;
  auto last_progress = std::chrono::steady_clock::now();
  std::weak_ptr<ServerResponse> response;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
                                res->set_header("Content-Length", std::to_string(chunk.size() * kChunks));
                                response = res;
                                auto pump = std::make_shared<std::function<void()>>();
                                *pump = [&] {
                                  auto r = response.lock();
                                  last_progress = std::chrono::steady_clock::now();
                                  while (written < kChunks) {
                                    ++written;
                                    const bool more = r->write(chunk);
                                    if (written == kChunks) {
                                      r->end();
                                      return;
                                    }
                                    if (!more) {
                                      EXPECT_TRUE(r->writable_need_drain());
                                      EXPECT_GT(r->writable_length(), r->writable_high_water_mark());
                                      return;
                                    }
                                  }
                                };
                                res->events().drain.on([&drains, pump] {
                                  ++drains;
                                  (*pump)();
                                });
                                (*pump)();
                              }));
  client = RawClient::connect(loop, listen(server), std::string(kGet), {.high_water_mark = 16384});
  // The client stops reading once the body starts (ResponseReachesAClientPausedBeforeConnecting
  // covers a client paused earlier).
  client->socket()->events().data.once([c = client.get()](std::string_view) { c->socket()->pause(); });
  // Once the server made no progress for 200 ms, the client is what holds it: let it read.
  auto monitor = loop.set_interval(
      [&] {
        if (written_when_stalled >= 0 || written == 0) return;
        if (std::chrono::steady_clock::now() - last_progress < 200ms) return;
        written_when_stalled = written;
        if (auto r = response.lock()) {
          need_drain_when_stalled = r->writable_need_drain();
          length_when_stalled = r->writable_length();
        }
        client->socket()->resume();
      },
      20ms);
  client->when_responses(1, [c = client.get(), monitor] {
    monitor->close();
    c->destroy();
  });
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  monitor->close();
  EXPECT_GT(written_when_stalled, 0);
  EXPECT_LT(written_when_stalled, kChunks) << "the server never waited for the client";
  EXPECT_TRUE(need_drain_when_stalled);
  EXPECT_GT(length_when_stalled, 16384u);
  EXPECT_GE(drains, 1);
  const auto r = only_response(client);
  ASSERT_EQ(r.body.size(), chunk.size() * kChunks);
  for (int i = 0; i < kChunks; ++i) {
    ASSERT_EQ(r.body.compare(static_cast<std::size_t>(i) * chunk.size(), chunk.size(), chunk), 0) << "chunk " << i;
  }
}

// A client socket paused before its connection is up still reads once resumed (Node 20: new
// net.Socket, on('data'), pause(), connect, resume() 50 ms later receives everything): the
// response is not lost on a slow client.
TEST(ServerResponseTest, ResponseReachesAClientPausedBeforeConnecting) {
  core::Loop loop;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) { res->end("for a slow client"); }));
  auto client = RawClient::connect(loop, listen(server), std::string(kGet));
  client->socket()->pause();
  auto resume = loop.set_timeout([c = client.get()] { c->socket()->resume(); }, 50ms);
  // The test's own bound: a client that never reads is cut after 2 s.
  auto guard = loop.set_timeout([c = client.get()] { c->destroy(); }, 2s);
  client->when_responses(1, [c = client.get(), guard] {
    guard->close();
    c->destroy();
  });
  client->on_close([server, resume, guard] {
    resume->close();
    guard->close();
    server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto finals = client->finals();
  ASSERT_EQ(finals.size(), 1u) << "received: " << client->received();
  EXPECT_EQ(finals[0].body, "for a slow client");
}

TEST(ServerResponseTest, SetTimeoutEmitsTimeoutOnTheResponse) {
  core::Loop loop;
  Log log;
  auto server = create_server(loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
                                const auto start = std::chrono::steady_clock::now();
                                std::weak_ptr<ServerResponse> weak = res;
                                res->set_timeout(100ms, must_call([&, weak, start] {
                                                   EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
                                                   log.push_back("timeout");
                                                   // A listener took it: the socket is still there to answer on.
                                                   weak.lock()->end("after timeout");
                                                 }));
                              }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.body, "after timeout");
  EXPECT_EQ(log, (Log{"timeout"}));
}

TEST(ServerResponseTest, DestroyClosesTheConnectionWithoutAnAnswer) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>([](const Req&, const Res& res) {
                                res->set_header("X", "never sent");
                                res->destroy();
                                EXPECT_TRUE(res->destroyed());
                                res->events().close.on(must_call([r = res.get()] { EXPECT_TRUE(r->closed()); }));
                              }));
  const auto client = serve_one(loop, server);
  EXPECT_TRUE(client->closed());
  EXPECT_EQ(client->received(), "");
}

TEST(ServerResponseTest, EndWithDataAfterEndCallsBackThenEmitsError) {
  core::Loop loop;
  Log log;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
        res->events().error.on([&](std::error_code ec) { log.push_back("error " + core::node_code(ec)); });
        res->end("done");
        res->end("more", [&](std::error_code ec) { log.push_back("end callback " + core::node_code(ec)); });
      }));
  const auto r = only_response(serve_one(loop, server));
  EXPECT_EQ(r.body, "done");
  EXPECT_EQ(log, (Log{"end callback ERR_STREAM_WRITE_AFTER_END", "error ERR_STREAM_WRITE_AFTER_END"}));
}

}  // namespace
}  // namespace httpx::http
