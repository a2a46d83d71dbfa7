/// Byte streams with backpressure: Node's stream.Readable, stream.Writable and stream.Duplex.
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

#include "httpx/core/encoding.hpp"
#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"

namespace httpx::core {

namespace detail {
/// A first-in first-out queue that owns no memory while empty (std::deque allocates a block on
/// construction, which an idle connection's streams would pay for).
template <class T>
class Fifo {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }
  T& front() noexcept { return items_[head_]; }
  void push_back(T item) { items_.push_back(std::move(item)); }
  template <class... A>
  void emplace_back(A&&... args) {
    items_.emplace_back(std::forward<A>(args)...);
  }
  void pop_front() {
    if (++head_ == items_.size()) clear();
  }
  void clear() noexcept {
    std::vector<T>().swap(items_);
    head_ = 0;
  }
  auto begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() noexcept { return items_.end(); }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};
}  // namespace detail

/// Completion of a write, an end or a destroy step: empty on success.
using Callback = std::function<void(std::error_code)>;

/// The events of every stream. A readable-only stream never emits the writable ones and the
/// other way round. Derived classes extend this struct (see net::SocketEvents).
struct StreamEvents {
  virtual ~StreamEvents() = default;
  /// Drops every listener (not the 'data' hook). Sockets and HTTP messages do it right after
  /// 'close', so listeners that capture their own emitter (a cycle of shared_ptrs) cannot keep it
  /// alive. A derived struct clears its own events too.
  virtual void remove_all_listeners() {
    close.remove_all_listeners();
    error.remove_all_listeners();
    data.remove_all_listeners();
    end.remove_all_listeners();
    pause.remove_all_listeners();
    resume.remove_all_listeners();
    drain.remove_all_listeners();
    prefinish.remove_all_listeners();
    finish.remove_all_listeners();
  }
  Signal<> close;                      ///< Node: 'close' — after destroy, last event.
  ErrorSignal error;                   ///< Node: 'error' — at most once; thrown when unheard.
  Signal<std::string_view> data;       ///< Node: 'data' — bytes, or text after set_encoding().
  Signal<> end;                        ///< Node: 'end' — all data was consumed.
  Signal<> pause;                      ///< Node: 'pause'
  Signal<> resume;                     ///< Node: 'resume'
  Signal<> drain;                      ///< Node: 'drain' — write() may be called again.
  Signal<> prefinish;                  ///< Node: 'prefinish' — end() called, all data flushed.
  Signal<> finish;                     ///< Node: 'finish' — after prefinish and the final step.
};

namespace detail {
/// Internal to libhttp: a consumer wired straight into a stream's events, called before the
/// stream's listeners. The HTTP server's connections use it instead of six socket listeners each,
/// as Node's server consumes the socket handle directly (parser.consume): an idle connection then
/// costs no listener allocations. Not part of the API.
class StreamObserver {
 public:
  virtual ~StreamObserver() = default;
  virtual void on_stream_data(std::string_view) {}
  virtual void on_stream_end() {}
  virtual void on_stream_drain() {}
  virtual void on_stream_error(std::error_code) {}
  virtual void on_stream_close() {}
  virtual void on_stream_timeout() {}  ///< sockets' 'timeout'
};
}  // namespace detail

/// What every stream has: its loop, its events, and destruction. Not used alone.
/// Ownership: streams are made with std::make_shared (or a `create()`), and every pending step
/// holds a shared_ptr, so a stream lives until its work is done and 'close' was emitted.
class Stream : public std::enable_shared_from_this<Stream> {
 public:
  virtual ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// The stream's events (a derived stream returns its own extended struct).
  StreamEvents& events() noexcept { return *events_; }
  /// The loop this stream belongs to.
  Loop& loop() const noexcept { return *loop_; }

  /// Tears the stream down: queued writes and end() callbacks fail (with `ec`, or
  /// ERR_STREAM_DESTROYED), 'error' (when `ec` is set) and then 'close' are emitted on a later tick.
  /// Repeated calls do nothing, not even record their error. Node: `stream.destroy([error])`.
  void destroy(std::error_code ec = {});
  /// Node: `stream.destroyed`.
  bool destroyed() const noexcept { return destroyed_; }
  /// True once the teardown (`do_destroy`) completed; 'close' follows on a later tick.
  /// Node: `stream.closed` (set where Node sets it, in destroy's callback, not at 'close').
  bool closed() const noexcept { return closed_; }
  /// The first error the stream failed with (a write, the final step, destroy), if any.
  /// Node: `stream.errored`.
  std::error_code errored() const noexcept { return errored_; }

  /// Internal (see detail::StreamObserver): sets the one observer, or detaches it with null.
  /// A readable stream starts flowing for it, as for a 'data' listener.
  virtual void set_observer(std::shared_ptr<detail::StreamObserver> observer) { observer_ = std::move(observer); }

 protected:
  /// `events` may be a derived struct; a derived class reaches it with a static_cast.
  Stream(Loop& loop, std::unique_ptr<StreamEvents> events);
  explicit Stream(Loop& loop) : Stream(loop, std::make_unique<StreamEvents>()) {}

  /// The implementation's teardown; call `done` (maybe later) when resources are released.
  /// Node: `_destroy(err, cb)`.
  virtual void do_destroy(std::error_code ec, Callback done) { done(ec); }

  /// Called once, by the first destroy(), before the stream is marked destroyed; the sides use it
  /// (a Writable fails its queue). Node: the part of `Writable.prototype.destroy` before destroy.
  virtual void before_destroy() {}

  /// Emits 'error' once per stream (Node's errorEmitted rule); used by the sides.
  void emit_error(std::error_code ec);
  /// Records `ec` as the stream's error unless it already has one (Node: `state.errored = err`
  /// before the stream is destroyed, as a failed write does).
  void set_errored(std::error_code ec) noexcept {
    if (ec && !errored_) errored_ = ec;
  }
  /// Node's errorOrDestroy(): destroys the stream with `ec` (autoDestroy), or else records it and
  /// emits 'error' on a later tick. Does nothing once destroyed.
  void error_or_destroy(std::error_code ec);
  /// Posts `fn` to the loop, holding this stream alive until it ran.
  void defer(std::function<void()> fn);

  /// Calls `fn` on the observer, if any, keeping it alive meanwhile.
  template <class Fn>
  void notify(Fn&& fn) {
    if (observer_) {
      auto observer = observer_;
      fn(*observer);
    }
  }

  std::shared_ptr<detail::StreamObserver> observer_;  ///< see set_observer()
  bool auto_destroy_ = true;  ///< Node: autoDestroy (default true).
  /// Drop every listener after 'close' (sockets and HTTP messages, whose listeners often capture
  /// the emitter itself). Generic streams keep them: Node may emit e.g. 'pause' after 'close'
  /// when a pipe unwinds.
  bool drop_listeners_after_close_ = false;
  bool emit_close_ = true;    ///< Node: emitClose (default true).

 private:
  Loop* loop_;
  std::unique_ptr<StreamEvents> events_;
  bool destroyed_ = false;
  bool closed_ = false;
  bool error_emitted_ = false;
  bool close_emitted_ = false;
  std::error_code errored_;
  std::error_code close_error_;  // what do_destroy() reported, emitted before 'close'

  void on_destroyed(std::error_code err);
  void emit_close_tick();
};

/// Options of a readable stream. Node: `new stream.Readable(options)`.
struct ReadableOptions {
  std::size_t high_water_mark = 16384;  ///< bytes buffered before push() returns false; Node 16384.
  std::optional<Encoding> encoding{};     ///< decode 'data' to text; Node: encoding (null).
};

/// Options of a writable stream. Node: `new stream.Writable(options)`.
struct WritableOptions {
  std::size_t high_water_mark = 16384;      ///< bytes buffered before write() returns false.
};

class Writable;

/// Options of `Readable::pipe`. Node: `readable.pipe(dest, { end })`.
struct PipeOptions {
  bool end = true;  ///< end the destination when the source ends.
};

/// A source of bytes. Node: `stream.Readable`, in flowing mode: attaching a 'data' listener (or
/// `resume()`) starts the flow, `pause()` stops it, and while paused the buffer fills to the
/// high-water mark and the implementation stops producing (`push()` returns false) — that is the
/// backpressure a slow consumer exerts on a socket.
/// An implementation overrides `do_read()` and feeds data with `push()` / `push_end()`.
class Readable : public virtual Stream {
 public:
  /// Switches to flowing mode; 'data' resumes on a later tick. Node: `readable.resume()`.
  void resume();
  /// Stops 'data' events; buffered data stays. Node: `readable.pause()`.
  void pause();
  /// Node: `readable.isPaused()`.
  bool is_paused() const noexcept { return flowing_ == Flow::paused; }
  /// Emits text decoded with `encoding` instead of bytes. Node: `readable.setEncoding(enc)`.
  void set_encoding(Encoding encoding);
  /// Sends all data to `dest`, pausing when `dest.write()` returns false until 'drain'.
  /// Returns `dest`. Node: `readable.pipe(dest[, options])`.
  std::shared_ptr<Writable> pipe(std::shared_ptr<Writable> dest, PipeOptions options = {});
  /// Stops piping into `dest` (or into every destination when null). Node: `readable.unpipe()`.
  void unpipe(const std::shared_ptr<Writable>& dest = nullptr);

  /// Starts the flow for the observer, as a 'data' listener would.
  void set_observer(std::shared_ptr<detail::StreamObserver> observer) override;

  /// Node: `readable.readable` — true until 'end', an error or destroy.
  bool readable() const noexcept;
  /// Node: `readable.readableEnded` — 'end' was emitted.
  bool readable_ended() const noexcept { return end_emitted_; }
  /// Node: `readable.readableFlowing` — nullopt before anything chose a mode.
  std::optional<bool> readable_flowing() const noexcept;
  /// Node: `readable.readableLength` — bytes buffered.
  std::size_t readable_length() const noexcept { return length_; }
  /// Node: `readable.readableHighWaterMark`.
  std::size_t readable_high_water_mark() const noexcept { return high_water_mark_; }
  /// Forgets the flowing/paused choice, so that the next 'data' listener starts the flow again.
  /// Node: `readable.readableFlowing = null` (what an HTTP server does before handing an upgraded
  /// socket over).
  void reset_flowing() noexcept { flowing_ = Flow::unset; }

  /// For implementations: hands `chunk` to the consumer; false when the buffer reached the
  /// high-water mark and production should stop until `do_read()` is called again.
  /// Node: `readable.push(chunk)`.
  bool push(std::string_view chunk);
  /// For implementations: no more data. Node: `readable.push(null)`.
  void push_end();

 protected:
  explicit Readable(ReadableOptions options = {});

  /// True for an implementation that keeps producing by itself after a push() that returned true
  /// (a socket reading its descriptor) and only needs do_read() to start again once it stopped.
  /// push() then does not schedule a do_read() call per chunk, which would cost every read one
  /// more loop turn; the flow still calls do_read() when a full buffer has drained.
  virtual bool reads_on_its_own() const noexcept { return false; }

  /// A resume() is scheduled and has not run yet. Node: `readableState.resumeScheduled`.
  bool resume_scheduled() const noexcept { return resume_scheduled_; }

  /// Node's `read(0)` after the end of input: with nothing buffered, 'end' follows even when
  /// nobody consumes the stream (net.Socket does this, so an unread connection still closes).
  void end_if_drained();

  /// The implementation produces data now (Node: `_read(size)`): call `push()` now or later.
  /// Called again only after a `push()`.
  virtual void do_read(std::size_t size) = 0;
  /// Called right after 'end' was emitted; destroys the stream (Node's autoDestroy). Duplex
  /// streams wait for their writable side too.
  virtual void on_readable_ended();

 private:
  enum class Flow { unset, flowing, paused };
  struct PipeTarget {
    std::shared_ptr<Writable> dest;
    ListenerId drain_id = 0;
    ListenerId error_id = 0;
    ListenerId close_id = 0;
    ListenerId finish_id = 0;
    ListenerId end_id = 0;  // on this stream's 'end'
    bool end = true;
    bool awaiting_drain = false;
  };

  void schedule_flow();
  void flow();
  void schedule_read_more();
  void read_more();
  void read_now();
  void maybe_end();
  void emit_data(std::string_view chunk);
  bool observe_data(std::string_view chunk);
  void on_pipe_data(std::string_view chunk);
  void remove_pipe(std::size_t index);
  void remove_pipe_to(const Writable* dest);

  std::size_t high_water_mark_;
  detail::Fifo<std::string> buffer_;
  std::size_t length_ = 0;
  Flow flowing_ = Flow::unset;
  bool ended_ = false;          // push_end() was called
  bool end_emitted_ = false;
  bool end_scheduled_ = false;
  bool reading_ = false;        // do_read() was called and no push() answered it yet
  // do_read() has not returned yet (Node's state.sync). True until the first do_read() returned,
  // as in Node, so data pushed before the stream ever read is emitted on a later tick, after
  // 'resume', and never inside the push() that a listener attachment just preceded.
  bool in_read_call_ = true;
  bool flow_scheduled_ = false;
  bool resume_scheduled_ = false;
  bool read_more_scheduled_ = false;
  std::optional<StringDecoder> decoder_;
  std::vector<PipeTarget> pipes_;
  ListenerId pipe_data_id_ = 0;
};

/// A sink of bytes. Node: `stream.Writable`: `write()` buffers beyond what the implementation is
/// writing and returns false once the buffer reaches the high-water mark; 'drain' says when to
/// continue. `end()` flushes, runs the final step, then emits 'prefinish' and 'finish'.
/// An implementation overrides `do_write()` (and optionally `do_writev()` and `do_final()`).
class Writable : public virtual Stream {
 public:
  /// Queues bytes; false when the caller should wait for 'drain'. `cb` runs when the chunk was
  /// handed on, or with the error. After end(): ERR_STREAM_WRITE_AFTER_END on 'error' and `cb`;
  /// after destroy: ERR_STREAM_DESTROYED. Node: `writable.write(chunk[, cb])`.
  bool write(std::string_view chunk, Callback cb = {});
  /// `write(chunk, cb)` taking the bytes over instead of copying them.
  bool write_string(std::string chunk, Callback cb = {});
  /// Queues text converted with `encoding`. Node: `writable.write(string, encoding[, cb])`.
  bool write(std::string_view text, Encoding encoding, Callback cb = {});
  /// Ends the stream; `cb` runs on 'finish' or with the error. Node: `writable.end([cb])`.
  void end(Callback cb = {});
  /// Writes `chunk`, then ends. Node: `writable.end(chunk[, cb])`.
  void end(std::string_view chunk, Callback cb = {});
  /// Writes `text` converted with `encoding`, then ends. Node: `writable.end(string, encoding[, cb])`.
  void end(std::string_view text, Encoding encoding, Callback cb = {});
  /// Buffers writes until `uncork()`, to hand them on together. Node: `writable.cork()`.
  void cork();
  /// Undoes one `cork()`; the last one flushes. Node: `writable.uncork()`.
  void uncork();

  /// Node: `writable.writable` — write() may be called.
  bool writable() const noexcept;
  /// Node: `writable.writableEnded` — end() was called.
  bool writable_ended() const noexcept { return ending_; }
  /// Node: `writable.writableFinished` — 'finish' is about to be or was emitted.
  bool writable_finished() const noexcept { return finished_; }
  /// Node: `writable.writableCorked` — how many uncork() calls would flush.
  std::size_t writable_corked() const noexcept { return corked_; }
  /// Node: `writable.writableLength` — bytes queued and not yet handed on.
  std::size_t writable_length() const noexcept { return length_; }
  /// Node: `writable.writableHighWaterMark`.
  std::size_t writable_high_water_mark() const noexcept { return high_water_mark_; }
  /// Node: `writable.writableNeedDrain` — write() returned false and 'drain' is still to come.
  bool writable_need_drain() const noexcept { return need_drain_; }

 protected:
  explicit Writable(WritableOptions options = {});

  /// Hands one chunk on; call `done` once (maybe later), with an error to fail the stream.
  /// Node: `_write(chunk, encoding, callback)`.
  virtual void do_write(std::string chunk, Callback done) = 0;
  /// Hands several queued chunks on at once (after cork/uncork or while a write was pending);
  /// used only when has_writev() says so. Node: `_writev(chunks, callback)`. The default writes
  /// the chunks one after another through do_write() and calls `done` once.
  virtual void do_writev(std::vector<std::string> chunks, Callback done);
  /// True for an implementation with a gather write (it overrides do_writev() too). Without one,
  /// as for a Node stream without `_writev`, queued chunks go through do_write() one at a time,
  /// each callback running when its own chunk was handed on.
  virtual bool has_writev() const noexcept { return false; }
  /// Runs after the last write and before 'finish'. Node: `_final(callback)`.
  virtual void do_final(Callback done) { done({}); }
  /// Called right after 'finish'; destroys the stream (Node's autoDestroy). Duplex streams wait for
  /// their readable side too.
  virtual void on_writable_finished();
  /// True when a write could be handed on right now (not writing, not corked, not destroyed).
  bool writable_idle() const noexcept { return !writing_ && corked_ == 0; }

 private:
  struct Pending {
    std::string chunk;
    Callback cb;
  };

  std::error_code write_chunk(std::string chunk, Callback cb, bool& ret);
  bool write_or_buffer(std::string chunk, Callback cb);
  void end_impl(std::error_code err, Callback cb);
  void start_write(std::string chunk, Callback cb);
  void start_writev(std::vector<Pending> batch);
  Callback write_done_callback();
  void on_write_done(std::uint64_t write, std::error_code ec);
  void after_write_tick();
  void on_write_error(const std::vector<Callback>& callbacks, std::error_code ec);
  void after_write(Callback first, std::vector<Callback> more);
  void error_buffer();
  void before_destroy() override;
  void clear_buffer();
  void finish_maybe();
  void prefinish();
  void finish();

  std::size_t high_water_mark_;
  detail::Fifo<Pending> buffered_;
  std::size_t length_ = 0;
  std::size_t corked_ = 0;
  bool writing_ = false;
  bool in_write_call_ = false;  // do_write() has not returned yet (Node's state.sync)
  bool need_drain_ = false;
  bool ending_ = false;
  bool final_called_ = false;
  bool prefinished_ = false;
  bool finished_ = false;
  bool finish_scheduled_ = false;
  bool clearing_ = false;        // clear_buffer() is looping
  std::vector<Callback> end_callbacks_;
  // What the uncommon cases need, allocated when first needed so an idle stream does not carry it.
  struct WriteExtras {
    std::vector<Callback> inflight_more;   // a gather write's callbacks
    std::vector<Callback> tick_callbacks;  // completed writes' callbacks behind tick_cb_ (see on_write_done)
    std::size_t tick_head = 0;
  };
  WriteExtras& write_extras();

  // The write in progress: its size, its callback and its number, which tells a second call of
  // its completion from the first.
  std::size_t inflight_bytes_ = 0;
  Callback inflight_cb_;
  std::uint64_t write_number_ = 0;
  // The callback of a write that completed inside do_write(), waiting for its tick.
  Callback tick_cb_;
  bool tick_cb_waiting_ = false;
  std::unique_ptr<WriteExtras> extras_;
};

/// Options of a duplex stream. Node: `new stream.Duplex(options)`.
struct DuplexOptions {
  ReadableOptions readable{};    ///< the reading side.
  WritableOptions writable{};    ///< the writing side.
  bool allow_half_open = true;  ///< false: end the writable side when the readable side ends.
};

/// Both a Readable and a Writable (Node: `stream.Duplex`); sockets are duplex streams. It is
/// destroyed (and emits 'close') once 'end' and 'finish' were both emitted. Without half-open,
/// the tick after 'end' ends the writable side.
class Duplex : public Readable, public Writable {
 public:
  /// Node: `duplex.allowHalfOpen`.
  bool allow_half_open() const noexcept { return allow_half_open_; }

 protected:
  explicit Duplex(DuplexOptions options = {});
  void on_readable_ended() override;
  void on_writable_finished() override;

  bool allow_half_open_;
};

}  // namespace httpx::core
