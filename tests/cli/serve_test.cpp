// `httpx serve --echo`, driven as a user drives it: the built binary on 127.0.0.1 with --port 0,
// clients on plain POSIX sockets sending raw bytes, signals sent by PID, every wait bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

namespace httpx::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::ordered_json;

long long millis_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t count_lines(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

/// The lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  for (auto& line : lines_of(text)) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

ProcessResult httpx(const std::vector<std::string>& args, int timeout_ms = 5000) {
  std::vector<std::string> argv{httpx_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, timeout_ms);
}

/// The JSON object `httpx serve --echo` answers with, keys in Node's order.
ordered_json echo(const std::string& method, const std::string& url, ordered_json headers,
                  const std::vector<std::string>& raw_headers, const std::string& body = "",
                  ordered_json trailers = ordered_json::object(), const std::vector<std::string>& raw_trailers = {},
                  const std::string& version = "1.1") {
  ordered_json out = ordered_json::object();
  out["method"] = method;
  out["url"] = url;
  out["httpVersion"] = version;
  out["headers"] = std::move(headers);
  out["rawHeaders"] = raw_headers;
  out["trailers"] = std::move(trailers);
  out["rawTrailers"] = raw_trailers;
  out["body"] = body;
  return out;
}

/// One client connection to the server: raw bytes out, every received byte kept, responses parsed
/// by the test support's own parser (independent of libhttp's).
class Connection {
 public:
  explicit Connection(int port) : client_(port) {}

  bool connected() const { return client_.fd() >= 0; }
  bool send(std::string_view bytes) { return client_.send_all(bytes); }

  /// Reads until `n` complete final responses have arrived in total on this connection, the server
  /// closes, or `timeout` passes; returns the complete final responses received so far.
  std::vector<WireResponse> responses(std::size_t n, std::chrono::milliseconds timeout = 3000ms) {
    received_ += client_.read_until(
        [&](const std::string& got) { return parse_responses(received_ + got).finals().size() >= n; }, timeout);
    return parse_responses(received_, client_.peer_closed()).finals();
  }

  /// The first response on this connection (status 0 when none arrived in time).
  WireResponse response(std::chrono::milliseconds timeout = 3000ms) {
    auto all = responses(1, timeout);
    return all.empty() ? WireResponse{} : all.front();
  }

  /// Reads until the server closes the connection (true) or `timeout` passes (false).
  bool closed_by_server(std::chrono::milliseconds timeout) {
    received_ += client_.read_all(timeout);
    return client_.peer_closed();
  }

  const std::string& received() const { return received_; }
  void close() { client_.close(); }

 private:
  BlockingClient client_;
  std::string received_;
};

/// The echo JSON in a response's body (discarded when it does not parse).
ordered_json json_body(const WireResponse& r) { return ordered_json::parse(r.body, nullptr, false); }

class ServeTest : public ::testing::Test {
 protected:
  /// Starts `httpx serve --echo --host 127.0.0.1 --port 0 <extra>` and reads the port from the
  /// first line it prints on stderr.
  void start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{httpx_binary(), "serve", "--echo", "--host", "127.0.0.1", "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ChildProcess>(argv);
    const auto line = server_->wait_for_stderr_line("", 5000ms);
    ASSERT_TRUE(line) << server_->command() << " printed no line; stderr: " << server_->err();
    first_line_ = *line;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(first_line_, m, std::regex(R"(http://127\.0\.0\.1:(\d+))"))) << first_line_;
    port_ = std::stoi(m[1]);
    ASSERT_GT(port_, 0) << first_line_;
    ASSERT_LT(port_, 65536) << first_line_;
  }

  /// Sends `request` on a new connection and returns the first response.
  WireResponse exchange(const std::string& request) {
    Connection c(port_);
    EXPECT_TRUE(c.connected());
    EXPECT_TRUE(c.send(request));
    return c.response();
  }

  /// SIGINT, then the exit status (the server must be idle by then).
  int stop() {
    server_->send_signal(SIGINT);
    return server_->wait_for_exit(3000ms);
  }

  std::unique_ptr<ChildProcess> server_;
  std::string first_line_;
  int port_ = 0;
};

// ---- the listening line ----------------------------------------------------------------------

TEST_F(ServeTest, FirstStderrLineHasTheUrlWithTheRealPort) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_NE(first_line_.find("http://127.0.0.1:" + std::to_string(port_)), std::string::npos) << first_line_;
  // The port printed is the one listening.
  const auto r = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(server_->out().empty()) << server_->out();
}

TEST_F(ServeTest, JsonFormatLogsOneObjectPerEvent) {
  ASSERT_NO_FATAL_FAILURE(start({"--format", "json"}));
  const auto listening = ordered_json::parse(first_line_, nullptr, false);
  ASSERT_TRUE(listening.is_object()) << first_line_;
  EXPECT_EQ(listening.value("event", ""), "listening");
  EXPECT_EQ(listening.value("url", ""), "http://127.0.0.1:" + std::to_string(port_));

  EXPECT_EQ(exchange("GET /j?k=v HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
  const auto logged = server_->wait_for_stderr_line("/j?k=v", 3000ms);
  ASSERT_TRUE(logged) << server_->err();
  const auto request = ordered_json::parse(*logged, nullptr, false);
  ASSERT_TRUE(request.is_object()) << *logged;
  EXPECT_EQ(request.value("event", ""), "request");
  EXPECT_EQ(request.value("method", ""), "GET");
  EXPECT_EQ(request.value("url", ""), "/j?k=v");
  EXPECT_EQ(request.value("status", 0), 200);

  EXPECT_EQ(stop(), 0);
  // Every line on stderr is one JSON object with an "event".
  for (const auto& line : lines_of(server_->err())) {
    const auto j = ordered_json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("event")) << line;
  }
  EXPECT_EQ(lines_with(server_->err(), "\"closing\"").size(), 1u) << server_->err();
}

// ---- the echo ----------------------------------------------------------------------------------

TEST_F(ServeTest, EchoesGetWithQueryAndDuplicateHeadersAsNodeSeesThem) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = exchange(
      "GET /p/a?q=1&r=two HTTP/1.1\r\n"
      "Host: example.test\r\n"
      "X-A: 1\r\n"
      "x-a: 2\r\n"
      "Set-Cookie: a=1\r\n"
      "set-cookie: b=2\r\n"
      "Content-Type: text/plain\r\n"
      "content-type: text/html\r\n"
      "Cookie: c=3\r\n"
      "cookie: d=4\r\n"
      "\r\n");
  ASSERT_EQ(r.status, 200) << r.raw_head;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  // Node: most duplicates join with ", ", set-cookie is an array, content-type keeps the first,
  // cookie joins with "; ".
  ordered_json headers = ordered_json::object();
  headers["host"] = "example.test";
  headers["x-a"] = "1, 2";
  headers["set-cookie"] = ordered_json::array({"a=1", "b=2"});
  headers["content-type"] = "text/plain";
  headers["cookie"] = "c=3; d=4";
  EXPECT_EQ(json_body(r), echo("GET", "/p/a?q=1&r=two", headers,
                               {"Host", "example.test", "X-A", "1", "x-a", "2", "Set-Cookie", "a=1", "set-cookie",
                                "b=2", "Content-Type", "text/plain", "content-type", "text/html", "Cookie", "c=3",
                                "cookie", "d=4"}))
      << r.body;
}

TEST_F(ServeTest, EchoesPostWithContentLengthBody) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = exchange(
      "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world");
  ASSERT_EQ(r.status, 200) << r.raw_head;
  EXPECT_EQ(r.header("content-type"), "application/json");
  ordered_json headers = ordered_json::object();
  headers["host"] = "h";
  headers["content-length"] = "11";
  headers["content-type"] = "text/plain";
  EXPECT_EQ(json_body(r), echo("POST", "/submit", headers,
                               {"Host", "h", "Content-Length", "11", "Content-Type", "text/plain"}, "hello world"))
      << r.body;
}

TEST_F(ServeTest, EchoesPostWithChunkedBody) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = exchange(
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n"
      "a\r\n0123456789\r\n"
      "0\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.raw_head;
  EXPECT_EQ(r.header("content-type"), "application/json");
  ordered_json headers = ordered_json::object();
  headers["host"] = "h";
  headers["transfer-encoding"] = "chunked";
  EXPECT_EQ(json_body(r),
            echo("POST", "/c", headers, {"Host", "h", "Transfer-Encoding", "chunked"}, "abc0123456789"))
      << r.body;
}

TEST_F(ServeTest, EchoesTrailersOfAChunkedRequest) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = exchange(
      "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T, X-U\r\n\r\n"
      "5\r\nhello\r\n"
      "0\r\n"
      "X-T: v1\r\n"
      "x-t: v2\r\n"
      "X-U: u\r\n"
      "\r\n");
  ASSERT_EQ(r.status, 200) << r.raw_head;
  ordered_json headers = ordered_json::object();
  headers["host"] = "h";
  headers["transfer-encoding"] = "chunked";
  headers["trailer"] = "X-T, X-U";
  ordered_json trailers = ordered_json::object();
  trailers["x-t"] = "v1, v2";
  trailers["x-u"] = "u";
  EXPECT_EQ(json_body(r), echo("POST", "/t", headers,
                               {"Host", "h", "Transfer-Encoding", "chunked", "Trailer", "X-T, X-U"}, "hello",
                               trailers, {"X-T", "v1", "x-t", "v2", "X-U", "u"}))
      << r.body;
}

TEST_F(ServeTest, EchoReadsTheHeadAsLatin1AndTheBodyAsUtf8) {
  ASSERT_NO_FATAL_FAILURE(start());
  // A header byte 0xE9 is 'é' (latin1); body bytes 0xFF 0xFE are invalid UTF-8: U+FFFD each.
  const auto r = exchange("POST /l HTTP/1.1\r\nHost: h\r\nX-L: caf\xe9\r\nContent-Length: 4\r\n\r\n\xff\xfeok");
  ASSERT_EQ(r.status, 200) << r.raw_head;
  ordered_json headers = ordered_json::object();
  headers["host"] = "h";
  headers["x-l"] = "caf\xc3\xa9";
  headers["content-length"] = "4";
  EXPECT_EQ(json_body(r), echo("POST", "/l", headers, {"Host", "h", "X-L", "caf\xc3\xa9", "Content-Length", "4"},
                               "\xef\xbf\xbd\xef\xbf\xbdok"))
      << r.body;
}

TEST_F(ServeTest, KeepAliveConnectionCarriesSeveralRequests) {
  ASSERT_NO_FATAL_FAILURE(start());
  Connection c(port_);
  ASSERT_TRUE(c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"));
  const auto rs = c.responses(2);
  ASSERT_EQ(rs.size(), 2u) << c.received();
  EXPECT_EQ(json_body(rs[0]).value("url", ""), "/1");
  EXPECT_EQ(json_body(rs[1]).value("url", ""), "/2");
  EXPECT_EQ(json_body(rs[1]).value("body", ""), "hi");
  EXPECT_EQ(rs[1].header("connection"), "keep-alive");
}

// ---- the access log ----------------------------------------------------------------------------

TEST_F(ServeTest, AccessLogHasOneLinePerRequestWithMethodUrlAndStatus) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(exchange("GET /first?x=1 HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  EXPECT_EQ(exchange("POST /second HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc").status, 200);
  ASSERT_TRUE(server_->wait_for_stderr_line("/second", 3000ms)) << server_->err();
  // Stopped, so stderr is complete.
  EXPECT_EQ(stop(), 0) << server_->err();
  const auto first = lines_with(server_->err(), "/first?x=1");
  ASSERT_EQ(first.size(), 1u) << server_->err();
  EXPECT_NE(first[0].find("GET"), std::string::npos) << first[0];
  EXPECT_NE(first[0].find("200"), std::string::npos) << first[0];
  const auto second = lines_with(server_->err(), "/second");
  ASSERT_EQ(second.size(), 1u) << server_->err();
  EXPECT_NE(second[0].find("POST"), std::string::npos) << second[0];
  EXPECT_NE(second[0].find("200"), std::string::npos) << second[0];
  // Listening, two requests, closing.
  EXPECT_EQ(count_lines(server_->err()), 4u) << server_->err();
}

TEST_F(ServeTest, QuietSuppressesTheAccessLog) {
  ASSERT_NO_FATAL_FAILURE(start({"-q"}));
  EXPECT_NE(first_line_.find("http://127.0.0.1:"), std::string::npos) << first_line_;
  EXPECT_EQ(exchange("GET /quiet HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
  EXPECT_EQ(stop(), 0) << server_->err();
  EXPECT_TRUE(lines_with(server_->err(), "/quiet").empty()) << server_->err();
  // Listening and closing only.
  EXPECT_EQ(count_lines(server_->err()), 2u) << server_->err();
}

// ---- graceful shutdown -------------------------------------------------------------------------

class ServeSignalTest : public ServeTest, public ::testing::WithParamInterface<int> {};

// The in-flight request: its head and half of its body now, the rest later.
constexpr const char* kInFlightHead = "POST /in-flight HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello";
constexpr const char* kInFlightRest = "world";

TEST_P(ServeSignalTest, FinishesTheInFlightRequestClosesIdleConnectionsAndExits0) {
  const int sig = GetParam();
  ASSERT_NO_FATAL_FAILURE(start());
  // An idle keep-alive connection: one request answered, then nothing.
  Connection idle(port_);
  ASSERT_TRUE(idle.send("GET /idle HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_EQ(idle.response().status, 200);
  // A request in flight: head and half of the body sent.
  Connection busy(port_);
  ASSERT_TRUE(busy.send(kInFlightHead));
  std::this_thread::sleep_for(200ms);  // pause between the two parts of the body

  ASSERT_TRUE(server_->send_signal(sig));
  ASSERT_TRUE(server_->wait_for_stderr_line("closing", 3000ms)) << server_->err();
  // The idle connection is closed by the server, and a new connection is not served: refused, or
  // (caught in the listen backlog just before the listener closed) closed without an answer.
  EXPECT_TRUE(idle.closed_by_server(2000ms)) << "idle keep-alive connection still open";
  if (Connection late(port_); late.connected()) {
    late.send("GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_TRUE(late.closed_by_server(2000ms)) << "a connection made after the signal is still open";
    EXPECT_TRUE(late.received().empty()) << late.received();
  }

  ASSERT_TRUE(busy.send(kInFlightRest));
  const auto r = busy.response();
  ASSERT_EQ(r.status, 200) << busy.received();
  EXPECT_EQ(json_body(r).value("body", ""), "helloworld") << r.body;
  // The client is done (as curl would be): the server has nothing left and exits 0.
  busy.close();
  const auto done = Clock::now();
  EXPECT_EQ(server_->wait_for_exit(3000ms), 0) << server_->err();
  EXPECT_LT(millis_since(done), 3000);
  EXPECT_EQ(lines_with(server_->err(), "/in-flight").size(), 1u) << server_->err();
}

// After the signal, an in-flight request's answer says `Connection: close` and the connection
// ends with it, so a keep-alive client cannot hold a closing server open. (Node 20's
// server.close() alone would leave it open until keepAliveTimeout; the CLI asks for more.)
TEST_P(ServeSignalTest, ClosesTheInFlightConnectionOnceItsResponseIsDone) {
  const int sig = GetParam();
  ASSERT_NO_FATAL_FAILURE(start());
  Connection busy(port_);
  ASSERT_TRUE(busy.send(kInFlightHead));
  std::this_thread::sleep_for(200ms);  // pause between the two parts of the body
  ASSERT_TRUE(server_->send_signal(sig));
  ASSERT_TRUE(server_->wait_for_stderr_line("closing", 3000ms)) << server_->err();
  ASSERT_TRUE(busy.send(kInFlightRest));
  const auto r = busy.response();
  ASSERT_EQ(r.status, 200) << busy.received();
  EXPECT_EQ(json_body(r).value("body", ""), "helloworld") << r.body;
  // The client keeps its connection open, as a keep-alive client does.
  const auto answered = Clock::now();
  EXPECT_TRUE(busy.closed_by_server(2000ms)) << "server kept the connection open after its last response";
  EXPECT_EQ(server_->wait_for_exit(1000ms), 0) << server_->err();
  EXPECT_LT(millis_since(answered), 3000);
}

TEST_F(ServeTest, SecondSigintCutsTheInFlightRequestAndExits0) {
  ASSERT_NO_FATAL_FAILURE(start());
  Connection busy(port_);
  ASSERT_TRUE(busy.send(kInFlightHead));
  std::this_thread::sleep_for(200ms);  // pause between the two parts of the body
  ASSERT_TRUE(server_->send_signal(SIGINT));
  ASSERT_TRUE(server_->wait_for_stderr_line("closing", 3000ms)) << server_->err();
  ASSERT_TRUE(server_->send_signal(SIGINT));
  EXPECT_TRUE(busy.closed_by_server(2000ms)) << "in-flight connection not cut by the second signal";
  EXPECT_TRUE(busy.received().empty()) << busy.received();
  EXPECT_EQ(server_->wait_for_exit(3000ms), 0) << server_->err();
}

INSTANTIATE_TEST_SUITE_P(Signals, ServeSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM");
                         });

// ---- errors ------------------------------------------------------------------------------------

TEST(ServeErrorTest, PortInUseIsExit1NamingTheAddressAndEaddrinuse) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  const auto r = httpx({"serve", "--echo", "--host", "127.0.0.1", "--port", port});
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:" + port), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("EADDRINUSE"), std::string::npos) << r.err;
}

TEST(ServeErrorTest, PortOutOfRangeIsExit2InOneLine) {
  const auto r = httpx({"serve", "--echo", "--port", "70000"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("70000"), std::string::npos) << r.err;
}

TEST(ServeErrorTest, HeadersTimeoutAboveRequestTimeoutIsExit2) {
  const auto r = httpx({"serve", "--echo", "--port", "0", "--headers-timeout", "5000", "--request-timeout", "1000"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("headersTimeout"), std::string::npos) << r.err;
}

TEST(ServeErrorTest, EchoWithADirIsExit2) {
  const auto r = httpx({"serve", ".", "--echo", "--port", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("--echo"), std::string::npos) << r.err;
}

TEST(ServeErrorTest, UnknownFlagIsExit2) {
  const auto r = httpx({"serve", "--echo", "--port", "0", "--bogus"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
}

TEST(ServeErrorTest, UnresolvableHostIsExit1WithAClearMessage) {
  // Prints e.g. "httpx: cannot listen on no.such.host.invalid:0: Host not found (authoritative) (ENOTFOUND)";
  // a resolver that cannot be reached says EAI_AGAIN instead.
  const auto r = httpx({"serve", "--echo", "--port", "0", "--host", "no.such.host.invalid"}, 8000);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("no.such.host.invalid"), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.find("ENOTFOUND") != std::string::npos || r.err.find("EAI_AGAIN") != std::string::npos)
      << r.err;
}

// ---- server options ----------------------------------------------------------------------------

TEST_F(ServeTest, KeepAliveTimeoutIsAnnouncedAndClosesTheIdleConnection) {
  ASSERT_NO_FATAL_FAILURE(start({"--keep-alive-timeout", "300"}));
  Connection c(port_);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto r = c.response();
  ASSERT_EQ(r.status, 200) << c.received();
  const auto answered = Clock::now();
  EXPECT_EQ(r.header("connection"), "keep-alive");
  EXPECT_EQ(r.header("keep-alive"), "timeout=0");
  // Closed one second after the announced 300 ms.
  EXPECT_TRUE(c.closed_by_server(3000ms)) << "idle connection not closed";
  const auto waited = millis_since(answered);
  EXPECT_GE(waited, 1000);
  EXPECT_LE(waited, 3000);
}

TEST_F(ServeTest, MaxRequestsPerSocketSaysCloseOnTheLastAnd503After) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-requests-per-socket", "1"}));
  Connection c(port_);
  ASSERT_TRUE(c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto first = c.responses(1);
  ASSERT_EQ(first.size(), 1u) << c.received();
  EXPECT_EQ(first[0].status, 200);
  EXPECT_EQ(first[0].header("connection"), "close");
  EXPECT_FALSE(first[0].header("keep-alive"));
  // Node keeps the connection open and answers the next request 503.
  ASSERT_TRUE(c.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto both = c.responses(2);
  ASSERT_EQ(both.size(), 2u) << c.received();
  EXPECT_EQ(both[1].status, 503);
}

TEST_F(ServeTest, MaxHeaderSizeAnswers431) {
  const std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(2048, 'a') + "\r\n\r\n";
  ASSERT_NO_FATAL_FAILURE(start({"--max-header-size", "1024"}));
  Connection c(port_);
  ASSERT_TRUE(c.send(big));
  const auto r = c.response();
  EXPECT_EQ(r.status, 431) << c.received();
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_server(2000ms));
  // The default (16384) takes it.
  server_.reset();
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(exchange(big).status, 200);
}

TEST_F(ServeTest, NoRequireHostHeaderAcceptsHttp11WithoutHost) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(exchange("GET /nohost HTTP/1.1\r\n\r\n").status, 400);
  server_.reset();
  ASSERT_NO_FATAL_FAILURE(start({"--no-require-host-header"}));
  const auto r = exchange("GET /nohost HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.raw_head;
  EXPECT_EQ(json_body(r), echo("GET", "/nohost", ordered_json::object(), {})) << r.body;
}

TEST_F(ServeTest, JoinDuplicateHeadersJoinsContentType) {
  const std::string request = "GET / HTTP/1.1\r\nHost: h\r\nContent-Type: a\r\ncontent-type: b\r\n\r\n";
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(json_body(exchange(request))["headers"].value("content-type", ""), "a");
  server_.reset();
  ASSERT_NO_FATAL_FAILURE(start({"--join-duplicate-headers"}));
  const auto r = exchange(request);
  ASSERT_EQ(r.status, 200) << r.raw_head;
  EXPECT_EQ(json_body(r)["headers"].value("content-type", ""), "a, b") << r.body;
}

}  // namespace
}  // namespace httpx::test
