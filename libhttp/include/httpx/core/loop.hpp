/// The event loop (Node's libuv loop): runs callbacks, timers and I/O on one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace httpx::core {

class Loop;

/// One reference on a loop, taken and dropped as a handle's state changes: what makes an active,
/// referenced timer, socket or listener keep `Loop::run()` going (libuv's handle ref). Dropped on
/// destruction.
class LoopRef {
 public:
  explicit LoopRef(Loop& loop) noexcept : loop_(&loop) {}
  ~LoopRef() { hold(false); }
  LoopRef(const LoopRef&) = delete;
  LoopRef& operator=(const LoopRef&) = delete;

  /// Takes (true) or drops (false) the reference; repeated calls with the same value do nothing.
  void hold(bool held);
  /// True while the reference is taken.
  bool held() const noexcept { return held_; }

 private:
  Loop* loop_;
  bool held_ = false;
};

/// A pending `set_timeout` / `set_interval` callback. Node: the `Timeout` object.
/// Made by `Loop::set_timeout`; the loop keeps it alive while it is armed.
class Timer : public std::enable_shared_from_this<Timer> {
 public:
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  /// Disarms the timer; its callback will not run. Node: `clearTimeout(t)` / `t.close()`.
  void close();
  /// Re-arms with the original delay, counted from now, also after a timeout fired; a closed timer
  /// stays closed. Node: `timeout.refresh()`.
  void refresh();
  /// Lets the loop's `run()` return while this timer is armed. Node: `timeout.unref()`.
  void unref();
  /// Undoes `unref()`. Node: `timeout.ref()`.
  void ref();
  /// Node: `timeout.hasRef()`.
  bool has_ref() const noexcept { return refed_; }
  /// True while armed (before firing for a timeout, until closed for an interval).
  bool active() const noexcept { return active_; }

 private:
  friend class Loop;
  struct Impl;
  Timer(Loop& loop, std::function<void()> fn, std::chrono::milliseconds delay, bool repeat);
  void arm();
  void fire();
  void set_active(bool active);

  Loop& loop_;
  std::function<void()> fn_;
  std::chrono::milliseconds delay_;
  bool repeat_;
  bool refed_ = true;
  bool active_ = false;
  bool closed_ = false;
  LoopRef ref_;
  std::unique_ptr<Impl> impl_;
};

/// An idle timeout for objects that have many and touch them often (sockets): Node's timer lists.
/// Every IdleTimeout of a loop with the same duration sits in one list, ordered by deadline, with
/// a single loop timer for the list's head, so a connection's timeout costs a few pointers and
/// activity moves it to the list's end (no system call, no allocation). Unreferenced: it never
/// keeps the loop running. Internal to libhttp's own classes (net::Socket).
class IdleTimeout {
 public:
  /// What runs when the timeout expires: a plain function and its argument (no allocation).
  using Callback = void (*)(void* context);

  IdleTimeout() = default;
  ~IdleTimeout() { stop(); }
  IdleTimeout(const IdleTimeout&) = delete;
  IdleTimeout& operator=(const IdleTimeout&) = delete;

  /// (Re)starts: `fn(context)` runs once, on `loop`, after `timeout` (> 0) without touch().
  void start(Loop& loop, std::chrono::milliseconds timeout, Callback fn, void* context);
  /// Activity: the deadline moves to now + timeout. Does nothing when not started.
  void touch();
  /// Cancels; fn will not run. Node: clearTimeout on an unrefed timer.
  void stop() noexcept;
  /// Whether it is waiting to expire.
  bool active() const noexcept { return list_ != nullptr; }

 private:
  friend class Loop;
  friend struct IdleTimeoutList;
  void link_at_tail();
  IdleTimeout* prev_ = nullptr;
  IdleTimeout* next_ = nullptr;
  struct IdleTimeoutList* list_ = nullptr;
  std::chrono::steady_clock::time_point deadline_{};
  Callback fn_ = nullptr;
  void* context_ = nullptr;
};

/// One event loop over an `asio::io_context`. Every libhttp object belongs to one loop and is used
/// from the thread that runs it; scale across cores with one loop per thread.
///
/// Like Node's process, `run()` returns when nothing *referenced* is left: no posted callback, no
/// armed referenced timer, no referenced socket or listener. Handles that are `unref()`ed (an idle
/// pooled socket, a housekeeping timer) do not keep it running.
class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// Runs until nothing referenced is left or `stop()` is called.
  void run();
  /// Like `run()`, but returns after `limit` at the latest; true when it ended because nothing was
  /// left (or `stop()`), false on the time limit. For tests and bounded waits.
  bool run_for(std::chrono::milliseconds limit);
  /// Makes `run()` return as soon as the running callback returns. Pending work stays queued.
  void stop();
  /// True when a referenced handle or a posted callback is pending.
  bool alive() const noexcept { return refs_ > 0 || posted_ > 0; }

  /// Runs `fn` on the loop thread after the current callback (Node: `process.nextTick`).
  /// Never runs `fn` inside this call. May be called from the loop thread only.
  void post(std::function<void()> fn);
  /// Like `post(fn)`, holding `keep` until `fn` has run: how an object keeps itself alive for a
  /// deferred step without a capture that would make `fn` allocate.
  void post(std::shared_ptr<void> keep, std::function<void()> fn);

  /// Node: `setTimeout(fn, delay)`. The returned timer may be ignored: the loop keeps it alive.
  std::shared_ptr<Timer> set_timeout(std::function<void()> fn, std::chrono::milliseconds delay);
  /// Node: `setInterval(fn, interval)`.
  std::shared_ptr<Timer> set_interval(std::function<void()> fn, std::chrono::milliseconds interval);
  /// Node: `clearTimeout(timer)`; a null or fired timer is ignored.
  static void clear_timeout(const std::shared_ptr<Timer>& timer);
  /// Node: `clearInterval(timer)`.
  static void clear_interval(const std::shared_ptr<Timer>& timer) { clear_timeout(timer); }

  /// The number of referenced handles keeping `run()` alive.
  std::size_t ref_count() const noexcept { return refs_; }

  /// For handles: one active referenced handle more / less (timers, sockets, listeners).
  void add_ref();
  void release_ref();

  /// A slot for per-loop state of a library layer, owned by the loop and destroyed with it
  /// (http::global_agent keeps the loop's global agent here); `key` is any address unique to the
  /// user of the slot.
  std::shared_ptr<void>& local(const void* key);

  struct Impl;
  /// The asio machinery, for libhttp's own sources (see src/detail/loop_impl.hpp).
  Impl& impl() noexcept { return *impl_; }

 private:
  void maybe_stop();
  void run_ticks();
  void requeue_ticks(std::size_t first);

  std::size_t refs_ = 0;
  std::size_t posted_ = 0;
  // Set while the destructor tears asio down: handles released then must not post or stop.
  bool destroying_ = false;
  std::unique_ptr<Impl> impl_;
};

}  // namespace httpx::core
