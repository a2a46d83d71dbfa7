// OutgoingMessage without a network: how the head is rendered (store_header, Node's _storeHeader)
// and what it decides about framing and the connection, through a minimal derived class that
// exposes the state Node keeps on the message. StoreHeaderTest runs each case on Node 20's
// OutgoingMessage too (tests/oracle/server_store_header.js) and compares the head text, chunked
// encoding, _last and shouldKeepAlive. The rest covers buffering before a socket is assigned.
#include "httpx/http/outgoing_message.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "httpx/core/error.hpp"
#include "httpx/core/loop.hpp"
#include "support/support.hpp"

namespace httpx::http {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::must_call;
using test::must_not_call;

/// The smallest OutgoingMessage: its head is `first_line` plus the stored headers, and the state
/// Node keeps on a message (shouldKeepAlive, _hasBody, ...) can be set and read.
class TestMessage : public OutgoingMessage {
 public:
  explicit TestMessage(core::Loop& loop, OutgoingMessageOptions options = {})
      : OutgoingMessage(loop, options, nullptr) {}

  /// Node: `_storeHeader(firstLine, headers)`; null renders the header table.
  void store(const std::string& first_line, const HeaderList* explicit_headers) {
    store_header(first_line, explicit_headers);
  }

  /// Sets a piece of Node's state by its Node name.
  void set_state(const std::string& key, const json& value) {
    if (key == "statusCode")
      status = value.get<int>();
    else if (key == "shouldKeepAlive")
      should_keep_alive_ = value.get<bool>();
    else if (key == "useChunkedEncodingByDefault")
      use_chunked_encoding_by_default_ = value.get<bool>();
    else if (key == "_hasBody")
      has_body_ = value.get<bool>();
    else if (key == "_keepAliveTimeout")
      keep_alive_timeout_ = std::chrono::milliseconds(value.get<int>());
    else if (key == "_maxRequestsPerSocket")
      max_requests_per_socket_ = value.get<std::size_t>();
    else if (key == "maxRequestsOnConnectionReached")
      max_requests_on_connection_reached_ = value.get<bool>();
    else if (key == "agent")
      agent_ = value.get<bool>();
    else if (key == "sendDate")
      send_date = value.get<bool>();
    else if (key == "_contentLength")
      content_length_ = value.get<double>();
    else if (key == "uniqueHeaders") {
      std::vector<std::string> lower;
      for (auto name : value.get<std::vector<std::string>>()) {
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        lower.push_back(name);
      }
      unique_headers_ = std::make_shared<const std::vector<std::string>>(std::move(lower));
    } else {
      ADD_FAILURE() << "unknown state " << key;
    }
  }

  const std::optional<std::string>& header() const noexcept { return header_; }
  bool chunked() const noexcept { return chunked_encoding_; }
  bool last() const noexcept { return last_; }
  bool should_keep_alive() const noexcept { return should_keep_alive_; }
  bool has_body() const noexcept { return has_body_; }

  int status = 0;
  std::string first_line = "HTTP/1.1 200 OK\r\n";

 protected:
  void implicit_header() override { store_header(first_line, nullptr); }
  int framing_status() const noexcept override { return status; }
};

// =================================================================================================
// store_header, differential against Node 20.
// =================================================================================================

struct StoreCase {
  std::string name;
  std::string spec;  ///< the case as server_store_header.js takes it (without "name")
};

const std::vector<StoreCase>& store_cases() {
  static const std::vector<StoreCase> table = {
      {"Defaults", R"({"first_line": "HTTP/1.1 200 OK\r\n"})"},
      {"KnownLength", R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_contentLength": 5}})"},
      {"ZeroLength", R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_contentLength": 0}})"},
      {"KeepAliveTimeout", R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_keepAliveTimeout": 5999}})"},
      {"KeepAliveTimeoutAndMax",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_keepAliveTimeout": 3000, "_maxRequestsPerSocket": 7}})"},
      {"MaxRequestsReached", R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_keepAliveTimeout": 5000, )"
                             R"("maxRequestsOnConnectionReached": true}})"},
      {"NoKeepAlive", R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"shouldKeepAlive": false}})"},
      {"UserConnectionClose", R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "Connection", "close"]]})"},
      {"UserConnectionKeepAliveRevives",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"shouldKeepAlive": false}, "ops": [["set", )"
       R"("Connection", "keep-alive"]]})"},
      {"UserConnectionListWithClose",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "connection", "Upgrade, Close"]]})"},
      {"UserKeepAliveHeaderSuppressesOurs",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_keepAliveTimeout": 5000}, "ops": [["set", )"
       R"("Keep-Alive", "timeout=9"]]})"},
      {"UserChunked", R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "Transfer-Encoding", "chunked"]]})"},
      {"UserOtherTransferEncoding",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "Transfer-Encoding", "gzip"]]})"},
      {"UserContentLength", R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "content-length", "12"]]})"},
      {"Status204WithChunkingCloses",
       R"({"first_line": "HTTP/1.1 204 No Content\r\n", "state": {"statusCode": 204}, "ops": [["set", )"
       R"("Transfer-Encoding", "chunked"]]})"},
      {"Status304WithChunkingCloses",
       R"({"first_line": "HTTP/1.1 304 Not Modified\r\n", "state": {"statusCode": 304}, "ops": [["set", )"
       R"("Transfer-Encoding", "chunked"]]})"},
      {"NoBody", R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_hasBody": false, "_contentLength": 5}})"},
      {"Http10NoChunking", R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"useChunkedEncodingByDefault": false}})"},
      {"Http10NoChunkingWithLength",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"useChunkedEncodingByDefault": false, )"
       R"("shouldKeepAlive": true}, "ops": [["set", "Content-Length", "3"]]})"},
      {"TrailerWithChunking", R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "Trailer", "X-Sum"]]})"},
      {"TrailerWithLengthIsInvalid",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "Trailer", "X-Sum"], ["set", )"
       R"("Content-Length", "3"]]})"},
      {"TrailerWithKnownLengthGoesChunked",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_contentLength": 3}, "ops": [["set", )"
       R"("Trailer", "X-Sum"]]})"},
      {"RemovedLengthAndChunking",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"_contentLength": 3}, "ops": [["set", )"
       R"("Content-Length", "3"], ["remove", "Content-Length"], ["remove", "Transfer-Encoding"]]})"},
      {"RemovedConnection", R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["remove", "Connection"]]})"},
      {"RemovedConnectionNoKeepAlive",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"shouldKeepAlive": false}, "ops": [["remove", )"
       R"("connection"]]})"},
      {"UserDateKeepsOursOut",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"sendDate": true}, "ops": [["set", "Date", )"
       R"("Thu, 01 Jan 1970 00:00:00 GMT"]]})"},
      {"ArraysAndCookies",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "X-A", ["1", "2"]], ["set", )"
       R"("Cookie", ["a=1", "b=2"]], ["set", "Set-Cookie", ["s=1", "t=2"]], ["append", "x-a", "3"]]})"},
      {"SingleCookieInArray", R"({"first_line": "HTTP/1.1 200 OK\r\n", "ops": [["set", "Cookie", ["a=1"]]]})"},
      {"UniqueHeadersJoin",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "state": {"uniqueHeaders": ["X-U", "set-cookie"]}, )"
       R"("ops": [["set", "x-u", ["1", "2"]], ["set", "Set-Cookie", ["s=1", "t=2"]], ["set", )"
       R"("X-Other", ["3", "4"]]]})"},
      {"ExplicitRawPairsWithDuplicates",
       R"({"first_line": "HTTP/1.1 201 Created\r\n", "explicit": [["X-A", "1"], ["x-a", )"
       R"("2"], ["Content-Length", "0"]]})"},
      {"ExplicitInvalidName", R"({"first_line": "HTTP/1.1 200 OK\r\n", "explicit": [["Bad Name", "1"]]})"},
      {"ExplicitInvalidValue", R"({"first_line": "HTTP/1.1 200 OK\r\n", "explicit": [["X", "a\nb"]]})"},
      {"ExplicitConnectionClose",
       R"({"first_line": "HTTP/1.1 200 OK\r\n", "explicit": [["Connection", "close"], ["Content-Length", "1"]]})"},
      {"RequestThroughAnAgent",
       R"({"first_line": "GET / HTTP/1.1\r\n", "state": {"useChunkedEncodingByDefault": false, )"
       R"("agent": true}, "ops": [["set", "Host", "a.test"]]})"},
      {"RequestWithoutAgent",
       R"({"first_line": "GET / HTTP/1.1\r\n", "state": {"useChunkedEncodingByDefault": false}, )"
       R"("ops": [["set", "Host", "a.test"]]})"},
      {"ExpectContinue", R"({"first_line": "PUT / HTTP/1.1\r\n", "ops": [["set", "Expect", "100-continue"], ["set", )"
                         R"("Content-Length", "3"]]})"},
  };
  return table;
}

struct StoreResult {
  std::optional<std::string> header;
  bool chunked = false;
  bool last = false;
  bool keep_alive = false;
  std::string error;
};

std::string mask_date(std::string head) {
  const auto pos = head.find("\r\nDate: ");
  if (pos == std::string::npos) return head;
  const auto eol = head.find("\r\n", pos + 2);
  const std::string value = head.substr(pos + 8, eol - pos - 8);
  // The caller's own Date is kept; ours changes every second.
  if (value == "Thu, 01 Jan 1970 00:00:00 GMT") return head;
  return head.replace(pos + 8, eol - pos - 8, "<date>");
}

StoreResult run_on_libhttp(const json& spec) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  if (spec.contains("state")) {
    for (auto it = spec["state"].begin(); it != spec["state"].end(); ++it) msg->set_state(it.key(), it.value());
  }
  StoreResult result;
  try {
    if (spec.contains("ops")) {
      for (const auto& op : spec["ops"]) {
        const auto kind = op[0].get<std::string>();
        const auto name = op[1].get<std::string>();
        if (kind == "remove") {
          msg->remove_header(name);
        } else if (op[2].is_array()) {
          const auto values = op[2].get<std::vector<std::string>>();
          if (kind == "set")
            msg->set_header(name, values);
          else
            msg->append_header(name, values);
        } else {
          const auto value = op[2].get<std::string>();
          if (kind == "set")
            msg->set_header(name, value);
          else
            msg->append_header(name, value);
        }
      }
    }
    const std::string first_line = spec["first_line"].get<std::string>();
    if (spec.contains("explicit") && !spec["explicit"].is_null()) {
      HeaderList list;
      for (const auto& pair : spec["explicit"])
        list.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
      msg->store(first_line, &list);
    } else {
      msg->store(first_line, nullptr);
    }
  } catch (const core::Error& e) {
    result.error = e.node_code();
  }
  result.header = msg->header();
  result.chunked = msg->chunked();
  result.last = msg->last();
  result.keep_alive = msg->should_keep_alive();
  return result;
}

// One test for every case: Node starts once (under ctest every test is a process of its own).
TEST(StoreHeaderTest, RendersLikeNode) {
  json input = json::array();
  for (const auto& c : store_cases()) {
    json spec = json::parse(c.spec);
    spec["name"] = c.name;
    input.push_back(spec);
  }
  const std::string out = test::run_node_oracle("server_store_header.js", input.dump());
  ASSERT_FALSE(out.empty());
  const json node_results = json::parse(out);
  for (const auto& c : store_cases()) {
    SCOPED_TRACE("case " + c.name);
    ASSERT_TRUE(node_results.contains(c.name)) << "no Node result";
    const json& r = node_results[c.name];
    StoreResult node;
    if (!r["header"].is_null()) node.header = r["header"].get<std::string>();
    node.chunked = r["chunked"].get<bool>();
    node.last = r["last"].get<bool>();
    node.keep_alive = r["keepAlive"].get<bool>();
    if (!r["error"].is_null()) node.error = r["error"].get<std::string>();

    const auto ours = run_on_libhttp(json::parse(c.spec));
    EXPECT_EQ(ours.error, node.error);
    EXPECT_EQ(ours.header.has_value(), node.header.has_value()) << (ours.header ? *ours.header : "<no head>");
    if (ours.header && node.header) {
      EXPECT_EQ(mask_date(*ours.header), mask_date(*node.header));
    }
    EXPECT_EQ(ours.chunked, node.chunked) << "chunkedEncoding";
    EXPECT_EQ(ours.last, node.last) << "_last";
    EXPECT_EQ(ours.keep_alive, node.keep_alive) << "shouldKeepAlive";
  }
}

// =================================================================================================
// Before a socket: buffering, state, misuse.
// =================================================================================================

TEST(OutgoingMessageTest, DefaultsAreNodes) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  EXPECT_FALSE(msg->send_date);
  EXPECT_FALSE(msg->strict_content_length);
  EXPECT_FALSE(msg->headers_sent());
  EXPECT_FALSE(msg->writable_ended());
  EXPECT_FALSE(msg->writable_finished());
  EXPECT_TRUE(msg->writable());
  EXPECT_FALSE(msg->destroyed());
  EXPECT_FALSE(msg->writable_object_mode());
  EXPECT_EQ(msg->writable_length(), 0u);
  EXPECT_EQ(msg->writable_corked(), 0u);
  EXPECT_EQ(msg->writable_high_water_mark(), 16384u);
  EXPECT_EQ(msg->socket(), nullptr);
  EXPECT_EQ(msg->connection(), nullptr);
  EXPECT_TRUE(msg->should_keep_alive());
  EXPECT_TRUE(msg->has_body());
  EXPECT_TRUE(msg->get_header_names().empty());
}

TEST(OutgoingMessageTest, WritesWithoutASocketAreBufferedUpToTheHighWaterMark) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop, OutgoingMessageOptions{.high_water_mark = 256});
  EXPECT_EQ(msg->writable_high_water_mark(), 256u);
  EXPECT_TRUE(msg->write("abc", must_not_call<std::error_code>()));
  // The first write rendered the head (chunked: no length known), and both wait for a socket.
  ASSERT_TRUE(msg->header());
  EXPECT_TRUE(msg->headers_sent());
  EXPECT_TRUE(msg->chunked());
  const std::size_t head = msg->header()->size();
  EXPECT_EQ(msg->writable_length(), head + std::string("3\r\nabc\r\n").size());
  EXPECT_FALSE(msg->writable_need_drain());
  EXPECT_FALSE(msg->write(std::string(300, 'x')));
  EXPECT_TRUE(msg->writable_need_drain());
  EXPECT_GT(msg->writable_length(), 256u);
  loop.run_for(1s);
}

TEST(OutgoingMessageTest, HeaderChangesAfterTheHeadThrow) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  msg->set_header("X", "1");
  msg->flush_headers();
  ASSERT_TRUE(msg->headers_sent());
  for (const auto& fn : std::vector<std::function<void()>>{
           [&] { msg->set_header("Y", "1"); },
           [&] { msg->set_header("Y", std::vector<std::string>{"1"}); },
           [&] { msg->append_header("X", "2"); },
           [&] { msg->remove_header("X"); },
           [&] {
             msg->set_headers({{"Y", "1"}});
           },
       }) {
    try {
      fn();
      ADD_FAILURE() << "no throw";
    } catch (const core::Error& e) {
      EXPECT_EQ(e.node_code(), "ERR_HTTP_HEADERS_SENT");
    }
  }
  EXPECT_EQ(msg->get_header_names(), (std::vector<std::string>{"x"}));
}

TEST(OutgoingMessageTest, WriteAfterEndCallsBackThenEmitsErrorOnALaterTick) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  std::vector<std::string> log;
  msg->events().error.on([&](std::error_code ec) { log.push_back("error " + core::node_code(ec)); });
  msg->end("x");
  EXPECT_TRUE(msg->writable_ended());
  EXPECT_FALSE(msg->writable());
  EXPECT_FALSE(msg->write("y", [&](std::error_code ec) { log.push_back("callback " + core::node_code(ec)); }));
  EXPECT_TRUE(log.empty()) << "never inside the call";
  loop.run_for(1s);
  EXPECT_EQ(log, (std::vector<std::string>{"callback ERR_STREAM_WRITE_AFTER_END", "error ERR_STREAM_WRITE_AFTER_END"}));
}

TEST(OutgoingMessageTest, EndWithDataGivesAContentLength) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  msg->end("hello");
  ASSERT_TRUE(msg->header());
  EXPECT_NE(msg->header()->find("Content-Length: 5\r\n"), std::string::npos) << *msg->header();
  EXPECT_FALSE(msg->chunked());
  auto empty = std::make_shared<TestMessage>(loop);
  empty->end();
  ASSERT_TRUE(empty->header());
  EXPECT_NE(empty->header()->find("Content-Length: 0\r\n"), std::string::npos) << *empty->header();
}

TEST(OutgoingMessageTest, StrictContentLengthChecksWritesAndEnd) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  msg->strict_content_length = true;
  msg->set_header("Content-Length", "4");
  msg->write("ab");
  try {
    msg->write("cde");
    ADD_FAILURE() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_HTTP_CONTENT_LENGTH_MISMATCH");
    EXPECT_EQ(std::string(e.what()),
              "Response body's content-length of 5 byte(s) does not match the content-length of 4 byte(s) set in "
              "header");
  }
  try {
    msg->end("c");
    ADD_FAILURE() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_HTTP_CONTENT_LENGTH_MISMATCH");
  }
  EXPECT_NO_THROW(msg->end("cd"));
}

TEST(OutgoingMessageTest, CorkIsCountedUntilThereIsASocket) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  msg->cork();
  msg->cork();
  EXPECT_EQ(msg->writable_corked(), 2u);
  msg->uncork();
  EXPECT_EQ(msg->writable_corked(), 1u);
  msg->uncork();
  msg->uncork();  // one too many is harmless
  EXPECT_EQ(msg->writable_corked(), 0u);
}

TEST(OutgoingMessageTest, DestroyBeforeASocketMarksTheMessage) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  msg->destroy();
  EXPECT_TRUE(msg->destroyed());
  EXPECT_FALSE(msg->writable());
  // Writes fail on a later tick with ERR_STREAM_DESTROYED and do not emit 'error'.
  msg->events().error.on(must_not_call<std::error_code>());
  bool called = false;
  msg->write("x", [&](std::error_code ec) {
    called = true;
    EXPECT_EQ(core::node_code(ec), "ERR_STREAM_DESTROYED");
  });
  EXPECT_FALSE(called);
  loop.run_for(1s);
  EXPECT_TRUE(called);
}

TEST(OutgoingMessageTest, AddTrailersValidatesAndNeedsChunking) {
  core::Loop loop;
  auto msg = std::make_shared<TestMessage>(loop);
  try {
    msg->add_trailers({{"Bad Name", "x"}});
    ADD_FAILURE() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_INVALID_HTTP_TOKEN");
  }
  try {
    msg->add_trailers({{"X", "a\r\nb"}});
    ADD_FAILURE() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_INVALID_CHAR");
  }
  msg->add_trailers({{"X-Sum", "1"}});
  msg->write("a");
  EXPECT_TRUE(msg->chunked());
  const std::size_t before = msg->writable_length();
  msg->end();
  // The last chunk carries the trailer.
  EXPECT_EQ(msg->writable_length() - before, std::string("0\r\nX-Sum: 1\r\n\r\n").size());
}

}  // namespace
}  // namespace httpx::http
