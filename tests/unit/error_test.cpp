// errc, its category, node_code() and Error. Node's spellings and messages were taken from Node 20
// (util.getSystemErrorName, internal/errors); one test asks the installed Node directly.
#include "httpx/core/error.hpp"

#include <gtest/gtest.h>

#include <asio/error.hpp>
#include <cerrno>
#include <exception>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/support.hpp"

namespace httpx::core {
namespace {

TEST(ErrorCategoryTest, IsNamedHttpxHttp) {
  EXPECT_STREQ(category().name(), "httpx.http");
  EXPECT_EQ(&category(), &category());
}

TEST(ErrorCategoryTest, MakeErrorCodeUsesTheCategory) {
  const std::error_code ec = make_error_code(errc::err_http_headers_sent);
  EXPECT_EQ(&ec.category(), &category());
  EXPECT_EQ(ec.value(), static_cast<int>(errc::err_http_headers_sent));
  EXPECT_TRUE(static_cast<bool>(ec));
}

TEST(ErrorCategoryTest, ErrcConvertsImplicitlyAndCompares) {
  const std::error_code ec = errc::socket_hang_up;
  EXPECT_EQ(ec, errc::socket_hang_up);
  EXPECT_NE(ec, errc::aborted);
  // Same Node code, still different conditions.
  EXPECT_NE(std::error_code(errc::aborted), std::error_code(errc::socket_hang_up));
  EXPECT_NE(ec, std::make_error_code(std::errc::connection_reset));
}

TEST(ErrorCategoryTest, NoErrcIsZero) {
  // A zero value would read as "no error" to every `if (ec)`.
  EXPECT_TRUE(static_cast<bool>(std::error_code(errc::err_http_headers_sent)));
  EXPECT_GT(static_cast<int>(errc::err_http_headers_sent), 0);
}

// Every errc with the code Node gives it.
const std::vector<std::pair<errc, std::string>>& node_codes() {
  static const std::vector<std::pair<errc, std::string>> table{
      {errc::err_http_headers_sent, "ERR_HTTP_HEADERS_SENT"},
      {errc::err_http_invalid_header_value, "ERR_HTTP_INVALID_HEADER_VALUE"},
      {errc::err_http_invalid_status_code, "ERR_HTTP_INVALID_STATUS_CODE"},
      {errc::err_http_trailer_invalid, "ERR_HTTP_TRAILER_INVALID"},
      {errc::err_http_body_not_allowed, "ERR_HTTP_BODY_NOT_ALLOWED"},
      {errc::err_http_content_length_mismatch, "ERR_HTTP_CONTENT_LENGTH_MISMATCH"},
      {errc::err_http_socket_assigned, "ERR_HTTP_SOCKET_ASSIGNED"},
      {errc::err_http_socket_encoding, "ERR_HTTP_SOCKET_ENCODING"},
      {errc::err_invalid_http_token, "ERR_INVALID_HTTP_TOKEN"},
      {errc::err_invalid_char, "ERR_INVALID_CHAR"},
      {errc::err_invalid_arg_type, "ERR_INVALID_ARG_TYPE"},
      {errc::err_invalid_arg_value, "ERR_INVALID_ARG_VALUE"},
      {errc::err_out_of_range, "ERR_OUT_OF_RANGE"},
      {errc::err_invalid_protocol, "ERR_INVALID_PROTOCOL"},
      {errc::err_invalid_url, "ERR_INVALID_URL"},
      {errc::err_unescaped_characters, "ERR_UNESCAPED_CHARACTERS"},
      {errc::err_unknown_encoding, "ERR_UNKNOWN_ENCODING"},
      {errc::err_multiple_callback, "ERR_MULTIPLE_CALLBACK"},
      {errc::err_invalid_ip_address, "ERR_INVALID_IP_ADDRESS"},
      {errc::err_socket_bad_port, "ERR_SOCKET_BAD_PORT"},
      {errc::err_server_already_listen, "ERR_SERVER_ALREADY_LISTEN"},
      {errc::err_server_not_running, "ERR_SERVER_NOT_RUNNING"},
      {errc::err_stream_write_after_end, "ERR_STREAM_WRITE_AFTER_END"},
      {errc::err_stream_destroyed, "ERR_STREAM_DESTROYED"},
      {errc::err_stream_already_finished, "ERR_STREAM_ALREADY_FINISHED"},
      {errc::err_stream_premature_close, "ERR_STREAM_PREMATURE_CLOSE"},
      {errc::err_stream_push_after_eof, "ERR_STREAM_PUSH_AFTER_EOF"},
      {errc::err_stream_cannot_pipe, "ERR_STREAM_CANNOT_PIPE"},
      {errc::err_socket_closed, "ERR_SOCKET_CLOSED"},
      {errc::err_socket_connection_timeout, "ERR_SOCKET_CONNECTION_TIMEOUT"},
      {errc::err_http_request_timeout, "ERR_HTTP_REQUEST_TIMEOUT"},
      // Node's "socket hang up" and "aborted" are ECONNRESET errors.
      {errc::socket_hang_up, "ECONNRESET"},
      {errc::aborted, "ECONNRESET"},
      {errc::abort_err, "ABORT_ERR"},
      // Node's server answers an expired headersTimeout through ERR_HTTP_REQUEST_TIMEOUT.
      {errc::headers_timeout, "ERR_HTTP_REQUEST_TIMEOUT"},
  };
  return table;
}

TEST(ErrorCategoryTest, NodeCodeSpellsEveryErrc) {
  for (const auto& [e, code] : node_codes()) {
    EXPECT_EQ(node_code(e), code) << "errc value " << static_cast<int>(e);
    EXPECT_EQ(node_code(make_error_code(e)), code);
  }
}

TEST(ErrorCategoryTest, TableCoversEveryErrc) {
  // The enumerators run from 1 to headers_timeout without gaps.
  EXPECT_EQ(node_codes().size(), static_cast<std::size_t>(errc::headers_timeout));
  for (int v = 1; v <= static_cast<int>(errc::headers_timeout); ++v) {
    const std::error_code ec(v, category());
    EXPECT_NE(node_code(ec), "ERR_UNKNOWN") << v;
    EXPECT_FALSE(ec.message().empty()) << v;
    EXPECT_NE(ec.message(), "Unknown error") << v;
  }
}

TEST(ErrorCategoryTest, MessagesMatchNodeWhereNodeHasAFixedText) {
  // new codes.ERR_X().message in Node 20, for the codes whose message takes no arguments.
  const std::vector<std::pair<errc, std::string>> messages{
      {errc::err_http_trailer_invalid, "Trailers are invalid with this transfer encoding"},
      {errc::err_http_body_not_allowed,
       "Adding content for this request method or response status is not allowed."},
      {errc::err_http_socket_assigned, "ServerResponse has an already assigned socket"},
      {errc::err_http_socket_encoding, "Changing the socket encoding is not allowed per RFC7230 Section 3."},
      {errc::err_multiple_callback, "Callback called multiple times"},
      {errc::err_server_already_listen, "Listen method has been called more than once without closing."},
      {errc::err_server_not_running, "Server is not running."},
      {errc::err_stream_write_after_end, "write after end"},
      {errc::err_stream_premature_close, "Premature close"},
      {errc::err_stream_push_after_eof, "stream.push() after EOF"},
      {errc::err_stream_cannot_pipe, "Cannot pipe, not readable"},
      {errc::err_socket_closed, "Socket is closed"},
      {errc::err_socket_connection_timeout, "Socket connection timeout"},
      {errc::err_http_request_timeout, "Request timeout"},
      // The messages of Node's connResetException and AbortError.
      {errc::socket_hang_up, "socket hang up"},
      {errc::aborted, "aborted"},
      {errc::abort_err, "The operation was aborted"},
  };
  for (const auto& [e, text] : messages) {
    EXPECT_EQ(make_error_code(e).message(), text) << node_code(e);
  }
}

TEST(ErrorCategoryTest, UnknownValueHasAFallback) {
  const std::error_code ec(9999, category());
  EXPECT_EQ(node_code(ec), "ERR_UNKNOWN");
  EXPECT_FALSE(ec.message().empty());
}

TEST(NodeCodeTest, EmptyCodeGivesEmptyString) {
  EXPECT_EQ(node_code(std::error_code()), "");
  EXPECT_EQ(node_code(std::error_code(0, category())), "");
}

TEST(NodeCodeTest, SpellsErrnoValuesOfTheSystemCategory) {
  const std::vector<std::pair<int, std::string>> table{
      {ECONNRESET, "ECONNRESET"},     {ECONNREFUSED, "ECONNREFUSED"}, {EADDRINUSE, "EADDRINUSE"},
      {EPIPE, "EPIPE"},               {ETIMEDOUT, "ETIMEDOUT"},       {ECONNABORTED, "ECONNABORTED"},
      {EHOSTUNREACH, "EHOSTUNREACH"}, {ENETUNREACH, "ENETUNREACH"},   {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
      {ENOENT, "ENOENT"},             {EACCES, "EACCES"},             {EMFILE, "EMFILE"},
      {EAGAIN, "EAGAIN"},             {ECANCELED, "ECANCELED"},       {EINVAL, "EINVAL"},
      {ENOTCONN, "ENOTCONN"},         {EISCONN, "EISCONN"},           {EPERM, "EPERM"},
  };
  for (const auto& [value, name] : table) {
    EXPECT_EQ(node_code(std::error_code(value, std::system_category())), name);
  }
}

TEST(NodeCodeTest, SpellsErrnoValuesOfTheGenericCategory) {
  EXPECT_EQ(node_code(std::make_error_code(std::errc::connection_reset)), "ECONNRESET");
  EXPECT_EQ(node_code(std::make_error_code(std::errc::connection_refused)), "ECONNREFUSED");
  EXPECT_EQ(node_code(std::make_error_code(std::errc::address_in_use)), "EADDRINUSE");
  EXPECT_EQ(node_code(std::make_error_code(std::errc::broken_pipe)), "EPIPE");
  EXPECT_EQ(node_code(std::make_error_code(std::errc::timed_out)), "ETIMEDOUT");
  EXPECT_EQ(node_code(std::error_code(EAGAIN, std::generic_category())), "EAGAIN");
}

TEST(NodeCodeTest, SpellsTheAliasedErrnoValuesAsNodeDoes) {
  // EWOULDBLOCK is EAGAIN and EOPNOTSUPP is ENOTSUP on Linux; Node names them EAGAIN and ENOTSUP.
  EXPECT_EQ(node_code(std::error_code(EWOULDBLOCK, std::system_category())), "EAGAIN");
  EXPECT_EQ(node_code(std::error_code(EOPNOTSUPP, std::system_category())), "ENOTSUP");
  EXPECT_EQ(node_code(std::make_error_code(std::errc::not_supported)), "ENOTSUP");
}

TEST(NodeCodeTest, UnmappedErrnoIsUnknownAsInNode) {
  // Node's uvException uses 'UNKNOWN' for a value libuv has no name for.
  EXPECT_EQ(node_code(std::error_code(9999, std::system_category())), "UNKNOWN");
  EXPECT_EQ(node_code(std::error_code(-1, std::generic_category())), "UNKNOWN");
}

TEST(NodeCodeTest, ErrnoNamesMatchTheInstalledNode) {
  // For every errno libuv names, Node's name must be ours. Prints "value name" lines.
  const std::string script =
      "const os = require('os'), util = require('util');"
      "for (const v of new Set(Object.values(os.constants.errno))) {"
      "  const n = util.getSystemErrorName(-v);"
      "  if (!n.startsWith('Unknown')) console.log(v + ' ' + n);"
      "}";
  const auto r = test::run_process({"node", "-e", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  int value = 0;
  std::string name;
  int compared = 0;
  while (lines >> value >> name) {
    EXPECT_EQ(node_code(std::error_code(value, std::system_category())), name) << "errno " << value;
    EXPECT_EQ(node_code(std::error_code(value, asio::error::get_system_category())), name) << "errno " << value;
    ++compared;
  }
  EXPECT_GT(compared, 40);
}

TEST(NodeCodeTest, SpellsAsioErrorsAsNode) {
  // Socket errors: asio uses the system category for errno values.
  EXPECT_EQ(node_code(asio::error::connection_reset), "ECONNRESET");
  EXPECT_EQ(node_code(asio::error::connection_refused), "ECONNREFUSED");
  EXPECT_EQ(node_code(asio::error::address_in_use), "EADDRINUSE");
  EXPECT_EQ(node_code(asio::error::broken_pipe), "EPIPE");
  EXPECT_EQ(node_code(asio::error::timed_out), "ETIMEDOUT");
  EXPECT_EQ(node_code(asio::error::operation_aborted), "ECANCELED");
  // libuv's UV_EOF.
  EXPECT_EQ(node_code(asio::error::eof), "EOF");
}

TEST(NodeCodeTest, SpellsResolverErrorsAsNodeDns) {
  // Node's dnsException turns EAI_NONAME and EAI_NODATA into ENOTFOUND and keeps the rest.
  EXPECT_EQ(node_code(asio::error::host_not_found), "ENOTFOUND");
  EXPECT_EQ(node_code(asio::error::no_data), "ENOTFOUND");
  EXPECT_EQ(node_code(asio::error::host_not_found_try_again), "EAI_AGAIN");
  EXPECT_EQ(node_code(asio::error::no_recovery), "EAI_FAIL");
  // util.getSystemErrorName(UV_EAI_SERVICE) is EAI_SERVICE.
  EXPECT_EQ(node_code(asio::error::service_not_found), "EAI_SERVICE");
  EXPECT_EQ(node_code(asio::error::socket_type_not_supported), "EAI_SOCKTYPE");
}

// A category with its own Node spelling, as the llhttp category has.
class TestNodeCategory final : public NodeCodeCategory {
 public:
  const char* name() const noexcept override { return "test.node"; }
  std::string message(int value) const override { return "test error " + std::to_string(value); }
  std::string node_code(int value) const override { return "HPE_TEST_" + std::to_string(value); }
};

TEST(NodeCodeTest, AsksANodeCodeCategoryForItsSpelling) {
  static const TestNodeCategory cat;
  EXPECT_EQ(node_code(std::error_code(7, cat)), "HPE_TEST_7");
  Error e(std::error_code(3, cat));
  EXPECT_EQ(e.node_code(), "HPE_TEST_3");
  EXPECT_STREQ(e.what(), "test error 3");
}

TEST(NodeCodeTest, ForeignCategoryStillGetsANonEmptyCode) {
  static const class : public std::error_category {
   public:
    const char* name() const noexcept override { return "foreign"; }
    std::string message(int) const override { return "foreign error"; }
  } foreign;
  const std::string code = node_code(std::error_code(5, foreign));
  EXPECT_FALSE(code.empty());
  EXPECT_NE(code.find('5'), std::string::npos) << code;
}

TEST(ErrorTest, WhatIsExactlyTheGivenMessage) {
  const std::string message = "Invalid character in header content [\"x-test\"]";
  const Error e(errc::err_invalid_char, message);
  EXPECT_EQ(std::string(e.what()), message);
  EXPECT_EQ(e.code(), errc::err_invalid_char);
  EXPECT_EQ(e.node_code(), "ERR_INVALID_CHAR");
}

TEST(ErrorTest, WhatDoesNotAppendTheCategoryMessage) {
  // std::system_error's own what() would be "message: category text"; ours is Node's text only.
  const Error e(errc::err_http_headers_sent, "Cannot set headers after they are sent to the client");
  EXPECT_STREQ(e.what(), "Cannot set headers after they are sent to the client");
  const Error empty(errc::err_out_of_range, "");
  EXPECT_STREQ(empty.what(), "");
}

TEST(ErrorTest, FromAnErrorCodeDefaultsToItsMessage) {
  const std::error_code ec(ECONNREFUSED, std::system_category());
  const Error e(ec);
  EXPECT_EQ(e.code(), ec);
  EXPECT_EQ(std::string(e.what()), ec.message());
  EXPECT_EQ(e.node_code(), "ECONNREFUSED");
  const Error named(ec, "connect ECONNREFUSED 127.0.0.1:1");
  EXPECT_STREQ(named.what(), "connect ECONNREFUSED 127.0.0.1:1");
}

TEST(ErrorTest, FromAnErrcCodeUsesNodeDefaultMessage) {
  const Error e(std::error_code(errc::err_stream_write_after_end));
  EXPECT_STREQ(e.what(), "write after end");
  EXPECT_EQ(e.node_code(), "ERR_STREAM_WRITE_AFTER_END");
}

TEST(ErrorTest, IsCaughtAsSystemErrorAndException) {
  try {
    throw Error(errc::err_server_not_running, "Server is not running.");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::err_server_not_running);
    EXPECT_STREQ(e.what(), "Server is not running.");
  }
  try {
    throw Error(errc::err_socket_bad_port, "Port should be >= 0 and < 65536. Received 70000.");
  } catch (const std::exception& e) {
    EXPECT_STREQ(e.what(), "Port should be >= 0 and < 65536. Received 70000.");
  }
}

TEST(ErrorTest, CopiesKeepMessageAndCode) {
  const Error original(errc::err_invalid_url, "Invalid URL");
  const Error copy = original;
  EXPECT_STREQ(copy.what(), "Invalid URL");
  EXPECT_EQ(copy.code(), original.code());
}

}  // namespace
}  // namespace httpx::core
