/// A listening TCP or Unix-domain socket that accepts connections. Node: `net.Server`.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::net {

/// The events of a listener.
struct ServerEvents {
  core::Signal<const std::shared_ptr<Socket>&> connection;  ///< Node: 'connection' — a new socket.
  core::Signal<> listening;                                 ///< Node: 'listening' — bound.
  core::Signal<> close;   ///< Node: 'close' — closed and every connection it accepted ended.
  core::ErrorSignal error;  ///< Node: 'error' — e.g. EADDRINUSE from listen().
  /// Node: 'drop' — a connection refused because max_connections was reached (address, port).
  core::Signal<const std::string&, int> drop;
};

/// Options of a listener. Node: `net.createServer(options)`.
struct ServerOptions {
  bool allow_half_open = false;        ///< Accepted sockets keep writing after the peer ended.
  bool pause_on_connect = false;       ///< Accepted sockets start paused; Node: pauseOnConnect.
  bool no_delay = false;               ///< Disable Nagle on accepted sockets; Node: noDelay.
  bool keep_alive = false;             ///< TCP keep-alive on accepted sockets; Node: keepAlive.
  std::chrono::milliseconds keep_alive_initial_delay{0};  ///< Node: keepAliveInitialDelay.
  std::size_t high_water_mark = 16384;  ///< For accepted sockets; Node: highWaterMark.
};

/// Where and how to listen. Node: `server.listen(options)`.
struct ListenOptions {
  int port = 0;             ///< 0 picks a free port.
  std::string host{};         ///< "" listens on :: (dual-stack) when IPv6 works, else 0.0.0.0.
  int backlog = 511;        ///< Node's default backlog.
  std::string path{};         ///< A Unix-domain socket path instead of host/port.
  bool reuse_port = false;  ///< SO_REUSEPORT: several loops (threads) accept on one port.
  bool ipv6_only = false;   ///< For "::": no IPv4-mapped connections; Node: ipv6Only.
};

/// The bound address. Node: `server.address()`.
struct ServerAddress {
  std::string address{};  ///< IP address, or the path of a Unix-domain socket.
  std::string family{};   ///< "IPv4", "IPv6", or "" for a path.
  int port = 0;         ///< 0 for a path.
};

/// A listener. Node: `net.Server`. Made by `create()`; accepted connections are emitted as
/// 'connection' with a connected `Socket`. While listening and referenced it keeps the loop alive.
class Server : public std::enable_shared_from_this<Server> {
 public:
  /// Node: `net.createServer([options])`.
  static std::shared_ptr<Server> create(core::Loop& loop, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The listener's events ('connection', 'listening', 'close', 'error', 'drop').
  ServerEvents& events() noexcept { return events_; }
  /// The loop this listener (and every socket it accepts) belongs to.
  core::Loop& loop() const noexcept { return loop_; }

  /// Starts listening; 'listening' (and `on_listening`) follow on a later tick, or 'error'
  /// (EADDRINUSE, EACCES, ...). Throws Error(ERR_SERVER_ALREADY_LISTEN) when already listening and
  /// Error(ERR_SOCKET_BAD_PORT) for a port outside 0..65535. Node: `server.listen(options[, cb])`.
  void listen(ListenOptions options, std::function<void()> on_listening = {});
  /// Stops accepting. 'close' (and `on_close`) follow once every accepted connection has closed;
  /// `on_close` receives ERR_SERVER_NOT_RUNNING when the server was not listening ('close' is
  /// still emitted then, as Node does).
  /// Node: `server.close([callback])`.
  void close(std::function<void(std::error_code)> on_close = {});
  /// The bound address; empty before 'listening'. Node: `server.address()`.
  std::optional<ServerAddress> address() const;
  /// Node: `server.listening`.
  bool listening() const noexcept { return listening_; }
  /// Accepted connections not yet closed. Node: `server.getConnections()`.
  std::size_t get_connections() const noexcept { return connections_; }
  /// Refuse connections beyond this many (emitting 'drop'); empty = no limit.
  /// Node: `server.maxConnections`.
  std::optional<std::size_t> max_connections;
  /// Node: `server.unref()`.
  void unref();
  /// Node: `server.ref()`.
  void ref();

 private:
  struct Impl;
  Server(core::Loop& loop, ServerOptions options);
  void do_accept();
  void on_accept(std::error_code ec);
  void adopt(std::unique_ptr<detail::Transport> transport);
  void update_ref();
  void maybe_emit_close();
  std::error_code bind_tcp(const ListenOptions& options);
  std::error_code bind_unix(const ListenOptions& options);

  core::Loop& loop_;
  ServerOptions options_;
  ServerEvents events_;
  std::unique_ptr<Impl> impl_;
  bool listening_ = false;
  bool closing_ = false;
  bool close_emitted_ = false;
  bool refed_ = true;
  core::LoopRef loop_ref_;
  std::size_t connections_ = 0;
  std::vector<std::function<void(std::error_code)>> close_callbacks_;
};

}  // namespace httpx::net
