// Socket::send_file (httpx's addition): a file's bytes through sendfile(2), ordered after earlier
// writes, with backpressure from a client that reads late, and its error cases.
#include "httpx/net/socket.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "httpx/core/error.hpp"
#include "httpx/net/server.hpp"
#include "support/support.hpp"

namespace httpx::net {
namespace {

using namespace std::chrono_literals;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

/// A file in a temporary directory, opened read-only.
struct TempFile {
  test::TempDir dir;
  int fd = -1;
  explicit TempFile(const std::string& content) {
    std::ofstream(dir.file("f"), std::ios::binary) << content;
    fd = ::open(dir.file("f").c_str(), O_RDONLY | O_CLOEXEC);
  }
  ~TempFile() {
    if (fd >= 0) ::close(fd);
  }
};

/// Serves one connection with `serve(socket)`; the client reads everything until the server
/// closes. Returns what the client received.
std::string exchange(core::Loop& loop, const std::function<void(const std::shared_ptr<Socket>&)>& serve,
                     std::chrono::milliseconds client_delay = 0ms) {
  auto server = Server::create(loop);
  server->events().connection.on([&](const std::shared_ptr<Socket>& s) {
    serve(s);
    server->close();
  });
  std::string received;
  std::shared_ptr<Socket> client;
  server->listen({.port = 0, .host = "127.0.0.1"}, test::must_call([&] {
                   client = Socket::create_connection(loop, {.host = "127.0.0.1", .port = server->address()->port});
                   client->events().data.on([&](std::string_view d) { received += d; });
                   client->end();
                   // A client that starts reading late: the server meets a full socket buffer.
                   if (client_delay.count() > 0) {
                     client->pause();
                     loop.set_timeout([&] { client->resume(); }, client_delay);
                   }
                 }));
  EXPECT_TRUE(loop.run_for(20s));
  return received;
}

TEST(SocketSendFileTest, SendsTheRangeAfterEarlierWrites) {
  const std::string content = pattern(100000);
  TempFile file(content);
  ASSERT_GE(file.fd, 0);
  core::Loop loop;
  const auto got = exchange(loop, [&](const std::shared_ptr<Socket>& s) {
    EXPECT_TRUE(s->can_send_file());
    s->write("head|");
    s->send_file(file.fd, 10, 50000, test::must_call<std::error_code>([s](std::error_code ec) {
                   EXPECT_FALSE(ec) << ec.message();
                   s->end("|tail");
                 }));
  });
  EXPECT_TRUE(got == "head|" + content.substr(10, 50000) + "|tail") << got.size();
}

TEST(SocketSendFileTest, WaitsForWritabilityWhenThePeerReadsLate) {
  const std::string content = pattern(8 * 1024 * 1024);
  TempFile file(content);
  core::Loop loop;
  std::uint64_t written = 0;
  const auto got = exchange(
      loop,
      [&](const std::shared_ptr<Socket>& s) {
        s->send_file(file.fd, 0, content.size(), test::must_call<std::error_code>([s, &written](std::error_code ec) {
                       EXPECT_FALSE(ec) << ec.message() << " " << core::node_code(ec);
                       written = s->bytes_written();
                       s->end();
                     }));
      },
      300ms);
  EXPECT_EQ(written, content.size());
  EXPECT_TRUE(got == content) << got.size();
}

TEST(SocketSendFileTest, AFileShorterThanTheLengthIsEio) {
  TempFile file("short");
  core::Loop loop;
  std::error_code result;
  const auto got = exchange(loop, [&](const std::shared_ptr<Socket>& s) {
    s->send_file(file.fd, 0, 100, test::must_call<std::error_code>([s, &result](std::error_code ec) {
                   result = ec;
                   s->destroy();
                 }));
  });
  EXPECT_EQ(result, std::error_code(EIO, std::system_category()));
  EXPECT_EQ(got, "short");
}

TEST(SocketSendFileTest, ABadDescriptorIsReported) {
  core::Loop loop;
  std::error_code result;
  exchange(loop, [&](const std::shared_ptr<Socket>& s) {
    s->send_file(-1, 0, 100, test::must_call<std::error_code>([s, &result](std::error_code ec) {
                   result = ec;
                   s->destroy();
                 }));
  });
  EXPECT_EQ(result, std::error_code(EBADF, std::system_category()));
}

TEST(SocketSendFileTest, ADestroyedSocketGetsAnErrorAndCannotSendFiles) {
  TempFile file("data");
  core::Loop loop;
  std::error_code result;
  exchange(loop, [&](const std::shared_ptr<Socket>& s) {
    s->destroy();
    EXPECT_FALSE(s->can_send_file());
    s->send_file(file.fd, 0, 4, test::must_call<std::error_code>([&result](std::error_code ec) { result = ec; }));
  });
  EXPECT_TRUE(result);
  EXPECT_FALSE(Socket::create(loop)->can_send_file());
}

}  // namespace
}  // namespace httpx::net
