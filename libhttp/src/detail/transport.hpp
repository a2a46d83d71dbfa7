// The byte transport under net::Socket: readiness-based, so one loop-wide read buffer serves every
// socket (an idle connection costs no buffer) and writes go out without an async operation when
// the kernel takes them at once. TLS will be another implementation of this interface.
#pragma once

#include <fcntl.h>

#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/socket_base.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace httpx::net::detail {

/// Marks a descriptor close-on-exec, as libuv opens every socket (O_CLOEXEC): a child process the
/// program starts must not inherit connections and hold them open. Asio opens and accepts without
/// the flag, so it is set right after; libhttp's loops do not fork between the two steps.
inline void set_close_on_exec(int fd) noexcept {
  if (fd >= 0) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

/// An address as Node reports it (remoteAddress, remoteFamily, remotePort).
struct EndpointInfo {
  std::string address;
  std::string family;  // "IPv4", "IPv6", or "" for Unix-domain sockets
  int port = 0;
};

/// The completion of a read wait, `fn(object, ec)`, with `keep` holding the object alive until
/// then: every read of every socket waits once, and unlike a std::function capturing a shared_ptr
/// this costs no allocation.
struct ReadWaitHandler {
  std::shared_ptr<void> keep;
  void (*fn)(void* object, std::error_code ec) = nullptr;
  void* object = nullptr;
  void operator()(std::error_code ec) const { fn(object, ec); }
};

class Transport {
 public:
  using Handler = std::function<void(std::error_code)>;
  virtual ~Transport() = default;

  /// Calls `handler` once data (or EOF, or an error) can be read without blocking.
  virtual void async_wait_readable(ReadWaitHandler handler) = 0;
  /// Calls `handler` once a write can make progress.
  virtual void async_wait_writable(Handler handler) = 0;
  /// Non-blocking read; `ec` is would_block when nothing is there, eof at the end.
  virtual std::size_t read_some(char* data, std::size_t size, std::error_code& ec) = 0;
  /// Non-blocking gather write of as much as the kernel takes.
  virtual std::size_t write_some(const std::string_view* buffers, std::size_t count, std::error_code& ec) = 0;
  /// Half-close: no more writes (FIN).
  [[nodiscard]] virtual std::error_code shutdown_send() = 0;
  /// Closes now; pending waits complete with operation_aborted.
  virtual void close() = 0;
  /// Closes with RST (SO_LINGER 0) where the protocol has one.
  virtual void reset() = 0;
  virtual bool is_open() const = 0;
  virtual void set_no_delay(bool enable) = 0;
  virtual void set_keep_alive(bool enable, std::chrono::milliseconds initial_delay) = 0;
  virtual EndpointInfo local_endpoint() const = 0;
  virtual EndpointInfo remote_endpoint() const = 0;
  /// The OS handle, for sendfile and socket options.
  virtual int native_handle() = 0;
  /// True when bytes written to native_handle() reach the peer as they are (no TLS record
  /// layer), so sendfile(2) may write to it directly.
  virtual bool plain_stream() const noexcept = 0;
};

/// Transport over a plain stream socket (TCP or Unix-domain).
template <class Protocol>
class StreamTransport final : public Transport {
 public:
  using Socket = typename Protocol::socket;

  explicit StreamTransport(Socket socket) : socket_(std::move(socket)) {
    std::error_code ec;
    socket_.non_blocking(true, ec);
  }

  void async_wait_readable(ReadWaitHandler handler) override {
    socket_.async_wait(asio::socket_base::wait_read, std::move(handler));
  }
  void async_wait_writable(Handler handler) override {
    socket_.async_wait(asio::socket_base::wait_write, std::move(handler));
  }
  std::size_t read_some(char* data, std::size_t size, std::error_code& ec) override {
    return socket_.read_some(asio::buffer(data, size), ec);
  }
  std::size_t write_some(const std::string_view* buffers, std::size_t count, std::error_code& ec) override;
  std::error_code shutdown_send() override {
    std::error_code ec;
    socket_.shutdown(asio::socket_base::shutdown_send, ec);
    return ec;
  }
  void close() override {
    std::error_code ec;
    socket_.close(ec);
  }
  void reset() override;
  bool is_open() const override { return socket_.is_open(); }
  void set_no_delay(bool enable) override;
  void set_keep_alive(bool enable, std::chrono::milliseconds initial_delay) override;
  EndpointInfo local_endpoint() const override;
  EndpointInfo remote_endpoint() const override;
  int native_handle() override { return socket_.native_handle(); }
  bool plain_stream() const noexcept override { return true; }

 private:
  Socket socket_;
};

using TcpTransport = StreamTransport<asio::ip::tcp>;
using UnixTransport = StreamTransport<asio::local::stream_protocol>;

}  // namespace httpx::net::detail
