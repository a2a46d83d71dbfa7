// Follows Node's lib/_http_client.js: the request gets its socket from the agent on a later tick
// (onSocket), listens to it while it is its own (socketOnData, socketOnEnd, socketCloseListener,
// socketErrorListener, ondrain), parses the response with a pooled parser, and hands a keep-alive
// socket back through the socket's 'free' event once the request and the response are both done.
#include "httpx/http/client_request.hpp"

#include "detail/http_text.hpp"
#include "detail/message_owner.hpp"
#include "detail/parser.hpp"
#include "httpx/http/constants.hpp"
#include "httpx/http/url.hpp"

namespace httpx::http {

using core::errc;
using core::Error;

namespace {

// Node: parser.maxHeaderPairs defaults to 2000 entries.
constexpr std::size_t kDefaultMaxHeaderEntries = 2000;

// Node's INVALID_PATH_REGEX /[^\u0021-\u00ff]/ on the path's UTF-16 code units; here on the code
// points of the UTF-8 text (a malformed sequence is as illegal as a code point above U+00FF).
bool path_has_illegal_characters(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c < 0x21) return true;
    if (c < 0x80) continue;
    // Only U+0080..U+00FF pass: two-byte sequences led by 0xC2 or 0xC3.
    if ((c != 0xC2 && c != 0xC3) || i + 1 >= path.size()) return true;
    if ((static_cast<unsigned char>(path[i + 1]) & 0xC0) != 0x80) return true;
    ++i;
  }
  return false;
}

bool is_informational(int status) { return status >= 100 && status < 200 && status != 101; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Node's Buffer.from(auth).toString('base64').
std::string base64(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    const unsigned v = static_cast<unsigned char>(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    const unsigned v = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Node's destroySoon(): end, and destroy once everything was written.
void destroy_soon(const std::shared_ptr<net::Socket>& socket) {
  if (socket->writable()) socket->end();
  if (socket->writable_finished()) {
    socket->destroy();
    return;
  }
  std::weak_ptr<net::Socket> weak = socket;
  socket->events().finish.once([weak] {
    if (auto s = weak.lock()) s->destroy();
  });
}

}  // namespace

// The socket listeners of the request that owns the socket, as one observer (called before the
// socket's own listeners, as Node's are the first ones added). It holds the request, as Node's
// socket._httpMessage does: a request nobody else keeps still gets its response. The socket lets
// go of it when the request is done with the socket (keep-alive, upgrade, close).
class ClientRequest::Connection final : public core::detail::StreamObserver {
 public:
  explicit Connection(std::shared_ptr<ClientRequest> req) : req_(std::move(req)) {}
  void on_stream_data(std::string_view data) override {
    if (auto r = req_; r && reading) r->socket_on_data(data);
  }
  void on_stream_end() override {
    if (auto r = req_; r && reading) r->socket_on_end();
  }
  void on_stream_drain() override {
    if (auto r = req_; r && reading) r->socket_on_drain();
  }
  void on_stream_close() override {
    if (auto r = req_) r->socket_on_close();
  }
  void on_stream_error(std::error_code ec) override {
    if (auto r = req_) r->socket_on_error(ec);
  }
  void on_stream_timeout() override {
    auto r = req_;
    if (!r) return;
    // Node's emitRequestTimeout (when a timeout was asked for), then responseOnTimeout.
    if (r->timeout_listened_) r->events().timeout.emit();
    if (response_timeout && r->res_) r->res_->events().timeout.emit();
  }
  bool reading = true;            // socketOnData, socketOnEnd and ondrain are attached
  bool response_timeout = false;  // responseOnTimeout is attached

 private:
  std::shared_ptr<ClientRequest> req_;
};

// The MessageOwner of the request and its response: a reader of the response restarts the socket
// (Node: readStart), the request's 'finish' may free the socket (requestOnFinish).
class ClientRequest::Owner final : public detail::MessageOwner {
 public:
  explicit Owner(std::weak_ptr<ClientRequest> req) : req_(std::move(req)) {}
  void read_start() override {
    auto r = req_.lock();
    if (r && r->socket_ && r->socket_->readable()) r->socket_->resume();
  }
  void incoming_ended(const IncomingMessage&) override {}
  void pending_data(std::ptrdiff_t) override {}  // a request waits for its socket without limit
  void outgoing_finished(OutgoingMessage&) override {
    if (auto r = req_.lock()) r->request_on_finish();
  }

 private:
  std::weak_ptr<ClientRequest> req_;
};

namespace {
struct MadeClientRequest final : ClientRequest {
  MadeClientRequest(core::Loop& loop, const ClientRequestOptions& options) : ClientRequest(loop, options) {}
};
}  // namespace

// ---- construction ----------------------------------------------------------------------------------

ClientRequest::ClientRequest(core::Loop& loop, const ClientRequestOptions& options)
    : OutgoingMessage(loop, {}, std::make_unique<ClientRequestEvents>()) {
  if (options.no_agent) {
    agent_ptr_ = Agent::create(loop);
  } else if (options.agent) {
    agent_ptr_ = options.agent;
  } else if (!options.create_connection) {
    agent_ptr_ = global_agent(loop);
  }
  agent_ = agent_ptr_ != nullptr;

  protocol_ = options.protocol.value_or("http:");
  const std::string expected = agent_ptr_ ? agent_ptr_->protocol() : std::string("http:");
  if (options.path && path_has_illegal_characters(*options.path)) {
    throw Error(errc::err_unescaped_characters, "Request path contains unescaped characters");
  }
  if (protocol_ != expected) {
    throw Error(errc::err_invalid_protocol,
                "Protocol \"" + protocol_ + "\" not supported. Expected \"" + expected + "\"");
  }
  const int default_port = options.default_port.value_or(agent_ptr_ ? agent_ptr_->default_port : 0);
  port_ = options.port.value_or(0) ? *options.port : (default_port ? default_port : 80);
  host_ = options.hostname && !options.hostname->empty() ? *options.hostname
          : options.host && !options.host->empty()        ? *options.host
                                                           : std::string("localhost");
  const bool set_default_headers = options.set_default_headers.value_or(true);
  const bool set_host = options.set_host.value_or(set_default_headers);
  socket_path_ = options.socket_path.value_or("");
  timeout_ = options.timeout;
  signal_ = options.signal;

  if (options.method && !options.method->empty()) {
    if (!check_is_http_token(*options.method)) {
      throw Error(errc::err_invalid_http_token, "Method must be a valid HTTP token [\"" + *options.method + "\"]");
    }
    method_ = upper(*options.method);
  } else {
    method_ = "GET";
  }
  // Node's validateHints (in net.connect, reached synchronously from http.request).
  if (const int hints = options.hints.value_or(0);
      hints != 0 && (hints & ~(net::kHintAddrConfig | net::kHintV4Mapped | net::kHintAll)) != 0) {
    throw Error(errc::err_invalid_arg_value,
                "The argument 'hints' is invalid. Received " + std::to_string(hints));
  }
  max_header_size_ = options.max_header_size;
  insecure_http_parser_ = options.insecure_http_parser;
  join_duplicate_headers_ = options.join_duplicate_headers.value_or(false);
  path_ = options.path && !options.path->empty() ? *options.path : std::string("/");

  use_chunked_encoding_by_default_ = !(method_ == "GET" || method_ == "HEAD" || method_ == "DELETE" ||
                                       method_ == "OPTIONS" || method_ == "TRACE" || method_ == "CONNECT");
  if (agent_ptr_) {
    // Keep-alive only when the agent will really reuse the connection.
    if (!agent_ptr_->keep_alive() && !agent_ptr_->max_sockets) {
      last_ = true;
      should_keep_alive_ = false;
    } else {
      last_ = false;
      should_keep_alive_ = true;
    }
  }
  if (!set_default_headers) {
    // Node: setDefaultHeaders false adds none of Connection, Content-Length, Transfer-Encoding.
    removed_connection_ = true;
    removed_cont_len_ = true;
    removed_te_ = true;
  }
  if (options.unique_headers) {
    auto unique = std::make_shared<std::vector<std::string>>();
    for (const auto& name : *options.unique_headers) unique->push_back(detail::to_lower(name));
    unique_headers_ = std::move(unique);
  }

  const HeaderList* headers = options.headers ? &*options.headers : nullptr;
  if (!options.headers_are_raw_array) {
    if (headers) {
      for (const auto& [name, value] : *headers) append_header(name, value);
    }
    if (!host_.empty() && !get_header("host") && set_host) {
      std::string host_header = host_;
      // An IPv6 address goes in brackets (RFC 3986 section 3.2.2).
      const auto colon = host_header.find(':');
      if (colon != std::string::npos && host_header.find(':', colon + 1) != std::string::npos &&
          host_header.front() != '[') {
        host_header = '[' + host_header + ']';
      }
      if (port_ && port_ != default_port) host_header += ':' + std::to_string(port_);
      set_header("Host", host_header);
    }
    if (options.auth && !get_header("authorization")) set_header("Authorization", "Basic " + base64(*options.auth));
    if (get_header("expect")) {
      if (header_) throw Error(errc::err_http_headers_sent, "Cannot render headers after they are sent to the client");
      store_header(method_ + ' ' + path_ + " HTTP/1.1\r\n", nullptr);
    }
  } else {
    const HeaderList none;
    store_header(method_ + ' ' + path_ + " HTTP/1.1\r\n", headers ? headers : &none);
  }
}

ClientRequest::~ClientRequest() {
  if (signal_ && signal_listener_) signal_->abort.off(signal_listener_);
}

// Node's constructor tail: the signal, then the agent (or the connection factory) is asked for a
// socket. Separate from the constructor because both need the request's shared_ptr.
void ClientRequest::start(const ClientRequestOptions& options) {
  auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
  owner_adapter_ = std::make_shared<Owner>(self);
  owner_ = owner_adapter_;
  if (signal_) {
    std::weak_ptr<ClientRequest> weak = self;
    auto on_abort = [weak] {
      if (auto r = weak.lock()) r->destroy(r->signal_->reason());
    };
    if (signal_->aborted()) {
      loop().post(on_abort);
    } else {
      signal_listener_ = signal_->abort.once(on_abort);
    }
  }
  AgentConnectOptions connect;
  connect.host = host_;
  connect.port = port_;
  connect.local_address = options.local_address.value_or("");
  connect.local_port = options.local_port.value_or(0);
  connect.family = options.family.value_or(0);
  connect.hints = options.hints.value_or(0);
  connect.socket_path = socket_path_;
  connect.lookup = options.lookup;
  connect.timeout = timeout_;
  if (agent_ptr_) {
    agent_ptr_->add_request(self, connect);
    return;
  }
  // No agent: Connection: close, and a socket from the factory.
  last_ = true;
  should_keep_alive_ = false;
  const net::ConnectOptions c = connect.connect_options();
  auto done = std::make_shared<bool>(false);
  std::weak_ptr<ClientRequest> weak = self;
  CreateConnectionCallback oncreate = [weak, done](std::error_code ec, std::shared_ptr<net::Socket> socket) {
    if (*done) return;
    *done = true;
    auto r = weak.lock();
    if (!r) return;
    if (ec) {
      r->loop().post([r, ec] { r->emit_error(ec); });
    } else {
      r->on_socket(std::move(socket));
    }
  };
  try {
    if (auto socket = options.create_connection(c, oncreate)) oncreate({}, std::move(socket));
  } catch (const Error& e) {
    oncreate(e.code(), nullptr);
  }
}

void ClientRequest::implicit_header() {
  if (header_) throw Error(errc::err_http_headers_sent, "Cannot render headers after they are sent to the client");
  store_header(method_ + ' ' + path_ + " HTTP/1.1\r\n", nullptr);
}

// ---- abort and destroy -----------------------------------------------------------------------------

void ClientRequest::abort() {
  if (aborted_) return;
  aborted_ = true;
  abort_pending_ = true;
  auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
  loop().post([self] {
    self->abort_pending_ = false;
    self->events().abort.emit();
    // 'close' may have come first (Node: onSocketNT was queued before emitAbortNT); the listeners
    // it left for 'abort' go now.
    if (self->close_emitted_) self->events().remove_all_listeners();
  });
  destroy();
}

void ClientRequest::destroy(std::error_code ec) {
  if (destroyed_) return;
  destroyed_ = true;
  // Aborting: the rest of the response does not matter.
  if (res_) res_->dump();
  destroy_error_ = ec;
  if (socket_) socket_->destroy(ec);
}

// ---- the socket ------------------------------------------------------------------------------------

void ClientRequest::on_socket(std::shared_ptr<net::Socket> socket, std::error_code ec) {
  auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
  loop().post([self, socket = std::move(socket), ec] { self->on_socket_tick(socket, ec); });
}

// Node's onSocketNT.
void ClientRequest::on_socket_tick(std::shared_ptr<net::Socket> socket, std::error_code ec) {
  if (!destroyed_ && !ec) {
    tick_on_socket(socket);
    flush();
    return;
  }
  destroyed_ = true;
  if (socket) {
    if (!ec && agent_ptr_ && !socket->destroyed()) {
      socket->events().free.emit();
    } else {
      // Node waits for the socket to be done (finished()) before the request's 'error' and 'close'.
      const std::error_code err = ec ? ec : destroy_error_;
      auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
      socket->destroy(err);
      socket->events().close.once([self, err] { self->finish_destroy(err); });
      return;
    }
  }
  finish_destroy(ec ? ec : destroy_error_);
}

// Node's _destroy in onSocketNT: 'socket hang up' unless aborted, then 'close'.
void ClientRequest::finish_destroy(std::error_code ec) {
  if (!aborted_ && !ec) ec = core::make_error_code(errc::socket_hang_up);
  if (ec) emit_error(ec);
  emit_close_once();
}

// Node's tickOnSocket.
void ClientRequest::tick_on_socket(const std::shared_ptr<net::Socket>& socket) {
  detail::ParserOptions parser_options;
  if (max_header_size_ && *max_header_size_ > 0) parser_options.max_header_size = *max_header_size_;
  parser_options.insecure = insecure_http_parser_.value_or(false);
  parser_ = detail::ParserPool::acquire(detail::ParserType::response, parser_options);
  parser_->set_request_method(method_);
  socket_ = socket;
  auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
  // Node's socket._httpMessage: from now on this socket's 'free' is about this request.
  if (agent_ptr_) agent_ptr_->busy_requests_[socket.get()] = self;
  connection_ = std::make_shared<Connection>(self);
  socket->set_observer(connection_);
  if (timeout_ || (agent_ptr_ && agent_ptr_->options().timeout)) listen_socket_timeout();
  events().socket.emit(socket);
}

void ClientRequest::listen_socket_timeout() { timeout_listened_ = true; }

ClientRequest& ClientRequest::set_timeout(std::chrono::milliseconds timeout, std::function<void()> on_timeout) {
  if (ended_) return *this;
  listen_socket_timeout();
  if (on_timeout) events().timeout.once(std::move(on_timeout));
  defer_to_connect([timeout](net::Socket& s) { s.set_timeout(timeout); });
  return *this;
}

void ClientRequest::set_no_delay(bool no_delay) {
  defer_to_connect([no_delay](net::Socket& s) { s.set_no_delay(no_delay); });
}

void ClientRequest::set_socket_keep_alive(bool enable, std::chrono::milliseconds initial_delay) {
  defer_to_connect([enable, initial_delay](net::Socket& s) { s.set_keep_alive(enable, initial_delay); });
}

// Node's _deferToConnect: now when the socket is connected, on 'connect' while it connects, and
// once the request has a socket otherwise.
void ClientRequest::defer_to_connect(std::function<void(net::Socket&)> call) {
  auto on_socket = [call](const std::shared_ptr<net::Socket>& socket) {
    if (!socket->connecting()) {
      call(*socket);
      return;
    }
    std::weak_ptr<net::Socket> weak = socket;
    socket->events().connect.once([weak, call] {
      if (auto s = weak.lock()) call(*s);
    });
  };
  if (socket_) {
    on_socket(socket_);
  } else {
    events().socket.once(on_socket);
  }
}

void ClientRequest::emit_error(std::error_code ec) {
  // Node's emitErrorEvent: an error with nobody listening is thrown (an uncaught exception).
  events().error.emit(ec);
}

void ClientRequest::emit_close_once() {
  if (close_emitted_) return;
  close_emitted_ = true;
  if (!abort_pending_) {
    emit_close();
    return;
  }
  // An 'abort' is still to come after this 'close': its listeners must survive until then.
  closed_ = true;
  destroyed_ = true;
  events().close.emit();
}

// ---- the socket's events while it is this request's ------------------------------------------------

void ClientRequest::socket_on_data(std::string_view data) {
  if (!parser_) return;
  std::vector<detail::ParseEvent> events;
  auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
  std::string_view rest = data;
  while (parser_) {
    const detail::ParseResult r = parser_->execute(rest, events);
    for (const auto& e : events) {
      if (!parser_) break;
      switch (e.kind) {
        case detail::ParseEvent::Kind::head: {
          if (!on_response_head()) return;  // a second response: the socket is gone
          break;
        }
        case detail::ParseEvent::Kind::body:
          if (incoming_ && !incoming_->dumped_ && !incoming_->push(e.data)) socket_->pause();
          break;
        case detail::ParseEvent::Kind::message_complete:
          on_response_complete();
          break;
      }
    }
    if (!parser_) return;
    if (r.error) {
      // Node: the parse error goes to the request; the socket is done.
      parse_error_reason_ = r.reason;
      free_parser();
      connection_->reading = false;
      had_error_ = true;
      socket_->destroy();
      emit_error(r.error);
      return;
    }
    if (r.upgraded) {
      on_upgrade(rest.substr(r.consumed));
      return;
    }
    rest.remove_prefix(r.consumed);
    if (rest.empty() || r.consumed == 0) break;
  }
  // Node: once the final response is complete the parser and the data listeners go, and bytes
  // that follow in later reads are ignored.
  if (parser_ && res_ && res_->complete_ && !is_informational(res_->status_code_)) {
    connection_->reading = false;
    free_parser();
  }
}

// Node's parserOnHeadersComplete + parserOnIncomingClient: the head becomes an IncomingMessage.
// Whether the body is skipped (HEAD, 1xx, 304) or the rest is a tunnel (101, CONNECT) the parser
// decided already (Parser::set_request_method). False when the socket was destroyed.
bool ClientRequest::on_response_head() {
  auto& head = parser_->head();
  auto res = IncomingMessage::create(socket_);
  res->http_version_major_ = head.http_major;
  res->http_version_minor_ = head.http_minor;
  res->http_version_ = std::to_string(head.http_major) + '.' + std::to_string(head.http_minor);
  res->status_code_ = head.status_code;
  res->status_message_ = std::move(head.status_message);
  res->join_duplicate_headers_ = join_duplicate_headers_;
  res->upgrade_ = head.upgrade;
  const std::size_t max_entries = max_headers_count ? *max_headers_count * 2 : kDefaultMaxHeaderEntries;
  if (max_entries > 0 && head.raw_headers.size() > max_entries) head.raw_headers.resize(max_entries);
  res->raw_headers_ = std::move(head.raw_headers);
  res->owner_ = owner_;
  incoming_ = res;

  if (res_) {
    // The server sent a second response: Node drops the connection silently.
    socket_->destroy();
    return false;
  }
  res_ = res;
  if (res->upgrade_) return true;
  if (method_ == "CONNECT") {
    res->upgrade_ = true;
    return true;
  }
  if (is_informational(res->status_code_)) {
    res_ = nullptr;  // the final response is still to come
    if (res->status_code_ == 100) events().continue_.emit();
    InformationInfo info{res->status_code_, res->status_message_, res->http_version_, res->http_version_major_,
                         res->http_version_minor_, res->headers(), res->raw_headers_};
    events().information.emit(info);
    return true;
  }
  if (should_keep_alive_ && !head.should_keep_alive && !upgrade_or_connect_) should_keep_alive_ = false;
  res->req_ = std::static_pointer_cast<ClientRequest>(shared_from_this());

  // Our listeners first, so the socket is always cleaned up.
  std::weak_ptr<ClientRequest> weak = std::static_pointer_cast<ClientRequest>(shared_from_this());
  res->events().end.on([weak] {
    if (auto r = weak.lock()) r->response_on_end();
  });
  connection_->response_timeout = true;

  // Nobody listening for the response cannot read it: its body is dumped so the socket moves on.
  if (aborted_ || !events().response.emit(res)) res->dump();
  if (res->status_code_ == 304) res->complete_ = true;
  return true;
}

// Node's parserOnMessageComplete for a response.
void ClientRequest::on_response_complete() {
  if (!incoming_) return;
  auto res = std::move(incoming_);
  incoming_ = nullptr;
  res->complete_ = true;
  if (parser_ && !parser_->raw_trailers().empty()) res->raw_trailers_ = parser_->raw_trailers();
  if (res != res_ && is_informational(res->status_code_)) return;  // a 1xx has no stream to end
  res->push_end();
}

// Upgrade (101) or CONNECT: the socket leaves the agent and goes to the 'upgrade'/'connect' listener
// with the bytes that followed the head.
void ClientRequest::on_upgrade(std::string_view head) {
  auto res = res_ ? res_ : incoming_;
  res_ = res;
  connection_->reading = false;
  connection_->response_timeout = false;
  free_parser();
  auto& signal = method_ == "CONNECT" ? events().connect : events().upgrade;
  if (signal.listener_count() == 0) {
    // Asked for an upgrade (or sent CONNECT) with nobody to take the socket.
    socket_->destroy();
    return;
  }
  upgrade_or_connect_ = true;
  auto socket = socket_;
  socket->events().agent_remove.emit();
  socket->set_observer(nullptr);
  connection_ = nullptr;
  socket->reset_flowing();
  const std::string bytes(head);
  signal.emit(res, socket, bytes);
  destroyed_ = true;
  emit_close_once();
}

void ClientRequest::socket_on_end() {
  if (!res_ && !had_error_) {
    // The connection ended before a response.
    had_error_ = true;
    emit_error(core::make_error_code(errc::socket_hang_up));
  }
  if (parser_) {
    std::vector<detail::ParseEvent> events;
    (void)parser_->finish(events);
    for (const auto& e : events) {
      if (e.kind == detail::ParseEvent::Kind::message_complete) on_response_complete();
    }
    free_parser();
  }
  if (socket_) socket_->destroy();
}

// Node's socketCloseListener.
void ClientRequest::socket_on_close() {
  destroyed_ = true;
  auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
  if (res_) {
    if (!res_->complete_) res_->destroy(core::make_error_code(errc::aborted));
    emit_close_once();
    if (!res_->aborted_ && res_->readable()) res_->push_end();
  } else {
    if (!had_error_) {
      // The socket closed before a response: that error belongs to the request.
      had_error_ = true;
      emit_error(core::make_error_code(errc::socket_hang_up));
    }
    emit_close_once();
  }
  if (parser_) {
    std::vector<detail::ParseEvent> events;
    (void)parser_->finish(events);
    free_parser();
  }
  if (socket_) socket_->set_observer(nullptr);
  connection_ = nullptr;
}

// Node's socketErrorListener.
void ClientRequest::socket_on_error(std::error_code ec) {
  had_error_ = true;
  emit_error(ec);
  free_parser();
  if (connection_) connection_->reading = false;
  if (socket_) socket_->destroy();
}

void ClientRequest::socket_on_drain() {
  if (!finished_ && need_drain_) {
    need_drain_ = false;
    events().drain.emit();
  }
}

void ClientRequest::free_parser() {
  if (parser_) detail::ParserPool::release(std::move(parser_));
  parser_ = nullptr;
}

// ---- the end of the exchange -----------------------------------------------------------------------

// Node's responseOnEnd.
void ClientRequest::response_on_end() {
  if (connection_) connection_->response_timeout = false;
  timeout_listened_ = false;
  ended_ = true;
  if (!socket_) return;
  if (!should_keep_alive_) {
    if (socket_->writable()) destroy_soon(socket_);
  } else if (writable_finished() && !res_->aborted_) {
    response_keep_alive();
  }
}

// Node's requestOnFinish: the whole response came before the request was sent.
void ClientRequest::request_on_finish() {
  if (should_keep_alive_ && ended_) response_keep_alive();
}

// Node's responseKeepAlive: the socket stops being this request's; 'close' and the socket's
// 'free' follow on the next tick, after user 'end' handlers ran.
void ClientRequest::response_keep_alive() {
  if (timeout_listened_) socket_->set_timeout(std::chrono::milliseconds(0));
  timeout_listened_ = false;
  socket_->set_observer(nullptr);
  connection_ = nullptr;
  auto self = std::static_pointer_cast<ClientRequest>(shared_from_this());
  loop().post([self] { self->emit_free(); });
  destroyed_ = true;
  if (res_) res_->socket_ = nullptr;  // so destroying the response cannot destroy the pooled socket
}

void ClientRequest::emit_free() {
  emit_close_once();
  if (socket_) socket_->events().free.emit();
}

// ---- request() and get() ---------------------------------------------------------------------------

std::shared_ptr<ClientRequest> request(core::Loop& loop, ClientRequestOptions options,
                                       std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response) {
  auto req = std::make_shared<MadeClientRequest>(loop, options);
  if (on_response) req->events().response.once(std::move(on_response));
  req->start(options);
  return req;
}

std::shared_ptr<ClientRequest> request(core::Loop& loop, std::string_view url, ClientRequestOptions options,
                                       std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response) {
  const Url parsed = parse_url(url);
  static_cast<RequestOptions&>(options) = merge_url_options(parsed, options);
  return request(loop, std::move(options), std::move(on_response));
}

std::shared_ptr<ClientRequest> get(core::Loop& loop, ClientRequestOptions options,
                                   std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response) {
  options.method = "GET";
  auto req = request(loop, std::move(options), std::move(on_response));
  req->end();
  return req;
}

std::shared_ptr<ClientRequest> get(core::Loop& loop, std::string_view url, ClientRequestOptions options,
                                   std::function<void(const std::shared_ptr<IncomingMessage>&)> on_response) {
  options.method = "GET";
  auto req = request(loop, url, std::move(options), std::move(on_response));
  req->end();
  return req;
}

}  // namespace httpx::http
