#include "httpx/http/url.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "httpx/core/error.hpp"
#include "support/support.hpp"

namespace {

using httpx::core::errc;
using httpx::http::merge_url_options;
using httpx::http::parse_url;
using httpx::http::RequestOptions;
using httpx::http::Url;
using httpx::http::url_to_http_options;
using nlohmann::json;
using namespace std::string_literals;

// ---------------------------------------------------------------------------------------------
// Helpers

// Runs tests/oracle/url.js over `items` and returns its per-item results.
json node_results(const json& items) {
  const std::string out = httpx::test::run_node_oracle("url.js", items.dump());
  if (out.empty()) return json::array();
  return json::parse(out);
}

json optional_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json optional_json(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

// Our answer for one input, in the oracle's shape (the http view has only urlToHttpOptions' fields).
json ours_for(const std::string& input) {
  try {
    const Url url = parse_url(input);
    json result = {{"href", url.href},         {"protocol", url.protocol}, {"username", url.username},
                   {"password", url.password}, {"host", url.host},         {"hostname", url.hostname},
                   {"port", url.port},         {"pathname", url.pathname}, {"search", url.search},
                   {"hash", url.hash}};
    try {
      const RequestOptions options = url_to_http_options(url);
      result["http"] = {{"protocol", optional_json(options.protocol)},
                        {"hostname", optional_json(options.hostname)},
                        {"port", optional_json(options.port)},
                        {"path", optional_json(options.path)},
                        {"auth", optional_json(options.auth)},
                        {"host", optional_json(options.host)}};
    } catch (const httpx::core::Error& e) {
      result["http"] = {{"error", e.node_code()}};
    }
    return result;
  } catch (const httpx::core::Error& e) {
    return {{"error", e.node_code()}};
  }
}

// What we must answer given Node's answer: the same fields, except that a valid URL of a scheme
// http.request() does not speak is ERR_INVALID_PROTOCOL, and Node's code-less URIError from
// decodeURIComponent is our ERR_INVALID_URL.
json expected_from_node(const json& node) {
  if (node.contains("error")) return node;
  const std::string protocol = node.at("protocol");
  if (protocol != "http:" && protocol != "https:" && protocol != "ws:" && protocol != "wss:") {
    return {{"error", "ERR_INVALID_PROTOCOL"}};
  }
  json expected = node;
  json& http = expected["http"];
  if (http.contains("error")) {
    if (http["error"] == "URIError") http["error"] = "ERR_INVALID_URL";
  } else {
    http.erase("method");  // only set by request options, never by a URL
  }
  return expected;
}

bool is_accepted(const json& result) { return !result.contains("error"); }

// Expects `fn` to throw core::Error with Node's code and exact message.
template <class Fn>
void expect_error(Fn fn, errc code, const std::string& message) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected " << httpx::core::node_code(code);
  } catch (const httpx::core::Error& e) {
    EXPECT_EQ(e.code(), httpx::core::make_error_code(code));
    EXPECT_EQ(std::string(e.what()), message);
  }
}

// ---------------------------------------------------------------------------------------------
// Differential tests against Node, input by input.

// Inputs compared field by field with Node (`new URL()` + urlToHttpOptions), grouped by rule.
std::vector<std::string> oracle_inputs() {
  return {
      // Scheme: case-insensitive, must start with a letter; special vs other schemes.
      "HTTP://EXAMPLE.COM", "hTtPs://Example.com/", "ws://a/", "wss://a/x", "WSS://a:443/", "ftp://a/",
      "file:///etc/passwd", "file://localhost/x", "mailto:someone@example.com", "javascript:alert(1)",
      "data:text/plain,hi", "foo://a%b/", "foo://a b/", "ftp://a b/", "1http://a/", "+http://a/", "://a", "",
      "   ", "//a/b", "/path", "http", "a:",
      // Slashes after a special scheme are optional; backslashes are slashes.
      "http:x", "http:/x", "http:\\\\x\\y", "http:///x", "http:/\\/x", "http:", "http://", "http:/",
      "http:?x", "http://#x", "http://?x",
      // Leading/trailing C0 controls and spaces stripped; tab, CR, LF removed anywhere.
      " \t\n http://a/ \x01", "http://a/\tb\nc\rd", "\x00http://a/\x00"s, "ht\ttp://a/", "http://a/b c",
      "http://a b/", "http://a/ ?  # ",
      // Userinfo: the last '@' ends it; the first ':' splits user and password; percent-encoding.
      "http://a:b@c:d@e/", "http://u:p:q@a/", "http://@a/", "http://:@a/", "http://a@/", "http://a@:80/",
      "http://a:@b/", "http://:b@c/", "http://a b:c d@e/", "http://\u00e9:\u20ac@e/", "http://u;=[]^|{}@a/",
      "http://%zz@a/", "http://%ff@a/", "http://%C3%A9:%E2%82%AC@a/", "http://user%3Aname:pass%40word@a/",
      "http://u:p@a/", "http://u@a/", "http://:p@a/", "http://a\\b@c/", "http://a/b@c", "http://a?b@c",
      // Hosts: lower-cased, percent-decoded, forbidden code points rejected, empty labels kept.
      "http://EXAMPLE.com./", "http://a..b/", "http://./", "http://../", "http://a_b/", "http://a%41b/",
      "http://a%2eb/", "http://a%00b/", "http://a%/", "http://a%zz/", "http://a%C3%A9/", "http://a%C3/",
      "http://a<b/", "http://a^b/", "http://a|b/", "http://a%7Cb/", "http://a\x7f" "b/", "http://-a-/",
      "http://a*b+c,d!e/",
      // A-labels: decoded and validated.
      "http://xn--nxasmq6b/", "http://XN--NXASMQ6B.com/", "http://xn--zz/", "http://xn--/", "http://xn--a/",
      "http://xn--a-/", "http://xn--ab-x/", "http://a.xn--/", "http://xn--i\u00f1/", "http://xn--12c4ixb/",
      "http://xn--i-9bb/", "http://xn--e-1ma/",
      // Non-ASCII hosts: UTS #46 mapping + punycode.
      "http://\u00e9/", "http://M\u00dcNCHEN.de/", "http://stra\u00dfe.de/",
      "http://\u03b5\u03bb\u03bb\u03ac\u03b4\u03b1.gr/", "http://\u03a3\u03a3/", "http://\u03c2/",
      "http://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/",
      "http://\u041f\u0420\u0418\u041c\u0415\u0420.\u0420\u0424/", "http://\u4f8b\u3048.\u30c6\u30b9\u30c8/",
      "http://\ud55c\uad6d.kr/", "http://\u0e44\u0e17\u0e22.th/", "http://\u0e01\u0e48\u0e38/",
      "http://\u0e31" "a/", "http://\u0e33/", "http://\u0540\u0531\u0545.am/",
      "http://\u10e1\u10d0\u10e5\u10d0\u10e0\u10d7\u10d5\u10d4\u10da\u10dd.ge/", "http://VI\u1ec6T.vn/",
      "http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/", "http://\uff25\uff38.com/",
      "http://a\u3002b\uff0e" "c\uff61" "d/", "http://\u0130stanbul/", "http://\u017fs/", "http://\ufb01x/",
      "http://a\u00ad" "b/", "http://a\u200b" "b/", "http://\u00ad/", "http://a\u200c" "b/",
      "http://\U0001F4A9/", "http://\uff05/", "http://\u3000/", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",
      "http://\u00e9.xn--zz/",
      // IPv4 in all its forms.
      "http://0x7f.1/", "http://0x7F.0.0.1/", "http://0177.0.0.1/", "http://127.1/", "http://127.0.1/",
      "http://2130706433/", "http://017700000001/", "http://0x7f000001/", "http://1.2.3.4./", "http://1.2.3.4../",
      "http://1.2.3.256/", "http://1.2.65536/", "http://1.2.65535/", "http://1.16777215/", "http://4294967295/",
      "http://4294967296/", "http://0x100000000/", "http://09/", "http://08.1/", "http://0x/", "http://1.0x/",
      "http://a.0x/", "http://foo.09/", "http://1.2.3.4.5/", "http://a.1.2.3/", "http://1.2.3.a/", "http://1..2/",
      "http://256.1/", "http://00000000000000000000000001/", "http://0xg/", "http://%31%32%37.0.0.1/",
      "http://1.2.3.%34/", "http://0x00000000000000000000000000ff/",
      // IPv6: parsed and serialised in canonical compressed form.
      "http://[::1]/", "http://[0:0::1]/", "http://[::ffff:1.2.3.4]/", "http://[::FFFF:192.168.0.1]:8080/x",
      "http://[1:0:0:2::3:0]/", "http://[1:0::]/", "http://[::]/", "http://[1:2:3:4:5:6:7:8]/",
      "http://[1:2:3:4:5:6:7:8:9]/", "http://[1:2:3:4:5:6:7::]/", "http://[::1.2.3.4]/", "http://[1::1.2.3]/",
      "http://[1::1.2.3.04]/", "http://[1::1.2.3.4.5]/", "http://[1:2:3:4:5:6:7:1.2.3.4]/", "http://[::1/",
      "http://[:1]/", "http://[1:::2]/", "http://[g::]/", "http://[12345::]/", "http://[0000:0000::0001]/",
      "http://[::1%25eth0]/", "http://[::1]x/", "http://x[::1]/", "http://[::1]:/", "http://[2001:DB8:0:0:1:0:0:1]/",
      "http://[1:0:0:0:2:0:0:0]/", "http://[]/", "http://u:p@[::1]:81/a?b#c",
      // Ports: digits only, 0..65535, the scheme's default dropped, leading zeros allowed.
      "http://a:65535/", "http://a:65536/", "http://a:0/", "http://a:80/", "http://a:080/",
      "http://a:00000000000000000000000080/", "https://a:443/", "https://a:80/", "ws://a:80/", "wss://a:443/",
      "ws://a:443/", "http://a:/", "http://a:99999999999999999999999/", "http://a:8x/", "http://a: 80/",
      "http://a:-1/", "http://a:+80/", "http://a:8\t0/", "http://a:81?x", "http://a:81#x", "http://:80/",
      "http://a:81\\x",
      // Paths: percent-encoded with the path set, dot segments resolved.
      "http://a/%2e/b/%2E%2e/c", "http://a/.%2E/x", "http://a/%2e%2/x", "http://a/b/../../../c", "http://a/b/./c/.",
      "http://a/b/c/..", "http://a/b/c/..?q", "http://a\\b\\c\\..\\d", "http://a/b/%2E%2E", "http://a/./",
      "http://a/..", "http://a/.../x", "http://a/{}`|^", "http://a/\"<>", "http://a/caf\u00e9/\u4e2d",
      "http://a/%zz/%", "http://a/%41", "http://a/\U0001F4A9", "http://a/b//c", "http://a//b/../c", "http://a/.%2e.",
      // Query and fragment: the special-query and fragment sets; the fragment never reaches `path`.
      "http://a/?'\"<>`", "http://a/?q=\u00e9&r=a b", "http://a/#'\"<>` {}", "http://a/?a#b#c", "http://a/?a?b",
      "http://a/#\u00e9", "http://a/x#frag?q", "http://a/?#", "http://a/?", "http://a/b?#", "http://a/?%zz#%zz",
  };
}

TEST(UrlTest, MatchesNodeFieldByField) {
  const std::vector<std::string> inputs = oracle_inputs();
  ASSERT_GE(inputs.size(), 120u);
  const json node = node_results(inputs);
  ASSERT_EQ(node.size(), inputs.size());
  int accepted = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(json(inputs[i]).dump());
    EXPECT_EQ(ours_for(inputs[i]), expected_from_node(node[i]));
    accepted += is_accepted(node[i]) ? 1 : 0;
  }
  // Both outcomes are well represented.
  EXPECT_GT(accepted, 100);
  EXPECT_LT(accepted, static_cast<int>(inputs.size()) - 40);
}

// Differs from Node: hosts whose IDNA processing needs the full UTS #46 tables (symbols, Latin
// Extended-B, combining marks that NFC composes, right-to-left scripts under the bidi rule,
// Indic scripts, compatibility forms) are rejected with ERR_INVALID_URL where Node accepts them.
TEST(UrlTest, RejectsHostsThatNeedFullUts46Tables) {
  const std::vector<std::string> inputs = {
      "http://\u2603/",                      // symbol: snowman, "valid" only per the UTS #46 table
      "http://\u01c5/",                      // Latin Extended-B titlecase digraph
      "http://e\u0301/",                     // combining acute that NFC composes into U+00E9
      "http://\u05e2\u05d1\u05e8\u05d9\u05ea/",  // Hebrew: needs the bidi rule
      "http://\u0645\u062b\u0627\u0644/",    // Arabic: needs the bidi rule and NFC
      "http://xn--mgbh0fb.xn--kgbechtv/",    // the same, as A-labels
      "http://\u0915\u093f/",                // Devanagari
      "http://\u2460/",                      // circled digit one, mapped to "1"
      "http://\uff76\uff9e/",                // half-width katakana + voiced mark, composed by NFC
      "http://\u1f00/",                      // Greek Extended
      "http://\u0130\u0e48/",                // U+0307 (from U+0130) reordered after a Thai mark
  };
  const json node = node_results(inputs);
  ASSERT_EQ(node.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(json(inputs[i]).dump());
    EXPECT_TRUE(is_accepted(node[i])) << "Node now rejects this; move it to oracle_inputs()";
    expect_error([&] { parse_url(inputs[i]); }, errc::err_invalid_url, "Invalid URL");
  }
}

// Node's punycode works in 32-bit signed integers: a label whose deltas pass 2^31 - 1 is invalid,
// both when encoding a U-label and when decoding an A-label. 16783 x U+00E9 then U+1F4A9 is the
// last length that fits.
TEST(UrlTest, PunycodeOverflowLimitMatchesNode) {
  const auto repeat = [](const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  const std::vector<std::string> inputs = {
      "http://a" + repeat("\u00e9", 16783) + "\U0001F4A9/",
      "http://a" + repeat("\u00e9", 16784) + "\U0001F4A9/",
      "http://xn--a-bg" + std::string(16783, 'a') + "47861585s/",
      "http://xn--a-bg" + std::string(16784, 'a') + "01844685s/",
  };
  const json node = node_results(inputs);
  ASSERT_EQ(node.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(ours_for(inputs[i]), expected_from_node(node[i]));
    EXPECT_EQ(is_accepted(node[i]), i % 2 == 0);
  }
  EXPECT_EQ(parse_url(inputs[0]).hostname, "xn--a-bg" + std::string(16783, 'a') + "47861585s");
}

// Node's hostname for each input (the oracle's compact form), or {error}.
json node_hostnames(const std::vector<std::string>& inputs) {
  json items = json::array();
  for (const auto& input : inputs) items.push_back({{"hostnameOf", input}});
  return node_results(items);
}

// Our hostname for `input` in the same shape.
json our_hostname(const std::string& input) {
  try {
    return {{"hostname", parse_url(input).hostname}};
  } catch (const httpx::core::Error& e) {
    return {{"error", e.node_code()}};
  }
}

// Code points inside a host, in bulk: whatever we accept is exactly what Node makes of it, and we
// never accept what Node rejects. Then Node's A-labels fed back in: we accept each one whenever we
// accepted its Unicode form.
TEST(UrlTest, HostCodePointSweepNeverDisagreesWithNode) {
  std::vector<std::string> inputs;
  const auto add = [&](char32_t from, char32_t to, char32_t stride = 1) {
    for (char32_t c = from; c <= to; c += stride) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      // The UTF-8 of "http://a<c>b/", built by hand.
      std::string text = "http://a";
      if (c < 0x800) {
        text += static_cast<char>(0xC0 | (c >> 6));
      } else if (c < 0x10000) {
        text += static_cast<char>(0xE0 | (c >> 12));
        text += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      } else {
        text += static_cast<char>(0xF0 | (c >> 18));
        text += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        text += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      }
      text += static_cast<char>(0x80 | (c & 0x3F));
      text += "b/";
      inputs.push_back(text);
    }
  };
  // Every BMP code point, except that the big uniform blocks (CJK ideographs, Yi, Hangul
  // syllables, private use) are sampled; and samples of the astral ranges we map.
  add(0x80, 0x33FF);
  add(0x3400, 0x9FFF, 7);
  add(0xA000, 0xABFF, 3);
  add(0xAC00, 0xD7FF, 7);
  add(0xE000, 0xF8FF, 11);
  add(0xF900, 0xFFFF);
  add(0x1F300, 0x1F6FF, 2);
  add(0x20000, 0x200FF, 5);
  add(0xE0100, 0xE01EF, 5);
  const json node = node_hostnames(inputs);
  ASSERT_EQ(node.size(), inputs.size());

  const json rejected = {{"error", "ERR_INVALID_URL"}};
  int agreed_accepts = 0;
  std::vector<std::string> a_labels;
  std::vector<bool> we_accepted;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const json ours = our_hostname(inputs[i]);
    if (is_accepted(ours)) {
      EXPECT_EQ(ours, node[i]) << json(inputs[i]).dump();
      ++agreed_accepts;
    } else {
      EXPECT_EQ(ours, rejected) << json(inputs[i]).dump();
    }
    if (is_accepted(node[i])) {
      a_labels.push_back("http://" + node[i]["hostname"].get<std::string>() + "/");
      we_accepted.push_back(is_accepted(ours));
    }
  }
  // Latin, Greek, Cyrillic, Armenian, Georgian, Thai, kana, CJK, Hangul, emoji: thousands.
  EXPECT_GT(agreed_accepts, 5000);

  const json node_again = node_hostnames(a_labels);
  ASSERT_EQ(node_again.size(), a_labels.size());
  for (std::size_t i = 0; i < a_labels.size(); ++i) {
    const json ours = our_hostname(a_labels[i]);
    // An A-label can be in our subset when its Unicode form was not (U+2F00 KANGXI RADICAL ONE
    // maps to U+4E00), but never the other way round.
    if (is_accepted(ours)) {
      EXPECT_EQ(ours, node_again[i]) << a_labels[i];
    } else {
      EXPECT_FALSE(we_accepted[i]) << a_labels[i];
      EXPECT_EQ(ours, rejected) << a_labels[i];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The rules, spelled out (these hold without Node).

TEST(UrlTest, NormalisesHexIpv4) {
  EXPECT_EQ(parse_url("http://0x7f.1/").hostname, "127.0.0.1");
  EXPECT_EQ(parse_url("http://0177.0.0.1/").hostname, "127.0.0.1");
  EXPECT_EQ(parse_url("http://2130706433/").hostname, "127.0.0.1");
  EXPECT_EQ(parse_url("http://0x7f.1/").href, "http://127.0.0.1/");
}

TEST(UrlTest, RejectsOutOfRangeIpv4) {
  for (const char* input : {"http://1.2.3.256/", "http://4294967296/", "http://256.1/", "http://1.2.3.4.5/",
                            "http://09/", "http://a.0x/", "http://1..2/"}) {
    SCOPED_TRACE(input);
    expect_error([&] { parse_url(input); }, errc::err_invalid_url, "Invalid URL");
  }
}

TEST(UrlTest, CompressesIpv6) {
  EXPECT_EQ(parse_url("http://[0:0::1]/").hostname, "[::1]");
  EXPECT_EQ(parse_url("http://[::ffff:1.2.3.4]/").hostname, "[::ffff:102:304]");
  EXPECT_EQ(parse_url("http://[2001:DB8:0:0:1:0:0:1]/").hostname, "[2001:db8::1:0:0:1]");
  EXPECT_EQ(parse_url("http://[1:2:3:4:5:6:7:8]:8080/").host, "[1:2:3:4:5:6:7:8]:8080");
  expect_error([] { parse_url("http://[1:::2]/"); }, errc::err_invalid_url, "Invalid URL");
}

TEST(UrlTest, DropsDefaultPortAndRejectsBadPorts) {
  EXPECT_EQ(parse_url("http://a:80/").port, "");
  EXPECT_EQ(parse_url("https://a:443/").host, "a");
  EXPECT_EQ(parse_url("https://a:80/").port, "80");
  EXPECT_EQ(parse_url("http://a:0080/").href, "http://a/");
  expect_error([] { parse_url("http://a:65536/"); }, errc::err_invalid_url, "Invalid URL");
  expect_error([] { parse_url("http://a:99999999999999999999999999/"); }, errc::err_invalid_url, "Invalid URL");
  expect_error([] { parse_url("http://a:8x/"); }, errc::err_invalid_url, "Invalid URL");
}

TEST(UrlTest, LastAtSignEndsUserinfo) {
  const Url url = parse_url("http://a:b@c:d@e/");
  EXPECT_EQ(url.username, "a");
  EXPECT_EQ(url.password, "b%40c%3Ad");
  EXPECT_EQ(url.hostname, "e");
  EXPECT_EQ(url_to_http_options(url).auth, "a:b@c:d");
}

TEST(UrlTest, ResolvesDotSegments) {
  EXPECT_EQ(parse_url("http://a/b/%2E%2e/c/./d/.%2E/e").pathname, "/c/e");
  EXPECT_EQ(parse_url("http://a/b/..").pathname, "/");
  EXPECT_EQ(parse_url("http://a/../../x").pathname, "/x");
}

TEST(UrlTest, StripsControlsAndRemovesTabsAndNewlines) {
  const Url url = parse_url(" \x01 ht\ttp://ex\nample.com/a\rb \x1f");
  EXPECT_EQ(url.href, "http://example.com/ab");
}

TEST(UrlTest, DecodesInvalidUtf8AsReplacementCharacter) {
  // A JS string cannot carry the byte 0xFF; it arrives as U+FFFD, which the path set encodes.
  EXPECT_EQ(parse_url("http://a/\xff").pathname, "/%EF%BF%BD");
  expect_error([] { parse_url("http://a\xff/"); }, errc::err_invalid_url, "Invalid URL");
}

TEST(UrlTest, EncodesNonAsciiHostsWithPunycode) {
  EXPECT_EQ(parse_url("http://M\u00dcNCHEN.de/").hostname, "xn--mnchen-3ya.de");
  EXPECT_EQ(parse_url("http://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/").hostname, "xn--e1afmkfd.xn--p1ai");
  EXPECT_EQ(parse_url("http://\uff25\uff38.com/").hostname, "ex.com");
}

TEST(UrlTest, ThrowsInvalidUrlWithNodeMessage) {
  try {
    parse_url("http://a b/");
    ADD_FAILURE() << "no exception";
  } catch (const httpx::core::Error& e) {
    EXPECT_EQ(e.node_code(), "ERR_INVALID_URL");
    EXPECT_STREQ(e.what(), "Invalid URL");
  }
}

TEST(UrlTest, ThrowsInvalidProtocolForOtherSchemes) {
  expect_error([] { parse_url("ftp://a/"); }, errc::err_invalid_protocol,
               "Protocol \"ftp:\" not supported. Expected \"http:\"");
  expect_error([] { parse_url("MAILTO:x@y"); }, errc::err_invalid_protocol,
               "Protocol \"mailto:\" not supported. Expected \"http:\"");
  // An invalid URL of another scheme is an invalid URL first.
  expect_error([] { parse_url("ftp://a b/"); }, errc::err_invalid_url, "Invalid URL");
}

TEST(UrlTest, UrlToHttpOptionsStripsIpv6BracketsAndKeepsFragmentOut) {
  const RequestOptions options = url_to_http_options(parse_url("http://[::1]:8080/a?b#c"));
  EXPECT_EQ(options.protocol, "http:");
  EXPECT_EQ(options.hostname, "::1");
  EXPECT_EQ(options.port, 8080);
  EXPECT_EQ(options.path, "/a?b");
  EXPECT_FALSE(options.host.has_value());
  EXPECT_FALSE(options.auth.has_value());
}

TEST(UrlTest, UrlToHttpOptionsLeavesDefaultPortUnset) {
  EXPECT_FALSE(url_to_http_options(parse_url("http://a:80/")).port.has_value());
  EXPECT_EQ(url_to_http_options(parse_url("http://a:0/")).port, 0);
}

TEST(UrlTest, AuthIsPercentDecoded) {
  EXPECT_EQ(url_to_http_options(parse_url("http://%C3%A9:%E2%82%AC@a/")).auth, "\u00e9:\u20ac");
  EXPECT_EQ(url_to_http_options(parse_url("http://u@a/")).auth, "u:");
  EXPECT_EQ(url_to_http_options(parse_url("http://:p@a/")).auth, ":p");
}

TEST(UrlTest, MalformedAuthThrowsAsDecodeUriComponentDoes) {
  for (const char* input : {"http://%zz@a/", "http://%ff@a/", "http://u:%C3@a/", "http://%ED%A0%80@a/",
                            "http://%C0%AF@a/", "http://u:%@a/"}) {
    SCOPED_TRACE(input);
    const Url url = parse_url(input);
    expect_error([&] { url_to_http_options(url); }, errc::err_invalid_url, "URI malformed");
  }
}

// ---------------------------------------------------------------------------------------------
// merge_url_options, against Node's ClientRequest.

RequestOptions options_from_json(const json& j) {
  RequestOptions o;
  if (j.contains("protocol")) o.protocol = j["protocol"].get<std::string>();
  if (j.contains("host")) o.host = j["host"].get<std::string>();
  if (j.contains("hostname")) o.hostname = j["hostname"].get<std::string>();
  if (j.contains("port")) o.port = j["port"].get<int>();
  if (j.contains("path")) o.path = j["path"].get<std::string>();
  if (j.contains("auth")) o.auth = j["auth"].get<std::string>();
  if (j.contains("method")) o.method = j["method"].get<std::string>();
  return o;
}

json merged_json(const RequestOptions& o) {
  return {{"protocol", optional_json(o.protocol)}, {"host", optional_json(o.host)},
          {"hostname", optional_json(o.hostname)}, {"port", optional_json(o.port)},
          {"path", optional_json(o.path)},         {"auth", optional_json(o.auth)},
          {"method", optional_json(o.method)}};
}

TEST(UrlTest, MergeMatchesNodeClientRequest) {
  const json cases = json::parse(R"([
    {"url": "http://a.test/x", "options": {}},
    {"url": "http://a.test/x", "options": {"host": "b.test"}},
    {"url": "http://a.test/x", "options": {"hostname": "b.test"}},
    {"url": "http://a.test/x", "options": {"host": "b.test", "hostname": "c.test"}},
    {"url": "http://a.test/x", "options": {"hostname": ""}},
    {"url": "http://a.test/x", "options": {"hostname": "", "host": "c.test"}},
    {"url": "http://a.test:81/x", "options": {"port": 82}},
    {"url": "http://a.test/x", "options": {"port": 8080}},
    {"url": "http://a.test/x?q=1#f", "options": {"path": "/y?z"}},
    {"url": "http://u:p@a.test/x", "options": {"auth": "z:w"}},
    {"url": "http://u:p@a.test/x", "options": {}},
    {"url": "http://a.test/x", "options": {"auth": "only:options"}},
    {"url": "http://a.test/x", "options": {"method": "POST"}},
    {"url": "http://a.test/x", "options": {"protocol": "https:"}},
    {"url": "https://a.test/x", "options": {"protocol": "http:"}},
    {"url": "http://[::1]:8080/x", "options": {}},
    {"url": "http://[::1]/x", "options": {"hostname": "127.0.0.1", "port": 9}},
    {"url": "http://%zz@a.test/x", "options": {"auth": "ok:ok"}},
    {"url": "http://u:p@a.test:81/p?q#h", "options": {"protocol": "http:", "hostname": "h.test", "port": 1,
                                                    "path": "/", "auth": "a:b", "method": "PUT"}}
  ])");
  const json node = node_results(cases);
  ASSERT_EQ(node.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].dump());
    const json& expected = node[i];
    try {
      const RequestOptions merged = merge_url_options(parse_url(cases[i]["url"].get<std::string>()),
                                                      options_from_json(cases[i]["options"]));
      ASSERT_FALSE(expected["merged"].contains("error")) << expected.dump();
      EXPECT_EQ(merged_json(merged), expected["merged"]);
      const json& request = expected["request"];
      if (request.contains("error")) {
        // The only request-level refusal in these cases: a protocol the http agent does not speak.
        EXPECT_EQ(request["error"], "ERR_INVALID_PROTOCOL");
        EXPECT_NE(merged.protocol, "http:");
        continue;
      }
      EXPECT_EQ(merged.protocol, "http:");
      // ClientRequest connects to `hostname || host || 'localhost'`.
      const std::string target = !merged.hostname.value_or("").empty() ? *merged.hostname
                                 : !merged.host.value_or("").empty()   ? *merged.host
                                                                       : "localhost";
      EXPECT_EQ(target, request["host"].get<std::string>());
      EXPECT_EQ(merged.path.value_or(""), request["path"].get<std::string>());
    } catch (const httpx::core::Error& e) {
      EXPECT_EQ(e.node_code(), "ERR_INVALID_URL");
      EXPECT_EQ(expected["merged"], json({{"error", "URIError"}}));
      EXPECT_EQ(expected["request"], json({{"error", "URIError"}}));
    }
  }
}

TEST(UrlTest, MergeOptionsHostDoesNotDisplaceUrlHostname) {
  RequestOptions options;
  options.host = "b.test";
  const RequestOptions merged = merge_url_options(parse_url("http://a.test/x"), options);
  EXPECT_EQ(merged.hostname, "a.test");  // hostname wins in ClientRequest, so a.test is the target
  EXPECT_EQ(merged.host, "b.test");
}

TEST(UrlTest, MergeOptionsOverrideEachUrlField) {
  RequestOptions options;
  options.protocol = "https:";
  options.hostname = "b.test";
  options.port = 8443;
  options.path = "/other?x=1";
  options.auth = "me:secret";
  const RequestOptions merged = merge_url_options(parse_url("http://u:p@a.test:81/p?q#h"), options);
  EXPECT_EQ(merged.protocol, "https:");
  EXPECT_EQ(merged.hostname, "b.test");
  EXPECT_EQ(merged.port, 8443);
  EXPECT_EQ(merged.path, "/other?x=1");
  EXPECT_EQ(merged.auth, "me:secret");
}

TEST(UrlTest, MergeKeepsUrlFieldsAndCarriesOtherOptions) {
  RequestOptions options;
  options.method = "DELETE";
  options.headers = httpx::http::HeaderList{{"x-a", "1"}, {"x-a", "2"}};
  options.timeout = std::chrono::milliseconds(1500);
  options.family = 6;
  options.set_host = false;
  options.socket_path = "/tmp/s.sock";
  const RequestOptions merged = merge_url_options(parse_url("http://u:p@a.test:81/p?q#h"), options);
  EXPECT_EQ(merged.protocol, "http:");
  EXPECT_EQ(merged.hostname, "a.test");
  EXPECT_EQ(merged.port, 81);
  EXPECT_EQ(merged.path, "/p?q");
  EXPECT_EQ(merged.auth, "u:p");
  EXPECT_EQ(merged.method, "DELETE");
  ASSERT_TRUE(merged.headers.has_value());
  EXPECT_EQ(merged.headers->size(), 2u);
  EXPECT_EQ(merged.timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(merged.family, 6);
  EXPECT_EQ(merged.set_host, false);
  EXPECT_EQ(merged.socket_path, "/tmp/s.sock");
  EXPECT_FALSE(merged.local_port.has_value());
}

TEST(UrlTest, MergeThrowsOnMalformedUrlAuthEvenWhenOptionsGiveAuth) {
  // Node converts the URL before Object.assign, so decodeURIComponent throws first.
  RequestOptions options;
  options.auth = "ok:ok";
  const Url url = parse_url("http://%zz@a.test/");
  expect_error([&] { merge_url_options(url, options); }, errc::err_invalid_url, "URI malformed");
}

}  // namespace
