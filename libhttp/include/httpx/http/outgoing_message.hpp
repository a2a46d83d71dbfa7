/// The writing half shared by ServerResponse and ClientRequest: header table, framing (chunked or
/// Content-Length), keep-alive decision, and the write/end path to the socket. Node: `http.OutgoingMessage`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "httpx/core/encoding.hpp"
#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/core/stream.hpp"
#include "httpx/http/headers.hpp"
#include "httpx/http/options.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http {

namespace detail {
class MessageOwner;
class ServerConnection;
}
class ClientRequest;

/// The events of an outgoing message.
struct OutgoingMessageEvents {
  virtual ~OutgoingMessageEvents() = default;
  core::Signal<> drain;      ///< Node: 'drain' — write() may be called again.
  core::Signal<> prefinish;  ///< Node: 'prefinish' — end() was called and everything is queued on the socket.
  core::Signal<> finish;     ///< Node: 'finish' — the last bytes were handed to the operating system.
  core::Signal<> close;      ///< Node: 'close' — the message is done (or its socket closed); last event.
  core::Signal<> timeout;    ///< Node: 'timeout' — the socket was idle for set_timeout().
  core::ErrorSignal error;   ///< Node: 'error' — write after end, and the like; thrown when unheard.
  /// Node: 'socket' — the message was given its socket.
  core::Signal<const std::shared_ptr<net::Socket>&> socket;
  /// Drops every listener; done right after 'close' (see core::StreamEvents::remove_all_listeners).
  virtual void remove_all_listeners() {
    drain.remove_all_listeners();
    prefinish.remove_all_listeners();
    finish.remove_all_listeners();
    close.remove_all_listeners();
    timeout.remove_all_listeners();
    error.remove_all_listeners();
    socket.remove_all_listeners();
  }
};

/// Options every outgoing message takes. Node: the options object of `new OutgoingMessage()`.
struct OutgoingMessageOptions {
  std::size_t high_water_mark = 16384;       ///< buffered bytes before write() returns false; Node 16384.
  bool reject_non_standard_body_writes = false;  ///< throw on a body for HEAD/204/304; Node: false.
};

/// An HTTP message being written. Node: `http.OutgoingMessage`. Not a core::Writable: like Node's,
/// it writes straight into its socket's stream (buffering only while it has no socket yet), so its
/// writable_length() and 'drain' are the socket's.
/// Header methods throw Error(ERR_HTTP_HEADERS_SENT) once the head was rendered, and
/// ERR_INVALID_HTTP_TOKEN / ERR_INVALID_CHAR for a bad name or value, as Node's do.
class OutgoingMessage : public std::enable_shared_from_this<OutgoingMessage> {
 public:
  virtual ~OutgoingMessage();
  OutgoingMessage(const OutgoingMessage&) = delete;
  OutgoingMessage& operator=(const OutgoingMessage&) = delete;

  /// The message's events.
  OutgoingMessageEvents& events() noexcept { return *events_; }
  /// The loop the message belongs to.
  core::Loop& loop() const noexcept { return *loop_; }

  /// Node: `setHeader(name, value)`.
  OutgoingMessage& set_header(std::string_view name, std::string_view value);
  /// Node: `setHeader(name, [values])` — one field line per value (set-cookie style).
  OutgoingMessage& set_header(std::string_view name, const std::vector<std::string>& values);
  /// Node: `setHeaders(headers)` for a Map/Headers object (see OutgoingHeaders::set_headers).
  OutgoingMessage& set_headers(const HeaderList& headers);
  /// Node: `appendHeader(name, value)`.
  OutgoingMessage& append_header(std::string_view name, std::string_view value);
  /// Node: `appendHeader(name, [values])`.
  OutgoingMessage& append_header(std::string_view name, const std::vector<std::string>& values);
  /// The value set for `name` (any case), or nullptr. Node: `getHeader(name)`.
  const HeaderValue* get_header(std::string_view name) const noexcept { return headers_.get(name); }
  /// Node: `hasHeader(name)`.
  bool has_header(std::string_view name) const noexcept { return headers_.has(name); }
  /// Node: `getHeaderNames()` (lower-case).
  std::vector<std::string> get_header_names() const { return headers_.get_header_names(); }
  /// Node: `getRawHeaderNames()` (as spelled).
  std::vector<std::string> get_raw_header_names() const { return headers_.get_raw_header_names(); }
  /// Node: `getHeaders()`.
  HeaderMap get_headers() const { return headers_.get_headers(); }
  /// Removes `name`; removing Connection, Content-Length, Transfer-Encoding or Date also stops
  /// libhttp from adding its own. Node: `removeHeader(name)`.
  void remove_header(std::string_view name);
  /// Node: `headersSent` — the head was rendered (it may still be queued).
  bool headers_sent() const noexcept { return header_.has_value(); }

  /// Sends a body chunk (rendering the head first); false when the caller should wait for 'drain'.
  /// `cb` runs once the chunk was handed on, or with the error. Throws
  /// ERR_HTTP_CONTENT_LENGTH_MISMATCH (strict_content_length) and ERR_HTTP_BODY_NOT_ALLOWED
  /// (reject_non_standard_body_writes); after end() 'error' and `cb` get ERR_STREAM_WRITE_AFTER_END
  /// on a later tick. Node: `write(chunk[, callback])`.
  bool write(std::string_view chunk, core::Callback cb = {});
  /// Sends `text` converted with `encoding`. Node: `write(string, encoding[, callback])`.
  bool write(std::string_view text, core::Encoding encoding, core::Callback cb = {});
  /// Finishes the message; `cb` runs on 'finish'. Node: `end([callback])`.
  OutgoingMessage& end(core::Callback cb = {});
  /// Writes `chunk` (a whole body sent this way gets a Content-Length) and finishes.
  /// Node: `end(chunk[, callback])`.
  OutgoingMessage& end(std::string_view chunk, core::Callback cb = {});
  /// Node: `end(string, encoding[, callback])`.
  OutgoingMessage& end(std::string_view text, core::Encoding encoding, core::Callback cb = {});
  /// Trailer fields sent after a chunked body (ignored for other framings, as in Node).
  /// Throws ERR_INVALID_HTTP_TOKEN / ERR_INVALID_CHAR. Node: `addTrailers(headers)` with the
  /// array form: each pair is one field line.
  void add_trailers(const HeaderList& trailers);
  /// Renders and sends the head now. Node: `flushHeaders()`.
  void flush_headers();
  /// Node: `cork()` — the socket's, or counted until there is one.
  void cork();
  /// Node: `uncork()`.
  void uncork();
  /// Sets the socket's idle timeout (now, or when the socket arrives); `on_timeout` listens on
  /// 'timeout'. Node: `setTimeout(msecs[, callback])`.
  OutgoingMessage& set_timeout(std::chrono::milliseconds timeout, std::function<void()> on_timeout = {});
  /// Destroys the socket (now or when it arrives) with `ec`. Node: `destroy([error])`.
  void destroy(std::error_code ec = {});

  /// Node: `socket` / `connection` — null before it has one and after the message finished.
  const std::shared_ptr<net::Socket>& socket() const noexcept { return socket_; }
  /// Node: `connection` (deprecated alias of socket).
  const std::shared_ptr<net::Socket>& connection() const noexcept { return socket_; }
  /// Node: `destroyed`.
  bool destroyed() const noexcept { return destroyed_; }
  /// Node: `closed` — 'close' was emitted.
  bool closed() const noexcept { return closed_; }
  /// Node: `errored`.
  std::error_code errored() const noexcept { return errored_; }
  /// Node: `finished` / `writableEnded` — end() was called.
  bool writable_ended() const noexcept { return finished_; }
  /// Node: `finished` (deprecated alias of writableEnded).
  bool finished() const noexcept { return finished_; }
  /// Node: `writableFinished` — everything was handed to the operating system.
  bool writable_finished() const noexcept;
  /// Node: `writableLength` — bytes buffered here and in the socket.
  std::size_t writable_length() const noexcept;
  /// Node: `writableHighWaterMark` — the socket's, or the option's while there is none.
  std::size_t writable_high_water_mark() const noexcept;
  /// Node: `writableCorked`.
  std::size_t writable_corked() const noexcept;
  /// Node: `writableNeedDrain`.
  bool writable_need_drain() const noexcept { return !destroyed_ && !finished_ && need_drain_; }
  /// Node: `writableObjectMode` — always false.
  bool writable_object_mode() const noexcept { return false; }
  /// Node: `writable` — true until the message is done.
  bool writable() const noexcept { return !finished_ && !destroyed_; }

  /// Add a Date header unless one is set. Node: `sendDate` (true for a ServerResponse).
  bool send_date = false;
  /// Throw ERR_HTTP_CONTENT_LENGTH_MISMATCH when the body does not match Content-Length.
  /// Node: `strictContentLength` (false).
  bool strict_content_length = false;

 protected:
  OutgoingMessage(core::Loop& loop, OutgoingMessageOptions options,
                  std::unique_ptr<OutgoingMessageEvents> events);

  /// Renders the head when write()/end() need it before the user did. Node: `_implicitHeader()`.
  virtual void implicit_header() = 0;
  /// Renders the head from `first_line` and either the stored headers or, when `explicit_headers`
  /// is given (writeHead without setHeader), that raw list. Node: `_storeHeader(firstLine, headers)`.
  void store_header(std::string first_line, const HeaderList* explicit_headers);
  /// Node: `_send(data, encoding, callback)`: the head goes out with the first data.
  bool send(std::string data, core::Callback cb);
  /// Node: `_writeRaw(data, encoding, callback)`: straight to the socket when it is ours, else buffered.
  bool write_raw(std::string data, core::Callback cb);
  /// Node: `_finish()` — emits 'prefinish'.
  virtual void on_finish_queued();
  /// The status code the head carries (0 for a request): 204 and 304 forbid chunked framing.
  virtual int framing_status() const noexcept { return 0; }
  /// Node: `_flush()` — hands buffered output to a newly assigned socket.
  void flush();
  /// Emits 'close' once. Node: emitCloseNT.
  void emit_close();

  // State Node keeps on the message; named as in _http_outgoing.js.
  std::optional<std::string> header_;  ///< the rendered head; Node: _header
  bool header_sent_ = false;           ///< Node: _headerSent
  bool last_ = false;                  ///< close the connection after this message; Node: _last
  bool chunked_encoding_ = false;      ///< Node: chunkedEncoding
  bool should_keep_alive_ = true;      ///< Node: shouldKeepAlive
  bool max_requests_on_connection_reached_ = false;  ///< Node: maxRequestsOnConnectionReached
  bool default_keep_alive_ = true;     ///< no user Keep-Alive header; Node: _defaultKeepAlive
  bool use_chunked_encoding_by_default_ = true;  ///< Node: useChunkedEncodingByDefault
  bool removed_connection_ = false;    ///< Node: _removedConnection
  bool removed_cont_len_ = false;      ///< Node: _removedContLen
  bool removed_te_ = false;            ///< Node: _removedTE
  bool has_body_ = true;               ///< Node: _hasBody
  std::optional<double> content_length_;  ///< a JS number, NaN included; Node: _contentLength
  std::uint64_t bytes_written_ = 0;    ///< body bytes, for strictContentLength; Node: kBytesWritten
  std::string trailer_;                ///< rendered trailer lines; Node: _trailer
  std::chrono::milliseconds keep_alive_timeout_{0};  ///< for the Keep-Alive header; Node: _keepAliveTimeout
  std::size_t max_requests_per_socket_ = 0;          ///< Node: _maxRequestsPerSocket
  std::shared_ptr<const std::vector<std::string>> unique_headers_;  ///< lower-case; Node: kUniqueHeaders
  bool agent_ = false;                 ///< sent through an Agent (requests); Node: agent
  /// The connection: hears of bytes buffered before the socket arrived (the server pauses reading,
  /// Node: _onPendingData) and of 'finish' (Node: resOnFinish).
  std::weak_ptr<detail::MessageOwner> owner_;
  std::shared_ptr<net::Socket> socket_;
  OutgoingHeaders headers_;
  std::optional<std::chrono::milliseconds> pending_timeout_;  ///< set_timeout() before the socket came
  bool pending_destroy_ = false;                              ///< destroy() before the socket came
  std::error_code pending_destroy_error_;

 private:
  friend class detail::ServerConnection;
  friend class ClientRequest;
  struct Output {
    std::string data;
    core::Callback cb;
  };
  struct HeaderState;

  bool write_impl(std::string_view chunk, core::Callback cb, bool from_end);
  bool end_in_one_write(std::string_view chunk, core::Callback& cb);
  core::Callback finish_callback();
  void on_error(std::error_code ec, core::Callback cb);
  void check_headers_not_sent(std::string_view action) const;
  void process_header(std::string& head, std::string_view name, const HeaderValue& value, bool validate,
                      HeaderState& state);
  void match_header(HeaderState& state, std::string_view name, std::string_view value);
  bool flush_output();
  bool strict_length_applies() const noexcept;

  core::Loop* loop_;
  std::unique_ptr<OutgoingMessageEvents> events_;
  std::size_t high_water_mark_;
  bool reject_non_standard_body_writes_;
  std::vector<Output> output_;
  std::size_t output_size_ = 0;
  std::size_t corked_ = 0;
  bool need_drain_ = false;
  bool finished_ = false;
  bool destroyed_ = false;
  bool closed_ = false;
  std::error_code errored_;
};

}  // namespace httpx::http
