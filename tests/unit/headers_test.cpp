#include "httpx/http/headers.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "support/support.hpp"

namespace {

using httpx::http::DistinctHeaderMap;
using httpx::http::Error;
using httpx::http::errc;
using httpx::http::HeaderList;
using httpx::http::HeaderMap;
using httpx::http::HeaderValue;
using httpx::http::OutgoingHeaders;
using nlohmann::json;
using Strings = std::vector<std::string>;

json to_json(const HeaderValue& value) {
  return std::visit([](const auto& v) { return json(v); }, value);
}

// Object.entries() of the JS object each map stands for.
json entries(const HeaderMap& map) {
  json out = json::array();
  for (const auto& [key, value] : map) out.push_back({key, to_json(value)});
  return out;
}

json entries(const DistinctHeaderMap& map) {
  json out = json::array();
  for (const auto& [key, values] : map) out.push_back({key, values});
  return out;
}

// The duplicate classes of Node's matchKnownFields.
const Strings discarded_names = {
    "age",      "authorization", "content-length",      "content-type",        "etag",
    "expires",  "from",          "host",                "if-modified-since",   "if-unmodified-since",
    "last-modified", "location", "max-forwards",        "proxy-authorization", "referer",
    "retry-after", "server",     "user-agent",
};
const Strings known_comma_names = {
    "date",          "vary",            "origin",          "expect",          "accept",
    "upgrade",       "if-match",        "connection",      "cache-control",   "if-none-match",
    "accept-encoding", "accept-language", "x-forwarded-for", "content-encoding", "x-forwarded-host",
    "transfer-encoding", "x-forwarded-proto",
};

std::string capitalized(const std::string& lower) {
  std::string out = lower;
  bool start = true;
  for (char& c : out) {
    if (start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    start = c == '-';
  }
  return out;
}

std::string upper(const std::string& lower) {
  std::string out = lower;
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Raw header lists covering every duplicate class, in each spelling, with empty values, names that
// clash with Object.prototype, array-index names, and lists long enough for the hashed path.
std::vector<Strings> raw_cases() {
  std::vector<Strings> cases;
  cases.push_back({});
  cases.push_back({"Host", "example.com", "User-Agent", "curl/8.0", "Accept", "*/*"});
  for (const auto& name : discarded_names) {
    cases.push_back({capitalized(name), "1", name, "2", upper(name), "3"});
    cases.push_back({name, "", name, "second"});
  }
  cases.push_back({"Set-Cookie", "a=1"});
  cases.push_back({"Set-Cookie", "a=1", "set-cookie", "b=2", "SET-COOKIE", "", "sEt-CoOkIe", "c=3"});
  cases.push_back({"Cookie", "a=1", "cookie", "b=2", "COOKIE", "c=3"});
  cases.push_back({"cookie", "", "Cookie", "", "cookie", "x"});
  {
    Strings known;
    for (const auto& name : known_comma_names) known.insert(known.end(), {capitalized(name), "1", name, "2"});
    cases.push_back(known);
  }
  cases.push_back({"X-Foo", "1", "x-foo", "2", "X-FOO", "3"});
  cases.push_back({"x-empty", "", "x-empty", "", "x-empty", "z"});
  cases.push_back({"x-empty", "a", "x-empty", ""});
  cases.push_back({"", "nameless", "", "again"});
  cases.push_back({"__proto__", "p"});
  cases.push_back({"__proto__", "p", "__PROTO__", "q", "x", "1"});
  cases.push_back({"constructor", "c", "Constructor", "d", "toString", "t", "hasOwnProperty", "h", "valueOf", "v",
                   "__defineGetter__", "g", "isPrototypeOf", "i"});
  cases.push_back({"b", "1", "2", "two", "1", "one", "10", "ten", "0", "zero", "01", "lead", "-1", "neg",
                   "4294967294", "max", "4294967295", "over", "1.5", "frac", "2", "again"});
  cases.push_back({"cOnTeNt-LeNgTh", "5", "CONTENT-length", "6", "content-TYPE", "a", "Content-Type", "b"});
  cases.push_back({"X-Utf8", "caf\xC3\xA9", "x-utf8", "\xF0\x9F\x98\x80", "Date", "Mon, 01 Jan 2024"});
  cases.push_back({"Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked", "Content-Length", "10"});
  {
    // Every known name once, then again in other spellings: all classes at once.
    Strings all;
    for (const auto& name : discarded_names) all.insert(all.end(), {name, "first-" + name});
    for (const auto& name : known_comma_names) all.insert(all.end(), {name, "first-" + name});
    all.insert(all.end(), {"set-cookie", "s1", "cookie", "c1"});
    for (const auto& name : discarded_names) all.insert(all.end(), {upper(name), "second-" + name});
    for (const auto& name : known_comma_names) all.insert(all.end(), {capitalized(name), "second-" + name});
    all.insert(all.end(), {"Set-Cookie", "s2", "Cookie", "c2", "__proto__", "p", "7", "seven", "3", "three"});
    cases.push_back(all);
  }
  {
    // 300 pairs: many distinct names with repeats of each class and index keys among them.
    Strings big;
    for (int i = 0; i < 100; ++i) {
      big.insert(big.end(), {"x-h" + std::to_string(i % 60), std::to_string(i)});
      big.insert(big.end(), {i % 2 ? "Set-Cookie" : "cookie", "v" + std::to_string(i)});
      big.insert(big.end(), {discarded_names[static_cast<std::size_t>(i) % discarded_names.size()],
                             "d" + std::to_string(i)});
    }
    big.insert(big.end(), {"42", "answer", "0", "zero", "__proto__", "p"});
    cases.push_back(big);
  }
  return cases;
}

TEST(HeadersTest, FromRawMatchesNodeIncomingMessage) {
  const auto cases = raw_cases();
  ASSERT_GE(cases.size(), 30u);
  const std::string out = httpx::test::run_node_oracle("incoming_headers.js", json(cases).dump());
  ASSERT_FALSE(out.empty());
  const json node = json::parse(out);
  ASSERT_EQ(node.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("raw " + json(cases[i]).dump());
    EXPECT_EQ(entries(httpx::http::headers_from_raw(cases[i])), node[i]["headers"]);
    EXPECT_EQ(entries(httpx::http::headers_from_raw(cases[i], true)), node[i]["joined"]);
    EXPECT_EQ(entries(httpx::http::headers_distinct_from_raw(cases[i])), node[i]["distinct"]);
  }
}

TEST(HeadersTest, DiscardsDuplicateContentLength) {
  const auto headers = httpx::http::headers_from_raw({"Content-Length", "1", "content-length", "2"});
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(*headers.find("content-length"), HeaderValue("1"));
}

TEST(HeadersTest, JoinsDuplicateContentLengthWhenAsked) {
  const auto headers = httpx::http::headers_from_raw({"Content-Length", "1", "content-length", "2"}, true);
  EXPECT_EQ(*headers.find("content-length"), HeaderValue("1, 2"));
}

TEST(HeadersTest, SetCookieIsAlwaysAnArray) {
  const auto one = httpx::http::headers_from_raw({"Set-Cookie", "a=1"});
  EXPECT_EQ(*one.find("set-cookie"), HeaderValue(Strings{"a=1"}));
  const auto two = httpx::http::headers_from_raw({"Set-Cookie", "a=1", "set-cookie", "b=2"}, true);
  EXPECT_EQ(*two.find("set-cookie"), HeaderValue(Strings{"a=1", "b=2"}));
}

TEST(HeadersTest, JoinsCookieWithSemicolonAndOthersWithComma) {
  const auto headers = httpx::http::headers_from_raw({"Cookie", "a=1", "Accept", "x", "cookie", "b=2", "ACCEPT", "y"});
  EXPECT_EQ(*headers.find("cookie"), HeaderValue("a=1; b=2"));
  EXPECT_EQ(*headers.find("accept"), HeaderValue("x, y"));
  EXPECT_EQ(headers.find("Accept"), nullptr);
}

TEST(HeadersTest, DropsProtoHeaderButDistinctKeepsIt) {
  const Strings raw = {"__proto__", "p", "a", "1"};
  EXPECT_FALSE(httpx::http::headers_from_raw(raw).contains("__proto__"));
  EXPECT_EQ(httpx::http::headers_distinct_from_raw(raw).keys(), (Strings{"__proto__", "a"}));
}

TEST(HeadersTest, ListsArrayIndexNamesFirst) {
  const auto headers = httpx::http::headers_from_raw({"b", "1", "10", "x", "2", "y", "01", "z"});
  EXPECT_EQ(headers.keys(), (Strings{"2", "10", "b", "01"}));
}

TEST(HeadersTest, IgnoresTrailingNameWithoutValue) {
  EXPECT_EQ(httpx::http::headers_from_raw({"a", "1", "b"}).keys(), Strings{"a"});
  EXPECT_EQ(httpx::http::headers_distinct_from_raw({"a", "1", "b"}).keys(), Strings{"a"});
}

TEST(HeaderMapTest, InsertOrAssignKeepsJsKeyOrder) {
  HeaderMap map;
  map.insert_or_assign("b", "1");
  map.insert_or_assign("5", "five");
  map.insert_or_assign("a", "2");
  map.insert_or_assign("3", "three");
  map.insert_or_assign("b", Strings{"x"});
  EXPECT_EQ(map.keys(), (Strings{"3", "5", "b", "a"}));
  EXPECT_EQ(*map.find("b"), HeaderValue(Strings{"x"}));
  EXPECT_TRUE(map.contains("a"));
  EXPECT_FALSE(map.contains("A"));
  EXPECT_EQ(map.size(), 4u);
}

TEST(HeaderMapTest, EraseRemovesOnlyExistingKeys) {
  HeaderMap map;
  map.insert_or_assign("a", "1");
  map.insert_or_assign("b", "2");
  EXPECT_FALSE(map.erase("c"));
  EXPECT_TRUE(map.erase("a"));
  EXPECT_FALSE(map.erase("a"));
  EXPECT_EQ(map.keys(), Strings{"b"});
  map.clear();
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.find("b"), nullptr);
}

TEST(HeaderMapTest, EqualityComparesOrderAndValues) {
  HeaderMap a;
  HeaderMap b;
  a.insert_or_assign("x", "1");
  a.insert_or_assign("y", "2");
  b.insert_or_assign("y", "2");
  b.insert_or_assign("x", "1");
  EXPECT_FALSE(a == b);
  b.erase("y");
  b.insert_or_assign("y", "2");
  EXPECT_TRUE(a == b);
}

// --- OutgoingHeaders against Node's OutgoingMessage ---------------------------------------------

json run_op(OutgoingHeaders& headers, const json& op) {
  const std::string kind = op[0];
  try {
    if (kind == "set" || kind == "append") {
      const std::string name = op[1];
      if (op[2].is_array()) {
        const Strings values = op[2];
        kind == "set" ? headers.set(name, values) : headers.append(name, values);
      } else {
        const std::string value = op[2];
        kind == "set" ? headers.set(name, value) : headers.append(name, value);
      }
      return {{"ok", true}};
    }
    if (kind == "setHeaders") {
      HeaderList list;
      for (const auto& pair : op[1]) list.emplace_back(pair[0], pair[1]);
      headers.set_headers(list);
      return {{"ok", true}};
    }
    if (kind == "get") {
      const HeaderValue* value = headers.get(op[1].get<std::string>());
      return {{"value", value ? to_json(*value) : json(nullptr)}};
    }
    if (kind == "has") return {{"has", headers.has(op[1].get<std::string>())}};
    if (kind == "remove") {
      headers.remove(op[1].get<std::string>());
      return {{"ok", true}};
    }
  } catch (const Error& e) {
    return {{"code", e.node_code()}, {"message", e.what()}};
  }
  ADD_FAILURE() << "unknown op " << kind;
  return {};
}

json set(const std::string& name, const json& value) { return {"set", name, value}; }
json append(const std::string& name, const json& value) { return {"append", name, value}; }
json get(const std::string& name) { return {"get", name}; }
json has(const std::string& name) { return {"has", name}; }
json remove(const std::string& name) { return {"remove", name}; }
json set_headers(const std::vector<std::pair<std::string, std::string>>& pairs) {
  json list = json::array();
  for (const auto& [name, value] : pairs) list.push_back({name, value});
  return {"setHeaders", list};
}

const std::string kelvin = "\xE2\x84\xAA";        // U+212A, whose JS lower case is "k"
const std::string dotted_i = "\xC4\xB0";          // U+0130, whose JS lower case is "i\u0307"

// Vectors, not nested braces: a brace list of ["op", arg] pairs would become a JSON object.
std::vector<std::vector<json>> outgoing_cases() {
  return {
      {set("Content-Type", "text/html"), get("content-type"), get("CONTENT-TYPE"), has("Content-type"),
       has("x"), get("x")},
      {set("X-Foo", "1"), set("x-foo", "2"), set("X-FOO", "3"), get("x-foo")},
      {set("a", "1"), set("b", "2"), set("c", "3"), set("A", "4"), set("B", Strings{"5"})},
      {append("X-List", "1"), append("x-list", "2"), append("X-LIST", Strings{"3", "4"}), get("x-list")},
      {set("v", "only"), append("V", Strings{}), get("v"), append("w", Strings{}), get("w"), has("w")},
      {set("arr", Strings{"a", "b"}), append("arr", "c"), set("empty", Strings{}), has("empty"), get("empty"),
       append("empty", "z")},
      {set("one", Strings{"single"}), get("one"), set("one", "plain"), get("one")},
      {set("a", "1"), set("b", "2"), set("c", "3"), remove("B"), has("b"), remove("b"), remove("missing"),
       set("b", "again")},
      {set("b", "x"), set("10", "ten"), set("9", "nine"), set("1", "one"), set("0", "zero"), set("01", "lead"),
       set("4294967294", "max"), set("4294967295", "over"), set("-1", "neg"), remove("9"), set("9", "back")},
      {set("__proto__", "p"), set("Constructor", "c"), set("toString", "t"), set("hasOwnProperty", "h"),
       get("__proto__"), get("valueOf"), has("tostring")},
      {set("k", "v"), get(kelvin), has(kelvin), set("Kick", "1"), get(kelvin + "ICK"), remove(kelvin),
       has("k")},
      {set("i", "v"), get(dotted_i), has(dotted_i), remove(dotted_i), has("i")},
      {set("x", "1"), get("a b"), get(""), has(""), remove(""), remove("a b")},
      {set("x", "1"), set("a b", "x"), set("", "x"), set("x", "a\r\nb"), set("x", Strings{"ok", "bad\n"}),
       append("bad name", "x"), append("x", "\xC4\x80"), append("x", Strings{std::string(1, '\0')}),
       set("y\xC4\x80", "v"), get("x")},
      {set("latin", "caf\xC3\xA9"), set("tab", "a\tb"), set("blank", ""), append("blank", ""),
       set("long", std::string(5000, 'x'))},
      {set_headers({{"a", "1"}, {"B", "2"}, {"a", "3"}, {"Foo", "f1"}, {"foo", "f2"}, {"Foo", "f3"}})},
      {set_headers({{"set-cookie", "only"}}), get("set-cookie")},
      {set("Set-Cookie", "old"), set_headers({{"Set-Cookie", "a"}, {"x", "1"}, {"set-cookie", "b"}, {"set-cookie", "c"},
                                              {"y", "2"}})},
      {set("set-cookie", "kept"), set_headers({{"x", "1"}}), get("set-cookie")},
      {set_headers({{"a", "1"}, {"b c", "2"}, {"d", "3"}})},
      {set_headers({{"z", "1"}, {"set-cookie", "\n"}, {"w", "2"}})},
      {set_headers({{"z", "bad\r"}, {"w", "2"}})},
      {set("keep", "1"), set_headers({})},
      {set_headers({{"x", "1"}, {"x", "2"}}), append("X", "3"), get("x")},
      {set("Set-Cookie", "a=1"), append("set-cookie", "b=2"), append("SET-COOKIE", Strings{"c=3"}),
       get("set-cookie")},
  };
}

TEST(OutgoingHeadersTest, OperationSequencesMatchNodeOutgoingMessage) {
  const auto cases = outgoing_cases();
  const std::string out = httpx::test::run_node_oracle("outgoing_headers.js", json(cases).dump());
  ASSERT_FALSE(out.empty());
  const json node = json::parse(out);
  ASSERT_EQ(node.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("ops " + json(cases[i]).dump());
    OutgoingHeaders headers;
    json results = json::array();
    for (const auto& op : cases[i]) results.push_back(run_op(headers, op));
    EXPECT_EQ(results, node[i]["results"]);
    EXPECT_EQ(entries(headers.get_headers()), node[i]["headers"]);
    EXPECT_EQ(json(headers.get_header_names()), node[i]["names"]);
    EXPECT_EQ(json(headers.get_raw_header_names()), node[i]["raw_names"]);
  }
}

TEST(OutgoingHeadersTest, SetRejectsInvalidNameWithoutChange) {
  OutgoingHeaders headers;
  try {
    headers.set("a b", "x");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::err_invalid_http_token));
    EXPECT_STREQ(e.what(), "Header name must be a valid HTTP token [\"a b\"]");
  }
  EXPECT_TRUE(headers.empty());
}

TEST(OutgoingHeadersTest, SetRejectsInvalidValueWithoutChange) {
  OutgoingHeaders headers;
  headers.set("x", "1");
  EXPECT_THROW(headers.set("x", "a\nb"), Error);
  EXPECT_THROW(headers.set("x", {"ok", "bad\r"}), Error);
  EXPECT_EQ(*headers.get("x"), HeaderValue("1"));
}

TEST(OutgoingHeadersTest, AppendRejectsInvalidInputWithoutChange) {
  OutgoingHeaders headers;
  headers.set("x", "1");
  try {
    headers.append("x", "\x7f");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::err_invalid_char));
    EXPECT_STREQ(e.what(), "Invalid character in header content [\"x\"]");
  }
  EXPECT_THROW(headers.append("", "v"), Error);
  EXPECT_EQ(*headers.get("x"), HeaderValue("1"));
}

TEST(OutgoingHeadersTest, SetHeadersStopsAtFirstInvalidEntry) {
  OutgoingHeaders headers;
  EXPECT_THROW(headers.set_headers({{"a", "1"}, {"b c", "2"}, {"d", "3"}}), Error);
  EXPECT_EQ(headers.get_header_names(), Strings{"a"});
}

TEST(OutgoingHeadersTest, EntriesKeepUserSpellingInOrder) {
  OutgoingHeaders headers;
  headers.set("X-B", "1");
  headers.set("x-a", {"2", "3"});
  headers.set("2", "two");
  headers.append("X-A", "4");
  ASSERT_EQ(headers.size(), 3u);
  const auto& e = headers.entries();
  EXPECT_EQ(e[0].first, "2");
  EXPECT_EQ(e[1].first, "X-B");
  EXPECT_EQ(e[2].first, "x-a");
  EXPECT_EQ(e[2].second, HeaderValue(Strings{"2", "3", "4"}));
}

TEST(OutgoingHeadersTest, RemoveReportsWhetherHeaderWasSet) {
  OutgoingHeaders headers;
  headers.set("Date", "now");
  EXPECT_FALSE(headers.remove("server"));
  EXPECT_TRUE(headers.remove("DATE"));
  EXPECT_FALSE(headers.remove("date"));
  EXPECT_TRUE(headers.empty());
}

TEST(OutgoingHeadersTest, ClearRemovesEverything) {
  OutgoingHeaders headers;
  headers.set("a", "1");
  headers.set("b", "2");
  headers.clear();
  EXPECT_TRUE(headers.empty());
  EXPECT_TRUE(headers.get_header_names().empty());
  EXPECT_FALSE(headers.has("a"));
  headers.set("c", "3");
  EXPECT_EQ(headers.get_raw_header_names(), Strings{"c"});
}

}  // namespace
