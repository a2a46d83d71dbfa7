#include "httpx/http/constants.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/support.hpp"

namespace {

using httpx::http::Error;
using httpx::http::errc;
using nlohmann::json;

// UTF-8 for one code point (the C++ spelling of a one-character JS string).
std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// The same shape the oracle prints: {"ok": true} or Node's code and message.
json verdict(const std::function<void()>& fn) {
  try {
    fn();
    return {{"ok", true}};
  } catch (const Error& e) {
    return {{"code", e.node_code()}, {"message", e.what()}};
  }
}

// `Error::what()` is a C string, so a message quoting a name with a NUL in it ends there; compare
// Node's message the same way.
json up_to_nul(json v) {
  if (v.contains("message")) {
    const std::string message = v["message"];
    v["message"] = message.substr(0, message.find('\0'));
  }
  return v;
}

json node_constants(const json& max_idle) {
  const std::string out = httpx::test::run_node_oracle("constants.js", json{{"max_idle", max_idle}}.dump());
  return out.empty() ? json() : json::parse(out);
}

// Header names: every ASCII character alone, every token delimiter inside a name, and the
// shapes that trip validators (empty, whitespace at the ends, controls, non-ASCII, look-alikes).
std::vector<std::pair<std::string, json>> name_cases() {
  std::vector<std::pair<std::string, json>> cases;
  for (char32_t c = 0; c < 0x80; ++c) cases.emplace_back(utf8(c), nullptr);
  for (char32_t c : {0x80, 0xA0, 0xC9, 0xE9, 0xFF, 0x100, 0x212A, 0x1F600}) cases.emplace_back(utf8(c), nullptr);
  for (char d : std::string("(),/:;<=>?@[\\]{}\" \t")) cases.emplace_back("x" + std::string(1, d) + "y", nullptr);
  for (const char* name : {"", "x", "X-Custom-Header", "content-length", "Content-Length", "__proto__",
                           "constructor", "x y", " x", "x ", "\tx", "x\t", "x\r", "x\n", "x\r\n", "x\r\ny",
                           "x\x7f", "x\x01", "^_`|~!#$%&'*+.-", "a-b_c.d~e!f#g$h%i&j'k*l+m^n`o|p",
                           "0", "123", "-1", "x:", ":authority", "X-Forwarded-For", "%s", "%d"}) {
    cases.emplace_back(name, nullptr);
  }
  cases.emplace_back(std::string("x\0y", 3), nullptr);
  cases.emplace_back("o" + utf8(0x28A) + "m" + utf8(0x26A) + utf8(0x261) + utf8(0x259), nullptr);
  cases.emplace_back("caf" + utf8(0xE9), nullptr);
  cases.emplace_back("x" + utf8(0x1F600), nullptr);
  std::string long_token(10000, 'a');
  cases.emplace_back(long_token, nullptr);
  // The label variants, including the empty label that Node replaces with "Header name".
  for (const char* label : {"Label", "Method", "", "%s"}) {
    cases.emplace_back("x y", label);
    cases.emplace_back("", label);
    cases.emplace_back("ok", label);
  }
  return cases;
}

// Header values: every code point up to U+017F alone (controls, DEL, the C1 block, Latin-1,
// and the first characters Node rejects), and longer values mixing them.
std::vector<std::pair<std::string, json>> value_cases() {
  std::vector<std::pair<std::string, json>> cases;
  for (char32_t c = 0; c < 0x180; ++c) cases.emplace_back("x-test", utf8(c));
  for (char32_t c : {0x2028, 0x2029, 0xFEFF, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF}) {
    cases.emplace_back("x-test", utf8(c));
  }
  std::string printable;
  for (char c = 0x20; c < 0x7F; ++c) printable += c;
  for (const std::string& value :
       {std::string(), std::string(" "), std::string("\t"), std::string("a\tb"), std::string(" leading"),
        std::string("trailing "), std::string("a\rb"), std::string("a\nb"), std::string("\r\n"),
        std::string("obs\r\n fold"), std::string("a\0b", 3), std::string("\x1b[31mred"), std::string("a,b;c=d"),
        std::string("\"quoted\""), std::string("text/html; charset=utf-8"), printable, std::string(8000, 'v'),
        std::string(8000, 'v') + "\n", "caf" + utf8(0xE9),
        "o" + utf8(0x28A) + "m" + utf8(0x26A) + utf8(0x261) + utf8(0x259),
        "latin " + utf8(0xFF) + utf8(0x80) + utf8(0xA0), "emoji " + utf8(0x1F600), "x" + utf8(0x100) + "y"}) {
    cases.emplace_back("x-test", value);
  }
  // Undefined, and how the header name appears in each message.
  for (const char* name : {"x-my-header", "", "a b", "%s", "\"q\""}) {
    cases.emplace_back(name, nullptr);
    cases.emplace_back(name, "bad\nvalue");
    cases.emplace_back(name, "fine");
  }
  return cases;
}

TEST(ConstantsTest, MethodsMatchNode) {
  const json node = node_constants(json::array());
  ASSERT_TRUE(node.is_object());
  EXPECT_EQ(json(httpx::http::METHODS), node["methods"]);
}

TEST(ConstantsTest, StatusCodesMatchNode) {
  const json node = node_constants(json::array());
  ASSERT_TRUE(node.is_object());
  json ours = json::array();
  for (const auto& [code, text] : httpx::http::STATUS_CODES) ours.push_back({code, text});
  EXPECT_EQ(ours, node["status_codes"]);
  EXPECT_EQ(httpx::http::STATUS_CODES.at(404), "Not Found");
  EXPECT_FALSE(httpx::http::STATUS_CODES.contains(306));
}

TEST(ConstantsTest, MaxHeaderSizeMatchesNode) {
  const json node = node_constants(json::array());
  ASSERT_TRUE(node.is_object());
  EXPECT_EQ(json(httpx::http::max_header_size), node["max_header_size"]);
}

TEST(ConstantsTest, SetMaxIdleHttpParsersMatchesNode) {
  const std::vector<long long> inputs = {
      1000, 1, 2, 999, 2147483647LL, 2147483648LL, 4294967295LL, 4294967296LL, 4294967297LL,
      9007199254740991LL, 0, -1, -2, -4294967296LL, -4294967297LL, -1000000000000LL, 9007199254740992LL,
      9007199254740993LL, 12345678901234567LL, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1, 42, 1000,
  };
  const json node = node_constants(json(inputs));
  ASSERT_TRUE(node.is_object());

  EXPECT_EQ(json(httpx::http::max_idle_http_parsers()), node["default_max_idle"]);
  json ours = json::array();
  for (long long max : inputs) {
    json v = verdict([&] { httpx::http::set_max_idle_http_parsers(max); });
    v["limit"] = httpx::http::max_idle_http_parsers();
    ours.push_back(v);
  }
  ASSERT_EQ(ours.size(), node["max_idle"].size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i], node["max_idle"][i]) << "setMaxIdleHTTPParsers(" << inputs[i] << ")";
  }
  // The list ends with Node's default, so later tests see the pristine limit.
  EXPECT_EQ(httpx::http::max_idle_http_parsers(), 1000u);
}

TEST(ConstantsTest, SetMaxIdleHttpParsersRejectsZeroAndNegative) {
  const std::size_t before = httpx::http::max_idle_http_parsers();
  for (long long bad : {0LL, -1LL}) {
    try {
      httpx::http::set_max_idle_http_parsers(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), make_error_code(errc::err_out_of_range));
      EXPECT_EQ(e.node_code(), "ERR_OUT_OF_RANGE");
      EXPECT_EQ(std::string(e.what()),
                "The value of \"max\" is out of range. It must be >= 1 && <= 9007199254740991. Received " +
                    std::to_string(bad));
    }
  }
  EXPECT_EQ(httpx::http::max_idle_http_parsers(), before);
}

TEST(ConstantsTest, ValidateHeaderNameMatchesNode) {
  const auto cases = name_cases();
  ASSERT_GE(cases.size(), 40u);
  json input = json::array();
  for (const auto& [name, label] : cases) input.push_back({name, label});
  const std::string out = httpx::test::run_node_oracle("validate_header.js",
                                                       json{{"names", input}, {"values", json::array()}}.dump());
  ASSERT_FALSE(out.empty());
  const json node = json::parse(out)["names"];
  ASSERT_EQ(node.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [name, label] = cases[i];
    const json ours = verdict([&] {
      if (label.is_null()) {
        httpx::http::validate_header_name(name);
      } else {
        httpx::http::validate_header_name(name, label.get<std::string>());
      }
    });
    EXPECT_EQ(ours, up_to_nul(node[i])) << "name " << json(name).dump() << " label " << label.dump();
    EXPECT_EQ(httpx::http::check_is_http_token(name), node[i].contains("ok")) << json(name).dump();
  }
}

TEST(ConstantsTest, ValidateHeaderValueMatchesNode) {
  const auto cases = value_cases();
  ASSERT_GE(cases.size(), 40u);
  json input = json::array();
  for (const auto& [name, value] : cases) input.push_back({name, value});
  const std::string out = httpx::test::run_node_oracle("validate_header.js",
                                                       json{{"names", json::array()}, {"values", input}}.dump());
  ASSERT_FALSE(out.empty());
  const json node = json::parse(out)["values"];
  ASSERT_EQ(node.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [name, value] = cases[i];
    const json ours = verdict([&] {
      if (value.is_null()) {
        httpx::http::validate_header_value(name, std::nullopt);
      } else {
        httpx::http::validate_header_value(name, value.get<std::string>());
      }
    });
    EXPECT_EQ(ours, up_to_nul(node[i])) << "name " << json(name).dump() << " value " << value.dump();
  }
}

TEST(ConstantsTest, InvalidUtf8ValueIsInvalidChar) {
  // Bytes that are not UTF-8 stand for no JS string; they must never pass as Latin-1.
  for (const std::string& bad : {std::string("\x80"), std::string("\xBF"), std::string("\xC3"),
                                std::string("a\xC3"), std::string("\xC3\x28"), std::string("\xC0\x80"),
                                std::string("\xC1\xBF"), std::string("\xC2\xC0"), std::string("\xE0\x80\x80"),
                                std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"), std::string("\xFF"),
                                std::string("\xFE"), std::string("ok\xF0\x9F\x98"), std::string("\xC4\x80")}) {
    EXPECT_TRUE(httpx::http::check_invalid_header_char(bad)) << json::binary({bad.begin(), bad.end()}).dump();
    const json v = verdict([&] { httpx::http::validate_header_value("x", bad); });
    EXPECT_EQ(v, (json{{"code", "ERR_INVALID_CHAR"}, {"message", "Invalid character in header content [\"x\"]"}}));
  }
  for (const std::string& good : {std::string("\xC2\x80"), std::string("\xC2\xBF"), std::string("\xC3\x80"),
                                 std::string("\xC3\xBF"), std::string("a\xC3\xA9z\t")}) {
    EXPECT_FALSE(httpx::http::check_invalid_header_char(good));
  }
}

TEST(ConstantsTest, NonAsciiBytesAreNeverTokenCharacters) {
  for (int b = 0x80; b <= 0xFF; ++b) {
    EXPECT_FALSE(httpx::http::check_is_http_token(std::string(1, static_cast<char>(b)))) << b;
    EXPECT_FALSE(httpx::http::check_is_http_token("ab" + std::string(1, static_cast<char>(b)))) << b;
  }
}

TEST(ConstantsTest, ValidationErrorsCarryNodeCodes) {
  try {
    httpx::http::validate_header_name("bad name");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::err_invalid_http_token));
    EXPECT_STREQ(e.what(), "Header name must be a valid HTTP token [\"bad name\"]");
  }
  try {
    httpx::http::validate_header_value("x-my-header", std::nullopt);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::err_http_invalid_header_value));
    EXPECT_STREQ(e.what(), "Invalid value \"undefined\" for header \"x-my-header\"");
  }
  try {
    httpx::http::validate_header_value("x-my-header", "o\xCA\x8Am\xC9\xAA\xC9\xA1\xC9\x99");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::err_invalid_char));
    EXPECT_STREQ(e.what(), "Invalid character in header content [\"x-my-header\"]");
  }
  EXPECT_NO_THROW(httpx::http::validate_header_value("x", ""));
  EXPECT_NO_THROW(httpx::http::validate_header_name("x", "Label"));
}

}  // namespace
