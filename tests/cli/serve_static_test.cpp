// `httpx serve DIR`, driven as a user drives it: the built binary serving a temporary tree on
// 127.0.0.1 with --port 0, raw requests on POSIX sockets, responses parsed by the test support's
// own parser, signals sent by PID, every wait bounded. A marker file sits beside DIR: no request
// may ever bring its content back.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/child.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

namespace httpx::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kMarker = "MARKER-OUTSIDE-DIR-7f3a9c";

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Deterministic bytes that do not compress and never contain the marker.
std::string pseudo_random(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  for (auto& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

std::uint64_t fnv1a(std::string_view data, std::uint64_t h = 1469598103934665603ull) {
  for (const char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return {};
  std::string out;
  char buf[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

/// The tree every test serves: TMP/site is DIR, TMP/secret.txt the marker beside it.
struct Tree {
  TempDir tmp;
  std::string site = tmp.file("site");
  std::string hello = std::string(40, 'x') + "Hello, static world!\n";
  std::string big = pseudo_random(300 * 1024, 7);  // above the in-memory limit: served from the fd
  std::string text = [] {
    std::string s;
    for (int i = 0; i < 200; ++i) s += "line " + std::to_string(i) + " of a compressible text file\n";
    return s;
  }();

  Tree() {
    write_file(tmp.file("secret.txt"), kMarker);
    fs::create_directories(site + "/docs/deep");
    fs::create_directories(site + "/app");
    fs::create_directories(site + "/.git");
    fs::create_directories(site + "/empty");
    fs::create_directories(site + "/with space");
    write_file(site + "/hello.txt", hello);
    write_file(site + "/big.bin", big);
    write_file(site + "/text.txt", text);
    write_file(site + "/style.css", "body{}\n");
    write_file(site + "/page.html", "<p>page</p>\n");
    write_file(site + "/data.json", "{}\n");
    write_file(site + "/.env", "TOKEN=dotfile\n");
    write_file(site + "/.git/config", "[core]\n");
    write_file(site + "/docs/a.md", "# a\n");
    write_file(site + "/docs/deep/b.txt", "b\n");
    write_file(site + "/app/index.html", "<h1>app</h1>\n");
    write_file(site + "/with space/f i.txt", "spaced\n");
    fs::create_symlink("../secret.txt", site + "/link-out");
    fs::create_symlink("..", site + "/dir-out");
    fs::create_symlink("hello.txt", site + "/link-in");
  }
};

class ServeStaticTest : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& extra = {}, const std::string& dir = "") {
    std::vector<std::string> argv{httpx_binary(), "serve", dir.empty() ? tree_.site : dir, "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    // Two threads unless the test chose: both loops share the port, as in production.
    if (std::find(extra.begin(), extra.end(), "--threads") == extra.end()) {
      argv.insert(argv.end(), {"--threads", "2"});
    }
    server_ = std::make_unique<ChildProcess>(argv);
    const auto line = server_->wait_for_stderr_line("", 5000ms);
    ASSERT_TRUE(line) << server_->command() << " printed no line; stderr: " << server_->err();
    first_line_ = *line;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(first_line_, m, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))")))
        << first_line_;
    port_ = std::stoi(m[1]);
  }

  /// Sends `raw` on a new connection; returns the first final response (status 0 when none).
  WireResponse raw(const std::string& request, bool head = false, std::string* bytes = nullptr) {
    BlockingClient c(port_);
    EXPECT_GE(c.fd(), 0);
    EXPECT_TRUE(c.send_all(request));
    const std::vector<bool> no_body{head};
    const std::string got = c.read_until(
        [&](const std::string& s) { return !parse_responses(s, false, no_body).finals().empty(); }, 5000ms);
    if (bytes) *bytes = got;
    auto finals = parse_responses(got, c.peer_closed(), no_body).finals();
    return finals.empty() ? WireResponse{} : finals.front();
  }

  WireResponse get(const std::string& target, const std::string& headers = "", const std::string& method = "GET") {
    return raw(method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + headers + "\r\n", method == "HEAD");
  }

  int stop() {
    server_->send_signal(SIGTERM);
    return server_->wait_for_exit(5000ms);
  }

  void TearDown() override {
    if (server_ && !server_->exited()) {
      EXPECT_EQ(stop(), 0) << server_->err();
    }
  }

  Tree tree_;
  std::unique_ptr<ChildProcess> server_;
  std::string first_line_;
  int port_ = 0;
};

// ---- files -------------------------------------------------------------------------------------

TEST_F(ServeStaticTest, GetServesTheFileWithTypeLengthValidatorsAndAcceptRanges) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = get("/hello.txt");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, tree_.hello);
  EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.header("content-length"), std::to_string(tree_.hello.size()));
  EXPECT_EQ(r.header("accept-ranges"), "bytes");
  ASSERT_TRUE(r.header("etag"));
  EXPECT_TRUE(std::regex_match(*r.header("etag"), std::regex(R"("[0-9a-f]+-[0-9a-f]+-[0-9a-f]+")"))) << *r.header("etag");
  ASSERT_TRUE(r.header("last-modified"));
  EXPECT_TRUE(std::regex_match(*r.header("last-modified"),
                               std::regex(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)")));
  EXPECT_TRUE(r.header("date"));
}

TEST_F(ServeStaticTest, ContentTypesOfCommonWebFiles) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(get("/style.css").header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(get("/page.html").header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(get("/data.json").header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(get("/big.bin").header("content-type"), "application/octet-stream");
}

TEST_F(ServeStaticTest, LargeFileFromTheDescriptorIsByteExact) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = get("/big.bin");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), std::to_string(tree_.big.size()));
  EXPECT_TRUE(r.body == tree_.big) << "body differs (" << r.body.size() << " bytes)";
}

TEST_F(ServeStaticTest, HeadHasTheHeadersOfGetAndNoBody) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string bytes;
  const auto r = raw("HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n", true, &bytes);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), std::to_string(tree_.big.size()));
  EXPECT_EQ(bytes.size(), r.raw_head.size()) << "HEAD carried a body";
}

TEST_F(ServeStaticTest, ModifiedFileIsSeenAfterTheCacheTtl) {
  // Quiet: this test makes many requests, and an undrained stderr pipe would fill.
  ASSERT_NO_FATAL_FAILURE(start({"--threads", "1", "-q"}));
  const auto before = get("/docs/a.md");
  ASSERT_EQ(before.status, 200);
  write_file(tree_.site + "/docs/a.md", "# changed, longer\n");
  // The stat cache trusts an answer for one second; a polled wait bounded at 5 s.
  WireResponse after;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    after = get("/docs/a.md");
  } while (after.body != "# changed, longer\n" && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(after.body, "# changed, longer\n") << after.status;
  EXPECT_NE(after.header("etag"), before.header("etag"));
}

// ---- ranges ------------------------------------------------------------------------------------

TEST_F(ServeStaticTest, SingleRangeIs206WithContentRange) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = get("/hello.txt", "Range: bytes=40-44\r\n");
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "Hello");
  EXPECT_EQ(r.header("content-range"), "bytes 40-44/" + std::to_string(tree_.hello.size()));
  EXPECT_EQ(r.header("content-length"), "5");
}

TEST_F(ServeStaticTest, SuffixAndOpenRanges) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto size = tree_.big.size();
  const auto suffix = get("/big.bin", "Range: bytes=-100\r\n");
  ASSERT_EQ(suffix.status, 206);
  EXPECT_TRUE(suffix.body == tree_.big.substr(size - 100));
  EXPECT_EQ(suffix.header("content-range"), "bytes " + std::to_string(size - 100) + "-" + std::to_string(size - 1) +
                                                "/" + std::to_string(size));
  const auto open = get("/big.bin", "Range: bytes=200000-\r\n");
  ASSERT_EQ(open.status, 206);
  EXPECT_TRUE(open.body == tree_.big.substr(200000));
  const auto clamped = get("/hello.txt", "Range: bytes=0-999999\r\n");
  ASSERT_EQ(clamped.status, 206);
  EXPECT_EQ(clamped.body, tree_.hello);
}

TEST_F(ServeStaticTest, MultipleRangesAreMultipartByteranges) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = get("/big.bin", "Range: bytes=0-9, 1000-1009, -5\r\n");
  ASSERT_EQ(r.status, 206);
  const auto type = r.header("content-type").value_or("");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(type, m, std::regex("multipart/byteranges; boundary=(.+)"))) << type;
  const std::string boundary = m[1];
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  const std::string size = std::to_string(tree_.big.size());
  const std::string expected =
      "--" + boundary + "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-9/" + size + "\r\n\r\n" +
      tree_.big.substr(0, 10) + "\r\n--" + boundary +
      "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 1000-1009/" + size + "\r\n\r\n" +
      tree_.big.substr(1000, 10) + "\r\n--" + boundary + "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes " +
      std::to_string(tree_.big.size() - 5) + "-" + std::to_string(tree_.big.size() - 1) + "/" + size + "\r\n\r\n" +
      tree_.big.substr(tree_.big.size() - 5) + "\r\n--" + boundary + "--\r\n";
  EXPECT_TRUE(r.body == expected);
}

TEST_F(ServeStaticTest, UnsatisfiableRangeIs416WithTheSize) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = get("/hello.txt", "Range: bytes=5000-6000\r\n");
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("content-range"), "bytes */" + std::to_string(tree_.hello.size()));
  // A malformed Range is ignored: the whole file.
  const auto bad = get("/hello.txt", "Range: bytes=9-3\r\n");
  EXPECT_EQ(bad.status, 200);
  EXPECT_EQ(bad.body, tree_.hello);
}

TEST_F(ServeStaticTest, IfRangeWithTheCurrentEtagHonoursTheRangeAndAStaleOneSendsAll) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto etag = get("/hello.txt").header("etag").value_or("");
  const auto match = get("/hello.txt", "Range: bytes=0-3\r\nIf-Range: " + etag + "\r\n");
  EXPECT_EQ(match.status, 206);
  EXPECT_EQ(match.body, tree_.hello.substr(0, 4));
  const auto stale = get("/hello.txt", "Range: bytes=0-3\r\nIf-Range: \"old\"\r\n");
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, tree_.hello);
  const auto old_date = get("/hello.txt", "Range: bytes=0-3\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
  EXPECT_EQ(old_date.status, 200);
}

// ---- conditional requests ----------------------------------------------------------------------

TEST_F(ServeStaticTest, IfNoneMatchAndIfModifiedSinceGive304) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto first = get("/hello.txt");
  const auto etag = first.header("etag").value_or("");
  const auto lm = first.header("last-modified").value_or("");
  std::string bytes;
  const auto inm = raw("GET /hello.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"x\", " + etag + "\r\n\r\n", false, &bytes);
  EXPECT_EQ(inm.status, 304);
  EXPECT_EQ(inm.header("etag"), etag);
  EXPECT_FALSE(inm.header("content-length"));
  EXPECT_EQ(bytes.size(), inm.raw_head.size());
  EXPECT_EQ(get("/hello.txt", "If-None-Match: W/" + etag + "\r\n").status, 304);  // weak comparison
  EXPECT_EQ(get("/hello.txt", "If-None-Match: *\r\n").status, 304);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: " + lm + "\r\n").status, 304);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n").status, 200);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: not a date\r\n").status, 200);
}

TEST_F(ServeStaticTest, IfNoneMatchTakesPrecedenceOverIfModifiedSince) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto lm = get("/hello.txt").header("last-modified").value_or("");
  // RFC 9110 §13.2.2: with If-None-Match present, If-Modified-Since is not evaluated.
  EXPECT_EQ(get("/hello.txt", "If-None-Match: \"other\"\r\nIf-Modified-Since: " + lm + "\r\n").status, 200);
}

TEST_F(ServeStaticTest, IfMatchAndIfUnmodifiedSinceGive412) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto etag = get("/hello.txt").header("etag").value_or("");
  EXPECT_EQ(get("/hello.txt", "If-Match: \"other\"\r\n").status, 412);
  EXPECT_EQ(get("/hello.txt", "If-Match: W/" + etag + "\r\n").status, 412);  // strong comparison
  EXPECT_EQ(get("/hello.txt", "If-Match: " + etag + "\r\n").status, 200);
  EXPECT_EQ(get("/hello.txt", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n").status, 412);
  EXPECT_EQ(get("/hello.txt", "If-Unmodified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n").status, 200);
  // If-Match is evaluated first and, when present, If-Unmodified-Since is not.
  EXPECT_EQ(get("/hello.txt", "If-Match: " + etag + "\r\nIf-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n").status,
            200);
}

// ---- directories -------------------------------------------------------------------------------

TEST_F(ServeStaticTest, DirectoryWithIndexServesItAndWithoutSlashRedirects) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto index = get("/app/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<h1>app</h1>\n");
  const auto redirect = get("/app?x=1");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(redirect.header("location"), "/app/?x=1");
  EXPECT_EQ(get("/with%20space").header("location"), "/with%20space/");
  EXPECT_EQ(get("/hello.txt/").status, 404);
}

TEST_F(ServeStaticTest, HtmlListingLinksEntriesEscapesNamesAndHidesDotfiles) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = get("/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<title>Index of /</title>"), std::string::npos);
  EXPECT_NE(r.body.find("href=\"hello.txt\""), std::string::npos);
  EXPECT_NE(r.body.find("href=\"docs/\""), std::string::npos);
  EXPECT_NE(r.body.find("href=\"with%20space/\""), std::string::npos);
  EXPECT_NE(r.body.find("300 KiB"), std::string::npos) << "big.bin's size is not human-readable";
  EXPECT_EQ(r.body.find(".env"), std::string::npos);
  EXPECT_EQ(r.body.find(".git"), std::string::npos);
  // Symlinks out of DIR are refused, so they are not listed; one within DIR is.
  EXPECT_EQ(r.body.find("link-out"), std::string::npos);
  EXPECT_EQ(r.body.find("dir-out"), std::string::npos);
  EXPECT_NE(r.body.find("href=\"link-in\""), std::string::npos);
  EXPECT_NE(r.body.find("?sort=size"), std::string::npos);
  const auto sub = get("/docs/");
  EXPECT_NE(sub.body.find("href=\"../\""), std::string::npos);
  EXPECT_NE(sub.body.find("href=\"deep/\""), std::string::npos);
}

TEST_F(ServeStaticTest, ListingSortsByNameSizeAndDate) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto by_size = get("/?sort=size&order=desc").body;
  // Directories first, then files by size, largest first.
  EXPECT_LT(by_size.find("href=\"docs/\""), by_size.find("href=\"big.bin\""));
  EXPECT_LT(by_size.find("href=\"big.bin\""), by_size.find("href=\"text.txt\""));
  EXPECT_LT(by_size.find("href=\"text.txt\""), by_size.find("href=\"style.css\""));
  const auto by_name = get("/?sort=name").body;
  EXPECT_LT(by_name.find("href=\"big.bin\""), by_name.find("href=\"text.txt\""));
  const auto desc = get("/?sort=name&order=desc").body;
  EXPECT_GT(desc.find("href=\"big.bin\""), desc.find("href=\"text.txt\""));
}

TEST_F(ServeStaticTest, JsonListingWhenTheClientAsksForIt) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = get("/docs/", "Accept: application/json\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["path"], "/docs/");
  ASSERT_EQ(j["entries"].size(), 2u) << r.body;
  EXPECT_EQ(j["entries"][0]["name"], "deep");
  EXPECT_EQ(j["entries"][0]["type"], "directory");
  EXPECT_EQ(j["entries"][1]["name"], "a.md");
  EXPECT_EQ(j["entries"][1]["size"], 4);
  EXPECT_EQ(j["entries"][1]["url"], "/docs/a.md");
  EXPECT_TRUE(j["entries"][1]["mtime"].is_string());
}

TEST_F(ServeStaticTest, NoListingIs403ButIndexStillServed) {
  ASSERT_NO_FATAL_FAILURE(start({"--no-listing"}));
  EXPECT_EQ(get("/").status, 403);
  EXPECT_EQ(get("/docs/").status, 403);
  EXPECT_EQ(get("/app/").status, 200);
  EXPECT_EQ(get("/hello.txt").status, 200);
}

// ---- safety ------------------------------------------------------------------------------------

// Each must fail (400, 403 or 404) without the marker's content; none may be served.
const std::vector<std::string> kTraversal = {
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/%2e./secret.txt",
    "/.%2e/secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/%5c..%5csecret.txt",
    "/docs/../../secret.txt",
    "/docs/%2e%2e/%2e%2e/secret.txt",
    "/./../secret.txt",
    "//../secret.txt",
    "/%2f..%2fsecret.txt",
    "/secret.txt%00.html",
    "/%00/../secret.txt",
    "/..%00/secret.txt",
    "/link-out",
    "/link-out/",
    "/dir-out/secret.txt",
    "/dir-out/",
    "/dir-out/../secret.txt",
    "http://127.0.0.1/../secret.txt",
    "http://127.0.0.1/%2e%2e/secret.txt",
    "HTTP://x/..%2fsecret.txt",
    "/..;/secret.txt",
    "/.../secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/..%c0%afsecret.txt",
    "/%uff0e%uff0e/secret.txt",
    "/....//secret.txt",
    "/docs/..%2f..%2fsecret.txt",
    "/%2e%2e%5csecret.txt",
    "/..%255csecret.txt",
    "/docs/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/..%09/secret.txt",
    "/.%00./secret.txt",
    "/..%2f%2e%2e%2fsecret.txt",
    "/..%%32%66secret.txt",
    "/.%2e%2fsecret.txt",
    "/%2e%2e",
    "/docs/deep/%2e%2e/%2e%2e/%2e%2e/secret.txt",
};

void expect_refused(const WireResponse& r, const std::string& target, const std::string& bytes) {
  EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404) << target << " -> " << r.status;
  EXPECT_EQ(bytes.find(kMarker), std::string::npos) << target << " returned the marker";
}

TEST_F(ServeStaticTest, TraversalCorpusNeverReachesTheMarkerBesideDir) {
  ASSERT_GE(kTraversal.size(), 40u);
  ASSERT_NO_FATAL_FAILURE(start());
  for (const auto& target : kTraversal) {
    std::string bytes;
    const auto r = raw("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n", false, &bytes);
    expect_refused(r, target, bytes);
  }
}

TEST_F(ServeStaticTest, TraversalCorpusWithHiddenFilesOnAndHeadRequests) {
  ASSERT_NO_FATAL_FAILURE(start({"--hidden"}));
  for (const auto& target : kTraversal) {
    std::string bytes;
    expect_refused(raw("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n", false, &bytes), target, bytes);
    expect_refused(raw("HEAD " + target + " HTTP/1.1\r\nHost: t\r\n\r\n", true, &bytes), target, bytes);
  }
}

TEST_F(ServeStaticTest, SymlinkInsideDirIsServedAndFollowSymlinksAllowsOutside) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(get("/link-in").body, tree_.hello);
  EXPECT_EQ(get("/link-out").status, 403);
  ASSERT_EQ(stop(), 0);
  ASSERT_NO_FATAL_FAILURE(start({"--follow-symlinks"}));
  const auto r = get("/link-out");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kMarker);
  // `..` stays refused whatever the symlink policy.
  EXPECT_EQ(get("/../secret.txt").status, 400);
}

TEST_F(ServeStaticTest, DotfilesAre404UnlessHidden) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(get("/.env").status, 404);
  EXPECT_EQ(get("/.git/config").status, 404);
  EXPECT_EQ(get("/%2eenv").status, 404);
  ASSERT_EQ(stop(), 0);
  ASSERT_NO_FATAL_FAILURE(start({"--hidden"}));
  EXPECT_EQ(get("/.env").body, "TOKEN=dotfile\n");
  EXPECT_NE(get("/").body.find(".git/"), std::string::npos);
}

TEST_F(ServeStaticTest, OtherMethodsAre405WithAllow) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    const auto r = raw(std::string(method) + " /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.header("allow"), "GET, HEAD, OPTIONS") << method;
  }
  EXPECT_EQ(read_file(tree_.site + "/hello.txt"), tree_.hello);
}

// ---- conveniences ------------------------------------------------------------------------------

TEST_F(ServeStaticTest, CorsHeaderAndPreflight) {
  ASSERT_NO_FATAL_FAILURE(start({"--cors"}));
  EXPECT_EQ(get("/hello.txt").header("access-control-allow-origin"), "*");
  EXPECT_EQ(get("/nope").header("access-control-allow-origin"), "*");
  const auto pre = get("/hello.txt",
                       "Origin: http://a.test\r\nAccess-Control-Request-Method: GET\r\n"
                       "Access-Control-Request-Headers: x-custom\r\n",
                       "OPTIONS");
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "*");
  EXPECT_EQ(pre.header("access-control-allow-headers"), "x-custom");
  EXPECT_NE(pre.header("access-control-allow-methods").value_or("").find("GET"), std::string::npos);
  EXPECT_TRUE(pre.header("access-control-max-age"));
}

TEST_F(ServeStaticTest, SpaFallsBackToIndexHtml) {
  write_file(tree_.site + "/index.html", "<div id=app></div>\n");
  ASSERT_NO_FATAL_FAILURE(start({"--spa"}));
  const auto r = get("/some/client/route");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<div id=app></div>\n");
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(get("/hello.txt").body, tree_.hello);
  // Safety is checked before the fallback.
  EXPECT_EQ(get("/../secret.txt").status, 400);
  EXPECT_EQ(get("/.env").status, 404);
}

TEST_F(ServeStaticTest, GzipCompressesTextOnTheFlyAndServesPrecompressedSiblings) {
  write_file(tree_.site + "/style.css.gz", "precompressed-gz");
  write_file(tree_.site + "/style.css.br", "precompressed-br");
  ASSERT_NO_FATAL_FAILURE(start({"--gzip"}));
  const auto on_the_fly = get("/text.txt", "Accept-Encoding: gzip, deflate\r\n");
  ASSERT_EQ(on_the_fly.status, 200);
  EXPECT_EQ(on_the_fly.header("content-encoding"), "gzip");
  EXPECT_EQ(on_the_fly.header("vary"), "Accept-Encoding");
  EXPECT_LT(on_the_fly.body.size(), tree_.text.size());
  EXPECT_EQ(gunzip(on_the_fly.body), tree_.text);
  const auto identity = get("/text.txt");
  EXPECT_FALSE(identity.header("content-encoding"));
  EXPECT_EQ(identity.body, tree_.text);
  EXPECT_NE(identity.header("etag"), on_the_fly.header("etag"));
  // A client that sent the gzip variant's tag gets 304 for that variant.
  EXPECT_EQ(get("/text.txt", "Accept-Encoding: gzip\r\nIf-None-Match: " + on_the_fly.header("etag").value_or("") +
                                 "\r\n").status,
            304);
  const auto br = get("/style.css", "Accept-Encoding: gzip, br\r\n");
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_EQ(br.body, "precompressed-br");
  EXPECT_EQ(br.header("content-type"), "text/css; charset=utf-8");
  const auto gz = get("/style.css", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gz.body, "precompressed-gz");
  EXPECT_FALSE(get("/big.bin", "Accept-Encoding: gzip\r\n").header("content-encoding"));
  EXPECT_FALSE(get("/text.txt", "Accept-Encoding: gzip;q=0\r\n").header("content-encoding"));
}

TEST_F(ServeStaticTest, BasicAuthGuardsEverything) {
  ASSERT_NO_FATAL_FAILURE(start({"--auth", "alice:s3cret"}));
  const auto none = get("/hello.txt");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.header("www-authenticate").value_or("").find("Basic"), std::string::npos);
  EXPECT_EQ(get("/hello.txt", "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n").status, 401);  // alice:wrong
  EXPECT_EQ(get("/hello.txt", "Authorization: Basic !!!\r\n").status, 401);
  const auto ok = get("/hello.txt", "Authorization: Basic YWxpY2U6czNjcmV0\r\n");  // alice:s3cret
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, tree_.hello);
}

TEST_F(ServeStaticTest, UploadByPutAndMultipartPostStaysInsideDir) {
  ASSERT_NO_FATAL_FAILURE(start({"--upload", "--upload-limit", "1000"}));
  const auto put = raw("PUT /docs/new.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfresh");
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(read_file(tree_.site + "/docs/new.txt"), "fresh");
  const auto replaced = raw("PUT /docs/new.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nnew");
  EXPECT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(read_file(tree_.site + "/docs/new.txt"), "new");
  // Served right away: an upload drops the stat cache.
  EXPECT_EQ(get("/docs/new.txt").body, "new");

  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"one.txt\"\r\nContent-Type: text/plain\r\n\r\n"
      "first\r\n--XyZ\r\nContent-Disposition: form-data; name=\"g\"; filename=\"C:\\\\tmp\\\\two.txt\"\r\n\r\nsecond"
      "\r\n--XyZ--\r\n";
  const auto post = raw("POST /docs/ HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(post.status, 201) << post.body;
  EXPECT_EQ(read_file(tree_.site + "/docs/one.txt"), "first");
  EXPECT_EQ(read_file(tree_.site + "/docs/two.txt"), "second");

  // Never outside DIR: traversal, a symlinked parent out of DIR, dotfile names, oversized bodies.
  EXPECT_EQ(raw("PUT /../escape.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx").status, 400);
  EXPECT_EQ(raw("PUT /%2e%2e/escape.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx").status, 400);
  EXPECT_EQ(raw("PUT /dir-out/escape.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx").status, 403);
  EXPECT_EQ(raw("PUT /.bashrc HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx").status, 404);
  EXPECT_EQ(raw("PUT /nodir/x.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx").status, 409);
  EXPECT_FALSE(fs::exists(tree_.tmp.file("escape.txt")));
  const std::string evil = "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"..\"\r\n\r\nx\r\n--B--\r\n";
  EXPECT_EQ(raw("POST / HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: " +
                std::to_string(evil.size()) + "\r\n\r\n" + evil)
                .status,
            400);
  EXPECT_EQ(raw("PUT /big.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n").status, 413);
  EXPECT_EQ(raw("PUT /chunked.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" +
                std::string(2000, 'z') + "\r\n0\r\n\r\n")
                .status,
            413);
  EXPECT_FALSE(fs::exists(tree_.site + "/big.txt"));
  EXPECT_FALSE(fs::exists(tree_.site + "/chunked.txt"));
  EXPECT_EQ(read_file(tree_.tmp.file("secret.txt")), kMarker);
}

TEST_F(ServeStaticTest, CacheAndCustomHeaders) {
  ASSERT_NO_FATAL_FAILURE(start({"--cache", "3600", "-H", "X-Served-By: httpx", "--header", "X-Frame-Options:DENY"}));
  const auto r = get("/hello.txt");
  EXPECT_EQ(r.header("cache-control"), "public, max-age=3600");
  EXPECT_EQ(r.header("x-served-by"), "httpx");
  EXPECT_EQ(r.header("x-frame-options"), "DENY");
  const auto missing = get("/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("x-served-by"), "httpx");
  const auto etag = r.header("etag").value_or("");
  EXPECT_EQ(get("/hello.txt", "If-None-Match: " + etag + "\r\n").header("cache-control"), "public, max-age=3600");
}

TEST_F(ServeStaticTest, AccessLogFileInCombinedAndJsonFormats) {
  const std::string log = tree_.tmp.file("access.log");
  ASSERT_NO_FATAL_FAILURE(start({"--access-log", log, "--log-format", "combined"}));
  get("/hello.txt", "User-Agent: test-agent/1\r\nReferer: http://ref.test/\r\n");
  ASSERT_EQ(stop(), 0);
  const std::string text = read_file(log);
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET /hello\.txt HTTP/1\.1" 200 \d+ "http://ref\.test/" "test-agent/1"\n$)")))
      << text;
  EXPECT_EQ(server_->err().find("/hello.txt"), std::string::npos) << "the log also went to stderr";

  const std::string json_log = tree_.tmp.file("access.json");
  ASSERT_NO_FATAL_FAILURE(start({"--access-log", json_log, "--log-format", "json"}));
  get("/nope");
  ASSERT_EQ(stop(), 0);
  const auto j = nlohmann::json::parse(read_file(json_log), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["status"], 404);
  EXPECT_EQ(j["url"], "/nope");
  EXPECT_TRUE(j["bytes"].is_number());
}

TEST_F(ServeStaticTest, CommonLogFormatOnStderr) {
  ASSERT_NO_FATAL_FAILURE(start({"--log-format", "common"}));
  get("/hello.txt");
  const auto line = server_->wait_for_stderr_line("/hello.txt", 3000ms);
  ASSERT_TRUE(line) << server_->err();
  EXPECT_TRUE(std::regex_match(*line, std::regex(R"(127\.0\.0\.1 - - \[.+\] "GET /hello\.txt HTTP/1\.1" 200 \d+)")))
      << *line;
}

// ---- concurrency and shutdown -----------------------------------------------------------------

TEST_F(ServeStaticTest, TwoHundredConcurrentDownloadsAreByteExact) {
  const std::string payload = pseudo_random(3 * 1024 * 1024 + 17, 99);
  write_file(tree_.site + "/large.bin", payload);
  const std::uint64_t expected = fnv1a(payload);
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<BlockingClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<BlockingClient>(port_));
    ASSERT_GE(clients.back()->fd(), 0);
    ASSERT_TRUE(clients.back()->send_all("GET /large.bin HTTP/1.1\r\nHost: t\r\n\r\n"));
    ::fcntl(clients.back()->fd(), F_SETFL, ::fcntl(clients.back()->fd(), F_GETFL) | O_NONBLOCK);
  }
  // One thread reads all of them as data arrives; the body is hashed as it streams past the head.
  struct Progress {
    std::string head;
    bool in_body = false;
    std::size_t body = 0;
    std::uint64_t hash = 1469598103934665603ull;
    bool done = false;
  };
  std::vector<Progress> progress(kClients);
  int finished = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::vector<char> buf(256 * 1024);
  while (finished < kClients && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<int> index;
    for (int i = 0; i < kClients; ++i) {
      if (!progress[i].done) {
        fds.push_back({clients[i]->fd(), POLLIN, 0});
        index.push_back(i);
      }
    }
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto& p = progress[index[k]];
      const ssize_t n = ::recv(fds[k].fd, buf.data(), buf.size(), 0);
      if (n <= 0) {
        p.done = true;
        ++finished;
        continue;
      }
      std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
      if (!p.in_body) {
        p.head.append(chunk);
        const auto end = p.head.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        chunk = std::string_view(p.head).substr(end + 4);
        p.in_body = true;
        p.hash = fnv1a(chunk, p.hash);
        p.body += chunk.size();
        p.head.resize(end + 4);
      } else {
        p.hash = fnv1a(chunk, p.hash);
        p.body += chunk.size();
      }
      if (p.body >= payload.size()) {
        p.done = true;
        ++finished;
      }
    }
  }
  ASSERT_EQ(finished, kClients) << "downloads did not finish in time";
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(progress[i].head.substr(0, 15), "HTTP/1.1 200 OK") << i;
    EXPECT_EQ(progress[i].body, payload.size()) << i;
    EXPECT_EQ(progress[i].hash, expected) << "client " << i << " got different bytes";
  }
}

TEST_F(ServeStaticTest, SigtermFinishesAnInFlightDownloadThenExits0) {
  ASSERT_NO_FATAL_FAILURE(start());
  BlockingClient idle(port_);
  ASSERT_TRUE(idle.send_all("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto first = idle.read_until([](const std::string& s) { return !parse_responses(s).finals().empty(); }, 3000ms);
  ASSERT_FALSE(parse_responses(first).finals().empty());
  // A slow reader: a small receive buffer, and nothing read until after the signal.
  BlockingClient slow(port_, 4096);
  ASSERT_TRUE(slow.send_all("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto started = slow.read_until([](const std::string& s) { return s.size() >= 1024; }, 3000ms);
  ASSERT_GE(started.size(), 1024u);
  ASSERT_TRUE(server_->send_signal(SIGTERM));
  ASSERT_TRUE(server_->wait_for_stderr_line("closing", 3000ms)) << server_->err();
  EXPECT_TRUE(idle.read_all(3000ms).empty());
  EXPECT_TRUE(idle.peer_closed()) << "idle keep-alive connection still open";
  const auto rest = started + slow.read_all(10000ms);
  const auto finals = parse_responses(rest, slow.peer_closed()).finals();
  ASSERT_EQ(finals.size(), 1u);
  // The head went out before the signal; the connection ends with the response.
  EXPECT_TRUE(slow.peer_closed());
  EXPECT_TRUE(finals[0].body == tree_.big) << "the in-flight body was cut (" << finals[0].body.size() << " bytes)";
  EXPECT_EQ(server_->wait_for_exit(5000ms), 0) << server_->err();
}

// ---- errors a user can meet --------------------------------------------------------------------

ProcessResult httpx(const std::vector<std::string>& args) {
  std::vector<std::string> argv{httpx_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, 5000);
}

void expect_one_line(const ProcessResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(ServeStaticErrorTest, MissingDirIsExit2NamingIt) {
  TempDir tmp;
  expect_one_line(httpx({"serve", tmp.file("nope"), "--port", "0"}), 2, "nope");
}

TEST(ServeStaticErrorTest, FileAsDirIsExit2) {
  TempDir tmp;
  write_file(tmp.file("f"), "x");
  expect_one_line(httpx({"serve", tmp.file("f"), "--port", "0"}), 2, "not a directory");
}

TEST(ServeStaticErrorTest, DirAndEchoTogetherIsExit2) {
  TempDir tmp;
  expect_one_line(httpx({"serve", tmp.path(), "--echo", "--port", "0"}), 2, "--echo");
}

TEST(ServeStaticErrorTest, BadFlagValuesAreExit2) {
  TempDir tmp;
  expect_one_line(httpx({"serve", tmp.path(), "--header", "no colon"}), 2, "--header");
  expect_one_line(httpx({"serve", tmp.path(), "--header", "Bad Name: v"}), 2, "--header");
  expect_one_line(httpx({"serve", tmp.path(), "--auth", "nopassword"}), 2, "--auth");
  expect_one_line(httpx({"serve", tmp.path(), "--threads", "0"}), 2, "threads");
  expect_one_line(httpx({"serve", tmp.path(), "--log-format", "xml"}), 2, "xml");
  expect_one_line(httpx({"serve", tmp.path(), "--cache", "-5"}), 2, "cache");
}

TEST(ServeStaticErrorTest, UnreadableDirIsExit1) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every directory";
  TempDir tmp;
  fs::create_directories(tmp.file("locked"));
  ::chmod(tmp.file("locked").c_str(), 0);
  expect_one_line(httpx({"serve", tmp.file("locked"), "--port", "0"}), 1, "Permission denied");
  ::chmod(tmp.file("locked").c_str(), 0755);
}

TEST(ServeStaticErrorTest, UnwritableAccessLogIsExit1) {
  TempDir tmp;
  expect_one_line(httpx({"serve", tmp.path(), "--port", "0", "--access-log", tmp.file("no/such/dir/log")}), 1,
                  "access log");
}

}  // namespace
}  // namespace httpx::test
