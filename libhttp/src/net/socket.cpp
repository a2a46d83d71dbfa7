// Follows Node's lib/net.js (Socket): connect with lookup, queued writes while connecting,
// half-close on 'end' unless allowHalfOpen, idle timeouts that only emit 'timeout'.
#include "httpx/net/socket.hpp"

#include <sys/sendfile.h>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <algorithm>
#include <cerrno>

#include "detail/loop_impl.hpp"
#include "detail/transport.hpp"

namespace httpx::net {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

bool is_ip_literal(const std::string& host, int& family) {
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return false;
  family = address.is_v4() ? 4 : 6;
  return true;
}

// Node's default lookup: getaddrinfo through the loop's resolver; the first address of the
// requested family wins.
void default_lookup(core::Loop& loop, const std::string& hostname, int family, int hints, LookupCallback cb) {
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(core::detail::io_context(loop));
  auto on_resolved = [resolver, family, cb = std::move(cb)](const std::error_code& ec,
                                                            const asio::ip::tcp::resolver::results_type& results) {
    if (ec) {
      cb(ec, {}, 0);
      return;
    }
    for (const auto& entry : results) {
      const auto address = entry.endpoint().address();
      if (family == 4 && !address.is_v4()) continue;
      if (family == 6 && !address.is_v6()) continue;
      cb({}, address.to_string(), address.is_v4() ? 4 : 6);
      return;
    }
    cb(asio::error::host_not_found, {}, 0);
  };
  using flags = asio::ip::resolver_base::flags;
  auto f = static_cast<flags>(0);
  if (hints & kHintAddrConfig) f = f | asio::ip::resolver_base::address_configured;
  if (hints & kHintV4Mapped) f = f | asio::ip::resolver_base::v4_mapped;
  if (hints & kHintAll) f = f | asio::ip::resolver_base::all_matching;
  if (family == 4) {
    resolver->async_resolve(asio::ip::tcp::v4(), hostname, "", f, std::move(on_resolved));
  } else if (family == 6) {
    resolver->async_resolve(asio::ip::tcp::v6(), hostname, "", f, std::move(on_resolved));
  } else {
    resolver->async_resolve(hostname, "", f, std::move(on_resolved));
  }
}

}  // namespace

// Connect state, and the writes and the end() that arrive before the connection is up.
struct Socket::Pending {
  ConnectOptions options;
  std::string address;  // resolved
  int family = 0;
  std::unique_ptr<asio::ip::tcp::socket> tcp;
  std::unique_ptr<asio::local::stream_protocol::socket> unix_socket;
  std::vector<std::pair<std::vector<std::string>, core::Callback>> writes;
  core::Callback final_step;
};

Socket::Socket(core::Loop& loop, SocketOptions options)
    : core::Stream(loop, std::make_unique<SocketEvents>()),
      core::Duplex(core::DuplexOptions{.readable = {.high_water_mark = options.high_water_mark},
                                       .writable = {.high_water_mark = options.high_water_mark},
                                       .allow_half_open = options.allow_half_open}),
      loop_ref_(loop) {
  drop_listeners_after_close_ = true;
}

Socket::~Socket() = default;

std::shared_ptr<Socket> Socket::create(core::Loop& loop, SocketOptions options) {
  std::shared_ptr<Socket> socket(new Socket(loop, options));
  socket->weak_self_ = socket;
  return socket;
}

// Stream is a virtual base, so shared_from_this() cannot be cast down statically; a weak_ptr
// of the right type set at creation is cheaper than a dynamic cast on every I/O step.
std::shared_ptr<Socket> Socket::self_ptr() { return weak_self_.lock(); }

std::shared_ptr<Socket> Socket::create_connection(core::Loop& loop, ConnectOptions options, std::function<void()> on_connect,
                                           SocketOptions socket_options) {
  auto socket = create(loop, socket_options);
  socket->connect(std::move(options), std::move(on_connect));
  return socket;
}

std::shared_ptr<Socket> Socket::adopt(core::Loop& loop, std::unique_ptr<detail::Transport> transport,
                                      SocketOptions options, bool paused) {
  auto socket = create(loop, options);
  socket->attach(std::move(transport));
  socket->connected_ = true;
  socket->update_ref();
  socket->touch();
  if (paused) {
    // Node's pauseOnConnect: not a byte is read until resume() (the socket may go to another
    // process or loop untouched).
    socket->pause();
    return socket;
  }
  // Node reads an accepted connection at once (up to the high-water mark while nobody consumes).
  socket->start_reading();
  return socket;
}

int Socket::native_handle() const noexcept {
  return transport_ && transport_->is_open() ? transport_->native_handle() : -1;
}

std::string Socket::ready_state() const {
  if (connecting_) return "opening";
  if (destroyed() || !connected_) return "closed";
  const bool can_read = readable();
  const bool can_write = writable();
  if (can_read && can_write) return "open";
  if (can_read) return "readOnly";
  if (can_write) return "writeOnly";
  return "closed";
}

void Socket::attach(std::unique_ptr<detail::Transport> transport) {
  transport_ = std::move(transport);
  apply_options();
}

const Socket::Addresses& Socket::addresses() const {
  if (addresses_) return *addresses_;
  static const Addresses unknown;
  if (!connected_ || !transport_ || !transport_->is_open()) return unknown;
  auto a = std::make_unique<Addresses>();
  const auto remote = transport_->remote_endpoint();
  a->remote_address = remote.family.empty() ? std::string() : remote.address;
  a->remote_family = remote.family;
  a->remote_port = remote.port;
  const auto local = transport_->local_endpoint();
  a->local_address = local.family.empty() ? std::string() : local.address;
  a->local_family = local.family;
  a->local_port = local.port;
  addresses_ = std::move(a);
  return *addresses_;
}

void Socket::apply_options() {
  if (!transport_) return;
  if (no_delay_) transport_->set_no_delay(*no_delay_);
  if (keep_alive_) transport_->set_keep_alive(keep_alive_->first, keep_alive_->second);
}

// A socket keeps the loop running while it is connecting or open and referenced (libuv's rule).
void Socket::update_ref() { loop_ref_.hold(refed_ && (connecting_ || connected_) && !destroyed()); }

void Socket::ref() {
  refed_ = true;
  update_ref();
}

void Socket::unref() {
  refed_ = false;
  update_ref();
}

// ---- connecting --------------------------------------------------------------------------------

void Socket::connect(ConnectOptions options, std::function<void()> on_connect) {
  if (connecting_ || connected_) return;
  if (options.path.empty() && (options.port < 0 || options.port > 65535)) {
    throw core::Error(core::errc::err_socket_bad_port, "Port should be >= 0 and < 65536. Received type number (" +
                                                           std::to_string(options.port) + ").");
  }
  if (options.family != 0 && options.family != 4 && options.family != 6) {
    throw core::Error(core::errc::err_invalid_arg_value,
                      "The property 'options.family' must be one of: 0, 4, 6. Received " +
                          std::to_string(options.family));
  }
  if (!options.local_address.empty()) {
    int local_family = 0;
    if (!is_ip_literal(options.local_address, local_family)) {
      throw core::Error(core::errc::err_invalid_ip_address, "Invalid IP address: " + options.local_address);
    }
  }
  if (on_connect) events().connect.once(std::move(on_connect));
  if (options.no_delay) no_delay_ = true;
  if (options.keep_alive) keep_alive_ = std::make_pair(true, options.keep_alive_initial_delay);
  if (options.timeout) set_timeout(*options.timeout);
  connecting_ = true;
  update_ref();
  pending_ = std::make_unique<Pending>();
  pending_->options = std::move(options);
  // Node starts connecting on a later tick, so listeners attached after connect() hear 'lookup'.
  defer([this] {
    if (destroyed()) return;
    resolve_and_connect();
  });
}

void Socket::resolve_and_connect() {
  auto& opts = pending_->options;
  auto& ctx = core::detail::io_context(loop());
  auto self = self_ptr();
  if (!opts.path.empty()) {
    pending_->unix_socket = std::make_unique<asio::local::stream_protocol::socket>(ctx);
    std::error_code open_ec;
    pending_->unix_socket->open(asio::local::stream_protocol(), open_ec);
    if (!open_ec) detail::set_close_on_exec(pending_->unix_socket->native_handle());
    pending_->unix_socket->async_connect(asio::local::stream_protocol::endpoint(opts.path),
                                         [self](const std::error_code& ec) {
                                           if (ec == asio::error::operation_aborted || self->destroyed()) return;
                                           if (ec) {
                                             self->destroy(ec);
                                             return;
                                           }
                                           auto sock = std::move(self->pending_->unix_socket);
                                           self->attach(std::make_unique<detail::UnixTransport>(std::move(*sock)));
                                           self->on_connected();
                                         });
    return;
  }
  int family = 0;
  if (is_ip_literal(opts.host, family)) {
    // Node skips the lookup (and its event) for IP addresses, and ignores `family` for them.
    pending_->address = opts.host;
    pending_->family = family;
    try_address(0);
    return;
  }
  auto on_lookup = [self](std::error_code ec, std::string address, int fam) {
    self->loop().post([self, ec, address = std::move(address), fam] {
      if (self->destroyed()) return;
      self->events().lookup.emit(ec, address, fam, self->pending_->options.host);
      if (ec) {
        self->destroy(ec);
        return;
      }
      std::error_code parse_ec;
      asio::ip::make_address(address, parse_ec);
      if (parse_ec) {
        self->destroy(core::make_error_code(core::errc::err_invalid_ip_address));
        return;
      }
      self->pending_->address = address;
      self->pending_->family = fam;
      self->try_address(0);
    });
  };
  if (opts.lookup) {
    opts.lookup(opts.host, opts.family, std::move(on_lookup));
  } else {
    default_lookup(loop(), opts.host, opts.family, opts.hints, std::move(on_lookup));
  }
}

void Socket::try_address(std::size_t) {
  auto& opts = pending_->options;
  auto& ctx = core::detail::io_context(loop());
  auto self = self_ptr();
  const auto address = asio::ip::make_address(pending_->address);
  const asio::ip::tcp::endpoint remote(address, static_cast<unsigned short>(opts.port));
  pending_->tcp = std::make_unique<asio::ip::tcp::socket>(ctx);
  std::error_code ec;
  pending_->tcp->open(remote.protocol(), ec);
  if (!ec) detail::set_close_on_exec(pending_->tcp->native_handle());
  if (!ec && (!opts.local_address.empty() || opts.local_port != 0)) {
    asio::ip::address local_ip = address.is_v4() ? asio::ip::address(asio::ip::address_v4::any())
                                                 : asio::ip::address(asio::ip::address_v6::any());
    if (!opts.local_address.empty()) {
      local_ip = asio::ip::make_address(opts.local_address, ec);
      // Node binds with the destination's family, so an address of the other one is EINVAL.
      if (!ec && local_ip.is_v4() != address.is_v4()) ec = std::make_error_code(std::errc::invalid_argument);
    }
    if (!ec) pending_->tcp->bind(asio::ip::tcp::endpoint(local_ip, static_cast<unsigned short>(opts.local_port)), ec);
  }
  if (ec) {
    destroy(ec);
    return;
  }
  pending_->tcp->async_connect(remote, [self](const std::error_code& err) {
    if (err == asio::error::operation_aborted || self->destroyed()) return;
    if (err) {
      self->destroy(err);
      return;
    }
    auto sock = std::move(self->pending_->tcp);
    self->attach(std::make_unique<detail::TcpTransport>(std::move(*sock)));
    self->on_connected();
  });
}

void Socket::on_connected() {
  connecting_ = false;
  connected_ = true;
  update_ref();
  touch();
  auto pending = std::move(pending_);
  events().connect.emit();
  events().ready.emit();
  if (destroyed()) {
    // A 'connect' listener destroyed the socket: what was queued meanwhile fails with it.
    fail_queued(*pending);
    return;
  }
  // Writes and an end() made while connecting go out now, in order.
  for (auto& [chunks, done] : pending->writes) write_buffers(std::move(chunks), std::move(done));
  if (pending->final_step) do_final(std::move(pending->final_step));
  // Node's afterConnect(): reading starts unless the user paused the socket.
  if (!is_paused() || read_requested_) start_reading();
}

// ---- reading -----------------------------------------------------------------------------------

void Socket::do_read(std::size_t) {
  if (connected_) {
    start_reading();
  } else {
    // Asked before the connection is up: the stream will not ask again, so connecting starts it.
    read_requested_ = true;
  }
}

void Socket::start_reading() {
  if (reading_ || !transport_ || destroyed()) return;
  reading_ = true;
  transport_->async_wait_readable(
      {self_ptr(), [](void* socket, std::error_code ec) { static_cast<Socket*>(socket)->on_readable(ec); }, this});
}

// Readiness first, then a non-blocking read into the loop's shared buffer: the bytes are copied
// only if the consumer is not flowing (push() buffers them).
void Socket::on_readable(std::error_code ec) {
  reading_ = false;
  if (ec == asio::error::operation_aborted || destroyed()) return;
  if (!ec) {
    auto& buffer = loop().impl().read_buffer;
    const std::size_t n = transport_->read_some(buffer.data(), buffer.size(), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      start_reading();
      return;
    }
    if (!ec) {
      bytes_read_ += n;
      touch();
      if (push(std::string_view(buffer.data(), n))) start_reading();
      return;
    }
  }
  if (ec == asio::error::eof) {
    (void)addresses();  // once both sides are shut, the kernel forgets the peer (see do_destroy)
    push_end();
    end_if_drained();
    return;
  }
  destroy(ec);
}

// ---- writing -----------------------------------------------------------------------------------

// One gather write in progress: the chunks, how far they went out, and its completion.
struct Socket::Write {
  std::vector<std::string> chunks;
  std::size_t index = 0;   // first chunk not fully written
  std::size_t offset = 0;  // bytes of chunks[index] already written
  std::size_t bytes = 0;   // of all chunks
  core::Callback done;
};

void Socket::do_write(std::string chunk, core::Callback done) {
  // The common case: the kernel takes the whole chunk now, and nothing needs to be kept.
  if (!connecting_ && transport_ && transport_->is_open() && !destroyed()) {
    std::error_code ec;
    const std::string_view view(chunk);
    const std::size_t n = transport_->write_some(&view, 1, ec);
    if (!ec && n == chunk.size()) {
      touch();
      bytes_sent_ += n;
      done({});
      return;
    }
    if (!ec || ec == asio::error::would_block || ec == asio::error::try_again) {
      // The kernel took part (or nothing): the rest waits for writability.
      const std::size_t sent = ec ? 0 : n;
      if (sent > 0) touch();
      const std::size_t bytes = chunk.size();
      std::vector<std::string> chunks;
      chunks.push_back(std::move(chunk));
      continue_write(std::make_shared<Write>(Write{std::move(chunks), 0, sent, bytes, std::move(done)}));
      return;
    }
    done(ec);
    return;
  }
  std::vector<std::string> chunks;
  chunks.push_back(std::move(chunk));
  do_writev(std::move(chunks), std::move(done));
}

void Socket::do_writev(std::vector<std::string> chunks, core::Callback done) {
  if (connecting_) {
    pending_->writes.emplace_back(std::move(chunks), std::move(done));
    return;
  }
  if (!transport_) {
    done(core::make_error_code(core::errc::err_socket_closed));
    return;
  }
  write_buffers(std::move(chunks), std::move(done));
}

void Socket::write_buffers(std::vector<std::string> chunks, core::Callback done) {
  std::size_t bytes = 0;
  for (const auto& c : chunks) bytes += c.size();
  continue_write(std::make_shared<Write>(Write{std::move(chunks), 0, 0, bytes, std::move(done)}));
}

// Write as much as the kernel takes now; wait for writability only for the rest. The wait's
// handler owns the state, so nothing refers to itself and a loop torn down mid-write leaks nothing.
void Socket::continue_write(const std::shared_ptr<Write>& write) {
  std::vector<std::string_view> views;
  while (write->index < write->chunks.size()) {
    if (destroyed() || !transport_ || !transport_->is_open()) {
      auto done = std::move(write->done);
      done(core::make_error_code(core::errc::err_socket_closed));
      return;
    }
    views.clear();
    views.emplace_back(std::string_view(write->chunks[write->index]).substr(write->offset));
    for (std::size_t i = write->index + 1; i < write->chunks.size(); ++i) views.emplace_back(write->chunks[i]);
    std::error_code ec;
    std::size_t n = transport_->write_some(views.data(), views.size(), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // Any outcome re-enters the loop above, which reports a socket closed meanwhile.
      transport_->async_wait_writable([self = self_ptr(), write](std::error_code) { self->continue_write(write); });
      return;
    }
    if (ec) {
      auto done = std::move(write->done);
      done(ec);
      return;
    }
    touch();
    while (n > 0 && write->index < write->chunks.size()) {
      const std::size_t left = write->chunks[write->index].size() - write->offset;
      if (n >= left) {
        n -= left;
        ++write->index;
        write->offset = 0;
      } else {
        write->offset += n;
        n = 0;
      }
    }
    // Skip empty chunks.
    while (write->index < write->chunks.size() && write->chunks[write->index].size() == write->offset) {
      ++write->index;
      write->offset = 0;
    }
  }
  // Counted here, not per partial write: until `done` the bytes are still in writable_length().
  bytes_sent_ += write->bytes;
  auto done = std::move(write->done);
  done({});
}

// ---- sendfile (httpx's addition) ------------------------------------------------------------

// One file transfer in progress: where it is, how much is left, and its completion. The wait's
// handler owns it, as for continue_write().
struct Socket::FileSend {
  int fd = -1;
  off_t offset = 0;
  std::uint64_t left = 0;
  core::Callback done;
};

bool Socket::can_send_file() const noexcept {
  return connected_ && transport_ && transport_->is_open() && transport_->plain_stream() && !destroyed();
}

void Socket::send_file(int fd, std::uint64_t offset, std::uint64_t length, core::Callback done) {
  auto send = std::make_shared<FileSend>(FileSend{fd, static_cast<off_t>(offset), length, std::move(done)});
  // An empty write completes after every write queued before it, which orders the file's bytes
  // behind them (the head of a response); its callback never runs inside this call.
  write(std::string_view(), [self = self_ptr(), send](std::error_code ec) {
    if (ec) {
      auto cb = std::move(send->done);
      cb(ec);
      return;
    }
    self->sending_file_ = true;
    self->continue_send_file(send);
  });
}

void Socket::finish_send_file(const std::shared_ptr<FileSend>& send, std::error_code ec) {
  sending_file_ = false;
  auto cb = std::move(send->done);
  cb(ec);
  if (final_after_file_) do_final(std::move(final_after_file_));
}

void Socket::continue_send_file(const std::shared_ptr<FileSend>& send) {
  // At most 4 MiB per call (nginx's sendfile_max_chunk is 2 MiB), so one large file does not keep
  // the loop from other sockets for long.
  constexpr std::uint64_t kStep = 4 << 20;
  while (send->left > 0) {
    if (destroyed() || !transport_ || !transport_->is_open()) {
      finish_send_file(send, core::make_error_code(core::errc::err_socket_closed));
      return;
    }
    const ssize_t n = ::sendfile(transport_->native_handle(), send->fd, &send->offset,
                                 static_cast<std::size_t>(std::min(send->left, kStep)));
    if (n > 0) {
      send->left -= static_cast<std::uint64_t>(n);
      bytes_sent_ += static_cast<std::uint64_t>(n);
      touch();
      if (send->left > 0 && static_cast<std::uint64_t>(n) == kStep) {
        // A full step went out: let the loop run other work before the next one.
        loop().post([self = self_ptr(), send] { self->continue_send_file(send); });
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      transport_->async_wait_writable([self = self_ptr(), send](std::error_code) { self->continue_send_file(send); });
      return;
    }
    // 0: the file is shorter than promised; the peer would wait for bytes that never come.
    const std::error_code ec = n == 0 ? std::error_code(EIO, std::system_category())
                                      : std::error_code(errno, std::system_category());
    finish_send_file(send, ec);
    return;
  }
  finish_send_file(send, {});
}

void Socket::do_final(core::Callback done) {
  if (sending_file_) {
    // end() came while a file is going out (the Writable does not see it): FIN after the file.
    final_after_file_ = std::move(done);
    return;
  }
  if (connecting_) {
    pending_->final_step = std::move(done);
    return;
  }
  if (!transport_) {
    done({});
    return;
  }
  (void)addresses();  // while the connection still has a peer (see do_destroy)
  // Node ignores ENOTCONN here: the peer may already be gone, and the FIN is moot then.
  const auto ec = transport_->shutdown_send();
  done(ec == asio::error::not_connected ? std::error_code() : ec);
}

// ---- timeouts, options, teardown ---------------------------------------------------------------

void Socket::touch() {
  // After a 'timeout' the timeout rests until the next activity, as Node's does (it only refreshes
  // the timer on activity), so an idle socket hears 'timeout' once per idle period.
  if (idle_.active()) {
    idle_.touch();
  } else if (timeout_.count() > 0 && !destroyed()) {
    idle_.start(loop(), timeout_, &Socket::on_idle, this);
  }
}

void Socket::set_timeout(milliseconds timeout, std::function<void()> on_timeout) {
  timeout_ = timeout < milliseconds(0) ? milliseconds(0) : timeout;
  // Node's setTimeout(0, cb) removes that one listener; a std::function cannot be found again,
  // so with 0 the callback is simply not added.
  if (on_timeout && timeout_.count() > 0) events().timeout.once(std::move(on_timeout));
  if (timeout_.count() == 0 || destroyed()) {
    idle_.stop();
    return;
  }
  idle_.start(loop(), timeout_, &Socket::on_idle, this);
}

// The socket's timeout lives in the loop's list for its duration (core::IdleTimeout, Node's timer
// lists): activity moves it to the end of the list, so busy sockets never touch a system timer.
void Socket::on_idle(void* self_ptr) {
  auto* socket = static_cast<Socket*>(self_ptr);
  const auto self = socket->weak_from_this().lock();
  if (!self || socket->destroyed() || socket->timeout_.count() == 0) return;
  socket->notify([](core::detail::StreamObserver& o) { o.on_stream_timeout(); });
  socket->events().timeout.emit();
}

void Socket::set_no_delay(bool no_delay) {
  no_delay_ = no_delay;
  if (transport_) transport_->set_no_delay(no_delay);
}

void Socket::set_keep_alive(bool enable, milliseconds initial_delay) {
  keep_alive_ = std::make_pair(enable, initial_delay);
  if (transport_) transport_->set_keep_alive(enable, initial_delay);
}

void Socket::reset_and_destroy() {
  if (transport_ && !destroyed()) transport_->reset();
  destroy();
}

// Writes and an end() queued while connecting fail with the socket, on a later tick (never inside
// the public call that destroyed it); calling them also drops the references they hold.
void Socket::fail_queued(Pending& pending) {
  std::vector<core::Callback> callbacks;
  for (auto& [chunks, cb] : pending.writes) callbacks.push_back(std::move(cb));
  pending.writes.clear();
  if (pending.final_step) callbacks.push_back(std::move(pending.final_step));
  pending.final_step = nullptr;
  if (callbacks.empty()) return;
  loop().post([callbacks = std::move(callbacks)] {
    for (const auto& cb : callbacks) {
      if (cb) cb(core::make_error_code(core::errc::err_socket_closed));
    }
  });
}

void Socket::do_destroy(std::error_code ec, core::Callback done) {
  idle_.stop();
  // Read the addresses while the descriptor still knows them, so they stay readable after close
  // (only now: an idle connection should not carry them).
  if (transport_ && connected_) (void)addresses();
  if (transport_) transport_->close();
  if (pending_) {
    std::error_code ignored;
    if (pending_->tcp) pending_->tcp->close(ignored);
    if (pending_->unix_socket) pending_->unix_socket->close(ignored);
    fail_queued(*pending_);
  }
  connecting_ = false;
  connected_ = false;
  update_ref();
  done(ec);
}

}  // namespace httpx::net
