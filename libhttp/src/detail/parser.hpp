// The HTTP/1 parser: llhttp behind an interface that records what happened during one execute()
// and lets the connection dispatch afterwards (llhttp callbacks never call user code).
// Follows Node's src/node_http_parser.cc: header-size accounting, lenient flags, pooling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace httpx::http::detail {

/// Parse failures: llhttp's errno values, plus the header limit Node enforces itself.
/// `node_code()` spells them "HPE_INVALID_METHOD", "HPE_HEADER_OVERFLOW", ...
const std::error_category& parser_category() noexcept;

/// llhttp's HPE_CLOSED_CONNECTION: bytes after a message that closed the connection.
std::error_code closed_connection_error() noexcept;

/// The code Node reports when a head exceeds maxHeaderSize (not an llhttp errno).
inline constexpr int kHeaderOverflow = 1000;

enum class ParserType { request, response };

/// Node: the parser options a server or client request passes down.
struct ParserOptions {
  std::size_t max_header_size = 16384;  ///< bytes of start line + headers; Node: maxHeaderSize.
  bool insecure = false;                ///< llhttp's lenient flags; Node: insecureHTTPParser.
};

/// A message head as the parser saw it.
struct MessageHead {
  std::string method{};          ///< requests: "GET"
  std::string url{};             ///< requests: the request target as sent
  int status_code = 0;           ///< responses
  std::string status_message{};  ///< responses: the reason phrase as sent
  int http_major = 1;
  int http_minor = 1;
  std::vector<std::string> raw_headers{};  ///< name, value, name, value ... as received
  bool should_keep_alive = false;
  bool upgrade = false;  ///< an Upgrade (or CONNECT) the peer asked for
};

/// One thing that happened during execute(); `data` points into the executed buffer.
struct ParseEvent {
  enum class Kind { head, body, message_complete } kind = Kind::head;
  std::string_view data{};
};

/// What one execute() did.
struct ParseResult {
  std::size_t consumed = 0;  ///< bytes used; the rest belongs to the next message or an upgrade
  std::error_code error{};   ///< a parse error (category parser_category()); the connection is dead
  std::string reason{};      ///< llhttp's reason text for `error`, as Node's "Parse Error: <reason>"
  bool upgraded = false;     ///< the message was an upgrade/CONNECT: bytes after `consumed` are not HTTP
  bool message_done = false; ///< a message completed; execute() stops there so messages go one by one
};

class Parser {
 public:
  Parser();
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  /// Starts fresh for `type` (a pooled parser is re-initialised, never reused half-way).
  void init(ParserType type, ParserOptions options = {});
  /// Parses `data`, appending what happened to `events` (cleared first). Stops after a complete
  /// message; call again with the unconsumed rest.
  [[nodiscard]] ParseResult execute(std::string_view data, std::vector<ParseEvent>& events);
  /// The peer closed: completes a message delimited by the connection's end (a response without
  /// length), or reports a message cut short.
  [[nodiscard]] ParseResult finish(std::vector<ParseEvent>& events);

  /// The head of the current message (valid from the head event to the next message).
  const MessageHead& head() const noexcept;
  /// The same, for moving its strings out once the head event was handled.
  MessageHead& head() noexcept;
  /// Trailer fields of the current message, once it completed.
  const std::vector<std::string>& raw_trailers() const noexcept;
  /// For a response parser: the method of the request being answered. A HEAD answer has no body;
  /// any answer to CONNECT ends HTTP on the connection (Node's parserOnIncomingClient).
  void set_request_method(std::string_view method);
  /// For a request parser: asked at the end of a head that asks for a protocol change (Upgrade, or
  /// CONNECT) whether the server takes it. Yes: the message has no body and what follows is the new
  /// protocol (execute() reports `upgraded`). No: `head().upgrade` is cleared and parsing goes on.
  /// Node: parserOnIncoming returning 2. Reset by init().
  void set_upgrade_check(std::function<bool(const MessageHead&)> check);
  /// Continues as HTTP after execute() reported `upgraded` for an upgrade the server declined
  /// (llhttp stops after a body-less Upgrade request by itself). Node: llhttp_resume_after_upgrade.
  void resume_after_upgrade();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Idle parsers kept for reuse on this thread, at most `max_idle_http_parsers()` of them.
/// Node: the parsers FreeList, sized by http.setMaxIdleHTTPParsers().
class ParserPool {
 public:
  /// A parser from the pool (or a new one), initialised for `type`.
  static std::unique_ptr<Parser> acquire(ParserType type, ParserOptions options = {});
  /// Returns a parser; dropped when the pool is full.
  static void release(std::unique_ptr<Parser> parser);
  /// Parsers idle in this thread's pool.
  static std::size_t idle() noexcept;
};

}  // namespace httpx::http::detail
