#include "httpx/serve/upload.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/support.hpp"

namespace {

using httpx::app::multipart_boundary;
using httpx::app::parse_multipart;
using httpx::app::save_file;

TEST(UploadTest, Boundary) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=x; boundary=\"a b\""), "a b");
  EXPECT_FALSE(multipart_boundary("text/plain; boundary=abc"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary="));
}

TEST(UploadTest, ParsesFilePartsAndSkipsFields) {
  const std::string body =
      "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\nContent-Type: a/b\r\n\r\n"
      "bin\r\n\r\ndata\r\n--b--\r\n";
  const auto parts = parse_multipart(body, "b");
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].filename, "x.bin");
  EXPECT_EQ((*parts)[0].data, "bin\r\n\r\ndata");
}

TEST(UploadTest, MalformedBodies) {
  EXPECT_FALSE(parse_multipart("no delimiter", "b"));
  EXPECT_FALSE(parse_multipart("--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nunterminated", "b"));
  EXPECT_FALSE(parse_multipart("--bXX", "b"));
  EXPECT_FALSE(parse_multipart("--b\r\nno head end", "b"));
}

TEST(UploadTest, ValidNames) {
  EXPECT_TRUE(httpx::app::valid_upload_name("a.txt", false));
  for (const char* bad : {"", ".", "..", "a/b", "a\\b", ".hidden"}) EXPECT_FALSE(httpx::app::valid_upload_name(bad, false)) << bad;
  EXPECT_TRUE(httpx::app::valid_upload_name(".hidden", true));
  EXPECT_FALSE(httpx::app::valid_upload_name(std::string("a\0b", 3), true));
}

TEST(UploadTest, SavesInsideTheRootOnly) {
  httpx::test::TempDir tmp;
  namespace fs = std::filesystem;
  fs::create_directories(tmp.file("root/sub"));
  fs::create_symlink("..", tmp.file("root/up"));
  char real[PATH_MAX];
  ASSERT_NE(::realpath(tmp.file("root").c_str(), real), nullptr);
  EXPECT_EQ(save_file(real, "sub/a.txt", "one").status, 201);
  EXPECT_EQ(save_file(real, "sub/a.txt", "two").status, 204);
  std::ifstream in(tmp.file("root/sub/a.txt"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "two");
  EXPECT_EQ(save_file(real, "up/escape.txt", "x").status, 403);
  EXPECT_FALSE(fs::exists(tmp.file("escape.txt")));
  EXPECT_EQ(save_file(real, "missing/a.txt", "x").status, 409);
  EXPECT_EQ(save_file(real, "sub", "x").status, 409);
  EXPECT_EQ(save_file(real, "", "x").status, 400);
  // No temporary file is left behind.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(tmp.file("root/sub"))) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

}  // namespace
