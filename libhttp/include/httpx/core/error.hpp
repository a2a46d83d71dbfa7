/// The error model of libhttp: misuse throws `Error`; I/O, parse and timeout failures are
/// `std::error_code` values delivered through 'error' events or completions.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace httpx::core {

/// Node's `ERR_*` codes (and the few Node-specific conditions without an errno) that libhttp raises.
/// Each enumerator is Node's code, lower-cased; `node_code()` spells it back.
enum class errc {
  // Misuse of the HTTP classes (thrown).
  err_http_headers_sent = 1,         ///< ERR_HTTP_HEADERS_SENT: a header change after they went out.
  err_http_invalid_header_value,     ///< ERR_HTTP_INVALID_HEADER_VALUE: an undefined header value.
  err_http_invalid_status_code,      ///< ERR_HTTP_INVALID_STATUS_CODE: status outside 100..999.
  err_http_trailer_invalid,          ///< ERR_HTTP_TRAILER_INVALID: trailers with a non-chunked body.
  err_http_body_not_allowed,         ///< ERR_HTTP_BODY_NOT_ALLOWED: a body for HEAD/204/304.
  err_http_content_length_mismatch,  ///< ERR_HTTP_CONTENT_LENGTH_MISMATCH: strictContentLength.
  err_http_socket_assigned,          ///< ERR_HTTP_SOCKET_ASSIGNED: assignSocket twice.
  err_http_socket_encoding,          ///< ERR_HTTP_SOCKET_ENCODING: setEncoding on an HTTP socket.
  err_invalid_http_token,            ///< ERR_INVALID_HTTP_TOKEN: a header name or method not a token.
  err_invalid_char,                  ///< ERR_INVALID_CHAR: a forbidden character in a header value.
  err_invalid_arg_type,              ///< ERR_INVALID_ARG_TYPE
  err_invalid_arg_value,             ///< ERR_INVALID_ARG_VALUE
  err_out_of_range,                  ///< ERR_OUT_OF_RANGE
  err_invalid_protocol,              ///< ERR_INVALID_PROTOCOL: a URL scheme the agent does not speak.
  err_invalid_url,                   ///< ERR_INVALID_URL: a string `new URL()` rejects.
  err_unescaped_characters,          ///< ERR_UNESCAPED_CHARACTERS: a request path with spaces etc.
  err_unknown_encoding,              ///< ERR_UNKNOWN_ENCODING: an encoding name Node does not know.
  err_multiple_callback,             ///< ERR_MULTIPLE_CALLBACK: a write callback called twice.
  err_invalid_ip_address,            ///< ERR_INVALID_IP_ADDRESS
  err_socket_bad_port,               ///< ERR_SOCKET_BAD_PORT
  err_server_already_listen,         ///< ERR_SERVER_ALREADY_LISTEN
  err_server_not_running,            ///< ERR_SERVER_NOT_RUNNING
  // Stream failures (emitted).
  err_stream_write_after_end,        ///< ERR_STREAM_WRITE_AFTER_END
  err_stream_destroyed,              ///< ERR_STREAM_DESTROYED
  err_stream_already_finished,       ///< ERR_STREAM_ALREADY_FINISHED
  err_stream_premature_close,        ///< ERR_STREAM_PREMATURE_CLOSE
  err_stream_push_after_eof,         ///< ERR_STREAM_PUSH_AFTER_EOF
  err_stream_cannot_pipe,            ///< ERR_STREAM_CANNOT_PIPE
  err_socket_closed,                 ///< ERR_SOCKET_CLOSED: a write on a closed socket.
  err_socket_connection_timeout,     ///< ERR_SOCKET_CONNECTION_TIMEOUT
  // HTTP operational failures (emitted).
  err_http_request_timeout,          ///< ERR_HTTP_REQUEST_TIMEOUT: server requestTimeout expired.
  socket_hang_up,                    ///< ECONNRESET "socket hang up": closed before a response.
  aborted,                           ///< ECONNRESET "aborted": closed in the middle of a message.
  abort_err,                         ///< ABORT_ERR "The operation was aborted" (AbortSignal).
  headers_timeout,                   ///< a server headersTimeout expired (Node answers 408).
};

/// The category of `errc`, named "httpx.http".
const std::error_category& category() noexcept;

/// Makes `errc` values usable wherever a `std::error_code` is expected.
std::error_code make_error_code(errc e) noexcept;

/// A category that knows Node's spelling of its codes (implemented by the llhttp category).
class NodeCodeCategory : public std::error_category {
 public:
  /// Node's name for `value` in this category, e.g. "HPE_HEADER_OVERFLOW".
  virtual std::string node_code(int value) const = 0;
};

/// Node's spelling of `ec`: "ECONNRESET", "ERR_HTTP_HEADERS_SENT", "HPE_INVALID_METHOD", "ENOTFOUND".
/// Errno values use their symbolic names; an empty code gives "".
std::string node_code(std::error_code ec);

/// Thrown synchronously for misuse, as Node throws its coded TypeErrors and RangeErrors.
/// `what()` is exactly Node's message; `code()` identifies it (see `node_code`).
class Error : public std::system_error {
 public:
  /// Node: `new ERR_X(...)`; `message` is Node's full message text.
  Error(errc e, std::string message);
  /// Wraps any error code; `message` defaults to the code's own message.
  explicit Error(std::error_code ec, std::string message = {});

  /// Node's full message text.
  const char* what() const noexcept override { return message_.c_str(); }
  /// Node's code, e.g. "ERR_INVALID_HTTP_TOKEN".
  std::string node_code() const { return core::node_code(code()); }

 private:
  std::string message_;
};

}  // namespace httpx::core

template <>
struct std::is_error_code_enum<httpx::core::errc> : std::true_type {};
