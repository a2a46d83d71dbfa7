#include "httpx/serve/listing.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/support.hpp"

namespace {

using httpx::app::ListingEntry;
using httpx::app::ListingOrder;

std::vector<ListingEntry> sample() {
  return {{"b.txt", false, 10, 300}, {"a<&>.txt", false, 2000, 100}, {"zdir", true, 0, 200}, {"c", false, 5, 200}};
}

std::vector<std::string> names(const std::vector<ListingEntry>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.name);
  return out;
}

TEST(ListingTest, SortsDirectoriesFirstThenByKey) {
  auto v = sample();
  httpx::app::sort_listing(v, {});
  EXPECT_EQ(names(v), (std::vector<std::string>{"zdir", "a<&>.txt", "b.txt", "c"}));
  httpx::app::sort_listing(v, {ListingOrder::Key::size, true});
  EXPECT_EQ(names(v), (std::vector<std::string>{"zdir", "a<&>.txt", "b.txt", "c"}));
  httpx::app::sort_listing(v, {ListingOrder::Key::date, false});
  EXPECT_EQ(names(v), (std::vector<std::string>{"zdir", "a<&>.txt", "c", "b.txt"}));
}

TEST(ListingTest, ParsesTheOrderFromTheQuery) {
  const auto o = httpx::app::parse_listing_order("x=1&sort=date&order=desc");
  EXPECT_EQ(o.key, ListingOrder::Key::date);
  EXPECT_TRUE(o.descending);
  EXPECT_EQ(httpx::app::parse_listing_order("sort=bogus").key, ListingOrder::Key::name);
}

TEST(ListingTest, HumanSizes) {
  EXPECT_EQ(httpx::app::human_size(0), "0 B");
  EXPECT_EQ(httpx::app::human_size(1023), "1023 B");
  EXPECT_EQ(httpx::app::human_size(1536), "1.5 KiB");
  EXPECT_EQ(httpx::app::human_size(300 * 1024), "300 KiB");
  EXPECT_EQ(httpx::app::human_size(5ull * 1024 * 1024 * 1024), "5.0 GiB");
}

TEST(ListingTest, HtmlEscapesNamesAndEncodesLinks) {
  const auto html = httpx::app::listing_html("/d<ir>/", sample(), {});
  EXPECT_NE(html.find("<title>Index of /d&lt;ir&gt;/</title>"), std::string::npos);
  EXPECT_NE(html.find("href=\"a%3C%26%3E.txt\">a&lt;&amp;&gt;.txt</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("href=\"zdir/\""), std::string::npos);
  EXPECT_NE(html.find("href=\"../\""), std::string::npos);
  EXPECT_EQ(html.find("<&>"), std::string::npos);
}

TEST(ListingTest, JsonShape) {
  const auto j = nlohmann::json::parse(httpx::app::listing_json("/d/", {{"x y", false, 3, 0}, {"s", true, 0, 0}}));
  EXPECT_EQ(j["path"], "/d/");
  EXPECT_EQ(j["entries"][0], (nlohmann::json{{"name", "x y"}, {"type", "file"}, {"size", 3},
                                             {"mtime", "1970-01-01T00:00:00Z"}, {"url", "/d/x%20y"}}));
  EXPECT_EQ(j["entries"][1]["type"], "directory");
  EXPECT_EQ(j["entries"][1]["url"], "/d/s/");
}

TEST(ListingTest, ReadsADirectoryWithoutDotfilesUnlessHidden) {
  httpx::test::TempDir tmp;
  std::ofstream(tmp.file("f")) << "abc";
  std::ofstream(tmp.file(".h")) << "";
  std::filesystem::create_directory(tmp.file("d"));
  std::vector<ListingEntry> v;
  ASSERT_TRUE(httpx::app::read_directory(tmp.path(), false, v));
  httpx::app::sort_listing(v, {});
  EXPECT_EQ(names(v), (std::vector<std::string>{"d", "f"}));
  EXPECT_EQ(v[1].size, 3u);
  v.clear();
  ASSERT_TRUE(httpx::app::read_directory(tmp.path(), true, v));
  EXPECT_EQ(v.size(), 3u);
  EXPECT_FALSE(httpx::app::read_directory(tmp.file("missing"), false, v));
}

}  // namespace
