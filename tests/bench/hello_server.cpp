// The libhttp side of scripts/bench/server-vs-node: a hello-world HTTP server on one loop thread,
// the twin of scripts/bench/hello_server.js (keep the two doing exactly the same work).
//
// usage: bench_hello_server [PORT [KEEP_ALIVE_TIMEOUT_MS]]
//   PORT                   0 (the default) picks a free port.
//   KEEP_ALIVE_TIMEOUT_MS  the server's keep-alive timeout; 5000 is Node's default, 0 disables it
//                          (idle keep-alive connections then stay open).
//
// Listens on 127.0.0.1 and prints the bound port, alone on one line, on stdout once listening.
// Every request gets 200 with `Content-Type: text/plain` and `Hello, World!\n`. Runs until killed.
// Bad usage exits 2.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <system_error>

#include <httpx/http.hpp>

namespace {

namespace http = httpx::http;

// The argument at `index` as an integer in [0, max]; `fallback` when absent. Exits 2 when invalid.
long long number_arg(int argc, char** argv, int index, const char* name, long long fallback, long long max) {
  if (index >= argc) return fallback;
  const std::string_view text = argv[index];
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 0 || value > max) {
    std::fprintf(stderr, "bench_hello_server: %s must be an integer in [0, %lld], got \"%s\"\n", name, max,
                 argv[index]);
    std::exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  const int port = static_cast<int>(number_arg(argc, argv, 1, "PORT", 0, 65535));
  const auto keep_alive_timeout =
      std::chrono::milliseconds(number_arg(argc, argv, 2, "KEEP_ALIVE_TIMEOUT_MS", 5000, 2147483647));

  httpx::core::Loop loop;
  auto server = http::create_server(
      loop, http::ServerOptions{.keep_alive_timeout = keep_alive_timeout},
      [](const std::shared_ptr<http::IncomingMessage>& /*req*/, const std::shared_ptr<http::ServerResponse>& res) {
        res->set_header("Content-Type", "text/plain");
        res->end("Hello, World!\n");
      });
  server->listen(httpx::net::ListenOptions{.port = port, .host = "127.0.0.1"}, [&server] {
    std::printf("%d\n", server->address()->port);
    std::fflush(stdout);
  });
  loop.run();
  return 0;
}
