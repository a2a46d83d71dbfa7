// The connection behind an HTTP message, as the message sees it.
#pragma once

#include <cstddef>

namespace httpx::http {
class IncomingMessage;
class OutgoingMessage;
}  // namespace httpx::http

namespace httpx::http::detail {

/// What a message tells the connection that owns it (the server's per-connection state). Node wires
/// these as closures and listeners per message (readStart, _onPendingData, resOnFinish,
/// clearIncoming); one interface reached through a weak pointer costs a message nothing to set up.
class MessageOwner {
 public:
  virtual ~MessageOwner() = default;
  /// A reader wants more of `msg`'s body after backpressure paused the socket. Node: readStart().
  virtual void read_start() = 0;
  /// `msg` emitted 'end' (its last listener has run).
  virtual void incoming_ended(const IncomingMessage& msg) = 0;
  /// A message without its socket yet buffered (delta > 0) or flushed (delta < 0) bytes.
  /// Node: OutgoingMessage._onPendingData.
  virtual void pending_data(std::ptrdiff_t delta) = 0;
  /// `msg` is about to emit 'finish'. Node: resOnFinish, the first 'finish' listener.
  virtual void outgoing_finished(OutgoingMessage& msg) = 0;
};

}  // namespace httpx::http::detail
