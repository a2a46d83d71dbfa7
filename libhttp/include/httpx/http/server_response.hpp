/// The response a server writes for one request. Node: `http.ServerResponse`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "httpx/http/incoming_message.hpp"
#include "httpx/http/outgoing_message.hpp"

namespace httpx::http {

/// A response being written. Made by the server for each request and handed to 'request' with it.
/// Until write_head() (or the first write) the status and headers can change; after that the
/// header methods throw ERR_HTTP_HEADERS_SENT. 'finish' says the response was handed to the
/// operating system, 'close' follows (also when the connection died first).
/// Node: `http.ServerResponse`.
class ServerResponse : public OutgoingMessage {
 public:
  /// A response to `req`. Node: `new ServerResponse(req, options)`; a server's `ServerResponse`
  /// option makes a derived class through its own factory.
  static std::shared_ptr<ServerResponse> create(std::shared_ptr<IncomingMessage> req,
                                                OutgoingMessageOptions options = {});

  /// Sends the status line and headers. `headers` is Node's flat-array form: each pair becomes one
  /// field line, unless headers were set with set_header() before, in which case each pair is
  /// set_header()'d (a later pair with the same name replaces an earlier one). Throws
  /// ERR_HTTP_HEADERS_SENT, ERR_HTTP_INVALID_STATUS_CODE (outside 100..999), ERR_INVALID_CHAR (in
  /// the status message), ERR_INVALID_HTTP_TOKEN. Node: `response.writeHead(statusCode[, statusMessage][, headers])`.
  ServerResponse& write_head(int status_code, std::string_view status_message, const HeaderList& headers = {});
  /// write_head() with the default reason phrase (status_message if set, else STATUS_CODES).
  ServerResponse& write_head(int status_code, const HeaderList& headers = {});
  /// Sends "HTTP/1.1 100 Continue". Node: `response.writeContinue()`.
  void write_continue(core::Callback cb = {});
  /// Sends "HTTP/1.1 102 Processing". Node: `response.writeProcessing()`.
  void write_processing(core::Callback cb = {});
  /// Sends a 103 Early Hints with `hints`: entries named "link" (each must look like
  /// `</styles.css>; rel=preload`) are joined into one Link header, the others are sent as they are.
  /// Nothing is sent without a link. Throws ERR_INVALID_ARG_VALUE for a malformed link.
  /// Node: `response.writeEarlyHints(hints[, callback])`.
  void write_early_hints(const HeaderList& hints, core::Callback cb = {});

  /// The request this answers. Node: `response.req`.
  const std::shared_ptr<IncomingMessage>& req() const noexcept { return req_; }

  /// The status code sent by an implicit head. Node: `response.statusCode` (200).
  int status_code = 200;
  /// The reason phrase; empty means the standard one. Node: `response.statusMessage`.
  std::string status_message;

 protected:
  ServerResponse(std::shared_ptr<IncomingMessage> req, OutgoingMessageOptions options,
                 std::unique_ptr<OutgoingMessageEvents> events = nullptr);
  void implicit_header() override;
  int framing_status() const noexcept override { return status_code; }

 private:
  friend class detail::ServerConnection;
  void assign_socket(const std::shared_ptr<net::Socket>& socket);
  void detach_socket();

  std::shared_ptr<IncomingMessage> req_;
  bool sent_100_ = false;         // Node: _sent100
  bool expect_continue_ = false;  // Node: _expect_continue
};

}  // namespace httpx::http
