// http::Server over real connections on 127.0.0.1 (issue 3, the server half): createServer's options
// with Node's defaults, the server's events, and its wire behaviour (framing, HEAD/204/304,
// HTTP/1.0, pipelining, Connection: close). The wire cases (ServerWireTest) are differential: the
// same raw requests go to Node 20's http.Server running the same handlers
// (tests/oracle/server_wire.js) and the bytes that come back must be equal, Date values aside.
// Event orders asserted elsewhere were checked against Node 20 first; each test cites the run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "httpx/core/error.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/incoming_message.hpp"
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
using SocketPtr = std::shared_ptr<net::Socket>;
using test::must_call;
using test::must_not_call;
using test::RawClient;
using test::listen;
using test::only_response;
using test::serve_one;
using test::WireResponse;

// Far more than any test needs; reaching it means something did not finish by itself.
constexpr auto kLimit = 10s;

int sockopt(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) return -1;
  return value;
}

// =================================================================================================
// Wire behaviour, differential against Node 20.
// =================================================================================================

/// One raw exchange: the request bytes and the createServer options (Node's names). Cases come in
/// groups, one test per group (each test is a process of its own under ctest, and each costs a
/// Node start and an idle wait).
struct WireCase {
  std::string group;
  std::string name;
  std::string request;
  nlohmann::json options = nlohmann::json::object();
};

std::string filler(std::size_t size) { return "X-Fill: " + std::string(size, 'f') + "\r\n"; }

const std::vector<WireCase>& wire_cases() {
  static const std::vector<WireCase> table = {
      // Framing: Content-Length for a body given whole to end(), chunked otherwise.
      {"Framing", "EndWithBody", "GET /end HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Framing", "WriteThenEndIsChunked", "GET /write-end HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Framing", "EmptyEnd", "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Framing", "UserContentLength", "GET /length HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Framing", "RemovedLengthAndChunkingRunsToClose", "GET /remove HTTP/1.1\r\nHost: x\r\n\r\n"},
      // Bodies suppressed.
      {"BodiesSuppressed", "HeadOfEnd", "HEAD /end HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"BodiesSuppressed", "HeadOfWriteEnd",
       "HEAD /write-end HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"BodiesSuppressed", "Status204", "GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"BodiesSuppressed", "Status304", "GET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n"},
      // Trailers: only with chunking.
      {"Trailers", "Trailers", "GET /trailers HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Trailers", "TrailersIgnoredWithContentLength", "GET /trailers-length HTTP/1.1\r\nHost: x\r\n\r\n"},
      // Connection handling.
      {"Connections", "HandlerSetsConnectionClose",
       "GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Connections", "RequestSaysConnectionClose",
       "GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Connections", "Http10", "GET /end HTTP/1.0\r\n\r\n"},
      {"Connections", "Http10WithoutLength", "GET /write-end HTTP/1.0\r\n\r\n"},
      {"Connections", "Http10KeepAlive",
       "GET /end HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /empty HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
      {"Connections", "Http10KeepAliveWithoutLength", "GET /write-end HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
      {"Connections", "Http10AcceptingChunked",
       "GET /write-end HTTP/1.0\r\nTE: chunked\r\nConnection: keep-alive\r\n\r\n"},
      {"Connections", "KeepAliveTimeoutInHeader", "GET /end HTTP/1.1\r\nHost: x\r\n\r\n", {{"keepAliveTimeout", 3000}}},
      {"Connections",
       "KeepAliveTimeoutZeroSendsNoKeepAliveHeader",
       "GET /end HTTP/1.1\r\nHost: x\r\n\r\n",
       {{"keepAliveTimeout", 0}}},
      // Pipelining: answered in order, a slow first handler included.
      {"Pipelining", "PipelinedSlowFirst",
       "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n"
       "GET /write-end HTTP/1.1\r\nHost: x\r\n\r\nGET /close HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Pipelining",
       "MaxRequestsPerSocketDrops",
       "GET /end HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n",
       {{"maxRequestsPerSocket", 2}}},
      // Request bodies.
      {"RequestBodies", "EchoContentLength", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"},
      {"RequestBodies", "EchoChunkedWithTrailers",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: "
       "1\r\n\r\n"},
      // Expectations.
      {"Expectations", "ExpectContinueWithoutListener",
       "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"},
      {"Expectations", "ExpectOtherIs417", "GET /end HTTP/1.1\r\nHost: x\r\nExpect: bananas\r\n\r\n"},
      // Host.
      {"HostHeader", "MissingHostIs400", "GET /end HTTP/1.1\r\n\r\n"},
      {"HostHeader", "MissingHostHttp10IsFine", "GET /end HTTP/1.0\r\n\r\n"},
      {"HostHeader", "MissingHostNotRequired", "GET /end HTTP/1.1\r\n\r\n", {{"requireHostHeader", false}}},
      // Client errors answered by default.
      {"ClientErrors", "GarbageIs400", "GARBAGE\r\n\r\n"},
      {"ClientErrors",
       "HeaderOverflowIs431",
       "GET /end HTTP/1.1\r\nHost: x\r\n" + filler(2000) + "\r\n",
       {{"maxHeaderSize", 1024}}},
      {"ClientErrors",
       "HeaderJustUnderLimit",
       "GET /end HTTP/1.1\r\nHost: x\r\n" + filler(900) + "\r\n",
       {{"maxHeaderSize", 1024}}},
      {"ClientErrors", "ControlCharRejected",
       "GET /headers HTTP/1.1\r\nHost: x\r\nX: a\x01"
       "b\r\n\r\n"},
      {"ClientErrors",
       "ControlCharAcceptedByInsecureParser",
       "GET /headers HTTP/1.1\r\nHost: x\r\nX: a\x01"
       "b\r\n\r\n",
       {{"insecureHTTPParser", true}}},
      // Duplicate request headers.
      {"DuplicateHeaders", "DuplicateHeaders",
       "GET /headers HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nUser-Agent: b\r\nX-D: 1\r\nX-D: 2\r\n"
       "Set-Cookie: s1\r\nSet-Cookie: s2\r\n\r\n"},
      {"DuplicateHeaders",
       "JoinDuplicateHeaders",
       "GET /headers HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nUser-Agent: b\r\nX-D: 1\r\nX-D: 2\r\n"
       "Set-Cookie: s1\r\nSet-Cookie: s2\r\n\r\n",
       {{"joinDuplicateHeaders", true}}},
      // Protocol changes nobody listens for.
      {"ProtocolChanges", "UpgradeWithoutListenerIsARequest",
       "GET /end HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\nNOT-HTTP"},
      {"ProtocolChanges", "ConnectWithoutListenerCloses", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nHEAD"},
      // Response heads.
      {"ResponseHeads", "WriteHeadWithRawPairs", "GET /raw-headers HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"ResponseHeads", "WriteHeadMergesSetHeaders", "GET /merge HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"ResponseHeads", "StatusMessage", "GET /status-message HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"ResponseHeads", "EarlyHintsAndProcessing", "GET /interim HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"ResponseHeads", "SendDateFalse", "GET /no-date HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"ResponseHeads", "UniqueHeaders", "GET /unique HTTP/1.1\r\nHost: x\r\n\r\n", {{"uniqueHeaders", {"x-u"}}}},
  };
  return table;
}

/// The handlers of tests/oracle/server_wire.js, chosen by path.
void wire_handler(core::Loop& loop, const Req& req, const Res& res) {
  const std::string path = req->url().substr(0, req->url().find('?'));
  if (path == "/end") {
    res->end("hello");
  } else if (path == "/write-end") {
    res->write("hel");
    res->end("lo");
  } else if (path == "/empty") {
    res->end();
  } else if (path == "/204") {
    res->status_code = 204;
    res->end("dropped");
  } else if (path == "/304") {
    res->status_code = 304;
    res->write("dropped");
    res->end();
  } else if (path == "/length") {
    res->set_header("Content-Length", "5");
    res->write("hel");
    res->end("lo");
  } else if (path == "/trailers") {
    res->write_head(200, {{"Trailer", "X-Sum"}});
    res->write("abc");
    res->add_trailers({{"X-Sum", "6"}, {"X-More", "yes"}});
    res->end();
  } else if (path == "/trailers-length") {
    res->set_header("Content-Length", "3");
    res->add_trailers({{"X-Sum", "6"}});
    res->end("abc");
  } else if (path == "/close") {
    res->set_header("Connection", "close");
    res->end("bye");
  } else if (path == "/slow") {
    loop.set_timeout([res] { res->end("slow"); }, 100ms);
  } else if (path == "/echo") {
    // The listeners live in req: they hold neither message (req owning itself would leak).
    auto body = std::make_shared<std::string>();
    IncomingMessage* r = req.get();
    std::weak_ptr<ServerResponse> weak = res;
    req->events().data.on([body](std::string_view d) { body->append(d); });
    req->events().end.on([r, weak, body] {
      auto res = weak.lock();
      if (!res) return;
      std::string trailers;
      for (const auto& [name, value] : r->trailers()) {
        if (!trailers.empty()) trailers += ';';
        trailers += name + "=" + std::get<std::string>(value);
      }
      res->end(*body + "|" + trailers);
    });
  } else if (path == "/headers") {
    std::string out;
    for (const auto& [name, value] : req->headers()) {
      if (!out.empty()) out += '\n';
      out += name + "=";
      if (const auto* s = std::get_if<std::string>(&value)) {
        out += *s;
      } else {
        const auto& values = std::get<std::vector<std::string>>(value);
        for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
      }
    }
    res->end(out);
  } else if (path == "/raw-headers") {
    res->write_head(200, {{"X-A", "1"}, {"X-A", "2"}, {"x-b", "3"}});
    res->end("r");
  } else if (path == "/merge") {
    res->set_header("X-Set", "set");
    res->set_header("X-Keep", "keep");
    res->write_head(201, "Made", {{"X-Set", "over"}, {"X-New", "new"}});
    res->end("m");
  } else if (path == "/status-message") {
    res->status_code = 299;
    res->status_message = "Fine";
    res->end();
  } else if (path == "/interim") {
    res->write_early_hints({{"link", "</a.css>; rel=preload; as=style"}});
    res->write_processing();
    res->end("x");
  } else if (path == "/no-date") {
    res->send_date = false;
    res->end("x");
  } else if (path == "/unique") {
    res->set_header("X-U", std::vector<std::string>{"a", "b"});
    res->set_header("X-N", std::vector<std::string>{"c", "d"});
    res->end("u");
  } else if (path == "/remove") {
    res->remove_header("Content-Length");
    res->remove_header("Transfer-Encoding");
    res->write("until ");
    res->end("close");
  } else {
    res->status_code = 404;
    res->end();
  }
}

/// Node's createServer options (as JSON) in libhttp's spelling, plus the server properties.
std::shared_ptr<Server> wire_server(core::Loop& loop, const nlohmann::json& o) {
  ServerOptions options;
  if (o.contains("maxHeaderSize")) options.max_header_size = o["maxHeaderSize"].get<std::size_t>();
  if (o.contains("requireHostHeader")) options.require_host_header = o["requireHostHeader"].get<bool>();
  if (o.contains("insecureHTTPParser")) options.insecure_http_parser = o["insecureHTTPParser"].get<bool>();
  if (o.contains("joinDuplicateHeaders")) options.join_duplicate_headers = o["joinDuplicateHeaders"].get<bool>();
  if (o.contains("uniqueHeaders")) options.unique_headers = o["uniqueHeaders"].get<std::vector<std::string>>();
  if (o.contains("keepAliveTimeout"))
    options.keep_alive_timeout = std::chrono::milliseconds(o["keepAliveTimeout"].get<int>());
  auto server = create_server(loop, options, [&loop](const Req& req, const Res& res) { wire_handler(loop, req, res); });
  if (o.contains("maxRequestsPerSocket"))
    server->max_requests_per_socket = o["maxRequestsPerSocket"].get<std::size_t>();
  return server;
}

struct Transcript {
  std::string received;
  bool closed = false;
};

/// Runs every case against libhttp at once, as server_wire.js does against Node: one server and
/// one connection per case, recording until the server closes or stays silent for 250 (+ 50) ms.
std::map<std::string, Transcript> run_wire_cases_on_libhttp(const std::vector<WireCase>& cases) {
  core::Loop loop;
  std::map<std::string, Transcript> out;
  std::vector<std::shared_ptr<Server>> servers;
  std::vector<std::shared_ptr<RawClient>> clients;
  for (const auto& c : cases) {
    auto server = wire_server(loop, c.options);
    const int port = listen(server);
    auto client = RawClient::connect(loop, port, c.request);
    auto done = std::make_shared<bool>(false);
    auto finish = [&out, name = c.name, server, c = client.get(), done](bool closed) {
      if (*done) return;
      *done = true;
      out[name] = Transcript{c->received(), closed};
      c->destroy();
      server->close();
      server->close_all_connections();
    };
    // Silence is confirmed by a second, short timer (as in server_wire.js): after the process was
    // descheduled, due timers can run before the I/O that arrived meanwhile (a close) is seen.
    auto confirm = std::make_shared<std::shared_ptr<core::Timer>>();
    auto idle = loop.set_timeout(
        [&loop, finish, confirm] { *confirm = loop.set_timeout([finish] { finish(false); }, 50ms); }, 250ms);
    client->socket()->events().data.on([idle, confirm](std::string_view) {
      if (*confirm) (*confirm)->close();
      idle->refresh();
    });
    client->on_close([finish, idle, confirm] {
      idle->close();
      if (*confirm) (*confirm)->close();
      finish(true);
    });
    servers.push_back(server);
    clients.push_back(client);
  }
  EXPECT_TRUE(loop.run_for(kLimit));
  return out;
}

/// `bytes` with the value of every "Date: " field line replaced (the clock differs between runs).
std::string mask_dates(std::string bytes) {
  std::size_t pos = 0;
  while ((pos = bytes.find("\r\nDate: ", pos)) != std::string::npos) {
    pos += 8;
    const auto eol = bytes.find("\r\n", pos);
    if (eol == std::string::npos) break;
    bytes.replace(pos, eol - pos, "<masked>");
  }
  return bytes;
}

/// The groups, in table order.
std::vector<std::string> wire_groups() {
  std::vector<std::string> groups;
  for (const auto& c : wire_cases()) {
    if (std::find(groups.begin(), groups.end(), c.group) == groups.end()) groups.push_back(c.group);
  }
  return groups;
}

class ServerWireTest : public ::testing::TestWithParam<std::string> {
 public:
  /// Runs the cases of the selected groups on Node, then on libhttp.
  static void SetUpTestSuite() {
    node_ = new std::map<std::string, Transcript>();
    ours_ = new std::map<std::string, Transcript>();
    const auto cases = selected_cases();
    if (cases.empty()) return;
    nlohmann::json input = nlohmann::json::array();
    for (const auto& c : cases) input.push_back({{"name", c.name}, {"request", c.request}, {"options", c.options}});
    // Node first, then libhttp: Node's start costs more than libhttp's run, and running them one
    // after the other keeps the two from competing for the CPU during the idle waits.
    const std::string out = test::run_node_oracle("server_wire.js", input.dump());
    *ours_ = run_wire_cases_on_libhttp(cases);
    if (out.empty()) return;
    const auto parsed = nlohmann::json::parse(out);
    for (auto it = parsed.begin(); it != parsed.end(); ++it) {
      (*node_)[it.key()] =
          Transcript{it.value().at("received").get<std::string>(), it.value().at("closed").get<bool>()};
    }
  }
  static void TearDownTestSuite() {
    delete node_;
    delete ours_;
    node_ = ours_ = nullptr;
  }

 protected:
  /// The cases of the groups whose tests will run (honouring --gtest_filter); test names are
  /// "AnswersLikeNode/<group>".
  static std::vector<WireCase> selected_cases() {
    std::vector<WireCase> out;
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite == nullptr) return out;
    for (int i = 0; i < suite->total_test_count(); ++i) {
      const ::testing::TestInfo* info = suite->GetTestInfo(i);
      if (!info->should_run()) continue;
      const std::string_view name = info->name();
      const std::string_view group = name.substr(name.find('/') + 1);
      for (const auto& c : wire_cases()) {
        if (c.group == group) out.push_back(c);
      }
    }
    return out;
  }

  static std::map<std::string, Transcript>* node_;
  static std::map<std::string, Transcript>* ours_;
};

std::map<std::string, Transcript>* ServerWireTest::node_ = nullptr;
std::map<std::string, Transcript>* ServerWireTest::ours_ = nullptr;

TEST_P(ServerWireTest, AnswersLikeNode) {
  for (const auto& c : wire_cases()) {
    if (c.group != GetParam()) continue;
    SCOPED_TRACE("case " + c.name + ", request: " + c.request);
    ASSERT_TRUE(node_->count(c.name)) << "no Node transcript";
    ASSERT_TRUE(ours_->count(c.name)) << "no libhttp transcript";
    const auto& node = node_->at(c.name);
    const auto& ours = ours_->at(c.name);
    EXPECT_EQ(mask_dates(ours.received), mask_dates(node.received));
    EXPECT_EQ(ours.closed, node.closed) << "whether the server closed the connection";
  }
}

INSTANTIATE_TEST_SUITE_P(Node, ServerWireTest, ::testing::ValuesIn(wire_groups()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// A sanity check of the oracle itself, so a broken Node run cannot pass the cases vacuously.
TEST(ServerWireOracleTest, NodeTranscriptsLookLikeHttp) {
  nlohmann::json input = nlohmann::json::array();
  input.push_back({{"name", "a"},
                   {"request", "GET /write-end HTTP/1.1\r\nHost: x\r\n\r\n"},
                   {"options", nlohmann::json::object()}});
  const auto out = nlohmann::json::parse(test::run_node_oracle("server_wire.js", input.dump()));
  const auto finals = test::parse_responses(out["a"]["received"].get<std::string>()).finals();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].status, 200);
  EXPECT_EQ(finals[0].body, "hello");
  EXPECT_TRUE(finals[0].chunked);
  EXPECT_FALSE(out["a"]["closed"].get<bool>());
}

// =================================================================================================
// createServer options.
// =================================================================================================

using std::chrono::steady_clock;

TEST(HttpServerTest, OptionsAndPropertiesHaveNodesDefaults) {
  const ServerOptions o;
  EXPECT_EQ(o.connections_checking_interval, 30000ms);
  EXPECT_FALSE(o.headers_timeout);
  EXPECT_EQ(o.high_water_mark, 16384u);
  EXPECT_FALSE(o.insecure_http_parser);
  EXPECT_FALSE(o.incoming_message);
  EXPECT_FALSE(o.server_response);
  EXPECT_FALSE(o.join_duplicate_headers);
  EXPECT_FALSE(o.keep_alive);
  EXPECT_EQ(o.keep_alive_initial_delay, 0ms);
  EXPECT_EQ(o.keep_alive_timeout, 5000ms);
  EXPECT_EQ(o.max_header_size, 16384u);
  EXPECT_TRUE(o.no_delay);
  EXPECT_EQ(o.request_timeout, 300000ms);
  EXPECT_TRUE(o.require_host_header);
  EXPECT_TRUE(o.unique_headers.empty());
  EXPECT_FALSE(o.reject_non_standard_body_writes);

  core::Loop loop;
  auto server = create_server(loop);
  EXPECT_EQ(server->headers_timeout, 60000ms);
  EXPECT_EQ(server->request_timeout, 300000ms);
  EXPECT_EQ(server->keep_alive_timeout, 5000ms);
  EXPECT_EQ(server->timeout, 0ms);
  EXPECT_EQ(server->max_requests_per_socket, 0u);
  EXPECT_FALSE(server->max_headers_count);
  EXPECT_FALSE(server->listening());
  EXPECT_FALSE(server->address());
  EXPECT_EQ(server->get_connections(), 0u);
  // Node 20: headersTimeout defaults to min(60000, requestTimeout).
  EXPECT_EQ(create_server(loop, {.request_timeout = 30000ms})->headers_timeout, 30000ms);
  EXPECT_EQ(create_server(loop, {.request_timeout = 0ms})->headers_timeout, 0ms);
  EXPECT_EQ(create_server(loop, {.headers_timeout = 1000ms})->headers_timeout, 1000ms);
  EXPECT_EQ(create_server(loop, {.keep_alive_timeout = 1234ms, .request_timeout = 4321ms})->request_timeout, 4321ms);
  EXPECT_FALSE(loop.alive()) << "a server that does not listen holds nothing";
}

TEST(HttpServerTest, HeadersTimeoutAboveRequestTimeoutIsOutOfRange) {
  core::Loop loop;
  try {
    create_server(loop, {.headers_timeout = 2000ms, .request_timeout = 1000ms});
    ADD_FAILURE() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_OUT_OF_RANGE");
    EXPECT_EQ(std::string(e.what()),
              "The value of \"headersTimeout\" is out of range. It must be <= requestTimeout. Received 2000");
  }
  // Equal is fine, and so is anything while the request timeout is off (checked with Node 20).
  EXPECT_NO_THROW(create_server(loop, {.headers_timeout = 1000ms, .request_timeout = 1000ms}));
  EXPECT_NO_THROW(create_server(loop, {.headers_timeout = 2000ms, .request_timeout = 0ms}));
}

// Node 20 answers a head that is not complete after headersTimeout with its canned 408 (found by
// the connectionsCheckingInterval sweep) and closes; the request listener never runs.
TEST(HttpServerTest, HeadersTimeoutAnswers408FromTheSweep) {
  core::Loop loop;
  auto server =
      create_server(loop, {.connections_checking_interval = 50ms, .headers_timeout = 200ms, .request_timeout = 1000ms},
                    must_not_call<const Req&, const Res&>());
  const auto start = steady_clock::now();
  auto client = RawClient::connect(loop, listen(server), "GET / HTTP/1.1\r\nHost: x\r\n");
  // A slow client that keeps sending header lines does not get more time: the deadline counts
  // from the start of the message.
  auto trickle = loop.set_interval([c = client.get()] { c->send("X-More: 1\r\n"); }, 40ms);
  client->on_close([server, trickle] {
    trickle->close();
    server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto elapsed = steady_clock::now() - start;
  EXPECT_EQ(client->received(), "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
  // Closed by the server (a FIN, or a reset when trickled bytes were still unread there).
  EXPECT_TRUE(client->closed());
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 2000ms);
}

// A connection that sends nothing at all is timed out too (slowloris): Node 20 counts the headers
// timeout from the connection's start. Checked with createServer({headersTimeout: 200,
// requestTimeout: 1000, connectionsCheckingInterval: 50}) and a silent net.connect: 408 at ~220 ms.
TEST(HttpServerTest, HeadersTimeoutCoversAConnectionThatSendsNothing) {
  core::Loop loop;
  auto server =
      create_server(loop, {.connections_checking_interval = 50ms, .headers_timeout = 200ms, .request_timeout = 1000ms},
                    must_not_call<const Req&, const Res&>());
  auto client = RawClient::connect(loop, listen(server));
  // The test's own bound: a server that never answers is cut after 3 s.
  auto guard = loop.set_timeout([c = client.get()] { c->destroy(); }, 3s);
  client->on_close([server, guard] {
    guard->close();
    server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(), "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
}

// The head arrived, the body did not in time: Node 20 (same options, Content-Length 10, 3 bytes
// sent) emits 'request', then answers 408 and aborts the request: 'aborted', the response's
// 'close', the request's 'error' (ECONNRESET) and 'close'.
TEST(HttpServerTest, RequestTimeoutAnswers408AndAbortsTheRequest) {
  core::Loop loop;
  Log log;
  auto server = create_server(
      loop, {.connections_checking_interval = 50ms, .headers_timeout = 100ms, .request_timeout = 300ms},
      must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
        log.push_back("request");
        req->events().aborted.on([&] { log.push_back("req aborted"); });
        req->events().error.on([&](std::error_code ec) { log.push_back("req error " + core::node_code(ec)); });
        req->events().close.on([&] { log.push_back("req close"); });
        res->events().close.on([&] { log.push_back("res close"); });
      }));
  const auto start = steady_clock::now();
  auto client = RawClient::connect(loop, listen(server), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto elapsed = steady_clock::now() - start;
  EXPECT_EQ(client->received(), "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 2000ms);
  EXPECT_EQ(log, (Log{"request", "req aborted", "res close", "req error ECONNRESET", "req close"}));
}

class TaggedRequest : public IncomingMessage {
 public:
  explicit TaggedRequest(std::shared_ptr<net::Socket> socket)
      : core::Stream(socket->loop(), std::make_unique<IncomingMessageEvents>()), IncomingMessage(socket) {}
  std::string tag = "request-tag";
};

class TaggedResponse : public ServerResponse {
 public:
  TaggedResponse(std::shared_ptr<IncomingMessage> req, OutgoingMessageOptions options)
      : ServerResponse(std::move(req), options) {}
  void send_tagged(std::string_view tag) {
    set_header("X-Tag", tag);
    end("tagged");
  }
};

TEST(HttpServerTest, FactoriesMakeDerivedRequestsAndResponses) {
  core::Loop loop;
  int made_requests = 0, made_responses = 0;
  ServerOptions options{
      .high_water_mark = 4096,
      .incoming_message =
          [&](std::shared_ptr<net::Socket> socket) {
            ++made_requests;
            return std::make_shared<TaggedRequest>(std::move(socket));
          },
      .server_response =
          [&](std::shared_ptr<IncomingMessage> req, OutgoingMessageOptions o) {
            ++made_responses;
            // The server passes its own options on.
            EXPECT_EQ(o.high_water_mark, 4096u);
            EXPECT_FALSE(o.reject_non_standard_body_writes);
            return std::make_shared<TaggedResponse>(std::move(req), o);
          },
  };
  auto server =
      create_server(loop, std::move(options), must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
                      auto tagged_req = std::dynamic_pointer_cast<TaggedRequest>(req);
                      auto tagged_res = std::dynamic_pointer_cast<TaggedResponse>(res);
                      ASSERT_TRUE(tagged_req);
                      ASSERT_TRUE(tagged_res);
                      // The server filled the derived request in as it does its own.
                      EXPECT_EQ(req->method(), "GET");
                      EXPECT_EQ(req->url(), "/derived");
                      EXPECT_EQ(res->req(), req);
                      tagged_res->send_tagged(tagged_req->tag);
                    }));
  const auto r = only_response(serve_one(loop, server, "GET /derived HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(r.header("X-Tag"), "request-tag");
  EXPECT_EQ(r.body, "tagged");
  EXPECT_EQ(made_requests, 1);
  EXPECT_EQ(made_responses, 1);
}

// keepAlive/keepAliveInitialDelay and noDelay land on the accepted socket, read back from the
// descriptor. Node 20's defaults: no keep-alive, Nagle off (noDelay true).
TEST(HttpServerTest, KeepAliveAndNoDelayOptionsReachTheAcceptedSocket) {
  struct Seen {
    int keep_alive = -1, keep_idle = -1, no_delay = -1;
  };
  const auto accept_one = [](ServerOptions options) {
    core::Loop loop;
    Seen seen;
    auto server = create_server(loop, std::move(options), [](const Req&, const Res& res) { res->end(); });
    server->events().connection.on([&](const SocketPtr& socket) {
      const int fd = socket->native_handle();
      EXPECT_GE(fd, 0);
      seen.keep_alive = sockopt(fd, SOL_SOCKET, SO_KEEPALIVE);
      seen.keep_idle = sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE);
      seen.no_delay = sockopt(fd, IPPROTO_TCP, TCP_NODELAY);
    });
    only_response(serve_one(loop, server));
    return seen;
  };
  const Seen defaults = accept_one({});
  EXPECT_EQ(defaults.keep_alive, 0);
  EXPECT_NE(defaults.no_delay, 0);
  const Seen tuned = accept_one({.keep_alive = true, .keep_alive_initial_delay = 3000ms, .no_delay = false});
  EXPECT_NE(tuned.keep_alive, 0);
  EXPECT_EQ(tuned.keep_idle, 3);  // Node passes whole seconds to TCP_KEEPIDLE
  EXPECT_EQ(tuned.no_delay, 0);
}

// Accepted connections are close-on-exec, as libuv opens every socket (Node 20: /proc/self/fdinfo of
// an accepted socket shows flags 02004002): a child process the server's process starts must not
// inherit them and hold them open (the peer would see no FIN until the child exits).
TEST(HttpServerTest, AcceptedSocketsAreCloseOnExec) {
  core::Loop loop;
  int flags = -1;
  auto server = create_server(loop, [](const Req&, const Res& res) { res->end(); });
  server->events().connection.on([&](const SocketPtr& socket) { flags = ::fcntl(socket->native_handle(), F_GETFD); });
  only_response(serve_one(loop, server));
  ASSERT_GE(flags, 0);
  EXPECT_TRUE(flags & FD_CLOEXEC);
}

// keepAliveTimeout is announced (whole seconds, rounded down) and the idle socket is closed after
// it plus Node's one-second buffer: Node 20 with keepAliveTimeout 200 closed after ~1204 ms.
TEST(HttpServerTest, IdleKeepAliveSocketClosesAfterKeepAliveTimeoutPlusOneSecond) {
  core::Loop loop;
  auto server = create_server(loop, {.keep_alive_timeout = 200ms}, [](const Req&, const Res& res) { res->end("x"); });
  auto client = RawClient::connect(loop, listen(server), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  steady_clock::time_point answered{}, closed{};
  client->when_responses(1, [&] { answered = steady_clock::now(); });
  client->on_close([&] {
    closed = steady_clock::now();
    server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto r = only_response(client);
  EXPECT_EQ(r.header("Connection"), "keep-alive");
  EXPECT_EQ(r.header("Keep-Alive"), "timeout=0");
  EXPECT_TRUE(client->ended()) << "the server closed the connection";
  const auto idle = closed - answered;
  EXPECT_GE(idle, 1150ms);
  EXPECT_LT(idle, 3000ms);
}

TEST(HttpServerTest, RejectNonStandardBodyWritesThrowsForBodiesThatCannotBeSent) {
  const std::string not_allowed =
      "ERR_HTTP_BODY_NOT_ALLOWED|Adding content for this request method or response status is not allowed.";
  const auto thrown = [](const std::function<void()>& fn) -> std::string {
    try {
      fn();
    } catch (const core::Error& e) {
      return e.node_code() + "|" + e.what();
    }
    return "no throw";
  };
  core::Loop loop;
  auto strict = create_server(loop, {.reject_non_standard_body_writes = true},
                              must_call<const Req&, const Res&>(
                                  [&](const Req& req, const Res& res) {
                                    if (req->method() == "HEAD") {
                                      EXPECT_EQ(thrown([&] { res->write("x"); }), not_allowed);
                                      res->end();
                                    } else {
                                      res->status_code = 204;
                                      EXPECT_EQ(thrown([&] { res->end("x"); }), not_allowed);
                                      res->end();
                                    }
                                  },
                                  2));
  const auto client =
      serve_one(loop, strict, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 2, {true, false});
  const auto finals = client->finals({true, false});
  ASSERT_EQ(finals.size(), 2u) << client->received();
  EXPECT_EQ(finals[0].status, 200);
  EXPECT_EQ(finals[1].status, 204);

  // Without the option the body is dropped silently.
  core::Loop loop2;
  auto lenient = create_server(loop2, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
                                 EXPECT_TRUE(res->write("dropped"));
                                 res->end();
                               }));
  const auto client2 = serve_one(loop2, lenient, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 1, {true});
  EXPECT_EQ(client2->received().find("dropped"), std::string::npos);
}

// =================================================================================================
// Server events and methods.
// =================================================================================================

TEST(HttpServerTest, ListensThenEmitsConnectionThenRequest) {
  core::Loop loop;
  Log log;
  std::shared_ptr<Server> server;
  server = create_server(loop, [&](const Req& req, const Res& res) {
    log.push_back("request " + req->method() + " " + req->url());
    EXPECT_EQ(server->get_connections(), 1u);
    res->end();
  });
  server->events().listening.on([&] {
    log.push_back("listening");
    const auto address = server->address();
    ASSERT_TRUE(address);
    EXPECT_EQ(address->address, "127.0.0.1");
    EXPECT_EQ(address->family, "IPv4");
    EXPECT_GT(address->port, 0);
  });
  server->events().connection.on([&](const SocketPtr& socket) {
    log.push_back("connection");
    EXPECT_EQ(socket->remote_address(), "127.0.0.1");
  });
  server->events().close.on([&] { log.push_back("close"); });
  server->listen({.port = 0, .host = "127.0.0.1"}, [&] { log.push_back("listen callback"); });
  EXPECT_TRUE(server->listening());
  auto client = RawClient::connect(loop, server->address()->port, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  client->when_responses(1, [c = client.get()] { c->destroy(); });
  client->on_close([&] {
    log.push_back("client closed");
    server->close([&](std::error_code ec) {
      EXPECT_FALSE(ec);
      log.push_back("close callback");
    });
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"listening", "listen callback", "connection", "request GET /x", "client closed", "close",
                      "close callback"}));
  EXPECT_FALSE(server->listening());
}

// Node 20 (checked): with a checkContinue listener 'request' is not emitted; the listener decides
// whether the body may come. Refusing it (no writeContinue) closes the connection after the answer.
TEST(HttpServerTest, CheckContinueListenerDecidesAndReplacesRequest) {
  core::Loop loop;
  Log log;
  auto server = create_server(loop, must_not_call<const Req&, const Res&>());
  server->events().check_continue.on(must_call<const Req&, const Res&>(
      [&](const Req& req, const Res& res) {
        log.push_back("checkContinue " + req->url());
        if (req->url() == "/refuse") {
          res->write_head(417);
          res->end("no");
          return;
        }
        res->write_continue();
        auto body = std::make_shared<std::string>();
        std::weak_ptr<ServerResponse> weak = res;
        req->events().data.on([body](std::string_view d) { body->append(d); });
        req->events().end.on([weak, body] { weak.lock()->end("got " + *body); });
      },
      2));
  const int port = listen(server);
  // First: accepted; the client sends the body only after the 100.
  auto client = RawClient::connect(
      loop, port, "POST /accept HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  client->when([c = client.get()] { return c->received().find("100 Continue") != std::string::npos; },
               [c = client.get()] { c->send("abc"); });
  client->when_responses(1, [&, c = client.get()] {
    c->send("POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  });
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto parsed = client->parse();
  ASSERT_EQ(parsed.responses.size(), 3u) << client->received();
  EXPECT_EQ(parsed.responses[0].raw_head, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(parsed.responses[1].status, 200);
  EXPECT_EQ(parsed.responses[1].body, "got abc");
  EXPECT_EQ(parsed.responses[1].header("Connection"), "keep-alive");
  EXPECT_EQ(parsed.responses[2].status, 417);
  EXPECT_EQ(parsed.responses[2].header("Connection"), "close");
  EXPECT_TRUE(client->ended()) << "the server closed after refusing the body";
  EXPECT_EQ(log, (Log{"checkContinue /accept", "checkContinue /refuse"}));
}

TEST(HttpServerTest, CheckExpectationListenerReplacesThe417) {
  core::Loop loop;
  auto server = create_server(loop, must_not_call<const Req&, const Res&>());
  server->events().check_expectation.on(must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
    ASSERT_TRUE(req->headers().contains("expect"));
    EXPECT_EQ(std::get<std::string>(*req->headers().find("expect")), "bananas");
    res->write_head(402);
    res->end("pay first");
  }));
  const auto r = only_response(serve_one(loop, server, "GET / HTTP/1.1\r\nHost: x\r\nExpect: bananas\r\n\r\n"));
  EXPECT_EQ(r.status, 402);
  EXPECT_EQ(r.body, "pay first");
}

// A clientError listener owns the socket: no canned answer, the listener's bytes go out. Node 20
// reports "GARBAGE" as HPE_INVALID_METHOD with a writable socket.
TEST(HttpServerTest, ClientErrorListenerReplacesTheDefaultAnswer) {
  core::Loop loop;
  auto server = create_server(loop, must_not_call<const Req&, const Res&>());
  SocketPtr accepted;
  server->events().connection.on([&](const SocketPtr& s) { accepted = s; });
  server->events().client_error.on(
      must_call<std::error_code, const SocketPtr&>([&](std::error_code ec, const SocketPtr& s) {
        EXPECT_EQ(core::node_code(ec), "HPE_INVALID_METHOD");
        EXPECT_EQ(s, accepted);
        EXPECT_TRUE(s->writable());
        s->end("HTTP/1.1 499 Custom\r\n\r\n");
      }));
  auto client = RawClient::connect(loop, listen(server), "GARBAGE\r\n\r\n");
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(), "HTTP/1.1 499 Custom\r\n\r\n");
}

TEST(HttpServerTest, ClientErrorDefaultsAreCannedAnswersWithConnectionClose) {
  const auto answer = [](std::string request, ServerOptions options = {}) {
    core::Loop loop;
    auto server = create_server(loop, std::move(options), must_not_call<const Req&, const Res&>());
    auto client = RawClient::connect(loop, listen(server), std::move(request));
    client->on_close([server] { server->close(); });
    EXPECT_TRUE(loop.run_for(kLimit));
    return client->received();
  };
  EXPECT_EQ(answer("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer("GET / HTTP/1.1\r\nHost: x\r\n" + filler(3000) + "\r\n", {.max_header_size = 2048}),
            "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
}

// CONNECT: the socket is handed over with the bytes that followed the head (and only there: the
// request's own bytes never come out as 'data', as Node 20 shows for the same bytes); libhttp's
// HTTP handling is off it from then on.
TEST(HttpServerTest, ConnectHandsOverTheSocketWithTheHeadBytes) {
  core::Loop loop;
  auto server = create_server(loop, must_not_call<const Req&, const Res&>());
  server->events().connect.on(must_call<const Req&, const SocketPtr&, std::string_view>(
      [](const Req& req, const SocketPtr& socket, std::string_view head) {
        EXPECT_EQ(req->method(), "CONNECT");
        EXPECT_EQ(req->url(), "example.test:443");
        EXPECT_TRUE(req->upgrade());
        EXPECT_EQ(head, "early");
        socket->write("HTTP/1.1 200 Connection Established\r\n\r\n");
        socket->write("head was " + std::string(head) + ";");
        // The socket's own listeners must not own it.
        net::Socket* s = socket.get();
        socket->events().data.on([s](std::string_view d) { s->write("tunnel:" + std::string(d)); });
        socket->events().end.on([s] { s->end(); });
      }));
  auto client = RawClient::connect(loop, listen(server),
                                   "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\nearly");
  client->when([c = client.get()] { return c->received().find("head was early;") != std::string::npos; },
               [c = client.get()] { c->send("GET / HTTP/1.1\r\n\r\n"); });
  client->when([c = client.get()] { return c->received().find("tunnel:GET / HTTP/1.1\r\n\r\n") != std::string::npos; },
               [c = client.get()] { c->end(); });
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(),
            "HTTP/1.1 200 Connection Established\r\n\r\nhead was early;tunnel:GET / HTTP/1.1\r\n\r\n");
}

// An Upgrade request with an 'upgrade' listener: the socket is the listener's, with the head bytes,
// usable for raw bytes both ways; closeAllConnections leaves it alone (spec of
// server.closeAllConnections: upgraded sockets are not destroyed).
TEST(HttpServerTest, UpgradeHandsOverTheSocketWithTheHeadBytes) {
  core::Loop loop;
  std::shared_ptr<Server> server;
  server = create_server(loop, must_not_call<const Req&, const Res&>());
  server->events().upgrade.on(must_call<const Req&, const SocketPtr&, std::string_view>(
      [&](const Req& req, const SocketPtr& socket, std::string_view head) {
        EXPECT_EQ(req->url(), "/chat");
        EXPECT_TRUE(req->upgrade());
        ASSERT_TRUE(req->headers().contains("upgrade"));
        EXPECT_EQ(std::get<std::string>(*req->headers().find("upgrade")), "x-echo");
        EXPECT_EQ(head, "HELLO");
        server->close_all_connections();
        socket->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\n");
        socket->write("[" + std::string(head) + "]");
        net::Socket* s = socket.get();
        socket->events().data.on([s](std::string_view d) { s->write("[" + std::string(d) + "]"); });
        socket->events().end.on([s] { s->end(); });
      }));
  auto client = RawClient::connect(
      loop, listen(server), "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\nHELLO");
  client->when([c = client.get()] { return c->received().find("[HELLO]") != std::string::npos; },
               [c = client.get()] { c->send("PING"); });
  client->when([c = client.get()] { return c->received().find("[PING]") != std::string::npos; },
               [c = client.get()] { c->end(); });
  client->on_close([&] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\n[HELLO][PING]");
}

// server.close(cb) stops listening at once but lets the request in flight be answered; 'close' and
// the callback follow the last connection's end (Node 20: listening false right after close(),
// the late answer still arrives).
TEST(HttpServerTest, CloseWaitsForTheRequestInFlight) {
  core::Loop loop;
  Log log;
  std::shared_ptr<Server> server;
  server = create_server(loop, must_call<const Req&, const Res&>([&](const Req&, const Res& res) {
                           log.push_back("request");
                           server->close([&](std::error_code ec) {
                             EXPECT_FALSE(ec);
                             log.push_back("close callback");
                           });
                           EXPECT_FALSE(server->listening());
                           loop.set_timeout(
                               [&, res] {
                                 log.push_back("answering");
                                 res->end("late");
                               },
                               100ms);
                         }));
  server->events().close.on([&] { log.push_back("close"); });
  auto client = RawClient::connect(loop, listen(server), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  client->when_responses(1, [&, c = client.get()] {
    log.push_back("response");
    c->destroy();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"request", "answering", "response", "close", "close callback"}));
  EXPECT_EQ(only_response(client).body, "late");
}

TEST(HttpServerTest, CloseAllConnectionsDestroysBusyConnections) {
  core::Loop loop;
  Log log;
  std::shared_ptr<Server> server;
  server = create_server(loop, must_call<const Req&, const Res&>([&](const Req& req, const Res&) {
                           req->events().aborted.on([&] { log.push_back("req aborted"); });
                           server->close([&](std::error_code) { log.push_back("close callback"); });
                           server->close_all_connections();
                           log.push_back("closed all");
                         }));
  auto client = RawClient::connect(loop, listen(server), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  client->on_close([&] { log.push_back("client closed"); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(), "");
  // The client's 'close' and the server's races across the socket; the rest is ordered.
  Log server_side;
  for (const auto& e : log) {
    if (e != "client closed") server_side.push_back(e);
  }
  EXPECT_EQ(server_side, (Log{"closed all", "req aborted", "close callback"}));
  EXPECT_EQ(log.size(), 4u);
}

// closeIdleConnections ends keep-alive connections between requests and spares the one whose
// request is being answered.
TEST(HttpServerTest, CloseIdleConnectionsSparesBusyConnections) {
  core::Loop loop;
  std::shared_ptr<Server> server;
  Res pending;
  std::shared_ptr<RawClient> idle, busy;
  server = create_server(loop, must_call<const Req&, const Res&>(
                                   [&](const Req& req, const Res& res) {
                                     if (req->url() == "/idle") {
                                       res->end("idle");
                                       return;
                                     }
                                     pending = res;
                                     // /idle was answered before /busy was sent.
                                     server->close_idle_connections();
                                   },
                                   2));
  const int port = listen(server);
  idle = RawClient::connect(loop, port, "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n");
  idle->when_responses(1, [&] { busy = RawClient::connect(loop, port, "GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"); });
  idle->on_close([&] {
    // The busy connection is still there to be answered.
    ASSERT_TRUE(pending);
    pending->end("busy");
    pending.reset();
    busy->when_responses(1, [c = busy.get()] { c->destroy(); });
    busy->on_close([&] { server->close(); });
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(idle->ended()) << "the server closed the idle connection";
  EXPECT_EQ(only_response(idle).body, "idle");
  ASSERT_TRUE(busy);
  EXPECT_EQ(only_response(busy).body, "busy");
}

// closeIdleConnections (and close(), which calls it) spares a connection that has not sent its first
// request yet: Node 20 does not count it as idle (its parser is in a message from the start). A
// net.connect that stayed silent survived server.close() while a served keep-alive connection was
// closed.
TEST(HttpServerTest, CloseIdleConnectionsSparesAConnectionThatHasNotSentItsRequestYet) {
  core::Loop loop;
  std::shared_ptr<Server> server = create_server(loop, [](const Req&, const Res& res) { res->end("served"); });
  std::shared_ptr<RawClient> client;
  server->events().connection.on([&](const SocketPtr&) {
    loop.post([&] {
      server->close_idle_connections();
      // The request comes a moment later on the same connection.
      loop.set_timeout([&] { client->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); }, 50ms);
    });
  });
  client = RawClient::connect(loop, listen(server));
  client->when_responses(1, [c = client.get()] { c->destroy(); });
  client->on_close([&] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->finals().size(), 1u) << "received: " << client->received();
}

// server.setTimeout: 'timeout' with the idle socket; a listener keeps the socket open, and without
// one the socket is destroyed (Node's socketOnTimeout).
TEST(HttpServerTest, SetTimeoutEmitsTimeoutWithTheSocket) {
  core::Loop loop;
  auto server = create_server(loop);
  SocketPtr accepted;
  server->events().connection.on([&](const SocketPtr& s) { accepted = s; });
  std::shared_ptr<RawClient> client;
  const auto start = steady_clock::now();
  Server& same = server->set_timeout(100ms, must_call<const SocketPtr&>([&](const SocketPtr& s) {
                                       EXPECT_EQ(s, accepted);
                                       EXPECT_GE(steady_clock::now() - start, 90ms);
                                       EXPECT_FALSE(s->destroyed()) << "a listener keeps the socket";
                                       // Give the test's end: the client leaves.
                                       client->destroy();
                                     }));
  EXPECT_EQ(&same, server.get());
  EXPECT_EQ(server->timeout, 100ms);
  client = RawClient::connect(loop, listen(server));
  client->on_close([&] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(), "");
}

TEST(HttpServerTest, SocketTimeoutWithoutListenerDestroysTheSocket) {
  core::Loop loop;
  auto server = create_server(loop);
  server->timeout = 100ms;
  const auto start = steady_clock::now();
  auto client = RawClient::connect(loop, listen(server));
  client->on_close([&] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  const auto elapsed = steady_clock::now() - start;
  EXPECT_GE(elapsed, 90ms);
  EXPECT_LT(elapsed, 2000ms);
  EXPECT_EQ(client->received(), "");
}

TEST(HttpServerTest, AsyncDisposeClosesTheServer) {
  core::Loop loop;
  auto server = create_server(loop);
  listen(server);
  Log log;
  server->events().close.on([&] { log.push_back("close"); });
  server->async_dispose([&](std::error_code ec) {
    EXPECT_FALSE(ec);
    log.push_back("disposed");
  });
  EXPECT_FALSE(server->listening());
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"close", "disposed"}));
}

// A request listener that throws gets what Node gives a rejected handler: a 500 when nothing was
// sent yet (the headers it set are dropped), the connection cut when the head already went out.
TEST(HttpServerTest, ThrowingRequestListenerGets500OrACutConnection) {
  core::Loop loop;
  auto server = create_server(loop, must_call<const Req&, const Res&>([](const Req& req, const Res& res) {
                                res->set_header("X-Dropped", "1");
                                if (req->url() == "/late") res->flush_headers();
                                throw std::runtime_error("handler failed");
                              }));
  const auto client = serve_one(loop, server, "GET /early HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto r = only_response(client);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "Internal Server Error");
  EXPECT_EQ(r.count("X-Dropped"), 0u);

  core::Loop loop2;
  auto server2 = create_server(loop2, [](const Req&, const Res& res) {
    res->flush_headers();
    throw std::runtime_error("handler failed");
  });
  auto client2 = RawClient::connect(loop2, listen(server2), "GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
  client2->on_close([server2] { server2->close(); });
  ASSERT_TRUE(loop2.run_for(kLimit));
  EXPECT_TRUE(client2->closed());
  EXPECT_EQ(client2->received().find("HTTP/1.1 200 OK\r\n"), 0u) << "the head went out before the throw";
  EXPECT_EQ(client2->finals().size(), 0u) << "the chunked body never ends";
}

// The client half-closes after a complete request whose answer is pending: Node 20 (default
// allowHalfOpen false) aborts the request — 'aborted', the response's 'close', the request's
// 'error' ECONNRESET and 'close' — and the late answer goes nowhere.
TEST(HttpServerTest, ClientHalfCloseAbortsTheRequestInProgress) {
  core::Loop loop;
  Log log;
  auto server = create_server(
      loop, must_call<const Req&, const Res&>([&](const Req& req, const Res& res) {
        log.push_back("request");
        req->events().aborted.on([&] { log.push_back("req aborted"); });
        req->events().error.on([&](std::error_code ec) { log.push_back("req error " + core::node_code(ec)); });
        req->events().close.on([&] { log.push_back("req close"); });
        res->events().close.on([&] { log.push_back("res close"); });
        loop.set_timeout([res] { res->end("late"); }, 100ms);
      }));
  auto client =
      RawClient::connect(loop, listen(server), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {.allow_half_open = true});
  server->events().request.on([c = client.get()](const Req&, const Res&) { c->end(); });
  client->on_close([server] { server->close(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(client->received(), "");
  EXPECT_EQ(log, (Log{"request", "req aborted", "res close", "req error ECONNRESET", "req close"}));
}

}  // namespace
}  // namespace httpx::http
