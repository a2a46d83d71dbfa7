// Follows Node's ServerResponse in lib/_http_server.js: writeHead renders the status line and
// hands the headers to OutgoingMessage's _storeHeader; interim responses (100, 102, 103) are raw
// writes that do not count as the head.
#include "httpx/http/server_response.hpp"

#include "detail/http_text.hpp"
#include "httpx/http/constants.hpp"

namespace httpx::http {
namespace {

bool space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Node's linkValueRegExp: /^(?:<[^>]*>)(?:\s*;\s*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/
bool valid_link(std::string_view v) {
  std::size_t i = 0;
  if (i >= v.size() || v[i] != '<') return false;
  const auto close = v.find('>', i);
  if (close == std::string_view::npos) return false;
  i = close + 1;
  const auto param_char = [](char c) { return c != ';' && c != '"' && !space(c); };
  while (i < v.size()) {
    while (i < v.size() && space(v[i])) ++i;
    if (i >= v.size() || v[i] != ';') return false;
    ++i;
    while (i < v.size() && space(v[i])) ++i;
    const std::size_t name = i;
    while (i < v.size() && param_char(v[i])) ++i;
    if (i == name) return false;
    if (i < v.size() && v[i] == '=') {
      ++i;
      const bool quoted = i < v.size() && v[i] == '"';
      if (quoted) ++i;
      while (i < v.size() && param_char(v[i])) ++i;
      if (quoted) {
        if (i >= v.size() || v[i] != '"') return false;
        ++i;
      }
    }
  }
  return true;
}

}  // namespace

namespace {
// Reaches the protected constructor for make_shared: one allocation for the response and its count.
struct MadeServerResponse final : ServerResponse {
  MadeServerResponse(std::shared_ptr<IncomingMessage> req, OutgoingMessageOptions options)
      : ServerResponse(std::move(req), options) {}
};
}  // namespace

std::shared_ptr<ServerResponse> ServerResponse::create(std::shared_ptr<IncomingMessage> req,
                                                       OutgoingMessageOptions options) {
  return std::make_shared<MadeServerResponse>(std::move(req), options);
}

ServerResponse::ServerResponse(std::shared_ptr<IncomingMessage> req, OutgoingMessageOptions options,
                               std::unique_ptr<OutgoingMessageEvents> events)
    : OutgoingMessage(req->loop(), options, std::move(events)), req_(std::move(req)) {
  send_date = true;
  if (req_->method() == "HEAD") has_body_ = false;
  // HTTP/1.0 (and 0.9) clients get no chunked body unless they said they read one, and the
  // connection closes after the response unless the request asked otherwise (set by the server).
  if (req_->http_version_major() < 1 || req_->http_version_minor() < 1) {
    const auto* te = req_->headers().find("te");
    use_chunked_encoding_by_default_ = false;
    if (te) {
      if (const auto* s = std::get_if<std::string>(te)) use_chunked_encoding_by_default_ = detail::contains_word(*s, "chunked");
    }
    should_keep_alive_ = false;
  }
}

ServerResponse& ServerResponse::write_head(int code, const HeaderList& headers) {
  return write_head(code, std::string_view(), headers);
}

ServerResponse& ServerResponse::write_head(int code, std::string_view message, const HeaderList& headers) {
  if (headers_sent()) {
    throw Error(errc::err_http_headers_sent, "Cannot write headers after they are sent to the client");
  }
  if (code < 100 || code > 999) {
    throw Error(errc::err_http_invalid_status_code, "Invalid status code: " + std::to_string(code));
  }
  if (!message.empty()) {
    status_message = std::string(message);
  } else if (status_message.empty()) {
    const auto it = STATUS_CODES.find(code);
    status_message = it != STATUS_CODES.end() ? it->second : "unknown";
  }
  status_code = code;

  const HeaderList* explicit_headers = nullptr;
  if (!headers_.empty()) {
    // Headers were set before: these join them (Node: setHeader for each pair).
    for (const auto& [name, value] : headers) {
      if (!name.empty()) set_header(name, value);
    }
  } else {
    explicit_headers = &headers;
  }

  if (check_invalid_header_char(status_message)) {
    throw Error(errc::err_invalid_char, "Invalid character in statusMessage");
  }

  // The whole head is built in this string: room for a typical one up front, not grown per line.
  std::string status_line;
  status_line.reserve(256);
  status_line += "HTTP/1.1 ";
  status_line += std::to_string(code);
  status_line += ' ';
  status_line += status_message;
  status_line += "\r\n";
  if (code == 204 || code == 304 || (code >= 100 && code <= 199)) has_body_ = false;
  // RFC 9110 §10.1.1: a client that expected 100 and never got it cannot reuse the connection.
  if (expect_continue_ && !sent_100_) should_keep_alive_ = false;
  store_header(std::move(status_line), explicit_headers);
  return *this;
}

void ServerResponse::implicit_header() { write_head(status_code); }

void ServerResponse::write_continue(core::Callback cb) {
  write_raw("HTTP/1.1 100 Continue\r\n\r\n", std::move(cb));
  sent_100_ = true;
}

void ServerResponse::write_processing(core::Callback cb) {
  write_raw("HTTP/1.1 102 Processing\r\n\r\n", std::move(cb));
}

void ServerResponse::write_early_hints(const HeaderList& hints, core::Callback cb) {
  std::string link;
  bool has_link = false;
  for (const auto& [name, value] : hints) {
    if (name != "link") continue;
    if (!valid_link(value)) {
      throw Error(errc::err_invalid_arg_value,
                  "The argument 'hints' must be an array or string of format \"</styles.css>; rel=preload; "
                  "as=style\". Received '" + value + "'");
    }
    if (has_link) link += ", ";
    link += value;
    has_link = true;
  }
  if (link.empty()) return;
  std::string head = "HTTP/1.1 103 Early Hints\r\nLink: " + link + "\r\n";
  for (const auto& [name, value] : hints) {
    if (name == "link") continue;
    head += name + ": " + value + "\r\n";
  }
  head += "\r\n";
  write_raw(std::move(head), std::move(cb));
}

void ServerResponse::assign_socket(const std::shared_ptr<net::Socket>& socket) {
  socket_ = socket;
  events().socket.emit(socket_);
  if (pending_timeout_) {
    socket_->set_timeout(*pending_timeout_);
    pending_timeout_.reset();
  }
  if (pending_destroy_) {
    socket_->destroy(pending_destroy_error_);
    return;
  }
  flush();
}

void ServerResponse::detach_socket() { socket_.reset(); }

}  // namespace httpx::http
