// A raw-bytes HTTP client for the server tests: a net::Socket on the test's loop that sends exactly
// the bytes it is given and keeps exactly the bytes it receives, a small parser for the responses in
// those bytes (written independently of libhttp's parser, so it can judge it), and a blocking POSIX
// client for tests whose server runs in another process (or must not be read from).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "httpx/core/loop.hpp"
#include "httpx/http/server.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::test {

/// A field line as received: (name, value), both as sent.
using WireFields = std::vector<std::pair<std::string, std::string>>;

/// One response as it appeared on the wire.
struct WireResponse {
  std::string version;   ///< "HTTP/1.1"
  int status = 0;        ///< 100..999
  std::string reason;    ///< the reason phrase (may be empty)
  WireFields headers;    ///< every field line, in order
  std::string body;      ///< the body, de-chunked
  WireFields trailers;   ///< the trailer fields of a chunked body
  bool chunked = false;  ///< the body was chunked
  std::string raw_head;  ///< status line and header lines up to and including the empty line

  /// The first value of `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  /// The number of field lines named `name` (any case).
  std::size_t count(std::string_view name) const;
  /// The header names in order, as spelled.
  std::vector<std::string> names() const;
  /// True for 100..199.
  bool interim() const noexcept { return status >= 100 && status < 200; }
};

/// What parse_responses found in a byte stream.
struct WireParse {
  std::vector<WireResponse> responses;  ///< complete responses in order, interim (1xx) ones included
  bool error = false;                   ///< a malformed status line, header or chunk was met
  std::size_t consumed = 0;             ///< bytes taken by the complete responses
  /// The complete final (non-1xx) responses.
  std::vector<WireResponse> finals() const;
};

/// Parses consecutive responses from `bytes`. `no_body[i]` true says the i-th final response answers
/// a HEAD request: it has no body whatever its headers say. 1xx, 204 and 304 have no body either. A
/// body without Content-Length or chunking runs to the end of the bytes and counts as complete only
/// when `eof` (the server closed).
WireParse parse_responses(std::string_view bytes, bool eof = false, const std::vector<bool>& no_body = {});

/// One client connection to 127.0.0.1:port on the test's loop. Every received byte is kept; the
/// waits are callbacks (checked after each read and at close), so tests stay single-threaded.
class RawClient : public std::enable_shared_from_this<RawClient> {
 public:
  /// Connects, and sends `request` (if any) once connected. `socket_options` for the client socket
  /// (allow_half_open, high_water_mark).
  static std::shared_ptr<RawClient> connect(core::Loop& loop, int port, std::string request = {},
                                            net::SocketOptions socket_options = {});

  /// Sends more bytes.
  void send(std::string_view bytes);
  /// Half-closes (FIN).
  void end();
  /// Closes at once.
  void destroy();
  /// Calls `fn` once, the first time `pred` holds: checked on a later tick, after every read, and
  /// at close (when `fn` still runs only if `pred` holds).
  void when(std::function<bool()> pred, std::function<void()> fn);
  /// `when` the received bytes hold `n` complete final responses (see parse_responses; `no_body`
  /// marks answers to HEAD).
  void when_responses(std::size_t n, std::function<void()> fn, std::vector<bool> no_body = {});
  /// Calls `fn` once when the socket closed (at once, on a later tick, if it already did).
  void on_close(std::function<void()> fn);

  /// Every byte received so far.
  const std::string& received() const noexcept { return received_; }
  /// The responses in received(), complete up to the server's close.
  WireParse parse(const std::vector<bool>& no_body = {}) const { return parse_responses(received_, ended_, no_body); }
  /// The complete final responses received so far.
  std::vector<WireResponse> finals(const std::vector<bool>& no_body = {}) const { return parse(no_body).finals(); }
  /// The server ended its side (FIN seen).
  bool ended() const noexcept { return ended_; }
  /// The socket closed.
  bool closed() const noexcept { return closed_; }
  /// The socket's error, if one closed it (ECONNRESET for a reset).
  std::error_code error() const noexcept { return error_; }
  /// The socket underneath.
  const std::shared_ptr<net::Socket>& socket() const noexcept { return socket_; }

 private:
  struct Waiter {
    std::function<bool()> pred;
    std::function<void()> fn;
  };
  RawClient() = default;
  void check();

  std::shared_ptr<net::Socket> socket_;
  std::string received_;
  bool ended_ = false;
  bool closed_ = false;
  std::error_code error_;
  std::vector<Waiter> waiters_;
  std::vector<std::function<void()>> close_callbacks_;
};

/// A blocking POSIX TCP connection to 127.0.0.1:port, for a server in another process or a peer
/// that must not read (its receive buffer set to `rcvbuf` bytes when non-zero, before connecting).
/// Closed by the destructor.
class BlockingClient {
 public:
  explicit BlockingClient(int port, int rcvbuf = 0);
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  /// The descriptor (-1 when connecting failed).
  int fd() const noexcept { return fd_; }
  /// Sends all of `bytes` (blocking); false on error.
  bool send_all(std::string_view bytes);
  /// Reads what is there now without blocking; returns it (also marks peer_closed() on EOF).
  std::string read_available();
  /// Reads until `pred(received)` holds, the peer closes or `timeout` passes; returns what arrived.
  /// Blocks the thread: a loop on this thread does not run meanwhile.
  std::string read_until(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout);
  /// Reads everything until the peer closes or `timeout` passes.
  std::string read_all(std::chrono::milliseconds timeout) {
    return read_until([](const std::string&) { return false; }, timeout);
  }
  /// True once a read saw the peer close (EOF or reset).
  bool peer_closed() const noexcept { return peer_closed_; }
  /// Closes now (with RST when `reset`).
  void close(bool reset = false);

 private:
  int fd_ = -1;
  bool peer_closed_ = false;
};

/// Listens on 127.0.0.1, port 0, and returns the port (bound at once; 'listening' comes later).
int listen(const std::shared_ptr<http::Server>& server);

/// Connects to `server` (listening it first when needed), sends `request`, waits for `n` complete
/// final responses (or the server's close), then closes the client and the server and runs the
/// loop dry (at most 10 s, a failed expectation beyond). Returns the client with what it received.
std::shared_ptr<RawClient> serve_one(core::Loop& loop, const std::shared_ptr<http::Server>& server,
                                     std::string_view request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                     std::size_t n = 1, std::vector<bool> no_body = {});

/// The one final response `client` got (a failed expectation when there is not exactly one).
WireResponse only_response(const std::shared_ptr<RawClient>& client);

}  // namespace httpx::test
