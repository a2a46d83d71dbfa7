// One accepted connection of an http::Server: feeds the socket's bytes to the parser, turns each
// request into an IncomingMessage + ServerResponse, keeps pipelined responses in order, and
// applies the server's timeouts. Node: connectionListenerInternal and the functions around it
// in lib/_http_server.js (its `state` object is this class).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/parser.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/server.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http::detail {

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  /// Takes over `socket` for `server` (Node: the 'connection' listener the server installs first).
  static void start(const std::shared_ptr<Server>& server, const std::shared_ptr<net::Socket>& socket);

  ServerConnection(std::shared_ptr<Server> server, std::shared_ptr<net::Socket> socket);
  ~ServerConnection();

  /// A request is in progress and started before the headers or request deadline.
  /// Node: ConnectionsList::Expired.
  bool expired(std::chrono::steady_clock::time_point now, std::chrono::milliseconds headers_timeout,
               std::chrono::milliseconds request_timeout) const noexcept;
  /// No request is being received and no response is unfinished. Node: ConnectionsList::Idle plus
  /// closeIdleConnections' check of the current response.
  bool idle() const noexcept;
  /// Node: onRequestTimeout — the server's sweep found this connection too slow.
  void on_request_timeout();
  /// Destroys the socket. Node: `connection.socket.destroy()`.
  void destroy_socket();

  std::size_t index = 0;  ///< position in the server's connection list

 private:
  void attach();
  void detach_listeners();
  void on_data(std::string_view data);
  void on_end();
  void on_close();
  void on_drain();
  void on_timeout();
  void on_socket_error(std::error_code ec);
  void dispatch(const std::vector<ParseEvent>& events);
  void on_headers_complete();
  void on_body(std::string_view data);
  void on_message_complete();
  void parser_on_incoming(const std::shared_ptr<IncomingMessage>& req, bool keep_alive);
  void emit_request(const std::shared_ptr<IncomingMessage>& req, const std::shared_ptr<ServerResponse>& res,
                    core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<ServerResponse>&>& signal);
  void res_on_finish(const std::shared_ptr<IncomingMessage>& req, const std::shared_ptr<ServerResponse>& res);
  void hand_over(std::string_view head);
  void update_outgoing_data(std::ptrdiff_t delta);
  void read_start();
  void reset_socket_timeout();
  void acquire_parser();
  void release_parser();
  void leave_server();

  std::shared_ptr<Server> server_;
  std::shared_ptr<net::Socket> socket_;
  std::unique_ptr<Parser> parser_;
  std::vector<ParseEvent> events_;
  std::shared_ptr<IncomingMessage> current_;            // Node: parser.incoming
  std::shared_ptr<ServerResponse> http_message_;        // Node: socket._httpMessage
  std::deque<std::shared_ptr<IncomingMessage>> incoming_;  // Node: state.incoming
  std::deque<std::shared_ptr<ServerResponse>> outgoing_;   // Node: state.outgoing
  std::size_t outgoing_data_ = 0;      // Node: state.outgoingData
  std::size_t requests_count_ = 0;     // Node: state.requestsCount
  bool keep_alive_timeout_set_ = false;  // Node: state.keepAliveTimeoutSet
  bool paused_ = false;                // too much response data queued; Node: socket._paused
  bool error_handled_ = false;         // socketOnError ran; later socket errors are ignored
  bool in_message_ = false;            // a request is being received (Node: last_message_start_ != 0)
  bool headers_completed_ = false;
  bool last_keep_alive_ = true;        // the previous request allowed another one on this connection
  bool in_server_ = false;
  std::chrono::steady_clock::time_point message_start_{};
  core::ListenerId data_id_ = 0, end_id_ = 0, close_id_ = 0, drain_id_ = 0, error_id_ = 0, timeout_id_ = 0;
};

}  // namespace httpx::http::detail
