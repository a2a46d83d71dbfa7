/// The HTTP server: parses requests from each accepted connection and hands them to 'request'
/// with a ServerResponse. Node: `http.Server` and `http.createServer()`.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/net/server.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http {

namespace detail {
class ServerConnection;
}

/// Makes the IncomingMessage for each request (a derived class). Node: the `IncomingMessage` option.
using IncomingMessageFactory = std::function<std::shared_ptr<IncomingMessage>(std::shared_ptr<net::Socket>)>;
/// Makes the ServerResponse for each request. Node: the `ServerResponse` option.
using ServerResponseFactory =
    std::function<std::shared_ptr<ServerResponse>(std::shared_ptr<IncomingMessage>, OutgoingMessageOptions)>;
/// A 'request' (or 'checkContinue', 'checkExpectation') listener.
using RequestListener =
    std::function<void(const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<ServerResponse>&)>;

/// Options of `create_server`, with Node 20's defaults. A timeout of 0 disables it.
/// Node: the options of `http.createServer([options])`.
struct ServerOptions {
  std::chrono::milliseconds connections_checking_interval{30000};  ///< headers/request timeout sweep; Node 30000.
  /// Time to receive a whole request head; empty = min(60000, request_timeout). Node: headersTimeout.
  std::optional<std::chrono::milliseconds> headers_timeout{};
  std::size_t high_water_mark = 16384;  ///< sockets' buffers (both ways); Node: highWaterMark 16384.
  bool insecure_http_parser = false;    ///< accept invalid HTTP (llhttp lenient flags); Node: false.
  IncomingMessageFactory incoming_message{};  ///< Node: IncomingMessage (default the class itself).
  ServerResponseFactory server_response{};    ///< Node: ServerResponse.
  bool join_duplicate_headers = false;  ///< join duplicates with ", " instead of dropping them; Node: false.
  bool keep_alive = false;              ///< TCP keep-alive on accepted sockets; Node: keepAlive false.
  std::chrono::milliseconds keep_alive_initial_delay{0};  ///< Node: keepAliveInitialDelay 0.
  std::chrono::milliseconds keep_alive_timeout{5000};     ///< idle time after a response; Node 5000.
  std::size_t max_header_size = 16384;  ///< bytes of request line + headers; Node: maxHeaderSize 16384.
  bool no_delay = true;                 ///< disable Nagle on accepted sockets; Node: noDelay true.
  std::chrono::milliseconds request_timeout{300000};  ///< time to receive a whole request; Node 300000.
  bool require_host_header = true;      ///< answer 400 to an HTTP/1.1 request without Host; Node: true.
  std::vector<std::string> unique_headers{};  ///< headers sent once (values joined with "; "); Node: uniqueHeaders.
  bool reject_non_standard_body_writes = false;  ///< throw on a body for HEAD/204/304; Node: false.
};

/// The events of an HTTP server: Node's http.Server events plus those of the net.Server under it.
struct ServerEvents {
  /// Node: 'request' (request, response).
  core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<ServerResponse>&> request;
  /// Node: 'checkContinue' — `Expect: 100-continue`; with no listener the server sends 100 itself.
  core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<ServerResponse>&> check_continue;
  /// Node: 'checkExpectation' — another Expect value; with no listener the answer is 417.
  core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<ServerResponse>&> check_expectation;
  /// Node: 'clientError' (error, socket) — a bad request, a timeout, a reset; with no listener the
  /// server answers 400/413/431/408 (when it can) and destroys the socket.
  core::Signal<std::error_code, const std::shared_ptr<net::Socket>&> client_error;
  /// Node: 'connect' (request, socket, head) — a CONNECT; with no listener the socket is destroyed.
  core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<net::Socket>&, std::string_view> connect;
  /// Node: 'upgrade' (request, socket, head) — a request with Upgrade, handed over when listened to.
  core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<net::Socket>&, std::string_view> upgrade;
  /// Node: 'dropRequest' (request, socket) — refused by max_requests_per_socket (answered 503).
  core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<net::Socket>&> drop_request;
  /// Node: 'timeout' (socket) — a socket idle for `timeout`; with no listener anywhere it is destroyed.
  core::Signal<const std::shared_ptr<net::Socket>&> timeout;
  /// Node: 'connection' (socket) — a new connection.
  core::Signal<const std::shared_ptr<net::Socket>&> connection;
  /// Node: 'listening'.
  core::Signal<> listening;
  /// Node: 'close' — closed and every connection ended.
  core::Signal<> close;
  /// Node: 'error' — e.g. EADDRINUSE.
  core::ErrorSignal error;
  /// Node: 'drop' (address, port) — refused by max_connections.
  core::Signal<const std::string&, int> drop;
};

/// An HTTP/1.1 server. Node: `http.Server` (a net.Server underneath, reachable through net_server()).
/// Made by `create_server()`; lives while listening, connected, or referenced.
class Server : public std::enable_shared_from_this<Server> {
 public:
  /// Node: `http.createServer([options][, requestListener])`. Throws ERR_OUT_OF_RANGE when
  /// headers_timeout exceeds request_timeout (both non-zero), as Node does.
  static std::shared_ptr<Server> create(core::Loop& loop, ServerOptions options = {},
                                        RequestListener on_request = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The server's events.
  ServerEvents& events() noexcept { return events_; }
  /// The loop the server and its connections belong to.
  core::Loop& loop() const noexcept { return loop_; }
  /// The listener underneath. Node: the net.Server an http.Server is.
  net::Server& net_server() noexcept { return *net_; }

  /// Starts listening (port/host/backlog/path); 'listening' and `on_listening` follow.
  /// Node: `server.listen(options[, callback])`.
  void listen(net::ListenOptions options, std::function<void()> on_listening = {});
  /// Stops accepting, closes idle connections, and calls `on_close` once every connection ended.
  /// Node: `server.close([callback])`.
  void close(std::function<void(std::error_code)> on_close = {});
  /// close(), for scope-based cleanup: `on_closed` runs when the server has closed.
  /// Node: `server[Symbol.asyncDispose]()`.
  void async_dispose(std::function<void(std::error_code)> on_closed = {});
  /// Destroys every connection. Node: `server.closeAllConnections()`.
  void close_all_connections();
  /// Destroys every connection with no request in progress. Node: `server.closeIdleConnections()`.
  void close_idle_connections();
  /// Sets `timeout` (socket idle timeout for new connections) and adds `on_timeout` to 'timeout'.
  /// Node: `server.setTimeout([msecs][, callback])`.
  Server& set_timeout(std::chrono::milliseconds timeout,
                      std::function<void(const std::shared_ptr<net::Socket>&)> on_timeout = {});
  /// Node: `server.address()`.
  std::optional<net::ServerAddress> address() const { return net_->address(); }
  /// Node: `server.listening`.
  bool listening() const noexcept { return net_->listening(); }
  /// Node: `server.getConnections()`.
  std::size_t get_connections() const noexcept { return net_->get_connections(); }
  /// Node: `server.ref()`.
  void ref() { net_->ref(); }
  /// Node: `server.unref()`.
  void unref() { net_->unref(); }

  // Node's writable server properties, read whenever they are needed.
  std::chrono::milliseconds headers_timeout{60000};    ///< Node: server.headersTimeout.
  std::chrono::milliseconds request_timeout{300000};   ///< Node: server.requestTimeout.
  std::chrono::milliseconds keep_alive_timeout{5000};  ///< Node: server.keepAliveTimeout.
  std::chrono::milliseconds timeout{0};                ///< socket idle timeout, 0 = none; Node: server.timeout.
  std::optional<std::size_t> max_headers_count{};      ///< header pairs kept; empty = 1000; Node: server.maxHeadersCount.
  std::size_t max_requests_per_socket = 0;             ///< 0 = unlimited; Node: server.maxRequestsPerSocket.

 private:
  friend class detail::ServerConnection;
  Server(core::Loop& loop, ServerOptions options);
  void on_connection(const std::shared_ptr<net::Socket>& socket);
  void setup_connections_tracking();
  void check_connections();

  core::Loop& loop_;
  ServerOptions options_;
  ServerEvents events_;
  std::shared_ptr<net::Server> net_;
  std::shared_ptr<const std::vector<std::string>> unique_headers_;
  std::shared_ptr<core::Timer> checking_timer_;
  /// Every open connection, for the timeout sweep and close*Connections (Node: ConnectionsList).
  std::vector<detail::ServerConnection*> connections_;
};

/// Node: `http.createServer([options][, requestListener])`.
std::shared_ptr<Server> create_server(core::Loop& loop, ServerOptions options = {}, RequestListener on_request = {});
/// Node: `http.createServer(requestListener)`.
std::shared_ptr<Server> create_server(core::Loop& loop, RequestListener on_request);

}  // namespace httpx::http
