#include "httpx/serve/mime_types.hpp"

#include <gtest/gtest.h>

namespace {

using httpx::app::MimeTypes;

TEST(MimeTypesTest, BuiltinTableWithCharsetForText) {
  const MimeTypes m("");
  EXPECT_EQ(m.lookup("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(m.lookup("/a/b/APP.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(m.lookup("x.json"), "application/json; charset=utf-8");
  EXPECT_EQ(m.lookup("x.svg"), "image/svg+xml; charset=utf-8");
  EXPECT_EQ(m.lookup("x.png"), "image/png");
  EXPECT_EQ(m.lookup("x.wasm"), "application/wasm");
  EXPECT_EQ(m.lookup("README"), "application/octet-stream");
  EXPECT_EQ(m.lookup("x."), "application/octet-stream");
  EXPECT_EQ(m.lookup("x.unknownext"), "application/octet-stream");
}

TEST(MimeTypesTest, MimeTypesTextAddsAndReplaces) {
  MimeTypes m("");
  m.add_mime_types_text("# comment\napplication/x-thing\tthing thg\ntext/x-foo foo # trailing\nnot-a-type zzz\n");
  EXPECT_EQ(m.lookup("a.thing"), "application/x-thing");
  EXPECT_EQ(m.lookup("a.THG"), "application/x-thing");
  EXPECT_EQ(m.lookup("a.foo"), "text/x-foo; charset=utf-8");
  EXPECT_EQ(m.lookup("a.zzz"), "application/octet-stream");
}

TEST(MimeTypesTest, MissingSystemFileFallsBackToTheBuiltinTable) {
  const MimeTypes m("/nonexistent/mime.types");
  EXPECT_EQ(m.lookup("a.css"), "text/css; charset=utf-8");
}

TEST(MimeTypesTest, TextTypes) {
  EXPECT_TRUE(httpx::app::is_text_type("text/plain"));
  EXPECT_TRUE(httpx::app::is_text_type("application/ld+json"));
  EXPECT_FALSE(httpx::app::is_text_type("image/png"));
}

}  // namespace
