// Follows Node's lib/net.js (Server): listen errors are emitted, not thrown; 'close' waits for
// the accepted connections; a Unix socket path is removed again on close.
#include "httpx/net/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/socket_base.hpp>
#include <unordered_map>

#include "detail/loop_impl.hpp"
#include "detail/transport.hpp"

namespace httpx::net {

namespace {
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}  // namespace

struct Server::Impl {
  explicit Impl(asio::io_context& ctx) : tcp(ctx), unix_acceptor(ctx) {}
  asio::ip::tcp::acceptor tcp;
  asio::local::stream_protocol::acceptor unix_acceptor;
  std::string path;  // the Unix socket to unlink on close
  std::optional<asio::ip::tcp::socket> tcp_peer;
  std::optional<asio::local::stream_protocol::socket> unix_peer;
  std::shared_ptr<core::Timer> retry;  // after EMFILE/ENFILE
  // The accepted connections until their 'close': an open socket lives on even when the user kept
  // no reference (as a libuv handle does), so 'close' of the server is not left waiting forever.
  std::unordered_map<Socket*, std::shared_ptr<Socket>> sockets;
};

Server::Server(core::Loop& loop, ServerOptions options)
    : loop_(loop), options_(options), impl_(std::make_unique<Impl>(core::detail::io_context(loop))), loop_ref_(loop) {}

Server::~Server() {
  if (!impl_->path.empty()) ::unlink(impl_->path.c_str());
}

std::shared_ptr<Server> Server::create(core::Loop& loop, ServerOptions options) {
  return std::shared_ptr<Server>(new Server(loop, options));
}

// A listener keeps the loop running while it listens and is referenced (libuv's rule).
void Server::update_ref() { loop_ref_.hold(refed_ && listening_); }

void Server::ref() {
  refed_ = true;
  update_ref();
}

void Server::unref() {
  refed_ = false;
  update_ref();
}

std::error_code Server::bind_tcp(const ListenOptions& options) {
  std::error_code ec;
  asio::ip::address address;
  if (options.host.empty()) {
    address = asio::ip::address_v6::any();
  } else {
    address = asio::ip::make_address(options.host, ec);
    if (ec) {
      // A host name: Node resolves it first; the first address wins.
      asio::ip::tcp::resolver resolver(core::detail::io_context(loop_));
      auto results = resolver.resolve(options.host, "", ec);
      if (ec) return ec;
      if (results.empty()) return asio::error::host_not_found;
      address = results.begin()->endpoint().address();
    }
  }
  const asio::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  auto& acceptor = impl_->tcp;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) detail::set_close_on_exec(acceptor.native_handle());
  if (ec && options.host.empty()) {
    // No IPv6 on this machine: Node falls back to 0.0.0.0.
    return bind_tcp(ListenOptions{options.port, "0.0.0.0", options.backlog, {}, options.reuse_port, false});
  }
  if (ec) return ec;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (options.reuse_port) acceptor.set_option(ReusePort(true), ec);
  if (address.is_v6()) acceptor.set_option(asio::ip::v6_only(options.ipv6_only), ec);
  ec.clear();
  acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(options.backlog, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

std::error_code Server::bind_unix(const ListenOptions& options) {
  std::error_code ec;
  auto& acceptor = impl_->unix_acceptor;
  const asio::local::stream_protocol::endpoint endpoint(options.path);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) detail::set_close_on_exec(acceptor.native_handle());
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(options.backlog, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
    return ec;
  }
  impl_->path = options.path;
  return ec;
}

void Server::listen(ListenOptions options, std::function<void()> on_listening) {
  if (listening_) {
    throw core::Error(core::errc::err_server_already_listen,
                      "Listen method has been called more than once without closing.");
  }
  if (options.path.empty() && (options.port < 0 || options.port > 65535)) {
    throw core::Error(core::errc::err_socket_bad_port, "options.port should be >= 0 and < 65536. Received type number (" +
                                                           std::to_string(options.port) + ").");
  }
  closing_ = false;
  close_emitted_ = false;
  const std::error_code ec = options.path.empty() ? bind_tcp(options) : bind_unix(options);
  auto self = shared_from_this();
  if (ec) {
    loop_.post([self, ec] { self->events_.error.emit(ec); });
    return;
  }
  listening_ = true;
  update_ref();
  if (on_listening) events_.listening.once(std::move(on_listening));
  loop_.post([self] {
    if (!self->listening_) return;
    self->events_.listening.emit();
  });
  do_accept();
}

void Server::do_accept() {
  auto self = shared_from_this();
  auto& ctx = core::detail::io_context(loop_);
  if (impl_->tcp.is_open()) {
    impl_->tcp_peer.emplace(ctx);
    impl_->tcp.async_accept(*impl_->tcp_peer, [self](const std::error_code& ec) { self->on_accept(ec); });
  } else if (impl_->unix_acceptor.is_open()) {
    impl_->unix_peer.emplace(ctx);
    impl_->unix_acceptor.async_accept(*impl_->unix_peer, [self](const std::error_code& ec) { self->on_accept(ec); });
  }
}

void Server::on_accept(std::error_code ec) {
  if (ec == asio::error::operation_aborted || !listening_) return;
  if (ec == asio::error::connection_aborted) {
    do_accept();
    return;
  }
  if (ec) {
    // libuv keeps the listener after a failed accept (out of descriptors, out of memory, ...);
    // so do we, trying again a little later so a persistent failure does not spin the loop.
    // Running out of descriptors is routine under load and not worth an 'error' (Node is silent).
    auto self = shared_from_this();
    impl_->retry = loop_.set_timeout([self] { self->do_accept(); }, std::chrono::milliseconds(50));
    if (ec != std::errc::too_many_files_open && ec != std::errc::too_many_files_open_in_system &&
        ec != asio::error::no_buffer_space) {
      events_.error.emit(ec);
    }
    return;
  }
  if (impl_->tcp_peer) {
    detail::set_close_on_exec(impl_->tcp_peer->native_handle());
    adopt(std::make_unique<detail::TcpTransport>(std::move(*impl_->tcp_peer)));
    impl_->tcp_peer.reset();
  } else {
    detail::set_close_on_exec(impl_->unix_peer->native_handle());
    adopt(std::make_unique<detail::UnixTransport>(std::move(*impl_->unix_peer)));
    impl_->unix_peer.reset();
  }
  if (listening_) do_accept();
}

void Server::adopt(std::unique_ptr<detail::Transport> transport) {
  if (max_connections && connections_ >= *max_connections) {
    const auto remote = transport->remote_endpoint();
    transport->close();
    events_.drop.emit(remote.address, remote.port);
    return;
  }
  if (options_.no_delay) transport->set_no_delay(true);
  if (options_.keep_alive) transport->set_keep_alive(true, options_.keep_alive_initial_delay);
  auto socket = Socket::adopt(loop_, std::move(transport),
                              SocketOptions{options_.allow_half_open, options_.high_water_mark},
                              options_.pause_on_connect);
  ++connections_;
  impl_->sockets.emplace(socket.get(), socket);
  std::weak_ptr<Server> weak = shared_from_this();
  socket->events().close.once([weak, raw = socket.get()] {
    if (auto self = weak.lock()) {
      self->impl_->sockets.erase(raw);  // the emitting stream holds itself until 'close' returns
      --self->connections_;
      self->maybe_emit_close();
    }
  });
  events_.connection.emit(socket);
}

void Server::close(std::function<void(std::error_code)> on_close) {
  auto self = shared_from_this();
  if (!listening_) {
    // Node still emits 'close' (once drained) and hands the callback ERR_SERVER_NOT_RUNNING.
    const auto not_running = core::make_error_code(core::errc::err_server_not_running);
    if (closing_) {
      // Already closing: the callback waits for that 'close'.
      if (on_close) close_callbacks_.push_back([on_close = std::move(on_close), not_running](std::error_code) {
        on_close(not_running);
      });
      return;
    }
    loop_.post([self, on_close = std::move(on_close), not_running] {
      self->events_.close.emit();
      if (on_close) on_close(not_running);
    });
    return;
  }
  if (on_close) close_callbacks_.push_back(std::move(on_close));
  listening_ = false;
  closing_ = true;
  std::error_code ignored;
  impl_->tcp.close(ignored);
  impl_->unix_acceptor.close(ignored);
  if (impl_->retry) impl_->retry->close();
  if (!impl_->path.empty()) {
    ::unlink(impl_->path.c_str());
    impl_->path.clear();
  }
  update_ref();
  loop_.post([self] { self->maybe_emit_close(); });
}

void Server::maybe_emit_close() {
  if (!closing_ || close_emitted_ || connections_ > 0) return;
  close_emitted_ = true;
  closing_ = false;
  auto callbacks = std::move(close_callbacks_);
  close_callbacks_.clear();
  // Node adds the callback as a 'close' listener when close() is called, so listeners attached
  // before that (the usual case) run first.
  events_.close.emit();
  for (auto& cb : callbacks) cb({});
}

std::optional<ServerAddress> Server::address() const {
  std::error_code ec;
  if (impl_->tcp.is_open()) {
    const auto ep = impl_->tcp.local_endpoint(ec);
    if (ec) return std::nullopt;
    return ServerAddress{ep.address().to_string(), ep.address().is_v4() ? "IPv4" : "IPv6", ep.port()};
  }
  if (impl_->unix_acceptor.is_open()) {
    const auto ep = impl_->unix_acceptor.local_endpoint(ec);
    if (ec) return std::nullopt;
    return ServerAddress{ep.path(), "", 0};
  }
  return std::nullopt;
}

}  // namespace httpx::net
