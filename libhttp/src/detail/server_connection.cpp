// Follows lib/_http_server.js (connectionListenerInternal, socketOnData, parserOnIncoming,
// resOnFinish, socketOnError, socketOnTimeout, socketOnEnd, socketOnClose) and _http_common.js
// (parserOnHeadersComplete, parserOnBody, parserOnMessageComplete). The parser never calls user
// code: execute() records events and this class dispatches them after it returned.
#include "detail/server_connection.hpp"

#include <algorithm>
#include <exception>
#include <optional>

#include "detail/http_text.hpp"
#include "httpx/http/constants.hpp"

namespace httpx::http::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Node: HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER — the socket lives a little longer than the
// Keep-Alive header promises, so a client reusing it at the last moment does not meet a close.
constexpr milliseconds kKeepAliveTimeoutBuffer{1000};
// Node: MAX_HEADER_PAIRS, counted in rawHeaders entries.
constexpr std::size_t kDefaultMaxHeaderEntries = 2000;

// Node's canned answers to a bad client (socketOnError).
std::string_view error_response(std::error_code ec) {
  const std::string code = core::node_code(ec);
  if (code == "HPE_HEADER_OVERFLOW") return "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n";
  if (code == "HPE_CHUNK_EXTENSIONS_OVERFLOW") return "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n";
  if (code == "ERR_HTTP_REQUEST_TIMEOUT") return "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n";
  return "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
}

// The values of header `name` (lower case) in `raw`, joined with ", " as Node's `headers` object
// joins them for every header these checks read (host, expect); nullopt when absent. Reading the
// raw list spares building the header object for requests whose handler never asks for it.
std::optional<std::string> raw_header(const std::vector<std::string>& raw, std::string_view name) {
  std::optional<std::string> value;
  for (std::size_t i = 0; i + 1 < raw.size(); i += 2) {
    const auto& field = raw[i];
    if (field.size() != name.size()) continue;
    bool same = true;
    for (std::size_t k = 0; k < name.size() && same; ++k) same = ascii_lower(field[k]) == name[k];
    if (!same) continue;
    if (!value) {
      value = raw[i + 1];
    } else if (name != "host") {
      *value += ", ";
      *value += raw[i + 1];
    }
  }
  return value;
}

// One scratch list for every connection of the thread: events are dispatched right after the
// execute() that produced them, and no connection's execute() runs inside another's dispatch.
std::vector<ParseEvent>& scratch_events() {
  thread_local std::vector<ParseEvent> events;
  return events;
}

}  // namespace

void ServerConnection::start(const std::shared_ptr<Server>& server, const std::shared_ptr<net::Socket>& socket) {
  auto conn = std::make_shared<ServerConnection>(server, socket);
  conn->attach();
}

ServerConnection::ServerConnection(std::shared_ptr<Server> server, std::shared_ptr<net::Socket> socket)
    : server_(std::move(server)), socket_(std::move(socket)) {}

ServerConnection::~ServerConnection() {
  if (parser_) ParserPool::release(std::move(parser_));
}

void ServerConnection::attach() {
  server_->connections_.push_back(this);
  index = server_->connections_.size() - 1;
  in_server_ = true;
  if (server_->timeout.count() > 0) socket_->set_timeout(server_->timeout);
  // Node starts the clock when the connection arrives (Parser::Initialize): a connection that sends
  // nothing is neither idle nor spared by headersTimeout.
  in_message_ = true;
  message_start_ = steady_clock::now();
  // The socket holds its observer, and so this connection, until on_stream_close() lets go.
  socket_->set_observer(shared_from_this());
}

void ServerConnection::detach() { socket_->set_observer(nullptr); }

void ServerConnection::leave_server() {
  if (!in_server_) return;
  in_server_ = false;
  auto& list = server_->connections_;
  // Swap-remove: order does not matter, and 10k connections closing must not cost O(n) each.
  list[index] = list.back();
  list[index]->index = index;
  list.pop_back();
}

void ServerConnection::acquire_parser() {
  parser_ = ParserPool::acquire(ParserType::request,
                                ParserOptions{.max_header_size = server_->options_.max_header_size,
                                              .insecure = server_->options_.insecure_http_parser});
  // Node's parserOnIncoming: CONNECT always changes protocol; an Upgrade only when someone listens.
  std::weak_ptr<Server> weak = server_;
  parser_->set_upgrade_check([weak](const MessageHead& head) {
    auto server = weak.lock();
    return head.method == "CONNECT" || (server && server->events_.upgrade.listener_count() > 0);
  });
}

void ServerConnection::release_parser() {
  if (parser_) ParserPool::release(std::move(parser_));
}

// ---- reading requests --------------------------------------------------------------------------

void ServerConnection::on_stream_data(std::string_view data) {
  auto self = shared_from_this();  // a handler may close everything
  while (!data.empty() && socket_ && !socket_->destroyed()) {
    if (closed_after_message_) {
      // llhttp's closed state: after a message without keep-alive only CR and LF may follow
      // (the lenient parser lets anything through).
      while (!data.empty() && (data.front() == '\r' || data.front() == '\n')) data.remove_prefix(1);
      if (data.empty()) break;
      on_stream_error(closed_connection_error());
      return;
    }
    if (!parser_) acquire_parser();
    if (!in_message_) {
      in_message_ = true;
      headers_completed_ = false;
      message_start_ = steady_clock::now();
    }
    auto& events = scratch_events();
    const ParseResult r = parser_->execute(data, events);
    std::vector<ParseEvent> batch;
    batch.swap(events);
    dispatch(batch);
    batch.clear();
    events.swap(batch);
    if (!socket_ || socket_->destroyed()) return;
    if (r.error) {
      on_stream_error(r.error);
      return;
    }
    if (r.upgraded) {
      if (current_ && current_->upgrade()) {
        hand_over(data.substr(r.consumed));
        return;
      }
      // llhttp stops after a body-less Upgrade request even when the server declined it; like
      // Node, the rest of this read is dropped and HTTP goes on with the next one.
      parser_->resume_after_upgrade();
      return;
    }
    // Node: an HTTP/2 preface answered by HTTP/1 is not worth a reply.
    if (current_ && current_->method() == "PRI") {
      socket_->destroy();
      return;
    }
    data.remove_prefix(r.consumed);
  }
  // Between messages the parser goes back to the pool, so an idle keep-alive connection holds none.
  if (parser_ && !in_message_) release_parser();
}

void ServerConnection::dispatch(const std::vector<ParseEvent>& events) {
  for (const auto& ev : events) {
    switch (ev.kind) {
      case ParseEvent::Kind::head:
        headers_completed_ = true;
        on_headers_complete();
        break;
      case ParseEvent::Kind::body:
        on_body(ev.data);
        break;
      case ParseEvent::Kind::message_complete:
        in_message_ = false;
        on_message_complete();
        break;
    }
    if (!socket_ || socket_->destroyed()) return;
  }
}

void ServerConnection::on_headers_complete() {
  auto& head = parser_->head();
  const auto& opts = server_->options_;
  auto req = opts.incoming_message ? opts.incoming_message(socket_) : IncomingMessage::create(socket_);
  req->http_version_major_ = head.http_major;
  req->http_version_minor_ = head.http_minor;
  req->http_version_ = std::to_string(head.http_major) + '.' + std::to_string(head.http_minor);
  req->join_duplicate_headers_ = opts.join_duplicate_headers;
  req->url_ = std::move(head.url);
  req->method_ = std::move(head.method);
  req->upgrade_ = head.upgrade;
  // Node: parser.maxHeaderPairs (server.maxHeadersCount pairs, else 2000 entries); 0 = no limit.
  const std::size_t max_entries =
      server_->max_headers_count ? *server_->max_headers_count * 2 : kDefaultMaxHeaderEntries;
  if (max_entries > 0 && head.raw_headers.size() > max_entries) head.raw_headers.resize(max_entries);
  req->raw_headers_ = std::move(head.raw_headers);
  req->owner_ = weak_from_this();
  current_ = req;
  last_keep_alive_ = head.should_keep_alive;
  parser_on_incoming(req, head.should_keep_alive);
}

void ServerConnection::on_body(std::string_view data) {
  // Node's parserOnBody: a reader that is full stops the socket (readStop).
  if (current_ && !current_->dumped_ && !current_->push(data)) socket_->pause();
}

void ServerConnection::on_message_complete() {
  if (!last_keep_alive_ && !server_->options_.insecure_http_parser) closed_after_message_ = true;
  if (current_) {
    current_->complete_ = true;
    if (parser_ && !parser_->raw_trailers().empty()) current_->raw_trailers_ = parser_->raw_trailers();
    current_->push_end();
  }
  read_start();
}

void ServerConnection::read_start() {
  // Node's readStart(): not while responses are backed up (socket._paused).
  if (socket_ && !paused_ && socket_->readable()) socket_->resume();
}

void ServerConnection::reset_socket_timeout() {
  if (!keep_alive_timeout_set_) return;
  socket_->set_timeout(server_->timeout);
  keep_alive_timeout_set_ = false;
}

void ServerConnection::parser_on_incoming(const std::shared_ptr<IncomingMessage>& req, bool keep_alive) {
  reset_socket_timeout();
  if (req->upgrade()) return;  // handed over after execute() (hand_over)

  incoming_.push_back(req);
  if (!paused_ && (socket_->writable_need_drain() || outgoing_data_ >= socket_->writable_high_water_mark())) {
    // Responses are backed up: stop reading requests until they drain (pipelining flood).
    paused_ = true;
    socket_->pause();
  }

  const auto& opts = server_->options_;
  const OutgoingMessageOptions res_options{.high_water_mark = socket_->writable_high_water_mark(),
                                           .reject_non_standard_body_writes = opts.reject_non_standard_body_writes};
  auto res = opts.server_response ? opts.server_response(req, res_options) : ServerResponse::create(req, res_options);
  res->keep_alive_timeout_ = server_->keep_alive_timeout;
  res->max_requests_per_socket_ = server_->max_requests_per_socket;
  res->owner_ = weak_from_this();
  res->should_keep_alive_ = keep_alive;
  res->unique_headers_ = server_->unique_headers_;

  if (http_message_) {
    outgoing_.push_back(res);
  } else {
    http_message_ = res;
    res->assign_socket(socket_);
  }
  bool handled = false;
  if (req->http_version_major() == 1 && req->http_version_minor() == 1) {
    if (opts.require_host_header && !raw_header(req->raw_headers(), "host")) {
      res->write_head(400, {{"Connection", "close"}});
      res->end();
      return;
    }
    const bool limited = server_->max_requests_per_socket > 0;
    if (limited) {
      ++requests_count_;
      res->max_requests_on_connection_reached_ = server_->max_requests_per_socket <= requests_count_;
    }
    if (limited && server_->max_requests_per_socket < requests_count_) {
      handled = true;
      server_->events_.drop_request.emit(req, socket_);
      res->write_head(503);
      res->end();
    } else if (const auto expect = raw_header(req->raw_headers(), "expect")) {
      handled = true;
      if (contains_word(*expect, "100-continue")) {
        res->expect_continue_ = true;
        if (server_->events_.check_continue.listener_count() > 0) {
          emit_request(req, res, server_->events_.check_continue);
        } else {
          res->write_continue();
          emit_request(req, res, server_->events_.request);
        }
      } else if (server_->events_.check_expectation.listener_count() > 0) {
        emit_request(req, res, server_->events_.check_expectation);
      } else {
        res->write_head(417);
        res->end();
      }
    }
  }
  if (!handled) emit_request(req, res, server_->events_.request);
}

void ServerConnection::emit_request(
    const std::shared_ptr<IncomingMessage>& req, const std::shared_ptr<ServerResponse>& res,
    core::Signal<const std::shared_ptr<IncomingMessage>&, const std::shared_ptr<ServerResponse>&>& signal) {
  try {
    signal.emit(req, res);
  } catch (const std::exception&) {
    // A handler that throws gets what Node gives a rejected async handler: a clean 500 when
    // nothing was sent yet, otherwise the connection is cut.
    if (!res->headers_sent() && !res->writable_ended()) {
      for (const auto& name : res->get_header_names()) res->remove_header(name);
      res->status_code = 500;
      res->end(STATUS_CODES.at(500));
    } else {
      res->destroy();
    }
  }
}

// ---- responses ---------------------------------------------------------------------------------

void ServerConnection::res_on_finish(const std::shared_ptr<IncomingMessage>& req,
                                     const std::shared_ptr<ServerResponse>& res) {
  if (!incoming_.empty() && incoming_.front() == req) incoming_.erase(incoming_.begin());
  // Node: a body nobody read is drained so the next request can be parsed.
  if (!req->consuming_ && !req->resume_scheduled()) req->dump();
  res->detach_socket();
  if (http_message_ == res) http_message_.reset();
  clear_incoming(req.get());
  // Node's nextTick(emitCloseNT, res): the tick holds the response until 'close' was emitted.
  res->loop().post([res] { res->emit_close(); });
  if (!socket_) return;
  if (res->last_) {
    // Node's destroySoon(): end, and destroy once everything was written.
    if (socket_->writable()) socket_->end();
    if (socket_->writable_finished()) {
      socket_->destroy();
    } else {
      std::weak_ptr<net::Socket> weak_socket = socket_;
      socket_->events().finish.once([weak_socket] {
        if (auto s = weak_socket.lock()) s->destroy();
      });
    }
  } else if (outgoing_.empty()) {
    if (server_->keep_alive_timeout.count() > 0) {
      socket_->set_timeout(server_->keep_alive_timeout + kKeepAliveTimeoutBuffer);
      keep_alive_timeout_set_ = true;
    }
  } else {
    auto next = outgoing_.front();
    outgoing_.erase(outgoing_.begin());
    http_message_ = next;
    next->assign_socket(socket_);
  }
}

// Node's clearIncoming: the parser lets go of an answered request once it was read to the end, so
// an idle keep-alive connection holds no message.
void ServerConnection::clear_incoming(const IncomingMessage* req) {
  if (current_.get() != req) return;
  if (current_->readable_ended()) {
    current_.reset();
  } else {
    clear_on_end_ = req;
  }
}

void ServerConnection::incoming_ended(const IncomingMessage& msg) {
  if (clear_on_end_ != &msg) return;
  clear_on_end_ = nullptr;
  if (current_.get() == &msg) current_.reset();
}

void ServerConnection::outgoing_finished(OutgoingMessage& msg) {
  // Only ServerResponses have this connection as their owner.
  auto res = std::static_pointer_cast<ServerResponse>(msg.shared_from_this());
  res_on_finish(res->req(), res);
}

void ServerConnection::pending_data(std::ptrdiff_t delta) {
  outgoing_data_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(outgoing_data_) + delta);
  on_stream_drain();
}

void ServerConnection::on_stream_drain() {
  if (!socket_) return;
  const bool need_pause = outgoing_data_ > socket_->writable_high_water_mark();
  if (paused_ && !need_pause) {
    paused_ = false;
    socket_->resume();
  }
  if (http_message_ && !http_message_->finished_ && http_message_->need_drain_) {
    http_message_->need_drain_ = false;
    http_message_->events().drain.emit();
  }
}

// ---- the end of a connection -------------------------------------------------------------------

void ServerConnection::on_stream_error(std::error_code ec) {
  // Node's socketOnError: once; later socket errors go nowhere (its noop listener).
  if (error_handled_ || !socket_) return;
  error_handled_ = true;
  auto self = shared_from_this();
  auto socket = socket_;
  if (!server_->events_.client_error.emit(ec, socket)) {
    if (socket->writable() && (!http_message_ || !http_message_->header_sent_)) {
      socket->write(error_response(ec));
    }
    socket->destroy(ec);
  }
}

void ServerConnection::on_request_timeout() {
  on_stream_error(core::make_error_code(core::errc::err_http_request_timeout));
}

void ServerConnection::on_stream_timeout() {
  auto self = shared_from_this();
  const bool req_timeout = current_ && !current_->complete() && current_->events().timeout.emit();
  const bool res_timeout = http_message_ && http_message_->events().timeout.emit();
  const bool server_timeout = server_->events_.timeout.emit(socket_);
  if (!req_timeout && !res_timeout && !server_timeout && socket_) socket_->destroy();
}

void ServerConnection::on_stream_end() {
  auto self = shared_from_this();
  if (parser_) {
    std::vector<ParseEvent> events;
    const ParseResult r = parser_->finish(events);
    dispatch(events);
    if (r.error) {
      on_stream_error(r.error);
      return;
    }
  }
  // Node: httpAllowHalfOpen is false, so the server ends its side too.
  if (socket_ && socket_->writable()) socket_->end();
}

void ServerConnection::on_stream_close() {
  auto self = shared_from_this();
  detach();
  leave_server();
  release_parser();
  // Node's abortIncoming: requests still being read or answered are aborted.
  while (!incoming_.empty()) {
    auto req = incoming_.front();
    incoming_.erase(incoming_.begin());
    req->destroy(core::make_error_code(core::errc::aborted));
  }
  // Node's onServerResponseClose: the current response hears 'close' with its socket.
  if (http_message_) {
    auto res = http_message_;
    http_message_.reset();
    res->emit_close();
  }
  for (auto& res : outgoing_) res->emit_close();
  outgoing_.clear();
  current_.reset();
}

void ServerConnection::hand_over(std::string_view head) {
  auto self = shared_from_this();
  detach();
  leave_server();
  release_parser();
  auto req = current_;
  current_.reset();
  const bool connect = req->method() == "CONNECT";
  auto& signal = connect ? server_->events_.connect : server_->events_.upgrade;
  if (signal.listener_count() == 0) {
    socket_->destroy();
    return;
  }
  // The socket is the listener's now: paused, and flowing again once it adds a 'data' listener.
  socket_->pause();
  socket_->reset_flowing();
  signal.emit(req, socket_, head);
}

bool ServerConnection::expired(steady_clock::time_point now, milliseconds headers_timeout,
                               milliseconds request_timeout) const noexcept {
  if (!in_message_) return false;
  const auto elapsed = now - message_start_;
  return (!headers_completed_ && headers_timeout.count() > 0 && elapsed > headers_timeout) ||
         (request_timeout.count() > 0 && elapsed > request_timeout);
}

bool ServerConnection::idle() const noexcept {
  if (in_message_) return false;
  return !(http_message_ && !http_message_->finished_);
}

void ServerConnection::destroy_socket() {
  if (socket_) socket_->destroy();
}

}  // namespace httpx::http::detail
