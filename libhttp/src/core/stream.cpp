// Follows Node's lib/internal/streams/{destroy,readable,writable,duplex}.js for byte streams:
// the same state flags, the same order of 'drain', callbacks, 'prefinish', 'finish', 'end', 'close'.
// Differs from Node: no object mode and no paused-mode read()/'readable' (consumers use 'data'
// with pause()/resume()); set_encoding() decodes when data is emitted, so lengths count bytes.
#include "httpx/core/stream.hpp"

#include <numeric>
#include <utility>

namespace httpx::core {

// ---- Stream ------------------------------------------------------------------------------------

Stream::Stream(Loop& loop, std::unique_ptr<StreamEvents> events) : loop_(&loop), events_(std::move(events)) {}

void Stream::defer(std::function<void()> fn) {
  loop_->post([self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

void Stream::emit_error(std::error_code ec) {
  if (error_emitted_) return;
  error_emitted_ = true;
  events_->error.emit(ec);
}

// Node's destroy(): mark at once, run _destroy, then 'error' and 'close' on a later tick, so
// listeners attached right after the call still hear them.
void Stream::destroy(std::error_code ec) {
  if (destroyed_) {
    if (ec && !errored_) errored_ = ec;
    return;
  }
  destroyed_ = true;
  if (ec) errored_ = ec;
  auto self = shared_from_this();
  do_destroy(ec, [self](std::error_code err) {
    self->loop().post([self, err] {
      if (err) self->emit_error(err);
      if (self->emit_close_ && !self->close_emitted_) {
        self->close_emitted_ = true;
        self->events().close.emit();
      }
    });
  });
}

// ---- Readable ----------------------------------------------------------------------------------

Readable::Readable(ReadableOptions options) : high_water_mark_(options.high_water_mark) {
  if (options.encoding) decoder_.emplace(*options.encoding);
  // Node: attaching a 'data' listener starts the flow unless the stream was paused explicitly.
  events().data.set_listener_added_hook([this] {
    if (flowing_ == Flow::unset) resume();
  });
}

bool Readable::readable() const noexcept { return !destroyed() && !end_emitted_ && !errored(); }

std::optional<bool> Readable::readable_flowing() const noexcept {
  if (flowing_ == Flow::unset) return std::nullopt;
  return flowing_ == Flow::flowing;
}

void Readable::set_encoding(Encoding encoding) { decoder_.emplace(encoding); }

void Readable::resume() {
  if (flowing_ == Flow::flowing) return;
  flowing_ = Flow::flowing;
  // Node's resume_(): 'resume' and the flow happen on a later tick.
  defer([this] {
    if (destroyed()) return;
    events().resume.emit();
    flow();
  });
}

void Readable::pause() {
  if (flowing_ == Flow::paused) return;
  flowing_ = Flow::paused;
  events().pause.emit();
}

void Readable::emit_data(std::string_view chunk) {
  if (decoder_) {
    const std::string text = decoder_->write(chunk);
    if (!text.empty()) events().data.emit(text);
    return;
  }
  events().data.emit(chunk);
}

void Readable::schedule_flow() {
  if (flow_scheduled_) return;
  flow_scheduled_ = true;
  defer([this] {
    flow_scheduled_ = false;
    flow();
  });
}

void Readable::flow() {
  while (flowing_ == Flow::flowing && !buffer_.empty() && !destroyed()) {
    std::string chunk = std::move(buffer_.front());
    buffer_.pop_front();
    length_ -= chunk.size();
    emit_data(chunk);
  }
  if (destroyed()) return;
  if (ended_) {
    if (flowing_ == Flow::flowing) maybe_end();
    return;
  }
  schedule_read_more();
}

bool Readable::push(std::string_view chunk) {
  if (destroyed()) return false;
  if (ended_) {
    destroy(make_error_code(errc::err_stream_push_after_eof));
    return false;
  }
  reading_ = false;
  if (!chunk.empty()) {
    // Node's addChunk(): straight to 'data' when flowing with nothing queued, outside _read().
    if (flowing_ == Flow::flowing && buffer_.empty() && !in_read_call_ && !flow_scheduled_) {
      emit_data(chunk);
    } else {
      buffer_.emplace_back(chunk);
      length_ += chunk.size();
      if (flowing_ == Flow::flowing) schedule_flow();
    }
  }
  schedule_read_more();
  return length_ < high_water_mark_;
}

void Readable::push_end() {
  if (ended_ || destroyed()) return;
  ended_ = true;
  reading_ = false;
  if (flowing_ == Flow::flowing) schedule_flow();
}

void Readable::schedule_read_more() {
  if (read_more_scheduled_) return;
  read_more_scheduled_ = true;
  defer([this] {
    read_more_scheduled_ = false;
    read_more();
  });
}

// Node's maybeReadMore(): ask for data while below the high-water mark (or flowing) and no read
// is outstanding. The implementation is never asked again before it pushed.
void Readable::read_more() {
  if (reading_ || ended_ || destroyed()) return;
  if (flowing_ != Flow::flowing && length_ >= high_water_mark_) return;
  reading_ = true;
  in_read_call_ = true;
  do_read(high_water_mark_);
  in_read_call_ = false;
}

void Readable::maybe_end() {
  if (end_emitted_ || end_scheduled_ || !ended_ || !buffer_.empty()) return;
  end_scheduled_ = true;
  // Node's endReadableNT(): on a later tick, and only if nothing went wrong meanwhile.
  defer([this] {
    if (destroyed() || errored() || end_emitted_) return;
    if (decoder_) {
      const std::string tail = decoder_->end();
      if (!tail.empty()) events().data.emit(tail);
    }
    end_emitted_ = true;
    events().end.emit();
    for (auto& p : pipes_) {
      if (p.end) p.dest->end();
    }
    on_readable_ended();
  });
}

void Readable::on_readable_ended() {
  if (auto_destroy_) destroy();
}

std::shared_ptr<Writable> Readable::pipe(std::shared_ptr<Writable> dest, PipeOptions options) {
  std::weak_ptr<Stream> weak_self = shared_from_this();
  Writable* raw = dest.get();
  PipeTarget target{dest, 0, 0, 0, options.end};
  // Node's pipeOnDrain(): resume once every destination that asked us to wait has drained.
  target.drain_id = dest->events().drain.on([this, weak_self, raw] {
    if (weak_self.expired()) return;
    bool waiting = false;
    for (auto& p : pipes_) {
      if (p.dest.get() == raw) p.awaiting_drain = false;
      waiting = waiting || p.awaiting_drain;
    }
    if (!waiting && !pipes_.empty()) resume();
  });
  // Node's onerror/onclose in pipe(): a failed or closed destination is unpiped. An error nobody
  // else listens for is still thrown, as Node rethrows it.
  target.error_id = dest->events().error.on([this, weak_self, raw](std::error_code ec) {
    const bool alone = raw->events().error.listener_count() == 1;
    if (!weak_self.expired()) {
      for (std::size_t i = 0; i < pipes_.size(); ++i) {
        if (pipes_[i].dest.get() == raw) {
          remove_pipe(i);
          break;
        }
      }
    }
    if (alone) throw Error(ec);
  });
  target.close_id = dest->events().close.on([this, weak_self, raw] {
    if (weak_self.expired()) return;
    for (std::size_t i = 0; i < pipes_.size(); ++i) {
      if (pipes_[i].dest.get() == raw) {
        remove_pipe(i);
        break;
      }
    }
  });
  pipes_.push_back(std::move(target));
  if (pipes_.size() == 1) {
    pipe_data_id_ = events().data.on([this](std::string_view chunk) { on_pipe_data(chunk); });
  }
  if (flowing_ != Flow::flowing) resume();
  return dest;
}

void Readable::on_pipe_data(std::string_view chunk) {
  bool wait = false;
  // Copy: a write may fail and unpipe synchronously.
  auto targets = pipes_;
  for (auto& p : targets) {
    if (!p.dest->write(chunk)) {
      for (auto& live : pipes_) {
        if (live.dest == p.dest) live.awaiting_drain = true;
      }
      wait = true;
    }
  }
  if (wait) pause();
}

void Readable::remove_pipe(std::size_t index) {
  auto target = std::move(pipes_[index]);
  pipes_.erase(pipes_.begin() + static_cast<std::ptrdiff_t>(index));
  target.dest->events().drain.off(target.drain_id);
  target.dest->events().error.off(target.error_id);
  target.dest->events().close.off(target.close_id);
  if (pipes_.empty()) {
    events().data.off(pipe_data_id_);
    pause();
  }
}

void Readable::unpipe(const std::shared_ptr<Writable>& dest) {
  for (std::size_t i = pipes_.size(); i-- > 0;) {
    if (!dest || pipes_[i].dest == dest) remove_pipe(i);
  }
}

// ---- Writable ----------------------------------------------------------------------------------

Writable::Writable(WritableOptions options)
    : high_water_mark_(options.high_water_mark), default_encoding_(options.default_encoding) {}

bool Writable::writable() const noexcept { return !destroyed() && !ending_ && !errored(); }

void Writable::fail_write(errc e, Callback cb) {
  const auto ec = make_error_code(e);
  if (cb) defer([cb = std::move(cb), ec] { cb(ec); });
  // Node's errorOrDestroy(): a live stream is destroyed with the error; a destroyed one only
  // tells the callback.
  if (!destroyed()) destroy(ec);
}

bool Writable::write(std::string_view chunk, Callback cb) {
  if (ending_) {
    fail_write(errc::err_stream_write_after_end, std::move(cb));
    return false;
  }
  if (destroyed()) {
    fail_write(errc::err_stream_destroyed, std::move(cb));
    return false;
  }
  return write_or_buffer(std::string(chunk), std::move(cb));
}

bool Writable::write(std::string_view text, Encoding encoding, Callback cb) {
  return write(encode(text, encoding), std::move(cb));
}

bool Writable::write_or_buffer(std::string chunk, Callback cb) {
  length_ += chunk.size();
  const bool below = length_ < high_water_mark_;
  if (!below) need_drain_ = true;
  if (writing_ || corked_ > 0 || errored()) {
    buffered_.push_back({std::move(chunk), std::move(cb)});
  } else {
    std::vector<Pending> batch;
    batch.push_back({std::move(chunk), std::move(cb)});
    start_write(std::move(batch));
  }
  return below && !errored() && !destroyed();
}

void Writable::start_write(std::vector<Pending> batch) {
  writing_ = true;
  std::size_t bytes = 0;
  std::vector<Callback> callbacks;
  std::vector<std::string> chunks;
  callbacks.reserve(batch.size());
  chunks.reserve(batch.size());
  for (auto& p : batch) {
    bytes += p.chunk.size();
    callbacks.push_back(std::move(p.cb));
    chunks.push_back(std::move(p.chunk));
  }
  auto self = shared_from_this();
  auto called = std::make_shared<bool>(false);
  Callback done = [this, self, bytes, called, callbacks = std::move(callbacks)](std::error_code ec) mutable {
    if (*called) {
      // Node: ERR_MULTIPLE_CALLBACK — an implementation bug, reported and fatal to the stream.
      destroy(make_error_code(errc::err_multiple_callback));
      return;
    }
    *called = true;
    on_write_done(ec, bytes, std::move(callbacks));
  };
  in_write_call_ = true;
  if (chunks.size() == 1) {
    do_write(std::move(chunks.front()), std::move(done));
  } else {
    do_writev(std::move(chunks), std::move(done));
  }
  in_write_call_ = false;
}

void Writable::do_writev(std::vector<std::string> chunks, Callback done) {
  // One after another through do_write(), stopping at the first failure.
  struct Step {
    std::vector<std::string> chunks;
    std::size_t next = 0;
    Callback done;
  };
  auto step = std::make_shared<Step>(Step{std::move(chunks), 0, std::move(done)});
  auto run = std::make_shared<std::function<void(std::error_code)>>();
  *run = [this, step, run](std::error_code ec) {
    if (ec || step->next == step->chunks.size()) {
      auto done = std::move(step->done);
      *run = nullptr;  // break the self-reference
      done(ec);
      return;
    }
    auto& chunk = step->chunks[step->next++];
    do_write(std::move(chunk), *run);
  };
  (*run)({});
}

void Writable::on_write_done(std::error_code ec, std::size_t bytes, std::vector<Callback> callbacks) {
  const bool sync = in_write_call_;
  writing_ = false;
  length_ -= bytes;
  if (ec) {
    // Node's onwriteError(): the callbacks hear the error, queued writes are dropped, the stream
    // is destroyed with it.
    std::vector<Callback> dropped;
    for (auto& p : buffered_) dropped.push_back(std::move(p.cb));
    buffered_.clear();
    length_ = 0;
    defer([callbacks = std::move(callbacks), dropped = std::move(dropped), ec] {
      for (const auto& cb : callbacks) {
        if (cb) cb(ec);
      }
      for (const auto& cb : dropped) {
        if (cb) cb(make_error_code(errc::err_stream_destroyed));
      }
    });
    destroy(ec);
    return;
  }
  if (!buffered_.empty() && corked_ == 0 && !destroyed()) clear_buffer();
  if (sync) {
    // Node's afterWriteTick: callbacks never run inside write().
    defer([this, callbacks = std::move(callbacks)] { after_write(callbacks); });
  } else {
    after_write(callbacks);
  }
}

void Writable::after_write(const std::vector<Callback>& callbacks) {
  if (need_drain_ && length_ == 0 && !ending_ && !destroyed()) {
    need_drain_ = false;
    events().drain.emit();
  }
  for (const auto& cb : callbacks) {
    if (cb) cb({});
  }
  finish_maybe();
}

void Writable::clear_buffer() {
  if (corked_ > 0 || writing_ || destroyed() || buffered_.empty()) return;
  std::vector<Pending> batch;
  batch.reserve(buffered_.size());
  for (auto& p : buffered_) batch.push_back(std::move(p));
  buffered_.clear();
  start_write(std::move(batch));
}

void Writable::cork() { ++corked_; }

void Writable::uncork() {
  if (corked_ == 0) return;
  --corked_;
  if (!writing_) clear_buffer();
}

void Writable::end(Callback cb) {
  if (corked_ > 0) {
    corked_ = 1;
    uncork();
  }
  std::error_code err;
  if (!errored() && !ending_) {
    ending_ = true;
    finish_maybe();
  } else if (finished_) {
    err = make_error_code(errc::err_stream_already_finished);
  } else if (destroyed()) {
    err = make_error_code(errc::err_stream_destroyed);
  }
  if (!cb) return;
  if (err || finished_) {
    defer([cb = std::move(cb), err] { cb(err); });
  } else {
    end_callbacks_.push_back(std::move(cb));
  }
}

void Writable::end(std::string_view chunk, Callback cb) {
  if (!chunk.empty()) write(chunk);
  end(std::move(cb));
}

void Writable::end(std::string_view text, Encoding encoding, Callback cb) {
  if (!text.empty()) write(text, encoding);
  end(std::move(cb));
}

void Writable::finish_maybe() {
  if (!ending_ || destroyed() || errored() || finished_ || finish_scheduled_ || writing_ || length_ != 0 ||
      !buffered_.empty()) {
    return;
  }
  prefinish();
}

// Node's prefinish()/callFinal(): the final step runs once; 'prefinish' follows its success and
// 'finish' comes on a later tick.
void Writable::prefinish() {
  if (prefinished_ || final_called_) return;
  final_called_ = true;
  auto self = shared_from_this();
  do_final([this, self](std::error_code ec) {
    if (ec) {
      auto callbacks = std::move(end_callbacks_);
      end_callbacks_.clear();
      for (auto& cb : callbacks) {
        if (cb) cb(ec);
      }
      destroy(ec);
      return;
    }
    prefinished_ = true;
    events().prefinish.emit();
    finish_scheduled_ = true;
    defer([this] { finish(); });
  });
}

void Writable::finish() {
  if (finished_ || destroyed()) return;
  finished_ = true;
  auto callbacks = std::move(end_callbacks_);
  end_callbacks_.clear();
  for (auto& cb : callbacks) {
    if (cb) cb({});
  }
  events().finish.emit();
  on_writable_finished();
}

void Writable::on_writable_finished() {
  if (auto_destroy_) destroy();
}

// ---- Duplex ------------------------------------------------------------------------------------

Duplex::Duplex(DuplexOptions options)
    : Readable(options.readable), Writable(options.writable), allow_half_open_(options.allow_half_open) {}

// Node's onReadableEnd / autoDestroy: without half-open, the end of the input ends the output;
// the stream is destroyed once both directions are done.
void Duplex::on_readable_ended() {
  if (!allow_half_open_ && !writable_ended()) {
    end();
    return;
  }
  if (auto_destroy_ && writable_finished()) destroy();
}

void Duplex::on_writable_finished() {
  if (auto_destroy_ && readable_ended()) destroy();
}

}  // namespace httpx::core
