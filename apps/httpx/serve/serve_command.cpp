// `httpx serve [DIR]` and `httpx serve --echo`: the server flags map one to one onto
// http::ServerOptions (Node's createServer options), the static-file flags onto StaticOptions.
// N threads each run one loop with one http::Server on the same port (SO_REUSEPORT); SIGINT and
// SIGTERM close every server gracefully (a second signal cuts the remaining connections).
#include "httpx/serve/serve_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include <httpx/http.hpp>

#include "httpx/exit_codes.hpp"
#include "httpx/header_lines.hpp"
#include "httpx/serve/access_log.hpp"
#include "httpx/serve/auth.hpp"
#include "httpx/serve/echo.hpp"
#include "httpx/serve/mime_types.hpp"
#include "httpx/serve/static_handler.hpp"

namespace httpx::app {
namespace {

using std::chrono::milliseconds;

struct ServeFlags {
  bool echo = false;
  std::string dir;  // "" when not given
  unsigned threads = 0;  // 0: one per core
  bool no_listing = false;
  bool hidden = false;
  bool follow_symlinks = false;
  bool cors = false;
  bool spa = false;
  bool gzip = false;
  std::string auth;
  bool upload = false;
  std::uint64_t upload_limit = 64ull * 1024 * 1024;
  long long cache = -1;  // -1: no Cache-Control
  std::vector<std::string> headers;
  std::string access_log;  // "" stderr; a path
  std::string log_format;  // "" the --format default
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

LogFormat log_format_of(const ServeFlags& f) {
  if (f.log_format == "common") return LogFormat::common;
  if (f.log_format == "combined") return LogFormat::combined;
  if (f.log_format == "json" || (f.log_format.empty() && f.format == "json")) return LogFormat::json;
  return LogFormat::text;
}

/// A usage error found after parsing: one line, exit 2.
struct UsageError {
  std::string message;
};

/// Checks DIR and the static-file flags and turns them into StaticOptions; throws UsageError.
StaticOptions static_options(const ServeFlags& f) {
  StaticOptions o;
  const std::string dir = f.dir.empty() ? "." : f.dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    throw UsageError{fmt::format("serve: cannot use directory '{}': {}", dir, std::strerror(errno))};
  }
  if (!S_ISDIR(st.st_mode)) throw UsageError{fmt::format("serve: '{}' is not a directory", dir)};
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr) {
    throw UsageError{fmt::format("serve: cannot resolve directory '{}': {}", dir, std::strerror(errno))};
  }
  o.root = real;
  o.listing = !f.no_listing;
  o.hidden = f.hidden;
  o.follow_symlinks = f.follow_symlinks;
  o.cors = f.cors;
  o.spa = f.spa;
  o.gzip = f.gzip;
  if (!f.auth.empty()) {
    if (f.auth.find(':') == std::string::npos || f.auth.front() == ':') {
      throw UsageError{fmt::format("serve: --auth takes user:password, got '{}'", f.auth)};
    }
    o.auth = f.auth;
  }
  o.upload = f.upload;
  o.upload_limit = f.upload_limit;
  if (f.cache >= 0) o.cache_seconds = f.cache;
  for (const auto& h : f.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError{fmt::format("serve: --header takes 'Name: value', got '{}'", h)};
    }
    auto header = header_list({h}).front();
    try {
      http::validate_header_name(header.first);
      http::validate_header_value(header.first, header.second);
    } catch (const core::Error& e) {
      throw UsageError{fmt::format("serve: bad --header '{}': {}", h, e.what())};
    }
    o.headers.push_back(std::move(header));
  }
  return o;
}

/// One thread's share of the server: its loop, its http::Server, its handler and signal watch.
struct Worker {
  core::Loop loop;
  std::shared_ptr<http::Server> server;
  std::unique_ptr<StaticHandler> handler;
  std::shared_ptr<core::SignalWatch> signals;
  bool closing = false;
  std::error_code listen_error;
};

/// What the workers share (read-only, or synchronised): the log and the one "closing" line.
struct Shared {
  Shared(const ServeFlags& f, std::ostream& e) : flags(f), err(e) {}
  const ServeFlags& flags;
  std::ostream& err;
  AccessLog log;
  LogFormat format = LogFormat::text;
  std::atomic<bool> announced_closing{false};
  std::mutex err_mutex;
};

void attach_access_log(Worker& w, Shared& shared) {
  w.server->events().request.on([&shared](const std::shared_ptr<http::IncomingMessage>& req,
                                          const std::shared_ptr<http::ServerResponse>& res) {
    // One line per response, when it is done (the status is known then).
    auto record = std::make_shared<AccessRecord>();
    const auto& socket = req->socket();
    record->remote = socket ? socket->remote_address() : std::string();
    record->method = req->method();
    record->url = req->url();
    record->version = req->http_version();
    record->time = std::time(nullptr);
    if (shared.format == LogFormat::combined || shared.format == LogFormat::json) {
      record->referer = std::string(raw_header(*req, "referer").value_or(""));
      record->user_agent = std::string(raw_header(*req, "user-agent").value_or(""));
    }
    if (const auto authorization = raw_header(*req, "authorization")) {
      if (const auto credentials = basic_credentials(*authorization)) record->user = credentials->substr(0, credentials->find(':'));
    }
    // Bytes: everything this response put on the wire, head included (nginx's $bytes_sent).
    std::weak_ptr<net::Socket> weak_socket = socket;
    const std::uint64_t before = socket ? socket->bytes_written() : 0;
    const auto start = std::chrono::steady_clock::now();
    std::weak_ptr<http::ServerResponse> weak = res;
    res->events().finish.once([&shared, weak, weak_socket, before, start, record] {
      auto r = weak.lock();
      if (!r) return;
      record->status = r->status_code;
      if (auto s = weak_socket.lock()) record->bytes = s->bytes_written() - before;
      record->duration_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      shared.log.write(format_access_line(*record, shared.format));
    });
  });
}

void watch_signals(Worker& w, Shared& shared) {
  w.signals = core::SignalWatch::create(w.loop, {SIGINT, SIGTERM}, [&w, &shared](int sig) {
    if (!w.closing) {
      w.closing = true;
      if (!shared.announced_closing.exchange(true)) {
        const std::lock_guard lock(shared.err_mutex);
        log_line(shared.err, shared.flags, {{"event", "closing"}, {"signal", sig}},
                 "httpx serve: closing (in-flight requests finish; signal again to cut them)");
      }
      w.server->close();
    } else {
      w.server->close_all_connections();
    }
  });
}

/// Listens `w` on `port` and runs its loop until 'listening' or 'error'; false on error.
bool listen_worker(Worker& w, const ServeFlags& f, int port, bool reuse_port) {
  bool done = false;
  w.server->events().error.once([&w, &done](std::error_code ec) {
    w.listen_error = ec;
    done = true;
    w.loop.stop();
  });
  w.server->listen(net::ListenOptions{.port = port, .host = f.host, .reuse_port = reuse_port}, [&w, &done] {
    done = true;
    w.loop.stop();
  });
  while (!done) w.loop.run();
  return !w.listen_error;
}

int run_serve(const ServeFlags& f, std::ostream& err) {
  std::optional<StaticOptions> site;
  try {
    if (!f.echo) site = static_options(f);
  } catch (const UsageError& e) {
    err << "httpx: " << e.message << '\n';
    return kExitUsage;
  }
  if (site) {
    // DIR must be readable, or every request would fail: say so now (a runtime error, exit 1).
    if (::access(site->root.c_str(), R_OK | X_OK) != 0) {
      err << fmt::format("httpx: serve: cannot read directory '{}': {}\n", f.dir.empty() ? "." : f.dir,
                         std::strerror(errno));
      return kExitFailure;
    }
  }
  Shared shared(f, err);
  shared.format = log_format_of(f);
  if (!f.access_log.empty() && f.access_log != "-") {
    if (const auto problem = shared.log.open(f.access_log)) {
      err << fmt::format("httpx: serve: cannot open access log '{}': {}\n", f.access_log, *problem);
      return kExitFailure;
    }
  }
  const MimeTypes mime;
  const unsigned threads = f.threads > 0 ? f.threads : std::max(1u, std::thread::hardware_concurrency());

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    try {
      w->server = http::create_server(w->loop, server_options(f));
    } catch (const core::Error& e) {
      err << "httpx: " << e.what() << '\n';
      return kExitUsage;
    }
    w->server->timeout = milliseconds(f.timeout);
    w->server->max_requests_per_socket = f.max_requests_per_socket;
    if (f.max_headers_count_set) w->server->max_headers_count = f.max_headers_count;
    Worker* self = w.get();
    if (site) {
      w->handler = std::make_unique<StaticHandler>(*site, mime, [self] { return self->closing; });
      w->handler->attach(*w->server);
    } else {
      attach_echo(*w->server, [self] { return self->closing; });
    }
    // The access log goes where --access-log says; without it, to stderr unless --quiet.
    if (!f.quiet || !f.access_log.empty()) attach_access_log(*w, shared);
    workers.push_back(std::move(w));
  }

  // The first server picks the port (0: a free one); the others join it.
  int port = f.port;
  for (auto& w : workers) {
    if (!listen_worker(*w, f, port, threads > 1)) {
      err << fmt::format("httpx: cannot listen on {}:{}: {} ({})\n", f.host, port, w->listen_error.message(),
                         core::node_code(w->listen_error));
      return kExitFailure;
    }
    if (const auto address = w->server->address()) port = address->port;
  }
  const auto address = workers.front()->server->address();
  const std::string url = address ? url_of(*address) : std::string();
  log_line(err, f, {{"event", "listening"}, {"url", url}, {"mode", site ? "static" : "echo"}, {"threads", threads}},
           site ? fmt::format("httpx serve: listening on {} (serving {}; {} thread{}; Ctrl-C to stop)", url, site->root,
                              threads, threads == 1 ? "" : "s")
                : fmt::format("httpx serve: listening on {} (echo; Ctrl-C to stop)", url));

  std::atomic<int> exit_code{kExitOk};
  for (auto& w : workers) {
    Worker& ref = *w;
    ref.server->events().error.on([&shared, &ref, &exit_code](std::error_code ec) {
      const std::lock_guard lock(shared.err_mutex);
      shared.err << fmt::format("httpx: serve: {} ({})\n", ec.message(), core::node_code(ec));
      exit_code = kExitFailure;
      ref.loop.stop();
    });
    watch_signals(ref, shared);
  }
  std::vector<std::thread> running;
  for (std::size_t i = 1; i < workers.size(); ++i) running.emplace_back([w = workers[i].get()] { w->loop.run(); });
  workers.front()->loop.run();
  for (auto& t : running) t.join();
  return exit_code;
}

}  // namespace

void add_serve_command(Cli& cli) {
  auto* sub = cli.app->add_subcommand("serve", "Serve a directory over HTTP, or echo requests (libhttp's http.Server)");
  auto f = std::make_shared<ServeFlags>();
  sub->add_option("dir", f->dir, "Directory to serve (default: the current directory)");
  sub->add_flag("--echo", f->echo,
                "Instead of files, answer every request with 200 and a JSON object of its method, url, "
                "httpVersion, headers, rawHeaders, trailers, rawTrailers and body");
  sub->add_option("--host,-b,--bind", f->host, "Address to listen on (default 127.0.0.1; :: or 0.0.0.0 for all)");
  sub->add_option("-p,--port", f->port, "Port to listen on; 0 picks a free one (default 8080)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--threads", f->threads,
                  "Threads, each with its own loop and server on the shared port (default: one per core)")
      ->check(CLI::Range(1, 256));
  sub->add_flag("--no-listing", f->no_listing, "Answer 403 for directories without index.html instead of listing them");
  sub->add_flag("--hidden", f->hidden, "Serve and list dotfiles (hidden by default: 404)");
  sub->add_flag("--follow-symlinks", f->follow_symlinks, "Follow symlinks that lead outside DIR (refused by default: 403)");
  sub->add_flag("--cors", f->cors, "Send Access-Control-Allow-Origin: * and answer CORS preflight requests");
  sub->add_flag("--spa", f->spa, "Single-page app: unknown paths are answered with /index.html");
  sub->add_flag("--gzip", f->gzip,
                "Serve file.br / file.gz siblings to clients that accept them, and gzip text files on the fly");
  sub->add_option("-a,--auth", f->auth, "Require HTTP Basic authentication with this user:password");
  sub->add_flag("-u,--upload", f->upload, "Accept PUT of files and multipart/form-data POST into DIR");
  sub->add_option("--upload-limit", f->upload_limit, "Largest upload body in bytes (default 67108864)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-c,--cache", f->cache, "Cache-Control max-age in seconds for files (0: no-cache; default: none)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("-H,--header", f->headers, "Add 'Name: value' to every response (repeatable)");
  sub->add_option("--access-log", f->access_log, "Append the access log to FILE instead of stderr ('-': stderr)");
  sub->add_option("--log-format", f->log_format,
                  "Access log format: text, common, combined or json (default: text, or json with --format json)")
      ->check(CLI::IsMember({"text", "common", "combined", "json"}));
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
      if (f->echo && !f->dir.empty()) {
        err << "httpx: serve: DIR and --echo exclude each other: give one (see 'httpx serve --help')\n";
        return kExitUsage;
      }
      return run_serve(*f, err);
    };
  });
}

}  // namespace httpx::app
