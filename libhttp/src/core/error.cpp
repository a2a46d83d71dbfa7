// Follows Node's lib/internal/errors.js for code names and default messages.
#include "httpx/core/error.hpp"

#include <asio/error.hpp>
#include <cerrno>
#include <cstring>
#include <string.h>

namespace httpx::core {
namespace {

struct CodeInfo {
  const char* node_code;
  const char* message;
};

CodeInfo info(errc e) {
  switch (e) {
    case errc::err_http_headers_sent: return {"ERR_HTTP_HEADERS_SENT", "Cannot set headers after they are sent to the client"};
    case errc::err_http_invalid_header_value: return {"ERR_HTTP_INVALID_HEADER_VALUE", "Invalid header value"};
    case errc::err_http_invalid_status_code: return {"ERR_HTTP_INVALID_STATUS_CODE", "Invalid status code"};
    case errc::err_http_trailer_invalid: return {"ERR_HTTP_TRAILER_INVALID", "Trailers are invalid with this transfer encoding"};
    case errc::err_http_body_not_allowed: return {"ERR_HTTP_BODY_NOT_ALLOWED", "Adding content for this request method or response status is not allowed."};
    case errc::err_http_content_length_mismatch: return {"ERR_HTTP_CONTENT_LENGTH_MISMATCH", "Response body's content-length does not match"};
    case errc::err_http_socket_assigned: return {"ERR_HTTP_SOCKET_ASSIGNED", "ServerResponse has an already assigned socket"};
    case errc::err_http_socket_encoding: return {"ERR_HTTP_SOCKET_ENCODING", "Changing the socket encoding is not allowed per RFC7230 Section 3."};
    case errc::err_invalid_http_token: return {"ERR_INVALID_HTTP_TOKEN", "Invalid HTTP token"};
    case errc::err_invalid_char: return {"ERR_INVALID_CHAR", "Invalid character"};
    case errc::err_invalid_arg_type: return {"ERR_INVALID_ARG_TYPE", "Invalid argument type"};
    case errc::err_invalid_arg_value: return {"ERR_INVALID_ARG_VALUE", "Invalid argument value"};
    case errc::err_out_of_range: return {"ERR_OUT_OF_RANGE", "Value out of range"};
    case errc::err_invalid_protocol: return {"ERR_INVALID_PROTOCOL", "Protocol not supported"};
    case errc::err_invalid_url: return {"ERR_INVALID_URL", "Invalid URL"};
    case errc::err_unescaped_characters: return {"ERR_UNESCAPED_CHARACTERS", "Request path contains unescaped characters"};
    case errc::err_unknown_encoding: return {"ERR_UNKNOWN_ENCODING", "Unknown encoding"};
    case errc::err_multiple_callback: return {"ERR_MULTIPLE_CALLBACK", "Callback called multiple times"};
    case errc::err_invalid_ip_address: return {"ERR_INVALID_IP_ADDRESS", "Invalid IP address"};
    case errc::err_socket_bad_port: return {"ERR_SOCKET_BAD_PORT", "Port should be >= 0 and < 65536"};
    case errc::err_server_already_listen: return {"ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing."};
    case errc::err_server_not_running: return {"ERR_SERVER_NOT_RUNNING", "Server is not running."};
    case errc::err_stream_write_after_end: return {"ERR_STREAM_WRITE_AFTER_END", "write after end"};
    case errc::err_stream_destroyed: return {"ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed"};
    case errc::err_stream_already_finished: return {"ERR_STREAM_ALREADY_FINISHED", "Cannot call end after a stream was finished"};
    case errc::err_stream_premature_close: return {"ERR_STREAM_PREMATURE_CLOSE", "Premature close"};
    case errc::err_stream_push_after_eof: return {"ERR_STREAM_PUSH_AFTER_EOF", "stream.push() after EOF"};
    case errc::err_stream_cannot_pipe: return {"ERR_STREAM_CANNOT_PIPE", "Cannot pipe, not readable"};
    case errc::err_socket_closed: return {"ERR_SOCKET_CLOSED", "Socket is closed"};
    case errc::err_socket_connection_timeout: return {"ERR_SOCKET_CONNECTION_TIMEOUT", "Socket connection timeout"};
    case errc::err_http_request_timeout: return {"ERR_HTTP_REQUEST_TIMEOUT", "Request timeout"};
    case errc::socket_hang_up: return {"ECONNRESET", "socket hang up"};
    case errc::aborted: return {"ECONNRESET", "aborted"};
    case errc::abort_err: return {"ABORT_ERR", "The operation was aborted"};
    case errc::headers_timeout: return {"ERR_HTTP_REQUEST_TIMEOUT", "Headers timeout"};
  }
  return {"ERR_UNKNOWN", "Unknown error"};
}

class HttpCategory final : public NodeCodeCategory {
 public:
  const char* name() const noexcept override { return "httpx.http"; }
  std::string message(int value) const override { return info(static_cast<errc>(value)).message; }
  std::string node_code(int value) const override { return info(static_cast<errc>(value)).node_code; }
};

// getaddrinfo failures: Node reports EAI_NONAME as ENOTFOUND and keeps the other EAI_ names.
std::string netdb_code(int value) {
  if (value == asio::error::host_not_found || value == asio::error::no_data) return "ENOTFOUND";
  if (value == asio::error::host_not_found_try_again) return "EAI_AGAIN";
  if (value == asio::error::no_recovery) return "EAI_FAIL";
  return "ENOTFOUND";
}

// libuv's names: glibc's except where libuv picks the other name of an aliased value (EOPNOTSUPP
// is ENOTSUP on Linux; Node says ENOTSUP). A value with no name is Node's uvUnmappedError, UNKNOWN.
std::string errno_code(int value) {
  if (value == ENOTSUP) return "ENOTSUP";
  if (const char* name = strerrorname_np(value)) return name;
  return "UNKNOWN";
}

}  // namespace

const std::error_category& category() noexcept {
  static const HttpCategory instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

std::string node_code(std::error_code ec) {
  if (!ec) return {};
  const auto& cat = ec.category();
  if (const auto* node = dynamic_cast<const NodeCodeCategory*>(&cat)) return node->node_code(ec.value());
  // Asio reports socket errors in its own "asio.system" category, not std::system_category().
  if (cat == std::system_category() || cat == std::generic_category() ||
      cat == asio::error::get_system_category()) {
    return errno_code(ec.value());
  }
  if (cat == asio::error::get_netdb_category()) return netdb_code(ec.value());
  if (cat == asio::error::get_addrinfo_category()) {
    // Node keeps these getaddrinfo names (only EAI_NONAME/EAI_NODATA become ENOTFOUND).
    return ec.value() == asio::error::service_not_found ? "EAI_SERVICE" : "EAI_SOCKTYPE";
  }
  if (cat == asio::error::get_misc_category()) {
    if (ec.value() == asio::error::eof) return "EOF";
    if (ec.value() == asio::error::already_open) return "EISCONN";
    return "EINVAL";
  }
  std::string code = "ERR_";
  code += cat.name();
  code += '_';
  code += std::to_string(ec.value());
  return code;
}

Error::Error(errc e, std::string message) : std::system_error(make_error_code(e)), message_(std::move(message)) {}

Error::Error(std::error_code ec, std::string message)
    : std::system_error(ec), message_(message.empty() ? ec.message() : std::move(message)) {}

}  // namespace httpx::core
