// `httpx request` / `httpx get`: one exchange through http::request. Without --format json the
// body streams to stdout as it arrives; with it, one JSON object describes the exchange exactly as
// Node's IncomingMessage sees it (tests/oracle/client_request.js is the reference).
#include "httpx/request/request_command.hpp"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include <httpx/http.hpp>

#include "httpx/exit_codes.hpp"
#include "httpx/header_lines.hpp"
#include "httpx/message_json.hpp"

namespace httpx::app {
namespace {

using nlohmann::ordered_json;
using std::chrono::milliseconds;

struct RequestFlags {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // 'Name: value'
  std::optional<std::string> data;
  std::string format = "text";
  bool keep_alive = false;
  std::size_t max_sockets = 0;  // 0: unlimited
  long long timeout = 0;        // 0: none
  std::optional<std::size_t> max_header_size;
  bool insecure_http_parser = false;
  bool join_duplicate_headers = false;
  std::string unix_socket;
  std::string local_address;
  bool ipv4 = false;
  bool ipv6 = false;
};

// Node's error message for `ec` as the exchange met it: socket errors name their system call
// (and, for connect, the address), parse errors their reason.
std::string error_message(std::error_code ec, const http::ClientRequest* req, bool connected,
                          const std::string& where) {
  const std::string code = core::node_code(ec);
  // An errno-style code from the operating system or the resolver (not one of libhttp's own,
  // which carry Node's exact messages, and not a parse error).
  const bool system = ec.category() != core::category() && code.size() > 1 && code[0] == 'E' &&
                      code.rfind("ERR_", 0) != 0;
  if (system) {
    if (code == "ENOTFOUND" || code == "EAI_AGAIN") return fmt::format("getaddrinfo {} {}", code, where);
    return connected ? fmt::format("read {}", code) : fmt::format("connect {} {}", code, where);
  }
  if (req && !req->parse_error_reason().empty()) return "Parse Error: " + req->parse_error_reason();
  return ec.message();
}

class Exchange {
 public:
  Exchange(core::Loop& loop, const RequestFlags& f, std::ostream& out) : loop_(loop), f_(f), out_(out) {
    json_["request"] = {{"method", f.method}, {"url", f.url}, {"headers", ordered_json::object()}};
    json_["response"] = nullptr;
    json_["timings"] = ordered_json::object();
    json_["error"] = nullptr;
  }

  // Starts the request; false when it was refused before any I/O (the error is recorded).
  bool start() {
    http::ClientRequestOptions options;
    options.method = f_.method;
    if (!f_.headers.empty()) options.headers = header_list(f_.headers);
    http::AgentOptions agent_options{.keep_alive = f_.keep_alive};
    if (f_.max_sockets) agent_options.max_sockets = f_.max_sockets;
    options.agent = http::Agent::create(loop_, agent_options);
    if (f_.timeout > 0) options.timeout = milliseconds(f_.timeout);
    if (f_.max_header_size) options.max_header_size = *f_.max_header_size;
    if (f_.insecure_http_parser) options.insecure_http_parser = true;
    if (f_.join_duplicate_headers) options.join_duplicate_headers = true;
    if (!f_.unix_socket.empty()) options.socket_path = f_.unix_socket;
    if (!f_.local_address.empty()) options.local_address = f_.local_address;
    if (f_.ipv4) options.family = 4;
    if (f_.ipv6) options.family = 6;
    try {
      req_ = http::request(loop_, f_.url, options);
    } catch (const core::Error& e) {
      json_["error"] = {{"code", e.node_code()}, {"message", e.what()}};
      return false;
    }
    json_["request"]["method"] = req_->method();
    where_ = f_.unix_socket.empty() ? fmt::format("{}:{}", req_->host(), req_->port()) : f_.unix_socket;
    listen();
    if (f_.data) {
      req_->end(*f_.data);
    } else {
      req_->end();
    }
    json_["request"]["headers"] = header_object(req_->get_headers());
    return true;
  }

  // The exit code: 0 for a complete response without an error.
  int finish(std::ostream& err) {
    if (res_) {
      auto& r = json_["response"];
      r["trailers"] = header_object(res_->trailers());
      r["rawTrailers"] = string_list(res_->raw_trailers());
      r["body"] = core::decode(body_, core::Encoding::utf8);
    }
    json_["timings"]["done"] = since_start();
    if (f_.format == "json") {
      out_ << json_.dump() << '\n';
    } else if (!json_["error"].is_null()) {
      err << fmt::format("httpx: {} ({})\n", json_["error"]["message"].get<std::string>(),
                         json_["error"]["code"].get<std::string>());
    }
    out_.flush();
    return complete_ && json_["error"].is_null() ? kExitOk : kExitFailure;
  }

 private:
  double since_start() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }

  void fail(std::error_code ec) {
    if (!json_["error"].is_null()) return;
    json_["error"] = {{"code", core::node_code(ec)}, {"message", error_message(ec, req_.get(), connected_, where_)}};
  }

  void listen() {
    auto& ev = req_->events();
    ev.socket.on([this](const std::shared_ptr<net::Socket>& socket) {
      json_["timings"]["socket"] = since_start();
      if (!socket->connecting()) connected_ = true;
      socket->events().connect.once([this] {
        connected_ = true;
        json_["timings"]["connect"] = since_start();
      });
      socket->events().data.once([this](std::string_view) {
        if (!json_["timings"].contains("firstByte")) json_["timings"]["firstByte"] = since_start();
      });
    });
    ev.error.on([this](std::error_code ec) { fail(ec); });
    ev.timeout.on([this, timeout = f_.timeout] {
      // --timeout: the connection was idle that long; the exchange is abandoned.
      if (!json_["error"].is_null()) return;
      json_["error"] = {{"code", "ETIMEDOUT"}, {"message", fmt::format("no data for {} ms", timeout)}};
      req_->destroy();
    });
    ev.response.on([this](const std::shared_ptr<http::IncomingMessage>& res) {
      res_ = res;
      json_["timings"]["response"] = since_start();
      json_["response"] = {{"httpVersion", res->http_version()},
                           {"statusCode", res->status_code()},
                           {"statusMessage", head_text(res->status_message())},
                           {"headers", header_object(res->headers())},
                           {"rawHeaders", string_list(res->raw_headers())},
                           {"trailers", ordered_json::object()},
                           {"rawTrailers", ordered_json::array()},
                           {"body", ""}};
      res->events().data.on([this](std::string_view chunk) {
        if (f_.format == "json") {
          body_.append(chunk);
        } else {
          out_.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        }
      });
      res->events().end.on([this] {
        complete_ = true;
        json_["timings"]["end"] = since_start();
      });
      res->events().error.on([this](std::error_code ec) { fail(ec); });
    });
  }

  core::Loop& loop_;
  const RequestFlags& f_;
  std::ostream& out_;
  std::shared_ptr<http::ClientRequest> req_;
  std::shared_ptr<http::IncomingMessage> res_;
  std::string body_;
  std::string where_;
  ordered_json json_ = ordered_json::object();
  bool complete_ = false;
  bool connected_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

int run_request(const RequestFlags& f, std::ostream& out, std::ostream& err) {
  if (f.ipv4 && f.ipv6) {
    err << "httpx: -4 and -6 exclude each other (see 'httpx request --help')\n";
    return kExitUsage;
  }
  core::Loop loop;
  Exchange exchange(loop, f, out);
  if (exchange.start()) loop.run();
  return exchange.finish(err);
}

// The flags `request` and `get` share: request options and agent options.
void add_exchange_flags(CLI::App& sub, RequestFlags& f) {
  sub.add_option("-H,--header", f.headers, "A request header 'Name: value'; repeat for more (headers)")
      ->check(header_line_check());
  sub.add_option("-d,--data", f.data, "Send DATA as the request body, framed with Content-Length");
  sub.add_option("--format", f.format,
                 "Output: text (the body on stdout) or json (one object describing the exchange)")
      ->check(CLI::IsMember({"text", "json"}));
  sub.add_flag("--keep-alive", f.keep_alive, "Ask to keep the connection open (the agent's keepAlive)");
  sub.add_option("--max-sockets", f.max_sockets, "Connections per origin; 0 = unlimited (the agent's maxSockets)");
  sub.add_option("--timeout", f.timeout,
                 "Milliseconds without data before the exchange is abandoned with ETIMEDOUT; 0 = none (timeout)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--max-header-size", f.max_header_size,
                 "Maximum bytes of the response's status line and headers (maxHeaderSize, 16384)");
  sub.add_flag("--insecure-http-parser", f.insecure_http_parser,
               "Accept invalid HTTP that the strict parser rejects (insecureHTTPParser)");
  sub.add_flag("--join-duplicate-headers", f.join_duplicate_headers,
               "Join duplicate response headers with ', ' instead of keeping the first (joinDuplicateHeaders)");
  sub.add_option("--unix-socket", f.unix_socket, "Connect to this Unix-domain socket instead of the URL's host (socketPath)");
  sub.add_option("--local-address", f.local_address, "Local address to connect from (localAddress)");
  sub.add_flag("-4,--ipv4", f.ipv4, "Resolve the host to IPv4 addresses only (family 4)");
  sub.add_flag("-6,--ipv6", f.ipv6, "Resolve the host to IPv6 addresses only (family 6)");
}

}  // namespace

void add_request_commands(Cli& cli) {
  auto f = std::make_shared<RequestFlags>();
  auto* request = cli.app->add_subcommand("request", "Send one HTTP request and print the response (http.request)");
  request->add_option("method", f->method, "The request method, e.g. GET, POST, PUT")->required();
  request->add_option("url", f->url, "The URL, e.g. http://127.0.0.1:8080/path")->required();
  add_exchange_flags(*request, *f);
  request->callback([&cli, f] {
    cli.run = [f](std::ostream& out, std::ostream& err) { return run_request(*f, out, err); };
  });

  auto g = std::make_shared<RequestFlags>();
  auto* get = cli.app->add_subcommand("get", "Send a GET request and print the response (http.get)");
  get->add_option("url", g->url, "The URL, e.g. http://127.0.0.1:8080/path")->required();
  add_exchange_flags(*get, *g);
  get->callback([&cli, g] {
    cli.run = [g](std::ostream& out, std::ostream& err) { return run_request(*g, out, err); };
  });
}

}  // namespace httpx::app
