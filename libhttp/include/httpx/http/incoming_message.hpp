/// A received HTTP message (a request on a server, a response on a client): its head and its body
/// as a readable stream. Node: `http.IncomingMessage`.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "httpx/core/stream.hpp"
#include "httpx/http/headers.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http {

namespace detail {
class MessageOwner;
class ServerConnection;
}
class ClientRequest;

/// The events of an incoming message: the readable-stream events plus Node's own.
struct IncomingMessageEvents : core::StreamEvents {
  core::Signal<> aborted;  ///< Node: 'aborted' — destroyed before the message was complete.
  core::Signal<> timeout;  ///< Node: 'timeout' — the socket was idle while the message was incomplete.
  void remove_all_listeners() override {
    core::StreamEvents::remove_all_listeners();
    aborted.remove_all_listeners();
    timeout.remove_all_listeners();
  }
};

/// A received message. The body is the stream: 'data' (or pipe) reads it, pause() stops reading the
/// socket once the buffer is full, 'end' follows the last byte, then 'close'.
/// Made by the server (or the client) for each message; the server hands it to 'request'.
/// Node: `http.IncomingMessage`.
class IncomingMessage : public core::Readable {
 public:
  /// A message read from `socket`. Node: `new IncomingMessage(socket)`; a server's
  /// `IncomingMessage` option makes a derived class through its own factory.
  static std::shared_ptr<IncomingMessage> create(std::shared_ptr<net::Socket> socket);

  /// The message's events.
  IncomingMessageEvents& events() noexcept { return static_cast<IncomingMessageEvents&>(Stream::events()); }

  /// Node: `message.aborted` — destroyed before it was complete.
  bool aborted() const noexcept { return aborted_; }
  /// Node: `message.complete` — the whole message was received and parsed.
  bool complete() const noexcept { return complete_; }
  /// The lower-cased headers with Node's duplicate rules, built on first use. Node: `message.headers`.
  const HeaderMap& headers();
  /// Every value of every header, lower-cased names. Node: `message.headersDistinct`.
  const DistinctHeaderMap& headers_distinct();
  /// Names and values exactly as received. Node: `message.rawHeaders`.
  const std::vector<std::string>& raw_headers() const noexcept { return raw_headers_; }
  /// The trailers (after 'end'). Node: `message.trailers`.
  const HeaderMap& trailers();
  /// Node: `message.trailersDistinct`.
  const DistinctHeaderMap& trailers_distinct();
  /// Node: `message.rawTrailers`.
  const std::vector<std::string>& raw_trailers() const noexcept { return raw_trailers_; }
  /// "1.1" or "1.0". Node: `message.httpVersion`.
  const std::string& http_version() const noexcept { return http_version_; }
  /// Node: `message.httpVersionMajor`.
  int http_version_major() const noexcept { return http_version_major_; }
  /// Node: `message.httpVersionMinor`.
  int http_version_minor() const noexcept { return http_version_minor_; }
  /// Requests: "GET". Node: `message.method`.
  const std::string& method() const noexcept { return method_; }
  /// Requests: the request target as sent. Node: `message.url`.
  const std::string& url() const noexcept { return url_; }
  /// Responses: the status code (0 on a request). Node: `message.statusCode`.
  int status_code() const noexcept { return status_code_; }
  /// Responses: the reason phrase. Node: `message.statusMessage`.
  const std::string& status_message() const noexcept { return status_message_; }
  /// The message asked to upgrade the connection (or was a CONNECT). Node: `message.upgrade`.
  bool upgrade() const noexcept { return upgrade_; }
  /// Node: `message.joinDuplicateHeaders`.
  bool join_duplicate_headers() const noexcept { return join_duplicate_headers_; }
  /// The connection it arrived on. Node: `message.socket` / `message.connection`.
  const std::shared_ptr<net::Socket>& socket() const noexcept { return socket_; }
  /// Node: `message.connection` (deprecated alias of socket).
  const std::shared_ptr<net::Socket>& connection() const noexcept { return socket_; }
  /// Responses: the request answered (null once it is gone). Node: `message.req`.
  std::shared_ptr<ClientRequest> req() const noexcept { return req_.lock(); }
  /// Sets the socket's idle timeout; `on_timeout` listens on 'timeout'.
  /// Node: `message.setTimeout(msecs[, callback])`.
  IncomingMessage& set_timeout(std::chrono::milliseconds timeout, std::function<void()> on_timeout = {});

 protected:
  /// For derived classes (a server's IncomingMessage factory). `socket` must not be null. core::Stream
  /// is a virtual base, so a derived class's constructor also names it:
  /// `MyMessage(std::shared_ptr<net::Socket> s) : core::Stream(s->loop(), std::make_unique<IncomingMessageEvents>()), IncomingMessage(s) {}`.
  explicit IncomingMessage(std::shared_ptr<net::Socket> socket,
                           std::unique_ptr<IncomingMessageEvents> events = nullptr);

  void do_read(std::size_t size) override;
  /// The body arrives from the socket by itself; do_read() only restarts a paused socket.
  bool reads_on_its_own() const noexcept override { return true; }
  void do_destroy(std::error_code ec, core::Callback done) override;
  void on_readable_ended() override;

 private:
  friend class detail::ServerConnection;
  friend class ClientRequest;

  /// Node: `_dump()` — the body nobody reads is discarded so the connection can go on.
  void dump();
  void finish_destroy(std::error_code ec, const core::Callback& done);

  std::shared_ptr<net::Socket> socket_;
  std::string method_;
  std::string url_;
  std::string http_version_;
  int http_version_major_ = 1;
  int http_version_minor_ = 1;
  int status_code_ = 0;
  std::string status_message_;
  std::vector<std::string> raw_headers_;
  std::vector<std::string> raw_trailers_;
  std::optional<HeaderMap> headers_;
  std::optional<DistinctHeaderMap> headers_distinct_;
  std::optional<HeaderMap> trailers_;
  std::optional<DistinctHeaderMap> trailers_distinct_;
  bool aborted_ = false;
  bool complete_ = false;
  bool upgrade_ = false;
  bool join_duplicate_headers_ = false;
  bool consuming_ = false;  // Node: _consuming — someone read the body
  bool dumped_ = false;     // Node: _dumped
  /// The connection: restarts reading after backpressure, hears 'end'.
  std::weak_ptr<detail::MessageOwner> owner_;
  std::weak_ptr<ClientRequest> req_;
  // do_destroy()'s last step, waiting for its tick.
  std::error_code destroy_error_;
  core::Callback destroy_done_;
};

}  // namespace httpx::http
