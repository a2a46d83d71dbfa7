// The llhttp wrapper: every input is also fed split at every byte offset, and must parse the same.
#include "detail/parser.hpp"

#include <gtest/gtest.h>

#include "httpx/core/error.hpp"
#include "httpx/http/constants.hpp"

namespace httpx::http::detail {
namespace {

// What a sequence of executes produced, flattened for comparison.
struct Parsed {
  std::vector<MessageHead> heads;
  std::vector<std::string> bodies;
  std::vector<std::vector<std::string>> trailers;
  std::error_code error;
  std::string reason;
  bool upgraded = false;
  std::string rest;  // bytes after an upgrade
};

// Feeds `input` in pieces cut at `cuts`, resubmitting unconsumed bytes as a connection would.
Parsed parse(ParserType type, const std::string& input, const std::vector<std::size_t>& cuts,
             ParserOptions options = {}, std::string_view request_method = {}) {
  Parser parser;
  parser.init(type, options);
  if (!request_method.empty()) parser.set_request_method(request_method);
  Parsed out;
  std::vector<ParseEvent> events;
  std::string pending;
  std::size_t from = 0;
  std::vector<std::size_t> points = cuts;
  points.push_back(input.size());
  for (std::size_t to : points) {
    pending += input.substr(from, to - from);
    from = to;
    while (!pending.empty()) {
      auto r = parser.execute(pending, events);
      for (const auto& e : events) {
        if (e.kind == ParseEvent::Kind::head) {
          out.heads.push_back(parser.head());
          out.bodies.emplace_back();
        } else if (e.kind == ParseEvent::Kind::body) {
          out.bodies.back() += e.data;
        } else {
          out.trailers.push_back(parser.raw_trailers());
        }
      }
      if (r.error) {
        out.error = r.error;
        out.reason = r.reason;
        return out;
      }
      if (r.upgraded) {
        out.upgraded = true;
        out.rest = pending.substr(r.consumed) + input.substr(from);
        return out;
      }
      pending.erase(0, r.consumed);
      if (!r.message_done) break;  // needs more bytes
    }
  }
  return out;
}

void expect_same(const Parsed& a, const Parsed& b, const std::string& where) {
  ASSERT_EQ(a.heads.size(), b.heads.size()) << where;
  for (std::size_t i = 0; i < a.heads.size(); ++i) {
    EXPECT_EQ(a.heads[i].method, b.heads[i].method) << where;
    EXPECT_EQ(a.heads[i].url, b.heads[i].url) << where;
    EXPECT_EQ(a.heads[i].status_message, b.heads[i].status_message) << where;
    EXPECT_EQ(a.heads[i].raw_headers, b.heads[i].raw_headers) << where;
  }
  EXPECT_EQ(a.bodies, b.bodies) << where;
  EXPECT_EQ(a.trailers, b.trailers) << where;
  EXPECT_EQ(a.error, b.error) << where;
  EXPECT_EQ(a.upgraded, b.upgraded) << where;
  EXPECT_EQ(a.rest, b.rest) << where;
}

// Parses whole, then split at every single offset and at every pair of offsets 7 apart.
Parsed parse_every_split(ParserType type, const std::string& input, ParserOptions options = {},
                         std::string_view request_method = {}) {
  const Parsed whole = parse(type, input, {}, options, request_method);
  for (std::size_t i = 1; i < input.size(); ++i) {
    expect_same(whole, parse(type, input, {i}, options, request_method), "split at " + std::to_string(i));
    if (i + 7 < input.size()) {
      expect_same(whole, parse(type, input, {i, i + 7}, options, request_method),
                  "split at " + std::to_string(i) + "," + std::to_string(i + 7));
    }
  }
  return whole;
}

TEST(ParserTest, ParsesRequestHeadAndBodyAtEverySplit) {
  const auto p = parse_every_split(ParserType::request,
                                   "POST /upload?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-Empty:\r\n\r\nhello");
  ASSERT_EQ(p.heads.size(), 1u);
  EXPECT_EQ(p.heads[0].method, "POST");
  EXPECT_EQ(p.heads[0].url, "/upload?x=1");
  EXPECT_EQ(p.heads[0].http_major, 1);
  EXPECT_EQ(p.heads[0].http_minor, 1);
  EXPECT_EQ(p.heads[0].raw_headers, (std::vector<std::string>{"Host", "a", "Content-Length", "5", "X-Empty", ""}));
  EXPECT_TRUE(p.heads[0].should_keep_alive);
  EXPECT_EQ(p.bodies, std::vector<std::string>{"hello"});
}

TEST(ParserTest, ParsesChunkedBodyWithExtensionsAndTrailers) {
  const auto p = parse_every_split(
      ParserType::request,
      "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 9\r\n\r\n");
  ASSERT_EQ(p.heads.size(), 1u);
  EXPECT_EQ(p.bodies, std::vector<std::string>{"abcde"});
  ASSERT_EQ(p.trailers.size(), 1u);
  EXPECT_EQ(p.trailers[0], (std::vector<std::string>{"X-Sum", "9"}));
}

TEST(ParserTest, HandsPipelinedRequestsOverOneByOne) {
  const auto p = parse_every_split(ParserType::request,
                                   "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                                   "GET /3 HTTP/1.0\r\n\r\n");
  ASSERT_EQ(p.heads.size(), 3u);
  EXPECT_EQ(p.heads[0].url, "/1");
  EXPECT_EQ(p.heads[1].url, "/2");
  EXPECT_EQ(p.heads[2].url, "/3");
  EXPECT_FALSE(p.heads[2].should_keep_alive);
}

TEST(ParserTest, ParsesResponsesIncludingInformational) {
  const auto p = parse_every_split(ParserType::response,
                                   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Fine Thanks\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(p.heads.size(), 2u);
  EXPECT_EQ(p.heads[0].status_code, 100);
  EXPECT_EQ(p.heads[1].status_code, 200);
  EXPECT_EQ(p.heads[1].status_message, "Fine Thanks");
  EXPECT_EQ(p.bodies, (std::vector<std::string>{"", "ok"}));
}

TEST(ParserTest, SkipsTheBodyOfAnAnswerToHead) {
  const auto p = parse(ParserType::response, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", {}, {}, "HEAD");
  ASSERT_EQ(p.heads.size(), 1u);
  EXPECT_EQ(p.trailers.size(), 1u);  // the message completed without waiting for 10 bytes
  EXPECT_FALSE(p.error);
}

TEST(ParserTest, ReportsUpgradeAndLeavesTheRestUnparsed) {
  const auto p = parse_every_split(ParserType::request,
                                   "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                                   "\x81\x05hello");
  EXPECT_TRUE(p.upgraded);
  EXPECT_TRUE(p.heads.at(0).upgrade);
  EXPECT_EQ(p.rest, "\x81\x05hello");
}

TEST(ParserTest, ReportsAnUpgradeWithNothingAfterTheHead) {
  // The usual WebSocket handshake: the client waits for the 101 before sending frames.
  const auto p = parse_every_split(ParserType::request,
                                   "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_TRUE(p.upgraded);
  EXPECT_EQ(p.rest, "");
  const auto r = parse(ParserType::response, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", {});
  EXPECT_TRUE(r.upgraded);
}

TEST(ParserTest, ConnectRequestHandsOverTheTunnel) {
  const auto p = parse(ParserType::request, "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\nTLSBYTES", {});
  EXPECT_TRUE(p.upgraded);
  EXPECT_EQ(p.heads.at(0).method, "CONNECT");
  EXPECT_EQ(p.heads.at(0).url, "a.test:443");
  EXPECT_EQ(p.rest, "TLSBYTES");
}

TEST(ParserTest, AnyAnswerToConnectIsATunnel) {
  auto p = parse(ParserType::response, "HTTP/1.1 200 Connection Established\r\n\r\nraw", {}, {}, "CONNECT");
  EXPECT_TRUE(p.upgraded);
  EXPECT_EQ(p.rest, "raw");
  // Node hands even a refusal over as an upgrade ('connect' event with the socket).
  p = parse(ParserType::response, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", {}, {}, "CONNECT");
  EXPECT_TRUE(p.upgraded);
}

TEST(ParserTest, EnforcesMaxHeaderSizeAsNodeDoes) {
  const std::string big(100, 'x');
  const std::string request = "GET / HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n";
  // Node counts the URL, names and values: "/" + "X-Big" + 100 = 106 bytes; the limit is reached
  // at >= max_header_size.
  auto p = parse(ParserType::request, request, {}, {.max_header_size = 106});
  EXPECT_EQ(core::node_code(p.error), "HPE_HEADER_OVERFLOW");
  p = parse(ParserType::request, request, {}, {.max_header_size = 107});
  EXPECT_FALSE(p.error);
  EXPECT_EQ(max_header_size, 16384u);
}

TEST(ParserTest, RejectsMalformedInputWithNodesCodes) {
  struct Case {
    const char* input;
    const char* code;
  };
  const Case cases[] = {
      {"GE T / HTTP/1.1\r\n\r\n", "HPE_INVALID_METHOD"},
      {"GET / HTTP/1.1\r\nBad\x01Header: x\r\n\r\n", "HPE_INVALID_HEADER_TOKEN"},
      // llhttp 8.1 alone would accept this; Node 20 (llhttp 9) rejects it, and so do we.
      {"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", "HPE_INVALID_HEADER_TOKEN"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: 1\r\n\r\n", "HPE_INVALID_HEADER_TOKEN"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n0\r\n\r\n", "HPE_INVALID_METHOD"},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "HPE_UNEXPECTED_CONTENT_LENGTH"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HPE_INVALID_CHUNK_SIZE"},
      {"GET / HTTP/9.9\r\n\r\n", "HPE_INVALID_VERSION"},
      {"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "HPE_INVALID_CONTENT_LENGTH"},
  };
  for (const auto& c : cases) {
    const auto p = parse(ParserType::request, c.input, {});
    EXPECT_EQ(core::node_code(p.error), c.code) << c.input;
    EXPECT_EQ(p.error.category().name(), std::string("llhttp"));
  }
}

TEST(ParserTest, InsecureModeAcceptsWhatStrictModeRejects) {
  const std::string input = "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n";
  EXPECT_TRUE(parse(ParserType::request, input, {}).error);
  const auto p = parse(ParserType::request, input, {}, {.insecure = true});
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.heads.at(0).raw_headers.at(1), "a\x01z");
}

TEST(ParserTest, FinishCompletesAResponseDelimitedByClose) {
  Parser parser;
  parser.init(ParserType::response);
  std::vector<ParseEvent> events;
  auto r = parser.execute("HTTP/1.1 200 OK\r\n\r\npartial body", events);
  EXPECT_FALSE(r.error);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "partial body");
  r = parser.finish(events);
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.message_done);
}

TEST(ParserTest, FinishReportsAMessageCutShort) {
  Parser parser;
  parser.init(ParserType::response);
  std::vector<ParseEvent> events;
  (void)parser.execute("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", events);
  const auto r = parser.finish(events);
  EXPECT_EQ(core::node_code(r.error), "HPE_INVALID_EOF_STATE");
}

TEST(ParserPoolTest, KeepsAtMostMaxIdleParsers) {
  set_max_idle_http_parsers(2);
  std::vector<std::unique_ptr<Parser>> taken;
  for (int i = 0; i < 4; ++i) taken.push_back(ParserPool::acquire(ParserType::request));
  for (auto& p : taken) ParserPool::release(std::move(p));
  EXPECT_EQ(ParserPool::idle(), 2u);
  // A reused parser starts clean.
  auto parser = ParserPool::acquire(ParserType::response);
  EXPECT_EQ(ParserPool::idle(), 1u);
  std::vector<ParseEvent> events;
  EXPECT_FALSE(parser->execute("HTTP/1.1 204 No Content\r\n\r\n", events).error);
  EXPECT_EQ(parser->head().status_code, 204);
  set_max_idle_http_parsers(1000);
}

}  // namespace
}  // namespace httpx::http::detail
