// Follows Node's lib/_http_incoming.js: headers objects are built lazily from rawHeaders; the body
// is pushed by the connection; reading restarts the socket that backpressure paused (_read), and
// destroying an incomplete message aborts it and its socket (_destroy).
#include "httpx/http/incoming_message.hpp"

#include "detail/message_owner.hpp"

namespace httpx::http {

namespace {
// Reaches the protected constructor for make_shared: one allocation for the message and its count.
struct MadeIncomingMessage final : IncomingMessage {
  explicit MadeIncomingMessage(std::shared_ptr<net::Socket> socket)
      : core::Stream(socket->loop(), std::make_unique<IncomingMessageEvents>()), IncomingMessage(std::move(socket)) {}
};
}  // namespace

std::shared_ptr<IncomingMessage> IncomingMessage::create(std::shared_ptr<net::Socket> socket) {
  return std::make_shared<MadeIncomingMessage>(std::move(socket));
}

IncomingMessage::IncomingMessage(std::shared_ptr<net::Socket> socket, std::unique_ptr<IncomingMessageEvents> events)
    : core::Stream(socket->loop(), events ? std::move(events) : std::make_unique<IncomingMessageEvents>()),
      // Node: the socket's readableHighWaterMark.
      core::Readable(core::ReadableOptions{.high_water_mark = socket->readable_high_water_mark()}),
      socket_(std::move(socket)) {
  drop_listeners_after_close_ = true;
}

const HeaderMap& IncomingMessage::headers() {
  if (!headers_) headers_ = headers_from_raw(raw_headers_, join_duplicate_headers_);
  return *headers_;
}

const DistinctHeaderMap& IncomingMessage::headers_distinct() {
  if (!headers_distinct_) headers_distinct_ = headers_distinct_from_raw(raw_headers_);
  return *headers_distinct_;
}

const HeaderMap& IncomingMessage::trailers() {
  if (!trailers_) trailers_ = headers_from_raw(raw_trailers_, join_duplicate_headers_);
  return *trailers_;
}

const DistinctHeaderMap& IncomingMessage::trailers_distinct() {
  if (!trailers_distinct_) trailers_distinct_ = headers_distinct_from_raw(raw_trailers_);
  return *trailers_distinct_;
}

IncomingMessage& IncomingMessage::set_timeout(std::chrono::milliseconds timeout, std::function<void()> on_timeout) {
  if (on_timeout) events().timeout.on(std::move(on_timeout));
  socket_->set_timeout(timeout);
  return *this;
}

void IncomingMessage::do_read(std::size_t) {
  consuming_ = true;
  if (!socket_->readable()) return;
  if (auto owner = owner_.lock()) owner->read_start();
}

void IncomingMessage::on_readable_ended() {
  if (auto owner = owner_.lock()) owner->incoming_ended(*this);
  core::Readable::on_readable_ended();
}

void IncomingMessage::dump() {
  if (dumped_) return;
  dumped_ = true;
  // Buffered data would still be emitted: nobody asked for it.
  events().data.remove_all_listeners();
  resume();
}

void IncomingMessage::do_destroy(std::error_code ec, core::Callback done) {
  if (!readable_ended() || !complete_) {
    aborted_ = true;
    events().aborted.emit();
  }
  // An aborted message takes its connection down with it. Node waits for the socket with
  // finished(), which settles before the socket's 'close' reaches the response: the message's
  // 'close' is queued first, then the socket's.
  if (socket_ && !socket_->destroyed() && aborted_) {
    finish_destroy(ec, done);
    socket_->destroy(ec);
    return;
  }
  // Node's process.nextTick(onError, ...); the step waits in members, so posting it costs nothing.
  destroy_error_ = ec;
  destroy_done_ = std::move(done);
  loop().post(shared_from_this(), [this] {
    auto step = std::move(destroy_done_);
    finish_destroy(destroy_error_, step);
  });
}

// Node: 'error' only reaches listeners that exist; an unheard error is not thrown here.
void IncomingMessage::finish_destroy(std::error_code ec, const core::Callback& done) {
  done(events().error.listener_count() == 0 ? std::error_code() : ec);
}

}  // namespace httpx::http
