#include "httpx/serve/auth.hpp"

#include <gtest/gtest.h>

#include "httpx/serve/access_log.hpp"
#include "httpx/serve/compression.hpp"

namespace {

using httpx::app::basic_credentials;

TEST(AuthTest, Base64AndBasicCredentials) {
  EXPECT_EQ(httpx::app::base64_decode("YWxpY2U6czNjcmV0"), "alice:s3cret");
  EXPECT_EQ(httpx::app::base64_decode("YQ=="), "a");
  EXPECT_EQ(httpx::app::base64_decode("YQ"), "a");
  EXPECT_FALSE(httpx::app::base64_decode("Y!=="));
  EXPECT_EQ(basic_credentials("Basic YWxpY2U6czNjcmV0"), "alice:s3cret");
  EXPECT_EQ(basic_credentials("basic   YWxpY2U6czNjcmV0 "), "alice:s3cret");
  EXPECT_FALSE(basic_credentials("Bearer YWxpY2U6czNjcmV0"));
  EXPECT_FALSE(basic_credentials("Basic YWxpY2U="));  // no colon
  EXPECT_FALSE(basic_credentials("Basic"));
}

TEST(AuthTest, ConstantTimeEquals) {
  EXPECT_TRUE(httpx::app::constant_time_equals("a:b", "a:b"));
  EXPECT_FALSE(httpx::app::constant_time_equals("a:b", "a:c"));
  EXPECT_FALSE(httpx::app::constant_time_equals("a:b", "a:bb"));
  EXPECT_FALSE(httpx::app::constant_time_equals("", "x"));
}

TEST(CompressionTest, AcceptEncodingWithQValues) {
  using httpx::app::accepts_encoding;
  EXPECT_TRUE(accepts_encoding("gzip, br", "gzip"));
  EXPECT_TRUE(accepts_encoding("GZIP;q=0.5", "gzip"));
  EXPECT_FALSE(accepts_encoding("gzip;q=0", "gzip"));
  EXPECT_FALSE(accepts_encoding("br", "gzip"));
  EXPECT_TRUE(accepts_encoding("*", "br"));
  EXPECT_FALSE(accepts_encoding("*, br;q=0", "br"));
  EXPECT_FALSE(accepts_encoding("", "gzip"));
}

TEST(CompressionTest, GzipProducesAGzipMember) {
  const auto z = httpx::app::gzip_compress(std::string(1000, 'a'));
  ASSERT_GE(z.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  EXPECT_LT(z.size(), 100u);
}

TEST(AccessLogTest, Formats) {
  httpx::app::AccessRecord r;
  r.remote = "127.0.0.1";
  r.method = "GET";
  r.url = "/a\"b";
  r.version = "1.1";
  r.status = 200;
  r.bytes = 42;
  r.time = 784111777;
  r.user_agent = "ua";
  using httpx::app::LogFormat;
  EXPECT_EQ(format_access_line(r, LogFormat::text), "127.0.0.1 \"GET /a\\\"b HTTP/1.1\" 200");
  EXPECT_EQ(format_access_line(r, LogFormat::common),
            "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /a\\\"b HTTP/1.1\" 200 42");
  EXPECT_EQ(format_access_line(r, LogFormat::combined),
            "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /a\\\"b HTTP/1.1\" 200 42 \"-\" \"ua\"");
  const auto json = format_access_line(r, LogFormat::json);
  EXPECT_NE(json.find("\"event\":\"request\""), std::string::npos);
  EXPECT_NE(json.find("\"bytes\":42"), std::string::npos);
  r.bytes.reset();
  r.user = "bob";
  EXPECT_EQ(format_access_line(r, LogFormat::common),
            "127.0.0.1 - bob [06/Nov/1994:08:49:37 +0000] \"GET /a\\\"b HTTP/1.1\" 200 -");
}

}  // namespace
