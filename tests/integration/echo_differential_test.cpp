// Differential test for issue 3: the same raw request bytes go to Node's echo server
// (tests/oracle/echo_server.js) and to `httpx serve --echo`, and the answers must be alike: the
// responses parsed from the bytes (status, reason, headers with Date masked, body; JSON bodies as
// parsed JSON) and whether the server closed the connection.
//
// Each test suite below is one set of server flags; its SetUpTestSuite starts one Node server and
// one peer on 127.0.0.1 port 0, waits until each has answered one plain request, and runs the
// suite's selected cases (honouring --gtest_filter) a few at a time, each case on both servers at
// once, so the suite costs a few idle deadlines instead of one per case. Each TEST_P then compares
// the two recorded exchanges of its case.
//
// A case whose difference is understood and accepted gets `.known_difference = "why"`: the
// difference is then printed with the reason instead of failing.
//
// Environment:
//   HTTPX_DIFF_PEER=node     the peer is a second Node echo server (validates the harness itself)
//   HTTPX_DIFF_VERBOSE=1     print both transcripts of every case, alike or not
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/child.hpp"
#include "support/support.hpp"

namespace httpx::test {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

/// One set of server flags; every flag set is one test suite with its own pair of servers.
enum class Flags {
  kDefault,               ///< no flags: Node's defaults
  kJoinDuplicateHeaders,  ///< --join-duplicate-headers
  kInsecureParser,        ///< --insecure-http-parser
  kLimits,                ///< small limits: header size, requests per socket, keep-alive timeout; no Host needed
};

/// The command-line flags (beside --host/--port) of each flag set, the same for Node and the peer.
std::vector<std::string> flags_of(Flags flags) {
  switch (flags) {
    case Flags::kDefault:
      return {};
    case Flags::kJoinDuplicateHeaders:
      return {"--join-duplicate-headers"};
    case Flags::kInsecureParser:
      return {"--insecure-http-parser"};
    case Flags::kLimits:
      return {"--max-header-size", "2048", "--max-requests-per-socket", "3", "--keep-alive-timeout", "200",
              "--no-require-host-header"};
  }
  return {};
}

/// Pause between consecutive writes of one case (a poll that keeps reading, not a sleep).
constexpr auto kWritePause = 2ms;
/// A connection that sends nothing for this long after the last write is taken as left open.
constexpr auto kIdleDeadline = 500ms;
/// Hard cap for one exchange, writes included.
constexpr auto kCaseDeadline = 3000ms;
/// How long a server may take to print its address, and to exit after SIGTERM.
constexpr auto kStartDeadline = 10s;
constexpr auto kStopDeadline = 5s;
/// How many cases run at once (each on both servers).
constexpr std::size_t kCasesInFlight = 16;

/// One request scenario: raw bytes written to a fresh connection to each server.
struct Case {
  /// The test's name ([A-Za-z0-9], unique).
  std::string name;
  /// The bytes, one element per write(); a short pause separates consecutive writes.
  std::vector<std::string> writes{};
  /// Half-close (shutdown SHUT_WR) after the last write.
  bool half_close = false;
  /// Which server pair answers the case.
  Flags flags = Flags::kDefault;
  /// Silence after which the connection counts as left open (capped by kCaseDeadline).
  std::chrono::milliseconds idle = kIdleDeadline;
  /// When set: why the peer may answer differently. A difference is then printed with this reason
  /// instead of failing the test.
  std::string known_difference{};
};

/// Each byte of `bytes` as its own write.
std::vector<std::string> bytewise(std::string_view bytes) {
  std::vector<std::string> writes;
  for (char c : bytes) writes.emplace_back(1, c);
  return writes;
}

/// A header line `name: aaaa…` with a value of `size` bytes, for the header size limits.
std::string filler_header(std::string_view name, std::size_t size) {
  return std::string(name) + ": " + std::string(size, 'a') + "\r\n";
}

// The cases. Requests use `Host: a.test` unless the case is about Host. Names say what the request
// is, not what Node answers; the transcripts show that (run with HTTPX_DIFF_VERBOSE=1).
const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      // --- Methods ---------------------------------------------------------------------------------
      {.name = "GetOriginForm", .writes = {"GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "HeadHasNoBody", .writes = {"HEAD /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "PostContentLength",
       .writes = {"POST /submit HTTP/1.1\r\nHost: a.test\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
                  "hello world"}},
      {.name = "PutJsonBody",
       .writes = {"PUT /items/7 HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\n"
                  "Content-Length: 16\r\n\r\n{\"name\":\"seven\"}"}},
      {.name = "DeleteWithoutBody", .writes = {"DELETE /items/7 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "OptionsAsteriskForm", .writes = {"OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "PatchWithBody",
       .writes = {"PATCH /items/7 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 9\r\n\r\nname=nine"}},
      {.name = "MethodPropfind", .writes = {"PROPFIND /dav/ HTTP/1.1\r\nHost: a.test\r\nDepth: 1\r\n\r\n"}},
      {.name = "MethodPurge", .writes = {"PURGE /cache/x HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "MethodSearch", .writes = {"SEARCH /index HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "MethodQuery",
       .writes = {"QUERY /contacts HTTP/1.1\r\nHost: a.test\r\nContent-Length: 6\r\n\r\nname=x"},
       .known_difference = "QUERY is a method of llhttp 9 (Node 20); Debian's llhttp 8.1 has no such method and "
                           "answers 400 (HPE_INVALID_METHOD). The method table is compiled into llhttp's state "
                           "machine, so libhttp cannot add it."},
      {.name = "MethodMkcalendar", .writes = {"MKCALENDAR /cal/ HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "MethodUnknownToken", .writes = {"BREW /pot HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "MethodLowercase", .writes = {"get / HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "MethodInvalidChar", .writes = {"G@T / HTTP/1.1\r\nHost: a.test\r\n\r\n"}},

      // --- Request targets -------------------------------------------------------------------------
      {.name = "AbsoluteFormTarget",
       .writes = {"GET http://a.test:8080/path/x?q=1 HTTP/1.1\r\nHost: a.test:8080\r\n\r\n"}},
      {.name = "AbsoluteFormHttpsTarget", .writes = {"GET https://a.test/secure HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "AsteriskFormGet", .writes = {"GET * HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "AuthorityFormGet", .writes = {"GET a.test:80 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "QueryString",
       .writes = {"GET /search?q=a+b&sp=%20&empty=&flag&arr[]=1 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "OddButLegalUrlBytes",
       .writes = {"GET /a/../b/./c;p=1/%7Euser/~t/!$&'()*+,;=:@-._ HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "UrlWithFragment", .writes = {"GET /page?x=1#section-2 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "UrlDoubleSlashes", .writes = {"GET //double//slash/ HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "UrlNonAsciiBytes", .writes = {"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "UrlLong4KiB", .writes = {"GET /" + std::string(4096, 'u') + " HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "RequestLineDoubleSpace", .writes = {"GET  / HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "RequestLineTabSeparator", .writes = {"GET\t/ HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "LeadingEmptyLine", .writes = {"\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n"}},

      // --- Duplicate headers (Node's classes) --------------------------------------------------------
      {.name = "DuplicateSetCookie",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nset-cookie: c=3\r\n\r\n"}},
      {.name = "DuplicateCookie", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"}},
      {.name = "DuplicateDiscardClass",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n"
                  "User-Agent: one\r\nUser-Agent: two\r\nAuthorization: Basic YTpi\r\nAuthorization: Basic Yzpk\r\n"
                  "Referer: /r1\r\nReferer: /r2\r\nIf-Modified-Since: a\r\nIf-Modified-Since: b\r\n"
                  "Max-Forwards: 1\r\nMax-Forwards: 2\r\nRetry-After: 1\r\nRetry-After: 2\r\n\r\n"}},
      {.name = "DuplicateHost", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n"}},
      {.name = "DuplicateJoinedWithComma",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nAccept: text/html\r\nAccept: */*\r\nX-Custom: 1\r\n"
                  "X-Custom: 2\r\nx-custom: 3\r\n\r\n"}},
      {.name = "DuplicateMixedCaseNames",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Foo: 1\r\nx-foo: 2\r\nX-FOO: 3\r\n"
                  "COOKIE: a=1\r\ncookie: b=2\r\n\r\n"}},
      {.name = "JoinDuplicateSetCookie",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"},
       .flags = Flags::kJoinDuplicateHeaders},
      {.name = "JoinDuplicateCookie",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"},
       .flags = Flags::kJoinDuplicateHeaders},
      {.name = "JoinDuplicateDiscardClass",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n"
                  "User-Agent: one\r\nUser-Agent: two\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n"},
       .flags = Flags::kJoinDuplicateHeaders},
      {.name = "JoinDuplicateHost",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n"},
       .flags = Flags::kJoinDuplicateHeaders},
      {.name = "JoinDuplicateOther",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Custom: 1\r\nx-custom: 2\r\nAccept: a\r\nAccept: b\r\n\r\n"},
       .flags = Flags::kJoinDuplicateHeaders},

      // --- Header names and values -------------------------------------------------------------------
      {.name = "MixedCaseHeaderNames",
       .writes = {"GET / HTTP/1.1\r\nhOsT: a.test\r\ncOnTeNt-TyPe: text/plain\r\nX-MiXeD-CaSe: V\r\n\r\n"}},
      {.name = "EmptyHeaderValues", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Empty:\r\nX-Space: \r\n\r\n"}},
      {.name = "WhitespaceAroundValues",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Pad:   padded  value \t \r\nX-Tab:\tx\t\r\n\r\n"}},
      {.name = "ObsTextInValue", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Latin: caf\xe9\r\n\r\n"}},
      {.name = "InvalidTokenInHeaderName", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Bad@Name: v\r\n\r\n"}},
      {.name = "ParenInHeaderName", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX(Bad): v\r\n\r\n"}},
      {.name = "EmptyHeaderName", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n: v\r\n\r\n"}},
      {.name = "SpaceBeforeColon", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Foo : bar\r\n\r\n"}},
      {.name = "ControlCharInValue", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: a\x01z\r\n\r\n"}},
      {.name = "DelCharInValue", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: a\x7fz\r\n\r\n"}},
      {.name = "ObsFoldContinuation", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Folded: a\r\n  b\r\n\r\n"}},
      {.name = "HeaderLineWithoutColon", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nNoColonHere\r\n\r\n"}},

      // --- NUL bytes, bare CR and LF ----------------------------------------------------------------
      {.name = "NulInHeaderValue", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: a\0b\r\n\r\n"s}},
      {.name = "NulInUrl", .writes = {"GET /a\0b HTTP/1.1\r\nHost: a.test\r\n\r\n"s}},
      {.name = "NulBeforeRequest", .writes = {"\0GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"s}},
      {.name = "NulInBodyIsData",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\na\0b"s}},
      {.name = "BareLfLineEndings", .writes = {"GET / HTTP/1.1\nHost: a.test\nX-A: 1\n\n"}},
      {.name = "BareLfAfterOneHeader", .writes = {"GET / HTTP/1.1\r\nHost: a.test\nX-A: 1\r\n\r\n"}},
      {.name = "BareCrInValue", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: a\rb\r\n\r\n"}},
      {.name = "BareCrLineEndings", .writes = {"GET / HTTP/1.1\rHost: a.test\r\r"}},

      // --- Bodies -----------------------------------------------------------------------------------
      {.name = "ZeroContentLength", .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n"}},
      {.name = "Utf8Body",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 11\r\n\r\nh\xc3\xa9llo \xe2\x82\xac!"}},
      {.name = "InvalidUtf8Body",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\na\xff\xfe" "b"}},
      {.name = "ChunkedBody",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"}},
      {.name = "ChunkedWithExtensions",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5;name=value\r\nhello\r\n3;flag;q=\"a b\"\r\nxyz\r\n0;last\r\n\r\n"}},
      {.name = "ChunkedWithTrailers",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                  "4\r\ndata\r\n0\r\nX-Checksum: abc123\r\nx-other: 1\r\nX-Other: 2\r\n\r\n"}},
      {.name = "ChunkedUppercaseHexAndZeros",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "A\r\n0123456789\r\n0003\r\nabc\r\n0\r\n\r\n"}},
      {.name = "ChunkedTransferEncodingUppercase",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "BadChunkSizeNotHex",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"}},
      {.name = "BadChunkSizeOverflow",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"}},
      {.name = "ChunkDataMissingCrlf",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"}},
      {.name = "ChunkSizeMissingCrlf",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5hello\r\n0\r\n\r\n"}},
      {.name = "ChunkSizeBareLf",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"}},

      // --- Content-Length and Transfer-Encoding framing (smuggling shapes) ------------------------------
      {.name = "ContentLengthAndTransferEncoding",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "ConflictingContentLengths",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"}},
      {.name = "DuplicateEqualContentLengths",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"}},
      {.name = "ContentLengthList",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3, 3\r\n\r\nabc"}},
      {.name = "NegativeContentLength",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: -3\r\n\r\nabc"}},
      {.name = "NonNumericContentLength",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: abc\r\n\r\nabc"}},
      {.name = "PlusSignContentLength",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: +3\r\n\r\nabc"}},
      {.name = "OverflowingContentLength",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 99999999999999999999999\r\n\r\nabc"}},
      {.name = "TransferEncodingChunkedNotLast",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "TransferEncodingXchunked",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "TransferEncodingChunkedIdentity",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "TransferEncodingSpaceBeforeColon",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "TransferEncodingTabBeforeColon",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding\t: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "TransferEncodingTwoHeaders",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n"}},
      {.name = "TransferEncodingOnHttp10",
       .writes = {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}},

      // --- Pipelining ---------------------------------------------------------------------------------
      {.name = "PipelinedTwo",
       .writes = {"GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "PipelinedFive",
       .writes = {"GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n"
                  "HEAD /3 HTTP/1.1\r\nHost: a.test\r\n\r\nDELETE /4 HTTP/1.1\r\nHost: a.test\r\n\r\n"
                  "GET /5 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "PipelinedWithBodies",
       .writes = {"POST /1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\none"
                  "POST /2 HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
                  "PUT /3 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nthree"}},
      // Node 20 answers the next two with a lone 400: the data after the request that ends the
      // connection (or the malformed one) is a parse error in the same read, and the error path
      // writes its 400 and destroys the socket before the first response is written.
      {.name = "PipelinedStopsAtConnectionClose",
       .writes = {"GET /1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
                  "GET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "PipelinedValidThenMalformed",
       .writes = {"GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.test\r\nBad Header\r\n\r\n"}},
      {.name = "PipelinedAcrossTwoWrites",
       .writes = {"GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTT", "P/1.1\r\nHost: a.test\r\n\r\n"}},

      // --- Versions, Host, Connection ---------------------------------------------------------------
      {.name = "Http10WithoutKeepAlive", .writes = {"GET /old HTTP/1.0\r\n\r\n"}},
      {.name = "Http10WithKeepAlive", .writes = {"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"}},
      {.name = "Http10PostUntilClose",
       .writes = {"POST /old HTTP/1.0\r\nHost: a.test\r\nContent-Length: 4\r\n\r\nbody"}},
      {.name = "Http11ConnectionClose", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"}},
      {.name = "Http11ConnectionTokens",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, X-Private\r\nX-Private: 1\r\n\r\n"}},
      {.name = "MissingHostHttp11", .writes = {"GET / HTTP/1.1\r\n\r\n"}},
      {.name = "MissingHostHttp10", .writes = {"GET / HTTP/1.0\r\n\r\n"}},
      {.name = "EmptyHostHttp11", .writes = {"GET / HTTP/1.1\r\nHost:\r\n\r\n"}},
      {.name = "HttpVersion17", .writes = {"GET / HTTP/1.7\r\nHost: a.test\r\n\r\n"}},
      {.name = "HttpVersion20", .writes = {"GET / HTTP/2.0\r\nHost: a.test\r\n\r\n"}},
      {.name = "HttpVersion09Style", .writes = {"GET /\r\n\r\n"}},
      {.name = "HttpVersionLowercase", .writes = {"GET / http/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "HttpVersionTrailingGarbage", .writes = {"GET / HTTP/1.1x\r\nHost: a.test\r\n\r\n"}},

      // --- Size limits --------------------------------------------------------------------------------
      {.name = "HeadersUnder16KiB",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n" + filler_header("X-Big", 15000) + "\r\n"}},
      {.name = "HeadersOver16KiB",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n" + filler_header("X-Big", 17000) + "\r\n"}},
      {.name = "ManyHeadersOver16KiB",
       .writes = {[] {
         std::string r = "GET / HTTP/1.1\r\nHost: a.test\r\n";
         for (int i = 0; i < 400; ++i) r += "X-H" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
         return r + "\r\n";
       }()}},
      {.name = "UrlOver16KiB", .writes = {"GET /" + std::string(17000, 'u') + " HTTP/1.1\r\nHost: a.test\r\n\r\n"}},
      {.name = "LimitsHeadersUnderMaxHeaderSize",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n" + filler_header("X-Big", 1500) + "\r\n"},
       .flags = Flags::kLimits},
      {.name = "LimitsHeadersOverMaxHeaderSize",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n" + filler_header("X-Big", 3000) + "\r\n"},
       .flags = Flags::kLimits},
      {.name = "LimitsMissingHostAllowed", .writes = {"GET / HTTP/1.1\r\n\r\n"}, .flags = Flags::kLimits},
      // Node 20 closes an idle keep-alive socket keepAliveTimeout + 1000 ms (its keepAliveTimeoutBuffer)
      // after the response, so this case waits longer than the others.
      {.name = "LimitsKeepAliveTimeoutCloses",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"},
       .flags = Flags::kLimits,
       .idle = 2000ms},
      // Node: 200, 200, 200 with Connection: close, then 503 for each request past the limit, and
      // the socket stays open until the keep-alive timer.
      {.name = "LimitsPipelinedPastMaxRequests",
       .writes = {"GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n"
                  "GET /3 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /4 HTTP/1.1\r\nHost: a.test\r\n\r\n"
                  "GET /5 HTTP/1.1\r\nHost: a.test\r\n\r\n"},
       .flags = Flags::kLimits},

      // --- Expect, Upgrade, CONNECT, HTTP/2 -----------------------------------------------------------
      {.name = "Expect100ContinueBodyLater",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", "hello"}},
      {.name = "Expect100ContinueBodyTogether",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"}},
      {.name = "Expect100ContinueMixedCase",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n", "hello"}},
      {.name = "ExpectSomethingElse",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: something-else\r\n\r\nhello"}},
      {.name = "UpgradeWithoutListener",
       .writes = {"GET /chat HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"}},
      {.name = "UpgradeHeaderWithoutConnectionUpgrade",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nUpgrade: h2c\r\n\r\n"}},
      {.name = "ConnectWithoutListener",
       .writes = {"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"}},
      {.name = "Http2Preface", .writes = {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"}},

      // --- Split writes and early half-close ------------------------------------------------------------
      {.name = "ByteByByteGet", .writes = bytewise("GET /split?x=1 HTTP/1.1\r\nHost: a.test\r\nX-A: b\r\n\r\n")},
      {.name = "ByteByByteChunkedPost",
       .writes = bytewise("POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3;e=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")},
      {.name = "SplitBetweenCrAndLf", .writes = {"GET / HTTP/1.1\r", "\nHost: a.test\r", "\n\r", "\n"}},
      {.name = "SplitInsideHeaderName", .writes = {"GET / HTTP/1.1\r\nHo", "st: a.test\r\nX-Lo", "ng: v\r\n\r\n"}},
      {.name = "SplitBodyAcrossWrites",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\n01234", "56789"}},
      {.name = "HalfCloseAfterCompleteRequest",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"},
       .half_close = true},
      {.name = "HalfCloseMidRequestLine", .writes = {"GET /inc"}, .half_close = true},
      {.name = "HalfCloseMidHeaders", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Unfinish"}, .half_close = true},
      {.name = "HalfCloseMidBody",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nabc"},
       .half_close = true},
      {.name = "HalfCloseMidChunkedBody",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
       .half_close = true},
      // A request body is never delimited by close: "until-close" is parsed as the next request.
      {.name = "Http10PostWithoutLengthThenHalfClose",
       .writes = {"POST / HTTP/1.0\r\nHost: a.test\r\n\r\nuntil-close"},
       .half_close = true},
      {.name = "IncompleteHeadersLeftOpen", .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n"}},

      // --- The lenient parser ----------------------------------------------------------------------
      {.name = "InsecureControlCharInValue",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: a\x01z\r\n\r\n"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureContentLengthAndTransferEncoding",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureObsFold",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Folded: a\r\n  b\r\n\r\n"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureSpaceBeforeColon",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\nX-Foo : bar\r\n\r\n"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureBareLfLineEndings",
       .writes = {"GET / HTTP/1.1\nHost: a.test\nX-A: 1\n\n"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureChunkDataMissingCrlf",
       .writes = {"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureTransferEncodingXchunked",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: xchunked\r\n\r\nabc"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureTransferEncodingXchunkedHalfClose",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: xchunked\r\n\r\nabc"},
       .half_close = true,
       .flags = Flags::kInsecureParser},
      {.name = "InsecureConflictingContentLengths",
       .writes = {"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
       .flags = Flags::kInsecureParser},
      {.name = "InsecureValidRequest",
       .writes = {"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"},
       .flags = Flags::kInsecureParser},
  };
  return table;
}

using Clock = std::chrono::steady_clock;

// --- One exchange over TCP ---------------------------------------------------------------------------

/// How an exchange ended.
enum class End { kOpen, kClosed, kReset };

/// What one server sent back for one case.
struct Exchange {
  std::string received;
  End end = End::kOpen;
  /// Connect or write problems, for the transcript only (they depend on timing, so they are not
  /// compared).
  std::string note;
};

/// Milliseconds until `deadline`, at least 0.
int millis_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

/// Waits at most until `until` for bytes and appends them. Returns false once the server has closed
/// or reset the connection (recorded in `ex.end`), true on timeout or after reading some bytes.
bool read_some(int fd, Exchange& ex, Clock::time_point until) {
  pollfd p{fd, POLLIN, 0};
  const int r = ::poll(&p, 1, millis_until(until));
  if (r <= 0) return true;
  char buf[65536];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n > 0) {
    ex.received.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  if (n == 0) {
    ex.end = End::kClosed;
    return false;
  }
  if (errno == EINTR || errno == EAGAIN) return true;
  ex.end = End::kReset;
  return false;
}

/// Sends `c`'s writes to 127.0.0.1:`port` on a fresh connection and collects the answer until the
/// server closes, stays silent for `c.idle` after the last write, or kCaseDeadline passes.
Exchange exchange(int port, const Case& c) {
  Exchange ex;
  const auto case_deadline = Clock::now() + kCaseDeadline;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ex.note = "socket(): "s + std::strerror(errno);
    return ex;
  }
  const int one = 1;
  // Each write is its own segment, so split cases really arrive split.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ex.note = "connect(): "s + std::strerror(errno);
    ex.end = End::kReset;
    ::close(fd);
    return ex;
  }
  bool open = true;
  for (std::size_t i = 0; i < c.writes.size() && open; ++i) {
    if (i > 0) {
      // The pause keeps reading: a server may answer (and close) before the last write.
      const auto until = std::min(Clock::now() + kWritePause, case_deadline);
      while (open && Clock::now() < until) open = read_some(fd, ex, until);
      if (!open) {
        ex.note = "server closed before write " + std::to_string(i + 1) + " of " + std::to_string(c.writes.size());
        break;
      }
    }
    const std::string& w = c.writes[i];
    std::size_t sent = 0;
    while (sent < w.size()) {
      const ssize_t n = ::send(fd, w.data() + sent, w.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ex.note = "write " + std::to_string(i + 1) + " failed: " + std::strerror(errno);
        break;
      }
      sent += static_cast<std::size_t>(n);
    }
    if (sent < w.size()) break;
  }
  if (open && c.half_close) ::shutdown(fd, SHUT_WR);
  auto idle_until = std::min(Clock::now() + c.idle, case_deadline);
  while (open && Clock::now() < idle_until) {
    const std::size_t before = ex.received.size();
    open = read_some(fd, ex, idle_until);
    if (ex.received.size() != before) idle_until = std::min(Clock::now() + c.idle, case_deadline);
  }
  ::close(fd);
  return ex;
}

// --- Parsing responses -------------------------------------------------------------------------------

/// One response parsed from the received bytes.
struct Response {
  std::string version;
  int status = 0;
  std::string reason;
  /// In order, names as sent; Date's value is masked.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The payload (chunked framing removed).
  std::string body;
  /// Trailer fields of a chunked body.
  std::vector<std::pair<std::string, std::string>> trailers;
  /// False when the connection ended inside the body.
  bool complete = true;
};

/// The received bytes as responses.
struct Answer {
  std::vector<Response> responses;
  /// Bytes that do not start a well-formed response head (compared verbatim).
  std::string unparsed;
  /// Whether the server closed (or reset) the connection.
  bool closed = false;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Parses `name: value` lines separated by CRLF.
std::vector<std::pair<std::string, std::string>> parse_fields(std::string_view block) {
  std::vector<std::pair<std::string, std::string>> fields;
  while (!block.empty()) {
    const std::size_t eol = block.find("\r\n");
    const std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      fields.emplace_back(std::string(line), "<no colon>");
      continue;
    }
    std::string name(line.substr(0, colon));
    std::string value(trim(line.substr(colon + 1)));
    if (iequals(name, "date")) value = "<date>";
    fields.emplace_back(std::move(name), std::move(value));
  }
  return fields;
}

const std::string* find_field(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (iequals(n, name)) return &v;
  }
  return nullptr;
}

/// Decodes a chunked body from the front of `in`; returns the bytes consumed, or npos when `in`
/// ends first (the decoded part is kept).
std::size_t decode_chunked(std::string_view in, Response& r) {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::string_view::npos;
    std::string_view size_line = in.substr(pos, eol - pos);
    size_line = size_line.substr(0, size_line.find(';'));
    std::size_t size = 0;
    for (char c : trim(size_line)) {
      const auto u = static_cast<unsigned char>(c);
      if (!std::isxdigit(u)) return std::string_view::npos;
      size = size * 16 + static_cast<std::size_t>(std::isdigit(u) ? u - '0' : std::tolower(u) - 'a' + 10);
    }
    pos = eol + 2;
    if (size == 0) {
      const std::size_t end = in.find("\r\n", pos);
      if (end == std::string_view::npos) return std::string_view::npos;
      if (end == pos) return pos + 2;
      const std::size_t block_end = in.find("\r\n\r\n", pos);
      if (block_end == std::string_view::npos) return std::string_view::npos;
      r.trailers = parse_fields(in.substr(pos, block_end - pos));
      return block_end + 4;
    }
    if (in.size() < pos + size + 2) {
      r.body.append(in.substr(pos, std::min(size, in.size() - pos)));
      return std::string_view::npos;
    }
    r.body.append(in.substr(pos, size));
    pos += size + 2;
  }
}

/// Which requests in `c` are HEAD, in order, so their responses are read without a body. A line is
/// taken as a request line when it has " HTTP/"; good enough for the bodies in the table.
std::vector<bool> head_requests(const Case& c) {
  std::string all;
  for (const auto& w : c.writes) all += w;
  std::vector<bool> heads;
  std::istringstream lines(all);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" HTTP/") == std::string::npos) continue;
    heads.push_back(line.rfind("HEAD ", 0) == 0);
  }
  return heads;
}

/// Splits the received bytes into responses, with the framing rules a client uses.
Answer parse_answer(const Exchange& ex, const std::vector<bool>& heads) {
  Answer a;
  a.closed = ex.end != End::kOpen;
  std::string_view in = ex.received;
  std::size_t request_index = 0;
  while (!in.empty()) {
    const std::size_t head_end = in.find("\r\n\r\n");
    const std::size_t line_end = in.find("\r\n");
    if (head_end == std::string_view::npos || in.substr(0, 5) != "HTTP/") break;
    const std::string_view status_line = in.substr(0, line_end);
    Response r;
    const std::size_t sp1 = status_line.find(' ');
    if (sp1 == std::string_view::npos || status_line.size() < sp1 + 4) break;
    r.version = std::string(status_line.substr(0, sp1));
    const std::string_view code = status_line.substr(sp1 + 1, 3);
    if (!std::all_of(code.begin(), code.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) break;
    r.status = std::stoi(std::string(code));
    r.reason = std::string(status_line.size() > sp1 + 5 ? status_line.substr(sp1 + 5) : std::string_view{});
    if (line_end != head_end) r.headers = parse_fields(in.substr(line_end + 2, head_end - line_end - 2));
    in.remove_prefix(head_end + 4);

    const bool interim = r.status >= 100 && r.status < 200;
    const bool head = !interim && request_index < heads.size() && heads[request_index];
    if (!interim) ++request_index;
    const std::string* te = find_field(r.headers, "transfer-encoding");
    const std::string* cl = find_field(r.headers, "content-length");
    if (interim || head || r.status == 204 || r.status == 304) {
      // No body.
    } else if (te != nullptr && te->find("chunked") != std::string::npos) {
      const std::size_t used = decode_chunked(in, r);
      if (used == std::string_view::npos) {
        r.complete = false;
        in = {};
      } else {
        in.remove_prefix(used);
      }
    } else if (cl != nullptr) {
      const std::size_t length = std::strtoull(cl->c_str(), nullptr, 10);
      r.body = std::string(in.substr(0, length));
      r.complete = in.size() >= length;
      in.remove_prefix(std::min(length, in.size()));
    } else {
      // Delimited by the end of the connection.
      r.body = std::string(in);
      r.complete = a.closed;
      in = {};
    }
    a.responses.push_back(std::move(r));
  }
  a.unparsed = std::string(in);
  return a;
}

// --- Comparing and printing --------------------------------------------------------------------------

/// `bytes` readable: CRLF shown as \r\n and a line break, other unprintable bytes as \xHH; long
/// runs are cut.
std::string printable(std::string_view bytes, std::size_t limit = 3000) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') {
      out += "\\r\\n\n    ";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (bytes.size() > limit) out += "... (" + std::to_string(bytes.size() - limit) + " more bytes)";
  return out;
}

std::string_view end_name(End e) {
  switch (e) {
    case End::kOpen:
      return "left open";
    case End::kClosed:
      return "closed by server (FIN)";
    case End::kReset:
      return "reset by server (RST)";
  }
  return "?";
}

/// One exchange, for messages.
std::string transcript(std::string_view who, const Exchange& ex) {
  std::string s = "--- " + std::string(who) + ": " + std::to_string(ex.received.size()) + " bytes, " +
                  std::string(end_name(ex.end));
  if (!ex.note.empty()) s += " (" + ex.note + ")";
  return s + "\n    " + printable(ex.received) + "\n";
}

std::string field_text(const std::pair<std::string, std::string>& f) { return f.first + ": " + f.second; }

/// Collects the differences between two answers, one line each.
class Differences {
 public:
  /// All differences between `node` and `peer`; empty when alike.
  static std::vector<std::string> between(const Answer& node, const Answer& peer) {
    Differences d;
    const std::size_t n = std::min(node.responses.size(), peer.responses.size());
    for (std::size_t i = 0; i < n; ++i) {
      d.compare("response " + std::to_string(i + 1) + " ", node.responses[i], peer.responses[i]);
    }
    if (node.responses.size() != peer.responses.size()) {
      d.add("number of responses", std::to_string(node.responses.size()), std::to_string(peer.responses.size()));
    }
    if (node.unparsed != peer.unparsed) {
      d.add("bytes that are not a response", quoted(node.unparsed), quoted(peer.unparsed));
    }
    if (node.closed != peer.closed) {
      d.add("connection", node.closed ? "closed" : "left open", peer.closed ? "closed" : "left open");
    }
    return std::move(d.lines_);
  }

 private:
  static std::string quoted(std::string_view bytes) { return '"' + printable(bytes, 400) + '"'; }

  void add(const std::string& what, const std::string& node, const std::string& peer) {
    lines_.push_back(what + ": node " + node + ", peer " + peer);
  }

  void compare(const std::string& at, const Response& a, const Response& b) {
    if (a.version != b.version || a.status != b.status || a.reason != b.reason) {
      add(at + "status line", quoted(a.version + " " + std::to_string(a.status) + " " + a.reason),
          quoted(b.version + " " + std::to_string(b.status) + " " + b.reason));
    }
    compare_fields(at + "header ", a.headers, b.headers);
    compare_body(at + "body", a.body, b.body);
    compare_fields(at + "trailer ", a.trailers, b.trailers);
    if (a.complete != b.complete) add(at + "body complete", a.complete ? "yes" : "no", b.complete ? "yes" : "no");
  }

  /// Field by field, in order (names as sent, so case counts).
  void compare_fields(const std::string& at, const std::vector<std::pair<std::string, std::string>>& a,
                      const std::vector<std::pair<std::string, std::string>>& b) {
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      const std::string x = i < a.size() ? quoted(field_text(a[i])) : "(none)";
      const std::string y = i < b.size() ? quoted(field_text(b[i])) : "(none)";
      if (x != y) add(at + std::to_string(i + 1), x, y);
    }
  }

  /// As JSON when both sides parse as JSON objects (member by member; member order is not
  /// compared), else as bytes.
  void compare_body(const std::string& at, const std::string& a, const std::string& b) {
    if (a == b) return;
    const auto ja = nlohmann::json::parse(a, nullptr, false);
    const auto jb = nlohmann::json::parse(b, nullptr, false);
    if (!ja.is_object() || !jb.is_object()) {
      add(at, quoted(a), quoted(b));
      return;
    }
    for (const auto& [key, value] : ja.items()) {
      if (!jb.contains(key)) {
        add(at + "." + key, value.dump(), "(missing)");
      } else if (jb.at(key) != value) {
        add(at + "." + key, value.dump(), jb.at(key).dump());
      }
    }
    for (const auto& [key, value] : jb.items()) {
      if (!ja.contains(key)) add(at + "." + key, "(missing)", value.dump());
    }
  }

  std::vector<std::string> lines_;
};

/// The request side of a case, for messages.
std::string request_text(const Case& c) {
  std::string all;
  for (const auto& w : c.writes) all += w;
  std::string s = "--- request: " + std::to_string(all.size()) + " bytes in " + std::to_string(c.writes.size()) +
                  " write(s)" + (c.half_close ? ", then half-close" : "");
  return s + "\n    " + printable(all) + "\n";
}

// --- Servers -----------------------------------------------------------------------------------------

bool env_is(const char* name, std::string_view value) {
  const char* v = std::getenv(name);
  return v != nullptr && value == v;
}

/// A running echo server and the port it printed.
struct EchoServer {
  std::unique_ptr<ChildProcess> child;
  int port = 0;
  /// Why it is not usable, or "".
  std::string error;
};

/// Node's echo server with `flags`.
std::vector<std::string> node_command(Flags flags) {
  std::vector<std::string> argv = {"node", source_dir() + "/tests/oracle/echo_server.js", "--host", "127.0.0.1",
                                   "--port", "0"};
  for (auto& f : flags_of(flags)) argv.push_back(std::move(f));
  return argv;
}

/// The peer with `flags`: `httpx serve --echo`, or Node again under HTTPX_DIFF_PEER=node.
std::vector<std::string> peer_command(Flags flags) {
  if (env_is("HTTPX_DIFF_PEER", "node")) return node_command(flags);
  std::vector<std::string> argv = {httpx_binary(), "serve", "--echo", "--host", "127.0.0.1", "--port", "0"};
  for (auto& f : flags_of(flags)) argv.push_back(std::move(f));
  return argv;
}

/// Waits for `server` to print its address and takes the port from it.
void await_port(EchoServer& server) {
  ChildProcess& child = *server.child;
  const auto line = child.wait_for_stderr_line("http://", kStartDeadline);
  if (line) {
    // ".../http://127.0.0.1:PORT..." : the digits after the last colon.
    const std::size_t colon = line->rfind(':');
    if (colon != std::string::npos) server.port = std::atoi(line->c_str() + colon + 1);
    if (server.port <= 0 || server.port > 65535) server.error = "`" + child.command() + "` printed no port: " + *line;
    return;
  }
  std::string why;
  if (child.wait_for_exit(1s) == 124) {
    why = "did not print http://HOST:PORT on stderr within " + std::to_string(kStartDeadline.count()) + " s";
  } else {
    why = "exited with status " + std::to_string(child.wait_for_exit(0ms)) + " before printing http://HOST:PORT";
  }
  server.error = "`" + child.command() + "` " + why + "\n  stderr: " + printable(child.err(), 2000) +
                 "\n  stdout: " + printable(child.out(), 2000);
}

/// Sends `server` one plain request and waits (up to kCaseDeadline) for it to answer and close;
/// returns a complaint when nothing comes back.
std::string warm_up(const EchoServer& server) {
  const Case probe{.name = "WarmUp",
                   .writes = {"GET /warm-up HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
                   .idle = kCaseDeadline};
  const Exchange ex = exchange(server.port, probe);
  if (!ex.received.empty()) return {};
  return "`" + server.child->command() + "` did not answer a plain GET within " +
         std::to_string(kCaseDeadline.count()) + " ms:\n" + request_text(probe) + transcript("server", ex);
}

/// Asks `server` to stop (SIGTERM, by PID) and returns a complaint unless it exits 0 in time.
std::string stop(EchoServer& server) {
  if (!server.child || server.child->exited() || !server.error.empty()) return {};
  server.child->send_signal(SIGTERM);
  const int code = server.child->wait_for_exit(kStopDeadline);
  if (code == 0) return {};
  return "`" + server.child->command() + "` exited with status " + std::to_string(code) +
         " after SIGTERM (expected a graceful exit 0); stderr: " + printable(server.child->err(), 2000);
}

// --- The test ----------------------------------------------------------------------------------------

/// The outcome of one case on both servers.
struct Outcome {
  Exchange node;
  Exchange peer;
};

/// Parameter: an index into cases(). Each instantiation below is one flag set.
class EchoDifferentialTest : public ::testing::TestWithParam<std::size_t> {
 public:
  /// Starts this suite's two servers and runs its selected cases, all at once.
  static void SetUpTestSuite() {
    outcomes_.clear();
    setup_error_.clear();
    setup_error_reported_ = false;
    const std::vector<std::size_t> selected = selected_cases();
    if (selected.empty()) return;
    const Flags flags = cases()[selected.front()].flags;

    try {
      node_.child = std::make_unique<ChildProcess>(node_command(flags));
      peer_.child = std::make_unique<ChildProcess>(peer_command(flags));
    } catch (const std::exception& e) {
      setup_error_ = std::string("could not start a server: ") + e.what();
      return;
    }
    await_port(node_);
    await_port(peer_);
    for (const EchoServer* s : {&node_, &peer_}) {
      if (!s->error.empty()) setup_error_ += (setup_error_.empty() ? "" : "\n") + s->error;
    }
    if (!setup_error_.empty()) return;

    // A cold server (just started, code not yet optimised, other tests starting theirs) can take
    // a while over its first request; the timed cases start only once both have answered one.
    for (const EchoServer* s : {&node_, &peer_}) {
      if (auto complaint = warm_up(*s); !complaint.empty()) {
        setup_error_ += (setup_error_.empty() ? "" : "\n") + complaint;
      }
    }
    if (!setup_error_.empty()) return;

    // A few workers, each running one case on both servers at once: an exchange mostly waits for
    // its idle deadline, and a bounded number in flight keeps the servers' answers prompt.
    std::vector<Outcome> results(selected.size());
    std::atomic<std::size_t> next{0};
    const auto worker = [&] {
      for (std::size_t i; (i = next++) < selected.size();) {
        const Case& c = cases()[selected[i]];
        auto peer = std::async(std::launch::async, exchange, peer_.port, std::cref(c));
        results[i].node = exchange(node_.port, c);
        results[i].peer = peer.get();
      }
    };
    std::vector<std::future<void>> workers;
    for (std::size_t w = 0; w < std::min(kCasesInFlight, selected.size()); ++w) {
      workers.push_back(std::async(std::launch::async, worker));
    }
    for (auto& w : workers) w.get();
    for (std::size_t i = 0; i < selected.size(); ++i) outcomes_[selected[i]] = std::move(results[i]);
  }

  /// Stops both servers; each must exit 0 on SIGTERM.
  static void TearDownTestSuite() {
    for (EchoServer* s : {&node_, &peer_}) {
      if (auto complaint = stop(*s); !complaint.empty()) ADD_FAILURE() << complaint;
      *s = EchoServer{};
    }
  }

 protected:
  /// The indices of this suite's tests that will run (honouring --gtest_filter).
  static std::vector<std::size_t> selected_cases() {
    std::map<std::string, std::size_t, std::less<>> by_name;
    for (std::size_t i = 0; i < cases().size(); ++i) by_name[cases()[i].name] = i;
    std::vector<std::size_t> selected;
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite == nullptr) return selected;
    for (int i = 0; i < suite->total_test_count(); ++i) {
      const ::testing::TestInfo* info = suite->GetTestInfo(i);
      if (!info->should_run()) continue;
      // Test names are "SameAnswer/<case name>".
      const std::string_view name = info->name();
      const auto found = by_name.find(name.substr(name.find('/') + 1));
      if (found != by_name.end()) selected.push_back(found->second);
    }
    return selected;
  }

  static inline EchoServer node_;
  static inline EchoServer peer_;
  static inline std::string setup_error_;
  static inline bool setup_error_reported_ = false;
  static inline std::map<std::size_t, Outcome> outcomes_;
};

TEST_P(EchoDifferentialTest, SameAnswer) {
  if (!setup_error_.empty()) {
    // The whole story once per suite; the other cases point at it.
    const bool first = !setup_error_reported_;
    setup_error_reported_ = true;
    FAIL() << (first ? "the servers for this suite did not start:\n" + setup_error_
                     : "the servers for this suite did not start (see the suite's first failure)"s);
  }
  const Case& c = cases()[GetParam()];
  const auto found = outcomes_.find(GetParam());
  ASSERT_NE(found, outcomes_.end()) << "case " << c.name << " did not run";
  const Outcome& o = found->second;

  const std::vector<bool> heads = head_requests(c);
  const std::vector<std::string> differences =
      Differences::between(parse_answer(o.node, heads), parse_answer(o.peer, heads));
  const std::string transcripts = request_text(c) + transcript("node (" + node_.child->command() + ")", o.node) +
                                  transcript("peer (" + peer_.child->command() + ")", o.peer);

  if (env_is("HTTPX_DIFF_VERBOSE", "1")) std::cout << "[ case " << c.name << " ]\n" << transcripts;
  if (differences.empty()) return;
  std::string listed;
  for (const auto& line : differences) listed += "  " + line + "\n";
  if (!c.known_difference.empty()) {
    std::cout << "[ known difference in " << c.name << ": " << c.known_difference << " ]\n" << listed << transcripts;
    return;
  }
  ADD_FAILURE() << "case " << c.name << ": node and the peer answered differently\n" << listed << transcripts;
}

/// The indices of the cases that use `flags`.
std::vector<std::size_t> cases_with(Flags flags) {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < cases().size(); ++i) {
    if (cases()[i].flags == flags) indices.push_back(i);
  }
  return indices;
}

std::string case_name(const ::testing::TestParamInfo<std::size_t>& info) { return cases()[info.param].name; }

INSTANTIATE_TEST_SUITE_P(Default, EchoDifferentialTest, ::testing::ValuesIn(cases_with(Flags::kDefault)), case_name);
INSTANTIATE_TEST_SUITE_P(JoinDuplicateHeaders, EchoDifferentialTest,
                         ::testing::ValuesIn(cases_with(Flags::kJoinDuplicateHeaders)), case_name);
INSTANTIATE_TEST_SUITE_P(InsecureHttpParser, EchoDifferentialTest,
                         ::testing::ValuesIn(cases_with(Flags::kInsecureParser)), case_name);
INSTANTIATE_TEST_SUITE_P(Limits, EchoDifferentialTest, ::testing::ValuesIn(cases_with(Flags::kLimits)), case_name);

}  // namespace
}  // namespace httpx::test
