// Follows Node's http.Server in lib/_http_server.js: storeHTTPOptions validates and stores the
// options, a net.Server accepts (allowHalfOpen, noDelay by default), each connection gets a
// ServerConnection, and one unref'd interval per server sweeps for headers/request timeouts
// (setupConnectionsTracking / checkConnections) instead of a timer per connection.
#include "httpx/http/server.hpp"

#include <algorithm>

#include "detail/http_text.hpp"
#include "detail/server_connection.hpp"

namespace httpx::http {

using std::chrono::milliseconds;

std::shared_ptr<Server> Server::create(core::Loop& loop, ServerOptions options, RequestListener on_request) {
  // Node: headersTimeout defaults to min(60000, requestTimeout) and may not exceed it.
  if (options.request_timeout.count() < 0) {
    throw core::Error(core::errc::err_out_of_range,
                      "The value of \"requestTimeout\" is out of range. It must be >= 0. Received " +
                          std::to_string(options.request_timeout.count()));
  }
  const milliseconds headers_timeout =
      options.headers_timeout ? *options.headers_timeout : std::min(milliseconds(60000), options.request_timeout);
  if (headers_timeout.count() < 0 || options.keep_alive_timeout.count() < 0 ||
      options.connections_checking_interval.count() < 0) {
    throw core::Error(core::errc::err_out_of_range, "A server timeout is out of range. It must be >= 0.");
  }
  if (options.request_timeout.count() > 0 && headers_timeout.count() > 0 && headers_timeout > options.request_timeout) {
    throw core::Error(core::errc::err_out_of_range,
                      "The value of \"headersTimeout\" is out of range. It must be <= requestTimeout. Received " +
                          std::to_string(headers_timeout.count()));
  }
  auto server = std::shared_ptr<Server>(new Server(loop, std::move(options)));
  server->headers_timeout = headers_timeout;
  if (on_request) server->events_.request.on(std::move(on_request));

  // The net.Server's events become ours; the connection handling runs before user listeners.
  std::weak_ptr<Server> weak = server;
  auto& net_events = server->net_->events();
  net_events.connection.on([weak](const std::shared_ptr<net::Socket>& socket) {
    if (auto s = weak.lock()) s->on_connection(socket);
  });
  net_events.listening.on([weak] {
    if (auto s = weak.lock()) {
      s->setup_connections_tracking();
      s->events_.listening.emit();
    }
  });
  net_events.close.on([weak] {
    if (auto s = weak.lock()) s->events_.close.emit();
  });
  net_events.error.on([weak](std::error_code ec) {
    if (auto s = weak.lock()) s->events_.error.emit(ec);
  });
  net_events.drop.on([weak](const std::string& address, int port) {
    if (auto s = weak.lock()) s->events_.drop.emit(address, port);
  });
  return server;
}

Server::Server(core::Loop& loop, ServerOptions options)
    : request_timeout(options.request_timeout),
      keep_alive_timeout(options.keep_alive_timeout),
      loop_(loop),
      options_(std::move(options)),
      net_(net::Server::create(loop, net::ServerOptions{.allow_half_open = true,
                                                        .pause_on_connect = false,
                                                        .no_delay = options_.no_delay,
                                                        .keep_alive = options_.keep_alive,
                                                        .keep_alive_initial_delay = options_.keep_alive_initial_delay,
                                                        .high_water_mark = options_.high_water_mark})) {
  if (!options_.unique_headers.empty()) {
    std::vector<std::string> lower;
    for (const auto& name : options_.unique_headers) lower.push_back(detail::to_lower(name));
    unique_headers_ = std::make_shared<const std::vector<std::string>>(std::move(lower));
  }
}

Server::~Server() {
  if (checking_timer_) checking_timer_->close();
}

void Server::on_connection(const std::shared_ptr<net::Socket>& socket) {
  detail::ServerConnection::start(shared_from_this(), socket);
  events_.connection.emit(socket);
}

void Server::listen(net::ListenOptions options, std::function<void()> on_listening) {
  net_->listen(std::move(options), std::move(on_listening));
}

void Server::setup_connections_tracking() {
  if (checking_timer_) checking_timer_->close();
  checking_timer_.reset();
  if (options_.connections_checking_interval.count() <= 0) return;
  std::weak_ptr<Server> weak = shared_from_this();
  checking_timer_ = loop_.set_interval(
      [weak] {
        if (auto s = weak.lock()) s->check_connections();
      },
      options_.connections_checking_interval);
  checking_timer_->unref();
}

void Server::check_connections() {
  if (headers_timeout.count() == 0 && request_timeout.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  // A copy: a clientError listener may close connections while we go.
  std::vector<std::weak_ptr<detail::ServerConnection>> expired;
  for (auto* conn : connections_) {
    if (conn->expired(now, headers_timeout, request_timeout)) expired.push_back(conn->weak_from_this());
  }
  for (auto& weak : expired) {
    if (auto conn = weak.lock()) conn->on_request_timeout();
  }
}

void Server::close(std::function<void(std::error_code)> on_close) {
  // Node's httpServerPreClose: idle keep-alive connections would otherwise hold close() open.
  close_idle_connections();
  if (checking_timer_) {
    checking_timer_->close();
    checking_timer_.reset();
  }
  net_->close(std::move(on_close));
}

void Server::async_dispose(std::function<void(std::error_code)> on_closed) { close(std::move(on_closed)); }

void Server::close_all_connections() {
  std::vector<std::weak_ptr<detail::ServerConnection>> all;
  for (auto* conn : connections_) all.push_back(conn->weak_from_this());
  for (auto& weak : all) {
    if (auto conn = weak.lock()) conn->destroy_socket();
  }
}

void Server::close_idle_connections() {
  std::vector<std::weak_ptr<detail::ServerConnection>> idle;
  for (auto* conn : connections_) {
    if (conn->idle()) idle.push_back(conn->weak_from_this());
  }
  for (auto& weak : idle) {
    if (auto conn = weak.lock()) conn->destroy_socket();
  }
}

Server& Server::set_timeout(milliseconds msecs, std::function<void(const std::shared_ptr<net::Socket>&)> on_timeout) {
  timeout = msecs;
  if (on_timeout) events_.timeout.on(std::move(on_timeout));
  return *this;
}

std::shared_ptr<Server> create_server(core::Loop& loop, ServerOptions options, RequestListener on_request) {
  return Server::create(loop, std::move(options), std::move(on_request));
}

std::shared_ptr<Server> create_server(core::Loop& loop, RequestListener on_request) {
  return Server::create(loop, ServerOptions{}, std::move(on_request));
}

}  // namespace httpx::http
