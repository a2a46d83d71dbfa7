// Plain-socket transports; the options Node applies to TCP are no-ops on Unix-domain sockets,
// as in libuv.
#include "detail/transport.hpp"

#include <algorithm>
#include <array>
#include <span>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio/ip/address.hpp>

namespace httpx::net::detail {
namespace {

EndpointInfo describe(const asio::ip::tcp::endpoint& ep) {
  EndpointInfo info;
  auto address = ep.address();
  // Node reports v4-mapped peers of a dual-stack listener as IPv6 '::ffff:a.b.c.d'; so do we.
  info.address = address.to_string();
  info.family = address.is_v4() ? "IPv4" : "IPv6";
  info.port = ep.port();
  return info;
}

EndpointInfo describe(const asio::local::stream_protocol::endpoint& ep) {
  EndpointInfo info;
  info.address = ep.path();
  return info;
}

}  // namespace

template <class Protocol>
std::size_t StreamTransport<Protocol>::write_some(const std::string_view* buffers, std::size_t count,
                                                  std::error_code& ec) {
  // One sendmsg; more than the kernel's IOV_MAX-friendly batch waits for the next call.
  constexpr std::size_t kMax = 64;
  std::array<asio::const_buffer, kMax> bufs;
  const std::size_t n = std::min(count, kMax);
  for (std::size_t i = 0; i < n; ++i) bufs[i] = asio::const_buffer(buffers[i].data(), buffers[i].size());
  return socket_.write_some(std::span<const asio::const_buffer>(bufs.data(), n), ec);
}

template <class Protocol>
void StreamTransport<Protocol>::reset() {
  std::error_code ec;
  socket_.set_option(asio::socket_base::linger(true, 0), ec);
  socket_.close(ec);
}

template <>
void StreamTransport<asio::ip::tcp>::set_no_delay(bool enable) {
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(enable), ec);
}

template <>
void StreamTransport<asio::local::stream_protocol>::set_no_delay(bool) {}

template <>
void StreamTransport<asio::ip::tcp>::set_keep_alive(bool enable, std::chrono::milliseconds initial_delay) {
  std::error_code ec;
  socket_.set_option(asio::socket_base::keep_alive(enable), ec);
  if (enable && initial_delay.count() > 0) {
    // Node passes the delay in seconds to TCP_KEEPIDLE (rounded down, at least 1).
    int seconds = static_cast<int>(initial_delay.count() / 1000);
    if (seconds < 1) seconds = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof seconds);
  }
}

template <>
void StreamTransport<asio::local::stream_protocol>::set_keep_alive(bool, std::chrono::milliseconds) {}

template <class Protocol>
EndpointInfo StreamTransport<Protocol>::local_endpoint() const {
  std::error_code ec;
  auto ep = socket_.local_endpoint(ec);
  if (ec) return {};
  return describe(ep);
}

template <class Protocol>
EndpointInfo StreamTransport<Protocol>::remote_endpoint() const {
  std::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (ec) return {};
  return describe(ep);
}

template class StreamTransport<asio::ip::tcp>;
template class StreamTransport<asio::local::stream_protocol>;

}  // namespace httpx::net::detail
