// `httpx request` and `httpx get` as a user runs them, against `httpx serve --echo` on 127.0.0.1
// (the JSON fields themselves are compared with Node by integration/client_differential_test.cpp):
// the body on stdout, -H and -d, --format json, the exit codes, --timeout, --unix-socket, and the
// errors a user meets (refused connection, bad flags, bad URL).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/child.hpp"
#include "support/support.hpp"

namespace httpx::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

ProcessResult httpx(const std::vector<std::string>& args, int timeout_ms = 10000) {
  std::vector<std::string> argv{httpx_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, timeout_ms);
}

// `httpx serve --echo` on an ephemeral port (or a Unix socket), stopped by PID at the end.
class EchoPeer {
 public:
  explicit EchoPeer(const std::vector<std::string>& where = {"--host", "127.0.0.1", "--port", "0"}) {
    std::vector<std::string> argv{httpx_binary(), "serve", "--echo", "-q"};
    argv.insert(argv.end(), where.begin(), where.end());
    server_ = std::make_unique<ChildProcess>(argv);
    const auto line = server_->wait_for_stderr_line("listening", 5000ms);
    if (!line) return;
    std::smatch m;
    if (std::regex_search(*line, m, std::regex(R"(http://127\.0\.0\.1:(\d+))"))) port_ = std::stoi(m[1]);
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  bool ready() const { return port_ > 0; }

 private:
  std::unique_ptr<ChildProcess> server_;
  int port_ = 0;
};

TEST(RequestCliTest, GetPrintsTheBodyAndExitsZero) {
  EchoPeer peer;
  ASSERT_TRUE(peer.ready());
  const auto r = httpx({"get", peer.url("/hello?x=1")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const auto echo = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(echo.is_object()) << r.out;
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["url"], "/hello?x=1");
  EXPECT_EQ(echo["headers"]["connection"], "close");  // an agent without keepAlive
}

TEST(RequestCliTest, RequestSendsHeadersAndDataWithContentLength) {
  EchoPeer peer;
  ASSERT_TRUE(peer.ready());
  const auto r = httpx({"request", "put", peer.url("/p"), "-H", "X-One: 1", "-H", " x-one : 2 ", "--header",
                        "Content-Type: text/plain", "-d", "payload"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto echo = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(echo.is_object()) << r.out;
  EXPECT_EQ(echo["method"], "PUT");
  EXPECT_EQ(echo["headers"]["x-one"], "1, 2");
  EXPECT_EQ(echo["headers"]["content-length"], "7");
  EXPECT_EQ(echo["body"], "payload");
}

TEST(RequestCliTest, FormatJsonDescribesTheWholeExchange) {
  EchoPeer peer;
  ASSERT_TRUE(peer.ready());
  const auto r = httpx({"get", peer.url("/j"), "--format", "json", "--keep-alive"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << r.out;
  EXPECT_EQ(out["request"]["method"], "GET");
  EXPECT_EQ(out["request"]["url"], peer.url("/j"));
  EXPECT_EQ(out["request"]["headers"]["host"], peer.url("").substr(std::string("http://").size()));
  EXPECT_TRUE(out["error"].is_null());
  const auto& res = out["response"];
  EXPECT_EQ(res["statusCode"], 200);
  EXPECT_EQ(res["statusMessage"], "OK");
  EXPECT_EQ(res["httpVersion"], "1.1");
  EXPECT_EQ(res["headers"]["content-type"], "application/json");
  EXPECT_EQ(res["headers"]["connection"], "keep-alive");
  EXPECT_EQ(json::parse(res["body"].get<std::string>())["headers"]["connection"], "keep-alive");
  for (const char* t : {"socket", "connect", "firstByte", "response", "end", "done"}) {
    EXPECT_TRUE(out["timings"].contains(t)) << t;
  }
}

TEST(RequestCliTest, RefusedConnectionIsExitOneWithNodesMessageOnStderr) {
  // Port 1: nothing listens there (and an unprivileged test cannot start anything on it).
  const std::string url = "http://127.0.0.1:1/";
  const auto r = httpx({"get", url});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("connect ECONNREFUSED 127.0.0.1:1"), std::string::npos) << r.err;
  const auto j = httpx({"get", url, "--format", "json"});
  EXPECT_EQ(j.exit_code, 1);
  const auto out = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << j.out;
  EXPECT_TRUE(out["response"].is_null());
  EXPECT_EQ(out["error"]["code"], "ECONNREFUSED");
}

TEST(RequestCliTest, TimeoutAbandonsASilentServerWithEtimedout) {
  // A listener that accepts and never answers.
  TempDir dir;
  const std::string path = dir.path() + "/silent.sock";
  ChildProcess silent({"node", "-e",
                       "require('net').createServer(()=>{}).listen(process.argv[1],()=>console.error('up'))", path});
  ASSERT_TRUE(silent.wait_for_stderr_line("up", 5000ms)) << silent.err();
  const auto start = std::chrono::steady_clock::now();
  const auto r = httpx({"get", "http://localhost/", "--unix-socket", path, "--timeout", "300", "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto out = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << r.out;
  EXPECT_EQ(out["error"]["code"], "ETIMEDOUT");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(RequestCliTest, UnixSocketReachesAServerOnAPath) {
  TempDir dir;
  const std::string path = dir.path() + "/echo.sock";
  ChildProcess server({"node", "-e",
                       "require('http').createServer((q,s)=>s.end('at '+q.url))"
                       ".listen(process.argv[1],()=>console.error('up'))",
                       path});
  ASSERT_TRUE(server.wait_for_stderr_line("up", 5000ms)) << server.err();
  const auto r = httpx({"get", "http://localhost/u", "--unix-socket", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "at /u");
}

TEST(RequestCliTest, BadUsageIsExitTwoWithOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"get"},
           {"request", "GET"},
           {"get", "http://127.0.0.1:1/", "--bogus"},
           {"get", "http://127.0.0.1:1/", "-H", "no colon"},
           {"get", "http://127.0.0.1:1/", "--format", "xml"},
           {"get", "http://127.0.0.1:1/", "-4", "-6"}}) {
    const auto r = httpx(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_TRUE(r.out.empty());
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(RequestCliTest, RequestsNodeRefusesAreExitOneWithNodesError) {
  // Node: ERR_INVALID_URL "Invalid URL", ERR_INVALID_HTTP_TOKEN for the method,
  // ERR_UNESCAPED_CHARACTERS for a path with a space, ERR_INVALID_PROTOCOL for https.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"get", "not a url", "--format", "json"}, "ERR_INVALID_URL"},
      {{"request", "BAD METHOD", "http://127.0.0.1:1/", "--format", "json"}, "ERR_INVALID_HTTP_TOKEN"},
      {{"get", "https://127.0.0.1:1/", "--format", "json"}, "ERR_INVALID_PROTOCOL"},
  };
  for (const auto& [args, code] : cases) {
    const auto r = httpx(args);
    EXPECT_EQ(r.exit_code, 1) << args[1] << ": " << r.err;
    const auto out = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(out.is_object()) << r.out;
    EXPECT_EQ(out["error"]["code"], code) << r.out;
    EXPECT_TRUE(out["response"].is_null());
  }
}

}  // namespace
}  // namespace httpx::test
