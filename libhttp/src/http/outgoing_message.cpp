// Follows Node's lib/_http_outgoing.js: the head is rendered once (_storeHeader), goes out with
// the first body bytes (_send), and everything is written straight into the socket when the
// message owns it (_writeRaw), so a small response is one gather write.
#include "httpx/http/outgoing_message.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "detail/date_cache.hpp"
#include "detail/message_owner.hpp"
#include "detail/http_text.hpp"
#include "httpx/http/constants.hpp"

namespace httpx::http {
namespace {

using core::Error;
using core::errc;
using core::make_error_code;

using detail::contains_word;
using detail::to_lower;

// JS `+value` for a header value: what Node stores as _contentLength.
double js_to_number(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  if (s.empty()) return 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'O' || s[1] == 'b' || s[1] == 'B')) {
    const int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
    double v = 0;
    for (char c : s.substr(2)) {
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0 || d >= base) return std::nan("");
      v = v * base + d;
    }
    return v;
  }
  std::string_view digits = s;
  if (digits.front() == '+' || digits.front() == '-') digits.remove_prefix(1);
  if (digits == "Infinity") return s.front() == '-' ? -INFINITY : INFINITY;
  // strtod would accept "inf", "nan" and hex floats, which JS does not.
  for (char c : digits) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return std::nan("");
  }
  const std::string text(s);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nan("");
  return v;
}

// A JS number as Node prints it in "Content-Length: " + n (only integers reach this).
std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v < 0 ? "-Infinity" : "Infinity";
  if (v == std::floor(v) && std::fabs(v) < 9e18) return std::to_string(static_cast<long long>(v));
  if (v == std::floor(v) && std::fabs(v) < 1e21) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string content_length_mismatch(std::uint64_t actual, double expected) {
  return "Response body's content-length of " + std::to_string(actual) +
         " byte(s) does not match the content-length of " + number_text(expected) + " byte(s) set in header";
}

std::string hex(std::size_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

}  // namespace

// What _storeHeader learns while rendering. Node: the `state` object.
struct OutgoingMessage::HeaderState {
  bool connection = false;
  bool cont_len = false;
  bool te = false;
  bool date = false;
  bool expect = false;
  bool trailer = false;
};

OutgoingMessage::OutgoingMessage(core::Loop& loop, OutgoingMessageOptions options,
                                 std::unique_ptr<OutgoingMessageEvents> events)
    : loop_(&loop),
      events_(events ? std::move(events) : std::make_unique<OutgoingMessageEvents>()),
      high_water_mark_(options.high_water_mark),
      reject_non_standard_body_writes_(options.reject_non_standard_body_writes) {}

OutgoingMessage::~OutgoingMessage() = default;

// ---- headers -----------------------------------------------------------------------------------

void OutgoingMessage::check_headers_not_sent(std::string_view action) const {
  if (header_) {
    throw Error(errc::err_http_headers_sent,
                "Cannot " + std::string(action) + " headers after they are sent to the client");
  }
}

OutgoingMessage& OutgoingMessage::set_header(std::string_view name, std::string_view value) {
  check_headers_not_sent("set");
  headers_.set(name, value);
  return *this;
}

OutgoingMessage& OutgoingMessage::set_header(std::string_view name, const std::vector<std::string>& values) {
  check_headers_not_sent("set");
  headers_.set(name, values);
  return *this;
}

OutgoingMessage& OutgoingMessage::set_headers(const HeaderList& headers) {
  check_headers_not_sent("set");
  headers_.set_headers(headers);
  return *this;
}

OutgoingMessage& OutgoingMessage::append_header(std::string_view name, std::string_view value) {
  check_headers_not_sent("append");
  headers_.append(name, value);
  return *this;
}

OutgoingMessage& OutgoingMessage::append_header(std::string_view name, const std::vector<std::string>& values) {
  check_headers_not_sent("append");
  headers_.append(name, values);
  return *this;
}

void OutgoingMessage::remove_header(std::string_view name) {
  check_headers_not_sent("remove");
  const std::string key = to_lower(name);
  // Removing one of these also stops the message from generating it (Node's _removed* flags).
  if (key == "connection") removed_connection_ = true;
  else if (key == "content-length") removed_cont_len_ = true;
  else if (key == "transfer-encoding") removed_te_ = true;
  else if (key == "date") send_date = false;
  headers_.remove(name);
}

void OutgoingMessage::match_header(HeaderState& state, std::string_view name, std::string_view value) {
  if (name.size() < 4 || name.size() > 17) return;
  const std::string field = to_lower(name);
  if (field == "connection") {
    state.connection = true;
    removed_connection_ = false;
    if (contains_word(value, "close")) {
      last_ = true;
    } else {
      should_keep_alive_ = true;
    }
  } else if (field == "transfer-encoding") {
    state.te = true;
    removed_te_ = false;
    if (contains_word(value, "chunked")) chunked_encoding_ = true;
  } else if (field == "content-length") {
    state.cont_len = true;
    content_length_ = js_to_number(value);
    removed_cont_len_ = false;
  } else if (field == "date") {
    state.date = true;
  } else if (field == "expect") {
    state.expect = true;
  } else if (field == "trailer") {
    state.trailer = true;
  } else if (field == "keep-alive") {
    default_keep_alive_ = false;
  }
}

void OutgoingMessage::process_header(std::string& head, std::string_view name, const HeaderValue& value,
                                     bool validate, HeaderState& state) {
  if (validate) validate_header_name(name);
  // RFC 6266 §4.3: with a Content-Length, Node sends Content-Disposition in latin1.
  const bool latin1 = content_length_ && *content_length_ != 0 && !std::isnan(*content_length_) && name.size() == 19 &&
                      to_lower(name) == "content-disposition";
  const auto store = [&](std::string_view v) {
    if (validate) validate_header_value(name, v);
    head.append(name);
    head.append(": ");
    if (latin1) {
      head.append(core::encode(v, core::Encoding::latin1));
    } else {
      head.append(v);
    }
    head.append("\r\n");
    match_header(state, name, v);
  };
  if (const auto* values = std::get_if<std::vector<std::string>>(&value)) {
    const std::string key = to_lower(name);
    const bool unique = unique_headers_ && std::find(unique_headers_->begin(), unique_headers_->end(), key) !=
                                               unique_headers_->end();
    if ((values->size() < 2 || key != "cookie") && !unique) {
      for (const auto& v : *values) store(v);
      return;
    }
    std::string joined;
    for (std::size_t i = 0; i < values->size(); ++i) {
      if (i) joined += "; ";
      joined += (*values)[i];
    }
    store(joined);
    return;
  }
  store(std::get<std::string>(value));
}

void OutgoingMessage::store_header(std::string first_line, const HeaderList* explicit_headers) {
  HeaderState state;
  std::string head = std::move(first_line);
  if (explicit_headers) {
    for (const auto& [name, value] : *explicit_headers) process_header(head, name, HeaderValue(value), true, state);
  } else {
    for (const auto& [name, value] : headers_.entries()) process_header(head, name, value, false, state);
  }

  if (send_date && !state.date) {
    head += "Date: ";
    head += detail::utc_date();
    head += "\r\n";
  }

  // Node: a chunked 204/304 would send a zero chunk that proxies could read as the next response;
  // drop the chunking and close instead.
  const int status = framing_status();
  if (chunked_encoding_ && (status == 204 || status == 304)) {
    chunked_encoding_ = false;
    should_keep_alive_ = false;
  }

  if (removed_connection_) {
    last_ = !should_keep_alive_;
  } else if (!state.connection) {
    const bool send_keep_alive = should_keep_alive_ && (state.cont_len || use_chunked_encoding_by_default_ || agent_);
    if (send_keep_alive && max_requests_on_connection_reached_) {
      head += "Connection: close\r\n";
    } else if (send_keep_alive) {
      head += "Connection: keep-alive\r\n";
      if (keep_alive_timeout_.count() > 0 && default_keep_alive_) {
        head += "Keep-Alive: timeout=";
        head += std::to_string(keep_alive_timeout_.count() / 1000);
        if (max_requests_per_socket_ > 0) {
          head += ", max=";
          head += std::to_string(max_requests_per_socket_);
        }
        head += "\r\n";
      }
    } else {
      last_ = true;
      head += "Connection: close\r\n";
    }
  }

  if (!state.cont_len && !state.te) {
    if (!has_body_) {
      chunked_encoding_ = false;
    } else if (!use_chunked_encoding_by_default_) {
      last_ = true;
    } else if (!state.trailer && !removed_cont_len_ && content_length_) {
      head += "Content-Length: ";
      head += number_text(*content_length_);
      head += "\r\n";
    } else if (!removed_te_) {
      head += "Transfer-Encoding: chunked\r\n";
      chunked_encoding_ = true;
    } else {
      // Neither length nor chunking: the body ends with the connection.
      last_ = true;
    }
  }

  if (!chunked_encoding_ && state.trailer) {
    throw Error(errc::err_http_trailer_invalid, "Trailers are invalid with this transfer encoding");
  }

  head += "\r\n";
  header_ = std::move(head);
  header_sent_ = false;
  // An Expect: 100-continue request goes out at once, to hear the interim answer.
  if (state.expect) send(std::string(), {});
}

void OutgoingMessage::add_trailers(const HeaderList& trailers) {
  std::string rendered;
  for (const auto& [field, value] : trailers) {
    validate_header_name(field, "Trailer name");
    if (check_invalid_header_char(value)) {
      throw Error(errc::err_invalid_char, "Invalid character in trailer content [\"" + field + "\"]");
    }
    rendered += field;
    rendered += ": ";
    rendered += value;
    rendered += "\r\n";
  }
  trailer_ = std::move(rendered);
}

// ---- writing -----------------------------------------------------------------------------------

bool OutgoingMessage::strict_length_applies() const noexcept {
  return strict_content_length && content_length_ && has_body_ && !removed_cont_len_ && !chunked_encoding_ &&
         !headers_.has("transfer-encoding");
}

void OutgoingMessage::on_error(std::error_code ec, core::Callback cb) {
  if (destroyed_) return;
  // Node's onError(): the callback, then 'error', on the next tick.
  auto self = shared_from_this();
  loop_->post([self, ec, cb = std::move(cb)] {
    if (cb) cb(ec);
    if (!self->destroyed_) self->events_->error.emit(ec);
  });
}

bool OutgoingMessage::write(std::string_view chunk, core::Callback cb) {
  const bool ret = write_impl(chunk, std::move(cb), false);
  if (!ret) need_drain_ = true;
  return ret;
}

bool OutgoingMessage::write(std::string_view text, core::Encoding encoding, core::Callback cb) {
  if (encoding == core::Encoding::utf8) return write(text, std::move(cb));
  return write(core::encode(text, encoding), std::move(cb));
}

bool OutgoingMessage::write_impl(std::string_view chunk, core::Callback cb, bool from_end) {
  std::error_code err;
  if (finished_) {
    err = make_error_code(errc::err_stream_write_after_end);
  } else if (destroyed_) {
    err = make_error_code(errc::err_stream_destroyed);
  }
  if (err) {
    if (!destroyed_) {
      on_error(err, std::move(cb));
    } else if (cb) {
      loop_->post([cb = std::move(cb), err] { cb(err); });
    }
    return false;
  }

  const std::size_t len = chunk.size();
  if (strict_content_length) {
    // Checked before an implicit head is rendered, as in Node: a Content-Length the user set is
    // only known once the head exists, so the first write is compared at end() at the latest.
    if (strict_length_applies()) {
      const double total = static_cast<double>(bytes_written_ + len);
      if (from_end ? total != *content_length_ : total > *content_length_) {
        throw Error(errc::err_http_content_length_mismatch, content_length_mismatch(bytes_written_ + len, *content_length_));
      }
    }
    bytes_written_ += len;
  }

  if (!header_) {
    if (from_end) content_length_ = static_cast<double>(len);
    implicit_header();
  }

  if (!has_body_) {
    if (reject_non_standard_body_writes_) {
      throw Error(errc::err_http_body_not_allowed,
                  "Adding content for this request method or response status is not allowed.");
    }
    if (cb) loop_->post([cb = std::move(cb)] { cb({}); });
    return true;
  }

  // Writes made in one turn of the loop leave together (Node: connectionCorkNT).
  if (!from_end && socket_ && socket_->writable_corked() == 0) {
    socket_->cork();
    std::weak_ptr<net::Socket> weak = socket_;
    loop_->post([weak] {
      if (auto s = weak.lock()) s->uncork();
    });
  }

  if (chunked_encoding_ && len != 0) {
    std::string framed = hex(len);
    framed.reserve(framed.size() + len + 4);
    framed += "\r\n";
    framed.append(chunk);
    framed += "\r\n";
    return send(std::move(framed), std::move(cb));
  }
  return send(std::string(chunk), std::move(cb));
}

bool OutgoingMessage::send(std::string data, core::Callback cb) {
  if (!header_sent_ && header_) {
    data.insert(0, *header_);
    header_sent_ = true;
  }
  return write_raw(std::move(data), std::move(cb));
}

bool OutgoingMessage::write_raw(std::string data, core::Callback cb) {
  // Node: a destroyed socket takes nothing; its 'close' is on the way.
  if (socket_ && socket_->destroyed()) return false;
  if (socket_ && socket_->writable()) {
    if (!output_.empty()) flush_output();
    return socket_->write_string(std::move(data), std::move(cb));
  }
  // No socket yet (a pipelined response waiting its turn): keep it, and report the growth so the
  // connection can stop reading requests.
  const std::size_t size = data.size();
  output_.push_back(Output{std::move(data), std::move(cb)});
  output_size_ += size;
  if (auto owner = owner_.lock()) owner->pending_data(static_cast<std::ptrdiff_t>(size));
  return output_size_ < high_water_mark_;
}

bool OutgoingMessage::flush_output() {
  while (corked_ > 0) {
    --corked_;
    socket_->cork();
  }
  if (output_.empty()) return false;
  socket_->cork();
  bool ret = false;
  auto output = std::move(output_);
  output_.clear();
  for (auto& o : output) ret = socket_->write_string(std::move(o.data), std::move(o.cb));
  socket_->uncork();
  const std::size_t size = output_size_;
  output_size_ = 0;
  if (auto owner = owner_.lock()) owner->pending_data(-static_cast<std::ptrdiff_t>(size));
  return ret;
}

void OutgoingMessage::flush() {
  if (!socket_ || !socket_->writable()) return;
  const bool ret = flush_output();
  if (finished_) {
    on_finish_queued();
  } else if (ret && need_drain_) {
    need_drain_ = false;
    events_->drain.emit();
  }
}

OutgoingMessage& OutgoingMessage::end(core::Callback cb) { return end(std::string_view(), std::move(cb)); }

OutgoingMessage& OutgoingMessage::end(std::string_view text, core::Encoding encoding, core::Callback cb) {
  if (encoding == core::Encoding::utf8 || text.empty()) return end(text, std::move(cb));
  return end(std::string_view(core::encode(text, encoding)), std::move(cb));
}

OutgoingMessage& OutgoingMessage::end(std::string_view chunk, core::Callback cb) {
  if (end_in_one_write(chunk, cb)) return *this;
  if (!chunk.empty()) {
    if (finished_) {
      on_error(make_error_code(errc::err_stream_write_after_end), std::move(cb));
      return *this;
    }
    if (socket_) socket_->cork();
    write_impl(chunk, {}, true);
  } else if (finished_) {
    if (cb) {
      if (!writable_finished()) {
        events_->finish.once([cb] { cb({}); });
      } else {
        cb(make_error_code(errc::err_stream_already_finished));
      }
    }
    return *this;
  } else if (!header_) {
    if (socket_) socket_->cork();
    content_length_ = 0;
    implicit_header();
  }

  if (cb) events_->finish.once([cb] { cb({}); });

  if (strict_length_applies() && static_cast<double>(bytes_written_) != *content_length_) {
    throw Error(errc::err_http_content_length_mismatch, content_length_mismatch(bytes_written_, *content_length_));
  }

  auto on_finish = finish_callback();
  if (has_body_ && chunked_encoding_) {
    send("0\r\n" + trailer_ + "\r\n", on_finish);
  } else if (!header_sent_ || writable_length() > 0 || !chunk.empty()) {
    send(std::string(), on_finish);
  } else {
    loop_->post([on_finish] { on_finish({}); });
  }

  if (socket_) {
    // end() uncorks completely, whatever the user corked.
    while (socket_->writable_corked() > 0) socket_->uncork();
  }
  corked_ = 0;
  finished_ = true;

  // Everything went into the socket: the server may move on to the next response.
  if (output_.empty() && socket_) on_finish_queued();
  return *this;
}

// The common response, `end(body)` before anything was sent, as one write of head and body with
// 'finish' attached to it: the same bytes and events as Node's path (cork, write the chunk, an
// empty write carrying onFinish, uncork), without the extra queue entries.
bool OutgoingMessage::end_in_one_write(std::string_view chunk, core::Callback& cb) {
  if (chunk.empty() || finished_ || destroyed_ || header_ || !socket_ || !socket_->writable() ||
      !output_.empty() || strict_content_length) {
    return false;
  }
  content_length_ = static_cast<double>(chunk.size());
  implicit_header();
  if (!has_body_ || chunked_encoding_) return false;  // the general path goes on from here
  if (cb) events_->finish.once([cb = std::move(cb)] { cb({}); });
  std::string data;
  data.reserve(header_->size() + chunk.size());
  data += *header_;
  data.append(chunk);
  header_sent_ = true;
  socket_->write_string(std::move(data), finish_callback());
  while (socket_ && socket_->writable_corked() > 0) socket_->uncork();
  corked_ = 0;
  finished_ = true;
  if (socket_) on_finish_queued();
  return true;
}

// Node's onFinish(), the callback of the last write: 'finish', unless the socket failed.
core::Callback OutgoingMessage::finish_callback() {
  std::weak_ptr<OutgoingMessage> weak = shared_from_this();
  return [weak](std::error_code) {
    auto self = weak.lock();
    if (!self || (self->socket_ && self->socket_->errored())) return;
    if (auto owner = self->owner_.lock()) owner->outgoing_finished(*self);
    self->events_->finish.emit();
  };
}

void OutgoingMessage::on_finish_queued() { events_->prefinish.emit(); }

void OutgoingMessage::flush_headers() {
  if (!header_) implicit_header();
  send(std::string(), {});
}

void OutgoingMessage::cork() {
  if (socket_) {
    socket_->cork();
  } else {
    ++corked_;
  }
}

void OutgoingMessage::uncork() {
  if (socket_) {
    socket_->uncork();
  } else if (corked_ > 0) {
    --corked_;
  }
}

OutgoingMessage& OutgoingMessage::set_timeout(std::chrono::milliseconds timeout, std::function<void()> on_timeout) {
  if (on_timeout) events_->timeout.on(std::move(on_timeout));
  if (socket_) {
    socket_->set_timeout(timeout);
  } else {
    pending_timeout_ = timeout;
  }
  return *this;
}

void OutgoingMessage::destroy(std::error_code ec) {
  if (destroyed_) return;
  destroyed_ = true;
  errored_ = ec;
  if (socket_) {
    socket_->destroy(ec);
  } else {
    pending_destroy_ = true;
    pending_destroy_error_ = ec;
  }
}

void OutgoingMessage::emit_close() {
  if (closed_) return;
  destroyed_ = true;
  closed_ = true;
  events_->close.emit();
  events_->remove_all_listeners();
}

bool OutgoingMessage::writable_finished() const noexcept {
  return finished_ && output_size_ == 0 && (!socket_ || socket_->writable_length() == 0);
}

std::size_t OutgoingMessage::writable_length() const noexcept {
  return output_size_ + (socket_ ? socket_->writable_length() : 0);
}

std::size_t OutgoingMessage::writable_high_water_mark() const noexcept {
  return socket_ ? socket_->writable_high_water_mark() : high_water_mark_;
}

std::size_t OutgoingMessage::writable_corked() const noexcept {
  return (socket_ ? socket_->writable_corked() : 0) + corked_;
}

}  // namespace httpx::http
