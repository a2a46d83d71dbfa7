// One accepted connection of an http::Server: feeds the socket's bytes to the parser, turns each
// request into an IncomingMessage + ServerResponse, keeps pipelined responses in order, and
// applies the server's timeouts. Node: connectionListenerInternal and the functions around it
// in lib/_http_server.js (its `state` object is this class).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/message_owner.hpp"
#include "detail/parser.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/server.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http::detail {

class ServerConnection : public core::detail::StreamObserver,
                         public MessageOwner,
                         public std::enable_shared_from_this<ServerConnection> {
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

  // The socket's events (the observer is called before the socket's listeners).
  void on_stream_data(std::string_view data) override;
  void on_stream_end() override;
  void on_stream_close() override;
  void on_stream_drain() override;
  void on_stream_timeout() override;
  void on_stream_error(std::error_code ec) override;

  // The messages' events.
  void read_start() override;
  void incoming_ended(const IncomingMessage& msg) override;
  void pending_data(std::ptrdiff_t delta) override;
  void outgoing_finished(OutgoingMessage& msg) override;

 private:
  void attach();
  void detach();
  void dispatch(const std::vector<ParseEvent>& events);
  void on_headers_complete();
  void on_body(std::string_view data);
  void on_message_complete();
  void parser_on_incoming(const std::shared_ptr<IncomingMessage>& req, bool keep_alive);
  void emit_request(const std::shared_ptr<IncomingMessage>& req, const std::shared_ptr<ServerResponse>& res,
                    core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<ServerResponse>&>& signal);
  void clear_incoming(const IncomingMessage* req);
  void res_on_finish(const std::shared_ptr<IncomingMessage>& req, const std::shared_ptr<ServerResponse>& res);
  void hand_over(std::string_view head);
  void reset_socket_timeout();
  void acquire_parser();
  void release_parser();
  void leave_server();

  std::shared_ptr<Server> server_;
  std::shared_ptr<net::Socket> socket_;
  std::unique_ptr<Parser> parser_;
  std::shared_ptr<IncomingMessage> current_;            // Node: parser.incoming
  const IncomingMessage* clear_on_end_ = nullptr;       // answered, released at its 'end'
  std::shared_ptr<ServerResponse> http_message_;        // Node: socket._httpMessage
  std::vector<std::shared_ptr<IncomingMessage>> incoming_;  // Node: state.incoming (a few at most)
  std::vector<std::shared_ptr<ServerResponse>> outgoing_;   // Node: state.outgoing
  std::size_t outgoing_data_ = 0;      // Node: state.outgoingData
  std::size_t requests_count_ = 0;     // Node: state.requestsCount
  bool keep_alive_timeout_set_ = false;  // Node: state.keepAliveTimeoutSet
  bool paused_ = false;                // too much response data queued; Node: socket._paused
  bool error_handled_ = false;         // socketOnError ran; later socket errors are ignored
  bool in_message_ = false;            // a request is being received (Node: last_message_start_ != 0)
  bool headers_completed_ = false;
  bool last_keep_alive_ = true;        // the current request allows another one on this connection
  bool closed_after_message_ = false;  // a request without keep-alive completed: nothing may follow
  bool in_server_ = false;
  std::chrono::steady_clock::time_point message_start_{};
};

}  // namespace httpx::http::detail
