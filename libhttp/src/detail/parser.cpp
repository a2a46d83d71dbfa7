// The only file that includes llhttp.h. Follows Node's src/node_http_parser.cc: head pieces may
// arrive split over several reads and are appended; the head size is counted as Node counts it
// (URL, status, header names and values, trailers) against maxHeaderSize.
#include "detail/parser.hpp"

#include <algorithm>

#include <llhttp.h>

#include "httpx/core/error.hpp"
#include "httpx/http/constants.hpp"

namespace httpx::http::detail {
namespace {

class ParserCategory final : public core::NodeCodeCategory {
 public:
  const char* name() const noexcept override { return "llhttp"; }
  std::string message(int value) const override {
    if (value == kHeaderOverflow) return "Header overflow";
    return std::string("Parse Error: ") + llhttp_errno_name(static_cast<llhttp_errno_t>(value));
  }
  std::string node_code(int value) const override {
    if (value == kHeaderOverflow) return "HPE_HEADER_OVERFLOW";
    return llhttp_errno_name(static_cast<llhttp_errno_t>(value));
  }
};

}  // namespace

const std::error_category& parser_category() noexcept {
  static const ParserCategory instance;
  return instance;
}

std::error_code closed_connection_error() noexcept {
  return std::error_code(HPE_CLOSED_CONNECTION, parser_category());
}

struct Parser::State {
  llhttp_t parser{};
  llhttp_settings_t settings{};
  ParserOptions options{};
  MessageHead head{};
  std::vector<std::string> trailers{};
  std::vector<ParseEvent>* events = nullptr;
  std::size_t header_bytes = 0;
  bool in_trailers = false;
  // An error found by our own checks (llhttp sees HPE_USER): Node's code and reason for it.
  int forced_error = 0;
  std::string forced_reason{};
  bool message_done = false;
  std::string request_method{};
  std::function<bool(const MessageHead&)> upgrade_check{};  // requests: does the server take the upgrade?
  const char* buffer_begin = nullptr;  // the data being executed
  const char* buffer_end = nullptr;
  std::uint64_t chunk_remaining = 0;  // data bytes left in the current chunk
  int expect_crlf = 0;                // bytes of the CRLF after chunk data still to check
  bool value_open = false;            // a header value has started and not completed
  bool value_at_buffer_end = false;   // the last value piece ended where the data ended

  static State& of(llhttp_t* p) { return *static_cast<State*>(p->data); }

  // Node's TrackHeader(): the limit covers the whole head, trailers included.
  bool track(std::size_t n) {
    header_bytes += n;
    if (header_bytes >= options.max_header_size) {
      forced_error = kHeaderOverflow;
      forced_reason = "Header overflow";
      return false;
    }
    return true;
  }

  // llhttp 8.1 lets spaces and other non-token bytes into header names where Node 20's llhttp 9
  // rejects them (RFC 9110 section 5.1: a field name is a token), in its lenient mode too.
  bool check_name(const char* at, std::size_t n) {
    if (n == 0 || check_is_http_token(std::string_view(at, n))) return true;
    return force(HPE_INVALID_HEADER_TOKEN, "Invalid header token");
  }

  bool force(int code, const char* reason) {
    forced_error = code;
    forced_reason = reason;
    return false;
  }

  // llhttp 9 (Node 20) requires CRLF after each chunk's data, also when lenient; 8.1 skips two
  // bytes unseen. `expect_crlf` counts the bytes still to check (2, then 1), across executes.
  bool check_chunk_crlf(const char*& at, const char* end) {
    while (expect_crlf > 0 && at < end) {
      const char want = expect_crlf == 2 ? '\r' : '\n';
      if (*at != want) return force(HPE_STRICT, "Expected LF after chunk data");
      ++at;
      --expect_crlf;
    }
    return true;
  }

  std::vector<std::string>& fields() { return in_trailers ? trailers : head.raw_headers; }

  static int on_message_begin(llhttp_t* p) {
    auto& s = of(p);
    s.expect_crlf = 0;
    s.chunk_remaining = 0;
    s.value_open = false;
    s.head = MessageHead{};
    s.trailers.clear();
    s.header_bytes = 0;
    s.in_trailers = false;
    return 0;
  }
  static int on_url(llhttp_t* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (!s.track(n)) return HPE_USER;
    // llhttp 9 (Node 20) rejects bytes above 0x7F in the request target; 8.1 takes them.
    for (std::size_t i = 0; i < n; ++i) {
      if (static_cast<unsigned char>(at[i]) >= 0x80) {
        s.force(HPE_INVALID_URL, "Invalid char in url path");
        return HPE_USER;
      }
    }
    s.head.url.append(at, n);
    return 0;
  }
  static int on_status(llhttp_t* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (!s.track(n)) return HPE_USER;
    // llhttp 9 wants exactly three status digits; 8.1 takes "HTTP/1.1 20 OK". The digits precede
    // the reason and its space (checked when they are in this same read).
    if (s.head.status_message.empty() && at > s.buffer_begin && at[-1] == ' ') {
      std::size_t digits = 0;
      for (const char* c = at - 2; c >= s.buffer_begin && *c >= '0' && *c <= '9'; --c) ++digits;
      const bool whole = at - 2 - static_cast<std::ptrdiff_t>(digits) >= s.buffer_begin;
      if (whole && digits < 3) {
        s.force(HPE_INVALID_STATUS, "Invalid status code");
        return HPE_USER;
      }
    }
    s.head.status_message.append(at, n);
    return 0;
  }
  static int on_method(llhttp_t* p, const char* at, std::size_t n) {
    of(p).head.method.append(at, n);
    return 0;
  }
  static int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (!s.track(n) || !s.check_name(at, n)) return HPE_USER;
    s.value_open = false;
    auto& f = s.fields();
    if (f.empty()) f.reserve(16);  // room for 8 fields at once instead of growing 1, 2, 4, 8
    if (f.size() % 2 == 0) {
      f.emplace_back(at, n);  // a new name
    } else {
      f.back().append(at, n);  // the same name, split across reads
    }
    return 0;
  }
  static int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (!s.track(n)) return HPE_USER;
    auto& f = s.fields();
    if (f.size() % 2 == 1) {
      if (f.back().empty()) {
        // ": v": llhttp 9 rejects an empty field name, 8.1 takes it.
        s.force(HPE_INVALID_HEADER_TOKEN, "Invalid header token");
        return HPE_USER;
      }
      f.emplace_back(at, n);
    } else if (!s.value_open) {
      // A value with no name before it (": v"): llhttp 8.1 calls no on_header_field for an empty
      // name; llhttp 9 rejects the line.
      s.force(HPE_INVALID_HEADER_TOKEN, "Invalid header token");
      return HPE_USER;
    } else {
      // A second piece of the same value: the read was split, or the line was folded (obs-fold,
      // RFC 9112 section 5.2), which llhttp 9 rejects unless lenient.
      if (s.value_open && !s.value_at_buffer_end && !s.options.insecure) {
        s.force(HPE_INVALID_HEADER_TOKEN, "Unexpected whitespace after header value");
        return HPE_USER;
      }
      f.back().append(at, n);
    }
    s.value_open = true;
    s.value_at_buffer_end = at + n == s.buffer_end;
    return 0;
  }
  static int on_header_value_complete(llhttp_t* p) {
    // A field with an empty value produces no on_header_value call: add the empty value.
    auto& s = of(p);
    auto& f = s.fields();
    if (f.size() % 2 == 1) {
      if (f.back().empty()) {
        s.force(HPE_INVALID_HEADER_TOKEN, "Invalid header token");
        return HPE_USER;
      }
      f.emplace_back();
    }
    // llhttp 9 leaves trailing whitespace out of the value (RFC 9112 section 5: OWS is not part
    // of it); 8.1 keeps it.
    auto& v = f.back();
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    s.value_open = false;
    return 0;
  }
  static int on_headers_complete(llhttp_t* p) {
    auto& s = of(p);
    auto& h = s.head;
    h.http_major = p->http_major;
    h.http_minor = p->http_minor;
    if (p->type == HTTP_RESPONSE) h.status_code = p->status_code;
    h.should_keep_alive = llhttp_should_keep_alive(p) != 0;
    h.upgrade = p->upgrade != 0;
    s.header_bytes = 0;
    s.in_trailers = true;  // any header after this point is a trailer
    s.events->push_back({ParseEvent::Kind::head, {}});
    if (p->type == HTTP_RESPONSE) {
      if (s.request_method == "CONNECT") {
        // Node's parserOnIncomingClient: any answer to CONNECT is handled as an upgrade.
        h.upgrade = true;
        return 2;  // no body, and what follows is the tunnel
      }
      if (h.upgrade) return 2;  // 101 with Upgrade: the rest is the new protocol
      // Node's parserOnIncomingClient: no body for a 1xx (the final answer follows), a HEAD answer
      // or a 304, whatever their headers say.
      if ((h.status_code >= 100 && h.status_code < 200) || s.request_method == "HEAD" || h.status_code == 204 ||
          h.status_code == 304) {
        return 1;
      }
    } else if (h.upgrade && s.upgrade_check) {
      if (s.upgrade_check(h)) return 2;  // no body: the rest is the new protocol
      h.upgrade = false;
    }
    return 0;
  }
  static int on_body(llhttp_t* p, const char* at, std::size_t n) {
    auto& s = of(p);
    s.events->push_back({ParseEvent::Kind::body, std::string_view(at, n)});
    if ((p->flags & F_CHUNKED) && s.chunk_remaining > 0) {
      s.chunk_remaining -= std::min<std::uint64_t>(s.chunk_remaining, n);
      if (s.chunk_remaining == 0) {
        s.expect_crlf = 2;
        const char* next = at + n;
        if (!s.check_chunk_crlf(next, s.buffer_end)) return HPE_USER;
      }
    }
    return 0;
  }
  static int on_chunk_header(llhttp_t* p) {
    of(p).chunk_remaining = p->content_length;
    return 0;
  }
  static int on_message_complete(llhttp_t* p) {
    auto& s = of(p);
    s.events->push_back({ParseEvent::Kind::message_complete, {}});
    s.message_done = true;
    // After an upgrade llhttp stops by itself (HPE_PAUSED_UPGRADE), also when no byte follows the
    // head; pausing here would hide that. Other messages are handed over one at a time
    // (pipelining, backpressure): stop here.
    return p->upgrade ? 0 : HPE_PAUSED;
  }
};

Parser::Parser() : state_(std::make_unique<State>()) {
  auto& st = state_->settings;
  llhttp_settings_init(&st);
  st.on_message_begin = State::on_message_begin;
  st.on_url = State::on_url;
  st.on_status = State::on_status;
  st.on_method = State::on_method;
  st.on_header_field = State::on_header_field;
  st.on_header_value = State::on_header_value;
  st.on_header_value_complete = State::on_header_value_complete;
  st.on_chunk_header = State::on_chunk_header;
  st.on_headers_complete = State::on_headers_complete;
  st.on_body = State::on_body;
  st.on_message_complete = State::on_message_complete;
}

Parser::~Parser() = default;

void Parser::init(ParserType type, ParserOptions options) {
  auto& s = *state_;
  llhttp_init(&s.parser, type == ParserType::request ? HTTP_REQUEST : HTTP_RESPONSE, &s.settings);
  s.parser.data = &s;
  s.options = options;
  s.head = MessageHead{};
  s.trailers.clear();
  s.header_bytes = 0;
  s.in_trailers = false;
  s.forced_error = 0;
  s.forced_reason.clear();
  s.request_method.clear();
  s.expect_crlf = 0;
  s.chunk_remaining = 0;
  s.value_open = false;
  s.upgrade_check = nullptr;
  if (options.insecure) {
    llhttp_set_lenient_headers(&s.parser, 1);
    llhttp_set_lenient_chunked_length(&s.parser, 1);
    llhttp_set_lenient_keep_alive(&s.parser, 1);
    llhttp_set_lenient_transfer_encoding(&s.parser, 1);
  }
}

void Parser::set_request_method(std::string_view method) { state_->request_method = method; }

const MessageHead& Parser::head() const noexcept { return state_->head; }

MessageHead& Parser::head() noexcept { return state_->head; }

void Parser::set_upgrade_check(std::function<bool(const MessageHead&)> check) {
  state_->upgrade_check = std::move(check);
}

void Parser::resume_after_upgrade() { llhttp_resume_after_upgrade(&state_->parser); }

const std::vector<std::string>& Parser::raw_trailers() const noexcept { return state_->trailers; }

namespace {

// Whether Content-Length comes before Transfer-Encoding among `raw` (name, value, ...).
bool content_length_first(const std::vector<std::string>& raw) {
  const auto is = [](const std::string& name, std::string_view want) {
    return name.size() == want.size() && std::equal(name.begin(), name.end(), want.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
           });
  };
  for (std::size_t i = 0; i + 1 < raw.size(); i += 2) {
    if (is(raw[i], "content-length")) return true;
    if (is(raw[i], "transfer-encoding")) return false;
  }
  return false;
}

// llhttp 9 (Node 20) words some response errors differently from 8.1.
void llhttp9_response_reason(ParseResult& r, const char* begin, const char* pos) {
  const int code = r.error.value();
  if (code == HPE_INVALID_CONSTANT && r.reason == "Expected HTTP/") {
    r.reason = "Expected HTTP/, RTSP/ or ICE/";  // 9 also knows RTSP and ICE responses
  } else if (code == HPE_INVALID_STATUS && pos) {
    // 9: a non-digit among the three status digits is an "Invalid status code", anything wrong
    // after them an "Invalid response status" (8.1: "Invalid response status" / "Response overflow").
    std::size_t digits = 0;
    for (const char* c = pos - 1; c >= begin && *c >= '0' && *c <= '9'; --c) ++digits;
    r.reason = digits < 3 ? "Invalid status code" : "Invalid response status";
  }
}

ParseResult outcome(llhttp_t& parser, llhttp_errno_t err, const char* begin, std::size_t size, int forced_error,
                    const std::string& forced_reason, bool& message_done) {
  ParseResult r;
  r.message_done = message_done;
  message_done = false;
  if (err == HPE_OK) {
    r.consumed = size;
    return r;
  }
  const char* pos = llhttp_get_error_pos(&parser);
  r.consumed = pos ? static_cast<std::size_t>(pos - begin) : size;
  if (err == HPE_PAUSED) {
    llhttp_resume(&parser);
    return r;
  }
  if (err == HPE_PAUSED_UPGRADE) {
    r.upgraded = true;
    r.message_done = true;
    return r;
  }
  if (forced_error != 0) {
    r.error = std::error_code(forced_error, parser_category());
    r.reason = forced_reason;
    return r;
  }
  r.error = std::error_code(err, parser_category());
  r.reason = llhttp_get_error_reason(&parser) ? llhttp_get_error_reason(&parser) : "";
  if (parser.type == HTTP_RESPONSE) llhttp9_response_reason(r, begin, pos);
  return r;
}

}  // namespace

ParseResult Parser::execute(std::string_view data, std::vector<ParseEvent>& events) {
  auto& s = *state_;
  events.clear();
  s.events = &events;
  s.buffer_begin = data.data();
  s.buffer_end = data.data() + data.size();
  if (s.expect_crlf > 0) {
    // The CRLF after a chunk that ended with the previous data (llhttp consumes it itself).
    const char* at = data.data();
    if (!s.check_chunk_crlf(at, s.buffer_end)) {
      ParseResult r;
      r.error = std::error_code(s.forced_error, parser_category());
      r.reason = s.forced_reason;
      return r;
    }
  }
  const auto err = llhttp_execute(&s.parser, data.data(), data.size());
  auto r = outcome(s.parser, err, data.data(), data.size(), s.forced_error, s.forced_reason, s.message_done);
  if (s.parser.type == HTTP_RESPONSE && r.error.value() == HPE_UNEXPECTED_CONTENT_LENGTH &&
      r.reason == "Content-Length can't be present with Transfer-Encoding" && content_length_first(s.head.raw_headers)) {
    // llhttp 9 blames the second of the two headers; 8.1 always blames Content-Length.
    r.error = std::error_code(HPE_INVALID_TRANSFER_ENCODING, parser_category());
    r.reason = "Transfer-Encoding can't be present with Content-Length";
  }
  return r;
}

ParseResult Parser::finish(std::vector<ParseEvent>& events) {
  auto& s = *state_;
  events.clear();
  s.events = &events;
  const auto err = llhttp_finish(&s.parser);
  ParseResult r;
  r.message_done = s.message_done;
  s.message_done = false;
  if (err != HPE_OK && err != HPE_PAUSED) {
    r.error = std::error_code(err, parser_category());
    r.reason = llhttp_get_error_reason(&s.parser) ? llhttp_get_error_reason(&s.parser) : "";
  }
  return r;
}

namespace {
// One pool per thread: each loop runs on its own thread and parsers never cross loops.
std::vector<std::unique_ptr<Parser>>& pool() {
  thread_local std::vector<std::unique_ptr<Parser>> parsers;
  return parsers;
}
}  // namespace

std::unique_ptr<Parser> ParserPool::acquire(ParserType type, ParserOptions options) {
  auto& parsers = pool();
  std::unique_ptr<Parser> parser;
  if (parsers.empty()) {
    parser = std::make_unique<Parser>();
  } else {
    parser = std::move(parsers.back());
    parsers.pop_back();
  }
  parser->init(type, options);
  return parser;
}

void ParserPool::release(std::unique_ptr<Parser> parser) {
  auto& parsers = pool();
  if (parser && parsers.size() < max_idle_http_parsers()) parsers.push_back(std::move(parser));
}

std::size_t ParserPool::idle() noexcept { return pool().size(); }

}  // namespace httpx::http::detail
