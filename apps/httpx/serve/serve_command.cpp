// `httpx serve --echo`: flags map one to one onto http::ServerOptions (Node's createServer options);
// SIGINT/SIGTERM close the server gracefully (a second signal cuts the remaining connections).
#include "httpx/serve/serve_command.hpp"

#include <fmt/format.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <ostream>

#include <httpx/http.hpp>

#include "httpx/exit_codes.hpp"
#include "httpx/serve/echo.hpp"

namespace httpx::app {
namespace {

using std::chrono::milliseconds;

struct ServeFlags {
  bool echo = false;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string format = "text";
  bool quiet = false;
  long long keep_alive_timeout = 5000;
  long long headers_timeout = -1;  // -1: Node's default, min(60000, request timeout)
  long long request_timeout = 300000;
  long long connections_checking_interval = 30000;
  long long timeout = 0;
  std::size_t max_header_size = http::max_header_size;
  std::size_t max_requests_per_socket = 0;
  std::size_t max_headers_count = 0;
  bool max_headers_count_set = false;
  bool insecure_http_parser = false;
  bool join_duplicate_headers = false;
  bool no_require_host_header = false;
  bool keep_alive = false;
  long long keep_alive_initial_delay = 0;
  bool no_delay_off = false;
  std::size_t high_water_mark = 16384;
  bool reject_non_standard_body_writes = false;
};

std::string url_of(const net::ServerAddress& a) {
  const bool v6 = a.family == "IPv6";
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", a.address, v6 ? "]" : "", a.port);
}

http::ServerOptions server_options(const ServeFlags& f) {
  http::ServerOptions o;
  o.connections_checking_interval = milliseconds(f.connections_checking_interval);
  if (f.headers_timeout >= 0) o.headers_timeout = milliseconds(f.headers_timeout);
  o.high_water_mark = f.high_water_mark;
  o.insecure_http_parser = f.insecure_http_parser;
  o.join_duplicate_headers = f.join_duplicate_headers;
  o.keep_alive = f.keep_alive;
  o.keep_alive_initial_delay = milliseconds(f.keep_alive_initial_delay);
  o.keep_alive_timeout = milliseconds(f.keep_alive_timeout);
  o.max_header_size = f.max_header_size;
  o.no_delay = !f.no_delay_off;
  o.request_timeout = milliseconds(f.request_timeout);
  o.require_host_header = !f.no_require_host_header;
  o.reject_non_standard_body_writes = f.reject_non_standard_body_writes;
  return o;
}

void log_line(std::ostream& err, const ServeFlags& f, const nlohmann::ordered_json& fields, const std::string& text) {
  if (f.format == "json") {
    err << fields.dump() << '\n';
  } else {
    err << text << '\n';
  }
  err.flush();
}

int run_serve(const ServeFlags& f, std::ostream& err) {
  core::Loop loop;
  std::shared_ptr<http::Server> server;
  try {
    server = http::create_server(loop, server_options(f));
  } catch (const core::Error& e) {
    err << "httpx: " << e.what() << '\n';
    return kExitUsage;
  }
  server->timeout = milliseconds(f.timeout);
  server->max_requests_per_socket = f.max_requests_per_socket;
  if (f.max_headers_count_set) server->max_headers_count = f.max_headers_count;
  bool closing = false;
  attach_echo(*server, [&closing] { return closing; });

  if (!f.quiet) {
    server->events().request.on([&err, &f](const std::shared_ptr<http::IncomingMessage>& req,
                                           const std::shared_ptr<http::ServerResponse>& res) {
      // One access-log line per response, when it is done (the status is known then).
      std::weak_ptr<http::ServerResponse> weak = res;
      const std::string peer = req->socket() ? req->socket()->remote_address() : std::string();
      std::string method = req->method(), url = req->url(), version = req->http_version();
      res->events().finish.once([&err, &f, weak, peer, method, url, version] {
        auto r = weak.lock();
        if (!r) return;
        nlohmann::ordered_json j = {{"event", "request"}, {"remote", peer}, {"method", method},
                                    {"url", url},        {"httpVersion", version}, {"status", r->status_code}};
        log_line(err, f, j, fmt::format("{} \"{} {} HTTP/{}\" {}", peer, method, url, version, r->status_code));
      });
    });
  }

  int exit_code = kExitOk;
  server->events().error.on([&](std::error_code ec) {
    err << fmt::format("httpx: cannot listen on {}:{}: {} ({})\n", f.host, f.port, ec.message(), core::node_code(ec));
    exit_code = kExitFailure;
    loop.stop();
  });
  server->listen(net::ListenOptions{.port = f.port, .host = f.host}, [&] {
    const auto address = server->address();
    const std::string url = address ? url_of(*address) : std::string();
    log_line(err, f, {{"event", "listening"}, {"url", url}, {"mode", "echo"}},
             fmt::format("httpx serve: listening on {} (echo; Ctrl-C to stop)", url));
  });

  auto signals = core::SignalWatch::create(loop, {SIGINT, SIGTERM}, [&](int sig) {
    if (!closing) {
      closing = true;
      log_line(err, f, {{"event", "closing"}, {"signal", sig}},
               "httpx serve: closing (in-flight requests finish; signal again to cut them)");
      server->close();
    } else {
      server->close_all_connections();
    }
  });
  loop.run();
  return exit_code;
}

}  // namespace

void add_serve_command(Cli& cli) {
  auto* sub = cli.app->add_subcommand("serve", "Run an HTTP server (libhttp's http.Server)");
  auto f = std::make_shared<ServeFlags>();
  sub->add_flag("--echo", f->echo,
                "Answer every request with 200 and a JSON object of its method, url, httpVersion, headers, "
                "rawHeaders, trailers, rawTrailers and body (required)");
  sub->add_option("--host", f->host, "Address to listen on (default 127.0.0.1; :: or 0.0.0.0 for all)");
  sub->add_option("-p,--port", f->port, "Port to listen on; 0 picks a free one (default 8080)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--format", f->format, "Log format on stderr: text or json (default text)")
      ->check(CLI::IsMember({"text", "json"}));
  sub->add_flag("-q,--quiet", f->quiet, "Do not log each request on stderr");
  sub->add_option("--keep-alive-timeout", f->keep_alive_timeout,
                  "Milliseconds an idle keep-alive connection stays open; 0 disables (keepAliveTimeout, 5000)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--headers-timeout", f->headers_timeout,
                  "Milliseconds to receive a request's headers (headersTimeout, min(60000, request timeout))")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--request-timeout", f->request_timeout,
                  "Milliseconds to receive a whole request; 0 disables (requestTimeout, 300000)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--connections-checking-interval", f->connections_checking_interval,
                  "Milliseconds between checks for request and headers timeouts (connectionsCheckingInterval, 30000)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--timeout", f->timeout, "Milliseconds of socket inactivity before it is closed; 0 = none (server.timeout)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--max-header-size", f->max_header_size, "Maximum bytes of request line and headers (maxHeaderSize, 16384)");
  sub->add_option("--max-requests-per-socket", f->max_requests_per_socket,
                  "Requests one connection may make before it is closed; 0 = unlimited (maxRequestsPerSocket)");
  sub->add_option_function<std::size_t>(
      "--max-headers-count",
      [f](const std::size_t& n) {
        f->max_headers_count = n;
        f->max_headers_count_set = true;
      },
      "Header fields kept per request; 0 = unlimited (maxHeadersCount, 1000)");
  sub->add_flag("--insecure-http-parser", f->insecure_http_parser,
                "Accept invalid HTTP that the strict parser rejects (insecureHTTPParser)");
  sub->add_flag("--join-duplicate-headers", f->join_duplicate_headers,
                "Join duplicate headers with ', ' instead of keeping the first (joinDuplicateHeaders)");
  sub->add_flag("--no-require-host-header", f->no_require_host_header,
                "Accept HTTP/1.1 requests without a Host header (requireHostHeader false)");
  sub->add_flag("--keep-alive", f->keep_alive, "Enable TCP keep-alive probes on connections (keepAlive)");
  sub->add_option("--keep-alive-initial-delay", f->keep_alive_initial_delay,
                  "Milliseconds before the first TCP keep-alive probe (keepAliveInitialDelay, 0)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-no-delay", f->no_delay_off, "Keep Nagle's algorithm on (noDelay false)");
  sub->add_option("--high-water-mark", f->high_water_mark,
                  "Socket buffer size in bytes before backpressure (highWaterMark, 16384)");
  sub->add_flag("--reject-non-standard-body-writes", f->reject_non_standard_body_writes,
                "Fail writes of a body to HEAD, 204 and 304 responses (rejectNonStandardBodyWrites)");
  sub->callback([&cli, f] {
    cli.run = [f](std::ostream&, std::ostream& err) -> int {
      // Checked here rather than by CLI11, so that an unknown option is reported first.
      if (!f->echo) {
        err << "httpx: serve needs --echo, its one mode so far (see 'httpx serve --help')\n";
        return kExitUsage;
      }
      return run_serve(*f, err);
    };
  });
}

}  // namespace httpx::app
