#include "httpx/serve/static_files.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/support.hpp"

namespace {

using httpx::app::FileCache;
using httpx::app::FileEntry;
using httpx::app::MimeTypes;
using httpx::app::path_within;
using httpx::app::resolve_request_path;

TEST(StaticFilesTest, ResolvesOriginAndAbsoluteForm) {
  auto r = resolve_request_path("/a/b%20c/d.txt?x=1#f", false);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.relative, "a/b c/d.txt");
  EXPECT_EQ(r.display, "/a/b c/d.txt");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_FALSE(r.trailing_slash);
  r = resolve_request_path("/", false);
  EXPECT_EQ(r.relative, "");
  EXPECT_EQ(r.display, "/");
  r = resolve_request_path("//a/./b//", false);
  EXPECT_EQ(r.relative, "a/b");
  EXPECT_EQ(r.display, "/a/b/");
  EXPECT_TRUE(r.trailing_slash);
  r = resolve_request_path("http://host:80/x/y", false);
  EXPECT_EQ(r.relative, "x/y");
  r = resolve_request_path("HTTPS://host?q", false);
  EXPECT_EQ(r.relative, "");
  EXPECT_EQ(r.query, "q");
}

TEST(StaticFilesTest, RefusesWhatCouldClimbOrHide) {
  for (const char* bad : {"/..", "/../x", "/a/../../x", "/%2e%2e/x", "/%2E%2e", "/..%2fx", "/a%2f..%2f..%2fx", "/%5c",
                          "/a\\b", "/%00", "/a%00b", "/%", "/%2", "/%zz", "/%u002e", "*", "x", "", "http://h/%2e%2e/x"}) {
    EXPECT_EQ(resolve_request_path(bad, true).status, 400) << bad;
  }
  // Decoded once: %252e is the literal name "%2e".
  const auto literal = resolve_request_path("/%252e%252e/x", false);
  EXPECT_EQ(literal.status, 0);
  EXPECT_EQ(literal.relative, "%2e%2e/x");
}

TEST(StaticFilesTest, DotfilesAre404UnlessHidden) {
  EXPECT_EQ(resolve_request_path("/.env", false).status, 404);
  EXPECT_EQ(resolve_request_path("/a/.git/config", false).status, 404);
  EXPECT_EQ(resolve_request_path("/%2eenv", false).status, 404);
  EXPECT_EQ(resolve_request_path("/.env", true).status, 0);
  EXPECT_EQ(resolve_request_path("/...", true).status, 0);  // a name, not a parent
}

TEST(StaticFilesTest, PathWithin) {
  EXPECT_TRUE(path_within("/srv/www", "/srv/www"));
  EXPECT_TRUE(path_within("/srv/www/a", "/srv/www"));
  EXPECT_FALSE(path_within("/srv/www2", "/srv/www"));
  EXPECT_FALSE(path_within("/srv", "/srv/www"));
  EXPECT_TRUE(path_within("/anything", "/"));
}

TEST(StaticFilesTest, CacheFindsFilesDirectoriesAndRefusesSymlinksOut) {
  httpx::test::TempDir tmp;
  namespace fs = std::filesystem;
  fs::create_directories(tmp.file("root/sub"));
  std::ofstream(tmp.file("root/a.html")) << "<p>";
  std::ofstream(tmp.file("outside")) << "secret";
  fs::create_symlink("../outside", tmp.file("root/out"));
  char real[PATH_MAX];
  ASSERT_NE(::realpath(tmp.file("root").c_str(), real), nullptr);
  const MimeTypes mime("");
  FileCache cache(real, mime, {{"X-Extra", "1"}}, false);
  const auto a = cache.lookup("a.html");
  ASSERT_EQ(a->kind, FileEntry::Kind::file);
  EXPECT_EQ(a->size, 3u);
  EXPECT_TRUE(a->in_memory);
  EXPECT_EQ(a->body, "<p>");
  EXPECT_EQ(a->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(a->headers.back(), (std::pair<std::string, std::string>{"X-Extra", "1"}));
  EXPECT_EQ(cache.lookup("a.html"), a) << "a fresh entry is not reused";
  EXPECT_EQ(cache.lookup("sub")->kind, FileEntry::Kind::directory);
  EXPECT_EQ(cache.lookup("")->kind, FileEntry::Kind::directory);
  EXPECT_EQ(cache.lookup("nope")->kind, FileEntry::Kind::missing);
  EXPECT_EQ(cache.lookup("a.html/x")->kind, FileEntry::Kind::missing);
  EXPECT_EQ(cache.lookup("out")->kind, FileEntry::Kind::forbidden);
  FileCache following(real, mime, {}, true);
  EXPECT_EQ(following.lookup("out")->kind, FileEntry::Kind::file);
}

TEST(StaticFilesTest, PercentEncodeSegment) {
  EXPECT_EQ(httpx::app::percent_encode_segment("a b/c?#%.txt"), "a%20b%2Fc%3F%23%25.txt");
}

}  // namespace
