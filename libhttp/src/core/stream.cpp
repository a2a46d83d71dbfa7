// Follows Node's lib/internal/streams/{destroy,readable,writable,duplex}.js for byte streams:
// the same state flags, the same order of 'drain', callbacks, 'prefinish', 'finish', 'end', 'close'.
// Differs from Node: no object mode and no paused-mode read()/'readable' (consumers use 'data'
// with pause()/resume()); set_encoding() decodes when data is emitted, so lengths count bytes.
// Also, nothing is emitted after 'close' (Node may still emit a late 'resume' or buffered 'data'
// on a stream destroyed meanwhile), and inside flow() do_read() is asked for more after the
// buffered data was emitted rather than before each chunk, as Node's read() does.
#include "httpx/core/stream.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

namespace httpx::core {

// ---- Stream ------------------------------------------------------------------------------------

Stream::Stream(Loop& loop, std::unique_ptr<StreamEvents> events) : loop_(&loop), events_(std::move(events)) {}

void Stream::defer(std::function<void()> fn) {
  loop_->post(shared_from_this(), std::move(fn));
}

void Stream::emit_error(std::error_code ec) {
  if (error_emitted_) return;
  error_emitted_ = true;
  if (observer_) {
    auto observer = observer_;
    observer->on_stream_error(ec);
    // The observer heard it: no unhandled-error throw when nobody else listens.
    if (events_->error.listener_count() == 0) return;
  }
  events_->error.emit(ec);
}

void Stream::error_or_destroy(std::error_code ec) {
  if (destroyed_) return;
  if (auto_destroy_) {
    destroy(ec);
    return;
  }
  set_errored(ec);
  defer([this, ec] { emit_error(ec); });
}

// Node's destroy(): mark at once, run _destroy, then 'error' and 'close' on a later tick, so
// listeners attached right after the call still hear them. A second call is ignored entirely, as
// in Node: destroy(); destroy(err) leaves `errored` empty and emits no 'error'.
void Stream::destroy(std::error_code ec) {
  if (destroyed_) return;
  before_destroy();
  set_errored(ec);
  destroyed_ = true;
  do_destroy(ec, [self = shared_from_this()](std::error_code err) { self->on_destroyed(err); });
}

// The end of do_destroy(): a second call of its callback is ignored.
void Stream::on_destroyed(std::error_code err) {
  if (closed_) return;
  set_errored(err);
  closed_ = true;
  close_error_ = err;
  loop().post(shared_from_this(), [this] { emit_close_tick(); });
}

void Stream::emit_close_tick() {
  if (close_error_) emit_error(close_error_);
  if (close_emitted_) return;
  close_emitted_ = true;
  if (!emit_close_) return;
  notify([](detail::StreamObserver& o) { o.on_stream_close(); });
  events().close.emit();
  if (drop_listeners_after_close_) events().remove_all_listeners();
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

void Readable::set_observer(std::shared_ptr<detail::StreamObserver> observer) {
  const bool attach = observer != nullptr;
  Stream::set_observer(std::move(observer));
  if (attach && flowing_ == Flow::unset) resume();
}

void Readable::resume() {
  if (flowing_ == Flow::flowing) return;
  flowing_ = Flow::flowing;
  // Node's resume_(): one 'resume' however often resume() and pause() alternate before it runs;
  // it asks for data first, then emits 'resume' and flows.
  if (resume_scheduled_) return;
  resume_scheduled_ = true;
  defer([this] {
    resume_scheduled_ = false;
    if (destroyed()) return;
    read_now();
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
    if (!text.empty() && !observe_data(text)) events().data.emit(text);
    return;
  }
  if (!observe_data(chunk)) events().data.emit(chunk);
}

// The observer sees data first. One that detaches itself meanwhile (an HTTP server handing an
// upgraded socket over) has consumed the chunk: the new owner's listeners must not see it again.
bool Readable::observe_data(std::string_view chunk) {
  if (!observer_) return false;
  auto observer = observer_;
  observer->on_stream_data(chunk);
  return observer_ != observer;
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
    if (flowing_ == Flow::flowing && buffer_.empty()) {
      // Node's onEofChunk() queues the decoder's held-back rest as a last chunk: it is data, so
      // it goes out with the flow, before 'end' is scheduled.
      if (decoder_ && !end_emitted_) {
        const std::string tail = decoder_->end();
        if (!tail.empty() && !observe_data(tail)) events().data.emit(tail);
        if (destroyed()) return;
      }
      maybe_end();
    }
    return;
  }
  schedule_read_more();
}

bool Readable::push(std::string_view chunk) {
  if (ended_) {
    // Node's errorOrDestroy(ERR_STREAM_PUSH_AFTER_EOF), for a non-empty chunk; nothing once
    // destroyed.
    if (!chunk.empty()) error_or_destroy(make_error_code(errc::err_stream_push_after_eof));
    return false;
  }
  if (destroyed() || errored()) return false;
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
  // Node's maybeReadMore(): needed only by implementations that produce when asked.
  if (!reads_on_its_own()) schedule_read_more();
  // Node's canPushMore(): an empty buffer always takes more (a high-water mark of 0).
  return !ended_ && (length_ < high_water_mark_ || length_ == 0);
}

void Readable::push_end() {
  if (ended_ || destroyed()) return;
  ended_ = true;
  reading_ = false;
  if (flowing_ != Flow::flowing) return;  // resume() flows the rest and ends
  // Node's onEofChunk(): inside _read() the flow is left to a later tick; otherwise the buffered
  // data flows now and 'end' is scheduled for the next tick.
  if (in_read_call_) {
    schedule_flow();
  } else {
    flow();
  }
}

void Readable::end_if_drained() {
  if (ended_ && buffer_.empty()) maybe_end();
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

// Node's read(0) in resume_(): ask for data when below the high-water mark, whatever the mode.
void Readable::read_now() {
  if (reading_ || ended_ || destroyed()) return;
  if (length_ >= high_water_mark_ && length_ != 0) return;
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
    end_scheduled_ = false;
    if (destroyed() || errored() || end_emitted_ || !buffer_.empty()) return;
    end_emitted_ = true;
    // pipe() listens to 'end' too (Node's onend / unpipe), in the order it was attached.
    notify([](detail::StreamObserver& o) { o.on_stream_end(); });
    events().end.emit();
    on_readable_ended();
  });
}

void Readable::on_readable_ended() {
  if (auto_destroy_) destroy();
}

std::shared_ptr<Writable> Readable::pipe(std::shared_ptr<Writable> dest, PipeOptions options) {
  std::weak_ptr<Stream> weak_self = shared_from_this();
  Writable* raw = dest.get();
  PipeTarget target;
  target.dest = dest;
  target.end = options.end;
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
  // Node's onerror in pipe(): a failed destination is unpiped first (the listener is prepended),
  // and an error nobody else listens for is still thrown, as Node rethrows it.
  target.error_id = dest->events().error.prepend_listener([this, weak_self, raw](std::error_code ec) {
    const bool alone = raw->events().error.listener_count() == 1;
    if (!weak_self.expired()) remove_pipe_to(raw);
    if (alone) throw Error(ec);
  });
  // Node's onclose/onfinish: a closed or finished destination is unpiped.
  target.close_id = dest->events().close.on([this, weak_self, raw] {
    if (!weak_self.expired()) remove_pipe_to(raw);
  });
  target.finish_id = dest->events().finish.on([this, weak_self, raw] {
    if (!weak_self.expired()) remove_pipe_to(raw);
  });
  // Node's onend (end the destination) or, with { end: false }, unpipe.
  auto on_end = [this, raw, end = options.end] {
    auto it = std::find_if(pipes_.begin(), pipes_.end(), [raw](const PipeTarget& p) { return p.dest.get() == raw; });
    if (it == pipes_.end()) return;
    if (end) {
      auto keep = it->dest;
      keep->end();
    } else {
      remove_pipe_to(raw);
    }
  };
  if (end_emitted_) {
    defer(on_end);
  } else {
    target.end_id = events().end.once(on_end);
  }
  pipes_.push_back(std::move(target));
  if (pipes_.size() == 1) {
    pipe_data_id_ = events().data.on([this](std::string_view chunk) { on_pipe_data(chunk); });
  }
  if (dest->writable_need_drain()) {
    // Node: a destination already waiting for 'drain' pauses the source.
    pipes_.back().awaiting_drain = true;
    pause();
  } else if (flowing_ != Flow::flowing) {
    resume();
  }
  return dest;
}

void Readable::on_pipe_data(std::string_view chunk) {
  bool wait = false;
  // Copy: a write may fail and unpipe synchronously.
  auto targets = pipes_;
  for (auto& p : targets) {
    if (!p.dest->write(chunk)) {
      for (auto& live : pipes_) {
        if (live.dest == p.dest) {
          live.awaiting_drain = true;
          wait = true;
        }
      }
    }
  }
  if (wait) pause();
}

void Readable::remove_pipe_to(const Writable* dest) {
  for (std::size_t i = 0; i < pipes_.size(); ++i) {
    if (pipes_[i].dest.get() == dest) {
      remove_pipe(i);
      return;
    }
  }
}

void Readable::remove_pipe(std::size_t index) {
  auto target = std::move(pipes_[index]);
  pipes_.erase(pipes_.begin() + static_cast<std::ptrdiff_t>(index));
  target.dest->events().drain.off(target.drain_id);
  target.dest->events().error.off(target.error_id);
  target.dest->events().close.off(target.close_id);
  target.dest->events().finish.off(target.finish_id);
  if (target.end_id != 0) events().end.off(target.end_id);
  if (pipes_.empty()) {
    events().data.off(pipe_data_id_);
    pause();
    return;
  }
  // Node's cleanup(): a source waiting for this destination's 'drain' would wait forever.
  if (target.awaiting_drain &&
      std::none_of(pipes_.begin(), pipes_.end(), [](const PipeTarget& p) { return p.awaiting_drain; })) {
    resume();
  }
}

void Readable::unpipe(const std::shared_ptr<Writable>& dest) {
  for (std::size_t i = pipes_.size(); i-- > 0;) {
    if (!dest || pipes_[i].dest == dest) remove_pipe(i);
  }
}

// ---- Writable ----------------------------------------------------------------------------------

Writable::Writable(WritableOptions options)
    : high_water_mark_(options.high_water_mark) {}

bool Writable::writable() const noexcept { return !destroyed() && !ending_ && !errored(); }

// Node's _write(): a chunk after end() or destroy() is refused; its callback hears why on a later
// tick, and a live stream is destroyed with the error (errorOrDestroy).
std::error_code Writable::write_chunk(std::string chunk, Callback cb, bool& ret) {
  std::error_code err;
  if (ending_) {
    err = make_error_code(errc::err_stream_write_after_end);
  } else if (destroyed()) {
    err = make_error_code(errc::err_stream_destroyed);
  }
  if (err) {
    if (cb) defer([cb = std::move(cb), err] { cb(err); });
    error_or_destroy(err);
    ret = false;
    return err;
  }
  ret = write_or_buffer(std::move(chunk), std::move(cb));
  return {};
}

bool Writable::write(std::string_view chunk, Callback cb) {
  bool ret = false;
  (void)write_chunk(std::string(chunk), std::move(cb), ret);
  return ret;
}

bool Writable::write_string(std::string chunk, Callback cb) {
  bool ret = false;
  (void)write_chunk(std::move(chunk), std::move(cb), ret);
  return ret;
}

bool Writable::write(std::string_view text, Encoding encoding, Callback cb) {
  return write(encode(text, encoding), std::move(cb));
}

bool Writable::write_or_buffer(std::string chunk, Callback cb) {
  length_ += chunk.size();
  if (writing_ || corked_ > 0 || errored()) {
    buffered_.push_back({std::move(chunk), std::move(cb)});
  } else {
    start_write(std::move(chunk), std::move(cb));
  }
  // Node's writeOrBuffer(): measured after _write ran, so a chunk handed on synchronously no
  // longer counts; an empty buffer always takes more (a high-water mark of 0).
  const bool ret = length_ < high_water_mark_ || length_ == 0;
  if (!ret) need_drain_ = true;
  return ret && !errored() && !destroyed();
}

// The write in progress lives in members (its callbacks, its size, its number), not in a state
// object shared with `done`: one write at a time is all a Writable has, and the common write then
// costs no allocation beyond the completion callback itself.
void Writable::start_write(std::string chunk, Callback cb) {
  writing_ = true;
  inflight_bytes_ = chunk.size();
  inflight_cb_ = std::move(cb);
  in_write_call_ = true;
  do_write(std::move(chunk), write_done_callback());
  in_write_call_ = false;
}

void Writable::start_writev(std::vector<Pending> batch) {
  writing_ = true;
  inflight_bytes_ = 0;
  std::vector<std::string> chunks;
  chunks.reserve(batch.size());
  auto& more = write_extras().inflight_more;
  more.reserve(batch.size());
  for (auto& p : batch) {
    inflight_bytes_ += p.chunk.size();
    more.push_back(std::move(p.cb));
    chunks.push_back(std::move(p.chunk));
  }
  in_write_call_ = true;
  do_writev(std::move(chunks), write_done_callback());
  in_write_call_ = false;
}

Callback Writable::write_done_callback() {
  return [self = shared_from_this(), this, write = ++write_number_](std::error_code ec) { on_write_done(write, ec); };
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

void Writable::on_write_done(std::uint64_t write, std::error_code ec) {
  if (!writing_ || write != write_number_) {
    // Node: ERR_MULTIPLE_CALLBACK — an implementation bug, reported and fatal to the stream.
    error_or_destroy(make_error_code(errc::err_multiple_callback));
    return;
  }
  const bool sync = in_write_call_;
  writing_ = false;
  length_ -= inflight_bytes_;
  Callback cb = std::move(inflight_cb_);
  inflight_cb_ = nullptr;
  std::vector<Callback> more;
  if (extras_) more.swap(extras_->inflight_more);
  if (ec) {
    // Node's onwrite(): the stream is errored at once (write() answers false, later chunks are
    // queued), and onwriteError() runs now, or on the next tick when inside do_write().
    set_errored(ec);
    if (cb) more.insert(more.begin(), std::move(cb));
    if (sync) {
      defer([this, callbacks = std::move(more), ec] { on_write_error(callbacks, ec); });
    } else {
      on_write_error(more, ec);
    }
    return;
  }
  if (!buffered_.empty()) clear_buffer();
  if (!sync) {
    after_write(std::move(cb), std::move(more));
    return;
  }
  // Node's afterWriteTick: callbacks never run inside write(). Each completed write's callbacks
  // wait for their own tick: in tick_cb_ when they are one callback and nothing older waits,
  // else in the extras, each write's group closed by an empty callback.
  const bool extras_waiting = extras_ && extras_->tick_head < extras_->tick_callbacks.size();
  if (!tick_cb_waiting_ && !extras_waiting && more.empty()) {
    tick_cb_ = std::move(cb);
    tick_cb_waiting_ = true;
  } else {
    auto& waiting = write_extras().tick_callbacks;
    if (cb) waiting.push_back(std::move(cb));
    for (auto& c : more) {
      if (c) waiting.push_back(std::move(c));
    }
    waiting.emplace_back();
  }
  defer([this] { after_write_tick(); });
}

// Runs the callbacks of the oldest write that completed inside do_write().
void Writable::after_write_tick() {
  if (tick_cb_waiting_) {
    tick_cb_waiting_ = false;
    Callback cb = std::move(tick_cb_);
    tick_cb_ = nullptr;
    after_write(std::move(cb), {});
    return;
  }
  auto& waiting = extras_->tick_callbacks;
  auto& head = extras_->tick_head;
  Callback first;
  std::vector<Callback> more;
  for (; head < waiting.size() && waiting[head]; ++head) {
    if (first) {
      more.push_back(std::move(waiting[head]));
    } else {
      first = std::move(waiting[head]);
    }
  }
  ++head;  // the empty one closing this write's callbacks
  if (head >= waiting.size()) {
    waiting.clear();
    head = 0;
  }
  after_write(std::move(first), std::move(more));
}

Writable::WriteExtras& Writable::write_extras() {
  if (!extras_) extras_ = std::make_unique<WriteExtras>();
  return *extras_;
}

// Node's onwriteError(): the failed write's callbacks, then every queued write and end() callback
// hear the error, then the stream is destroyed with it ('error' always after the callbacks).
void Writable::on_write_error(const std::vector<Callback>& callbacks, std::error_code ec) {
  for (const auto& cb : callbacks) {
    if (cb) cb(ec);
  }
  error_buffer();
  error_or_destroy(ec);
}

void Writable::after_write(Callback first, std::vector<Callback> more) {
  if (need_drain_ && length_ == 0 && !ending_ && !destroyed()) {
    need_drain_ = false;
    notify([](detail::StreamObserver& o) { o.on_stream_drain(); });
    events().drain.emit();
  }
  if (first) first({});
  for (const auto& cb : more) {
    if (cb) cb({});
  }
  if (destroyed()) error_buffer();
  finish_maybe();
}

// Node's errorBuffer(): fails what is queued and the end() callbacks with the stream's error (or
// ERR_STREAM_DESTROYED); a write in progress finishes first and calls this again.
void Writable::error_buffer() {
  if (writing_) return;
  const std::error_code ec = errored() ? errored() : make_error_code(errc::err_stream_destroyed);
  auto queued = std::move(buffered_);
  buffered_.clear();
  auto ends = std::move(end_callbacks_);
  end_callbacks_.clear();
  for (auto& p : queued) {
    length_ -= p.chunk.size();
    if (p.cb) p.cb(ec);
  }
  for (auto& cb : ends) {
    if (cb) cb(ec);
  }
}

// Node's Writable.prototype.destroy: pending callbacks fail on a tick queued before 'close'.
void Writable::before_destroy() {
  if (!buffered_.empty() || !end_callbacks_.empty()) defer([this] { error_buffer(); });
}

// Node's clearBuffer(): everything queued in one do_writev(), or, without a gather write, chunk
// by chunk for as long as each completes synchronously. A loop, not recursion, so a long queue
// of synchronous writes does not grow the stack.
void Writable::clear_buffer() {
  if (clearing_) return;
  clearing_ = true;
  while (corked_ == 0 && !writing_ && !destroyed() && !errored() && !buffered_.empty()) {
    if (has_writev() && buffered_.size() > 1) {
      std::vector<Pending> batch;
      batch.reserve(buffered_.size());
      for (auto& p : buffered_) batch.push_back(std::move(p));
      buffered_.clear();
      start_writev(std::move(batch));
    } else {
      Pending next = std::move(buffered_.front());
      buffered_.pop_front();
      start_write(std::move(next.chunk), std::move(next.cb));
    }
  }
  clearing_ = false;
}

void Writable::cork() { ++corked_; }

void Writable::uncork() {
  if (corked_ == 0) return;
  --corked_;
  if (!writing_) clear_buffer();
}

void Writable::end(Callback cb) { end_impl({}, std::move(cb)); }

// Differs from Node: an empty chunk is not written (Node hands an empty chunk to _write).
void Writable::end(std::string_view chunk, Callback cb) {
  std::error_code err;
  if (!chunk.empty()) {
    bool ret = false;
    err = write_chunk(std::string(chunk), {}, ret);
  }
  end_impl(err, std::move(cb));
}

void Writable::end(std::string_view text, Encoding encoding, Callback cb) {
  end(encode(text, encoding), std::move(cb));
}

// Node's end(): uncork fully, then start finishing, or report why not.
void Writable::end_impl(std::error_code err, Callback cb) {
  if (corked_ > 0) {
    corked_ = 1;
    uncork();
  }
  if (err) {
    // The chunk given to end() was refused; the callback hears that.
  } else if (!errored() && !ending_) {
    ending_ = true;
    finish_maybe();
  } else if (finished_) {
    err = make_error_code(errc::err_stream_already_finished);
  } else if (destroyed()) {
    err = make_error_code(errc::err_stream_destroyed);
  }
  if (!cb) return;
  if (err) {
    defer([cb = std::move(cb), err] { cb(err); });
  } else if (errored()) {
    // Node: a stream that failed (maybe inside this very call, in do_final) answers with its error.
    defer([cb = std::move(cb), err = errored()] { cb(err); });
  } else if (finished_) {
    defer([cb = std::move(cb)] { cb({}); });
  } else {
    end_callbacks_.push_back(std::move(cb));
  }
}

void Writable::finish_maybe() {
  if (!ending_ || destroyed() || errored() || finished_ || finish_scheduled_ || writing_ || length_ != 0 ||
      !buffered_.empty()) {
    return;
  }
  prefinish();
}

// Node's prefinish()/callFinal(): the final step runs once; 'prefinish' follows its success and
// 'finish' comes on a later tick. A failure fails the end() callbacks, then the stream.
void Writable::prefinish() {
  if (prefinished_ || final_called_) return;
  final_called_ = true;
  auto self = shared_from_this();
  auto called = std::make_shared<bool>(false);
  do_final([this, self, called](std::error_code ec) {
    if (*called) {
      error_or_destroy(ec ? ec : make_error_code(errc::err_multiple_callback));
      return;
    }
    *called = true;
    if (ec) {
      auto callbacks = std::move(end_callbacks_);
      end_callbacks_.clear();
      for (auto& cb : callbacks) {
        if (cb) cb(ec);
      }
      error_or_destroy(ec);
      return;
    }
    if (destroyed() || errored()) return;
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

// Node's endReadableNT / autoDestroy: without half-open, the end of the input ends the output on
// the next tick (endWritableNT); the stream is destroyed once both directions are done.
void Duplex::on_readable_ended() {
  if (!allow_half_open_ && writable()) {
    defer([this] {
      if (writable() && !writable_ended() && !destroyed()) end();
    });
    return;
  }
  if (auto_destroy_ && writable_finished()) destroy();
}

void Duplex::on_writable_finished() {
  if (auto_destroy_ && readable_ended()) destroy();
}

}  // namespace httpx::core
