/// An HTTP request being sent and its response being received. Node: `http.ClientRequest`,
/// `http.request()` and `http.get()`.
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

#include "httpx/core/abort.hpp"
#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/agent.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/options.hpp"
#include "httpx/http/outgoing_message.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http {

namespace detail {
class MessageOwner;
class Parser;
}

/// A 1xx interim response. Node: the object of the 'information' event.
struct InformationInfo {
  int status_code = 0;
  std::string status_message;
  std::string http_version;
  int http_version_major = 1;
  int http_version_minor = 1;
  HeaderMap headers;
  std::vector<std::string> raw_headers;
};

/// The events of a request: the outgoing-message events plus Node's ClientRequest events.
struct ClientRequestEvents : OutgoingMessageEvents {
  using Message = std::shared_ptr<IncomingMessage>;
  using Socket = std::shared_ptr<net::Socket>;
  core::Signal<> abort;  ///< Node: 'abort' — abort() was called (on the next tick).
  /// Node: 'connect' (response, socket, head) — the answer to a CONNECT request.
  core::Signal<const Message&, const Socket&, std::string_view> connect;
  core::Signal<> continue_;  ///< Node: 'continue' — the server sent 100 Continue.
  core::Signal<const InformationInfo&> information;  ///< Node: 'information' — a 1xx other than 101.
  core::Signal<const Message&> response;  ///< Node: 'response' — the response head arrived.
  /// Node: 'upgrade' (response, socket, head) — the server switched protocols.
  core::Signal<const Message&, const Socket&, std::string_view> upgrade;
  void remove_all_listeners() override {
    OutgoingMessageEvents::remove_all_listeners();
    abort.remove_all_listeners();
    connect.remove_all_listeners();
    continue_.remove_all_listeners();
    information.remove_all_listeners();
    response.remove_all_listeners();
    upgrade.remove_all_listeners();
  }
};

/// `http.request()`'s options: the data options (merged with a URL) plus the ones that are not
/// data. Node: the options object of `http.request(url[, options][, callback])`.
struct ClientRequestOptions : RequestOptions {
  /// The agent; null takes `global_agent(loop)` unless `create_connection` is set. Node: agent.
  std::shared_ptr<Agent> agent{};
  /// A one-time agent with default options, used for this request only. Node: `agent: false`.
  bool no_agent = false;
  /// Makes the socket when there is no agent. Node: createConnection.
  CreateConnection create_connection{};
  /// Resolves the host. Node: lookup.
  net::LookupFunction lookup{};
  /// Aborting it destroys the request with ABORT_ERR. Node: signal.
  std::shared_ptr<core::AbortSignal> signal{};
  /// `headers` is Node's raw array form (`['Name', 'value', ...]`): sent exactly as listed, and the
  /// head is rendered at once, so set_header() afterwards throws ERR_HTTP_HEADERS_SENT. Otherwise
  /// it is the object form: each pair is set_header()/append_header().
  bool headers_are_raw_array = false;
};

/// A request in flight. Made by `request()`/`get()`; headers may change until the head is sent
/// (the first write, end() or flush_headers()). The response arrives with 'response'; its body is
/// the IncomingMessage stream. Errors (connection refused, parse errors, 'socket hang up') are
/// 'error' on the request, or on the response once it was emitted.
class ClientRequest : public OutgoingMessage {
 public:
  ~ClientRequest() override;

  /// The request's events.
  ClientRequestEvents& events() noexcept { return static_cast<ClientRequestEvents&>(OutgoingMessage::events()); }

  /// Destroys the request and emits 'abort' on the next tick. Node: `request.abort()` (deprecated).
  void abort();
  /// Node: `request.aborted` — abort() was called.
  bool aborted() const noexcept { return aborted_; }
  /// Destroys the socket with `ec` (or with 'socket hang up' before a response). Node: `request.destroy([error])`.
  void destroy(std::error_code ec = {});
  /// Node: `request.path`.
  const std::string& path() const noexcept { return path_; }
  /// Node: `request.method` (upper-case).
  const std::string& method() const noexcept { return method_; }
  /// Node: `request.host`.
  const std::string& host() const noexcept { return host_; }
  /// Node: `request.protocol`.
  const std::string& protocol() const noexcept { return protocol_; }
  /// The port connected to (the option, else the agent's default port, else 80).
  int port() const noexcept { return port_; }
  /// After a parse error of the response: llhttp's reason, which Node puts in `err.reason` and in
  /// the message "Parse Error: <reason>". Empty otherwise.
  const std::string& parse_error_reason() const noexcept { return parse_error_reason_; }
  /// Node: `request.reusedSocket` — the socket came from the agent's free pool.
  bool reused_socket() const noexcept { return reused_socket_; }
  /// Node: `request.res` — the response once its head arrived.
  const std::shared_ptr<IncomingMessage>& res() const noexcept { return res_; }
  /// Node: `request.agent` (null for a request made with create_connection and no agent).
  const std::shared_ptr<Agent>& agent() const noexcept { return agent_ptr_; }
  /// Limits the response headers kept (pairs); empty: 2000 entries. Node: `request.maxHeadersCount`.
  std::optional<std::size_t> max_headers_count{};
  /// Sets the socket's idle timeout once it is connected; `on_timeout` listens on 'timeout'.
  /// Node: `request.setTimeout(timeout[, callback])`.
  ClientRequest& set_timeout(std::chrono::milliseconds timeout, std::function<void()> on_timeout = {});
  /// Node: `request.setNoDelay([noDelay])`, applied once the socket is connected.
  void set_no_delay(bool no_delay = true);
  /// Node: `request.setSocketKeepAlive([enable][, initialDelay])`.
  void set_socket_keep_alive(bool enable = false, std::chrono::milliseconds initial_delay = std::chrono::milliseconds(0));

  /// For an Agent: gives the request its socket (or the error that there is none), on the next
  /// tick. Node: `request.onSocket(socket[, err])`.
  void on_socket(std::shared_ptr<net::Socket> socket, std::error_code ec = {});

 protected:
  ClientRequest(core::Loop& loop, const ClientRequestOptions& options);
  void implicit_header() override;

 private:
  friend std::shared_ptr<ClientRequest> request(core::Loop&, ClientRequestOptions,
                                                std::function<void(const std::shared_ptr<IncomingMessage>&)>);
  friend class Agent;
  class Connection;
  class Owner;

  void start(const ClientRequestOptions& options);
  void on_socket_tick(std::shared_ptr<net::Socket> socket, std::error_code ec);
  void finish_destroy(std::error_code ec);
  void tick_on_socket(const std::shared_ptr<net::Socket>& socket);
  void listen_socket_timeout();
  void defer_to_connect(std::function<void(net::Socket&)> call);
  void emit_error(std::error_code ec);
  void emit_close_once();

  // Node's socket listeners while the socket is this request's (socketOnData, socketOnEnd,
  // socketCloseListener, socketErrorListener, ondrain) and the response hooks.
  void socket_on_data(std::string_view data);
  void socket_on_end();
  void socket_on_close();
  void socket_on_error(std::error_code ec);
  void socket_on_drain();
  bool on_response_head();
  void on_response_complete();
  void on_upgrade(std::string_view head);
  void response_on_end();
  void request_on_finish();
  void response_keep_alive();
  void emit_free();
  void free_parser();

  std::shared_ptr<Agent> agent_ptr_;
  std::string path_;
  std::string method_;
  std::string host_;
  std::string protocol_;
  int port_ = 80;
  std::string socket_path_;
  AgentConnectOptions agent_options_;  // while queued in the agent (Node: kRequestOptions)
  std::optional<std::chrono::milliseconds> timeout_;  // Node: request.timeout
  std::optional<std::size_t> max_header_size_;
  std::optional<bool> insecure_http_parser_;
  bool join_duplicate_headers_ = false;
  std::shared_ptr<core::AbortSignal> signal_;
  core::ListenerId signal_listener_ = 0;
  std::shared_ptr<IncomingMessage> res_;
  std::shared_ptr<IncomingMessage> incoming_;  // the message being parsed (a 1xx, or res_)
  std::unique_ptr<detail::Parser> parser_;
  std::shared_ptr<Connection> connection_;  // the socket listeners while the socket is ours
  std::shared_ptr<detail::MessageOwner> owner_adapter_;
  std::error_code destroy_error_;           // Node: kError
  std::string parse_error_reason_;
  bool aborted_ = false;
  bool abort_pending_ = false;         // abort() queued its 'abort'
  bool reused_socket_ = false;
  bool ended_ = false;                 // Node: _ended — the response ended
  bool upgrade_or_connect_ = false;
  bool had_error_ = false;             // Node: socket._hadError
  bool timeout_listened_ = false;      // Node: timeoutCb
  bool close_emitted_ = false;
};

/// Sends a request. `url` is parsed with Node's WHATWG rules and merged with `options` (a field set
/// in `options` wins); `on_response` is added as a one-time 'response' listener. Throws
/// Error(ERR_INVALID_URL, ERR_INVALID_PROTOCOL, ERR_UNESCAPED_CHARACTERS, ERR_INVALID_HTTP_TOKEN,
/// ERR_INVALID_CHAR, ...) on bad input, as Node does. Call end() to send it.
/// Node: `http.request(url[, options][, callback])`.
std::shared_ptr<ClientRequest> request(core::Loop& loop, std::string_view url, ClientRequestOptions options = {},
                                       std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response = {});
/// Node: `http.request(options[, callback])`.
std::shared_ptr<ClientRequest> request(core::Loop& loop, ClientRequestOptions options,
                                       std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response = {});
/// `request()` with method GET, ended at once. Node: `http.get(url[, options][, callback])`.
std::shared_ptr<ClientRequest> get(core::Loop& loop, std::string_view url, ClientRequestOptions options = {},
                                   std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response = {});
/// Node: `http.get(options[, callback])`.
std::shared_ptr<ClientRequest> get(core::Loop& loop, ClientRequestOptions options,
                                   std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response = {});

}  // namespace httpx::http
