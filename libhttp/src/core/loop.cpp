// Follows libuv's notion of referenced handles, which is what makes Node's process exit.
#include "httpx/core/loop.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "detail/loop_impl.hpp"

namespace httpx::core {

struct Timer::Impl {
  explicit Impl(asio::io_context& ctx) : timer(ctx) {}
  asio::steady_timer timer;
  // Bumped on every (re)arm so a completion of a cancelled wait is recognised as stale.
  std::uint64_t generation = 0;
};

Loop::Loop() : impl_(std::make_unique<Impl>()) {}

// Destroying the io_context destroys pending handlers, which may release the last reference to
// sockets and timers; their release_ref() calls must find the loop quiet, not half gone.
Loop::~Loop() {
  destroying_ = true;
  // IdleTimeouts that outlive the loop must not reach into its lists.
  for (auto& [duration, list] : impl_->idle_lists) {
    for (IdleTimeout* t = list->head; t != nullptr;) {
      IdleTimeout* next = t->next_;
      t->prev_ = t->next_ = nullptr;
      t->list_ = nullptr;
      t = next;
    }
    list->head = list->tail = nullptr;
    if (list->timer) list->timer->close();
  }
  impl_.reset();
}

void Loop::run() {
  if (!alive()) return;
  impl_->context.restart();
  impl_->stop_requested = false;
  impl_->context.run();
}

bool Loop::run_for(std::chrono::milliseconds limit) {
  if (!alive()) return true;
  impl_->context.restart();
  impl_->stop_requested = false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (alive() && !impl_->context.stopped()) {
    if (impl_->context.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  return !alive() || impl_->context.stopped();
}

void Loop::stop() {
  impl_->stop_requested = true;
  impl_->context.stop();
}

void Loop::post(std::function<void()> fn) { post(nullptr, std::move(fn)); }

void Loop::post(std::shared_ptr<void> keep, std::function<void()> fn) {
  if (destroying_) return;
  ++posted_;
  impl_->ticks.push_back({std::move(keep), std::move(fn)});
  if (impl_->ticks_scheduled) return;
  impl_->ticks_scheduled = true;
  asio::post(impl_->context, [this] { run_ticks(); });
}

// Runs the queued callbacks, and those they queue, until none is left: Node drains its nextTick
// queue completely before timers and I/O get their turn (a callback that keeps re-posting itself
// starves the loop there too). After stop() or a throwing callback (which ends run(), as an
// uncaught exception ends Node) the rest waits for the next run.
void Loop::run_ticks() {
  impl_->ticks_scheduled = false;
  auto& running = impl_->running_ticks;
  while (!impl_->ticks.empty() && !impl_->stop_requested) {
    running.swap(impl_->ticks);
    // Whatever the callbacks queue now belongs to this same drain.
    impl_->ticks_scheduled = true;
    std::size_t next = 0;
    try {
      while (next < running.size() && !impl_->stop_requested) {
        auto tick = std::move(running[next++]);
        --posted_;
        tick.fn();
        if (!alive()) maybe_stop();
      }
    } catch (...) {
      impl_->ticks_scheduled = false;
      requeue_ticks(next);
      throw;
    }
    impl_->ticks_scheduled = false;
    if (impl_->stop_requested) {
      requeue_ticks(next);
    } else {
      running.clear();
    }
  }
}

// Puts the callbacks of running_ticks from `first` on back in front of the queue, for a later run.
void Loop::requeue_ticks(std::size_t first) {
  auto& running = impl_->running_ticks;
  auto& ticks = impl_->ticks;
  if (first < running.size()) {
    ticks.insert(ticks.begin(), std::make_move_iterator(running.begin() + static_cast<std::ptrdiff_t>(first)),
                 std::make_move_iterator(running.end()));
  }
  running.clear();
  if (!ticks.empty() && !impl_->ticks_scheduled) {
    impl_->ticks_scheduled = true;
    asio::post(impl_->context, [this] { run_ticks(); });
  }
}

std::shared_ptr<void>& Loop::local(const void* key) { return impl_->locals[key]; }

void Loop::add_ref() {
  if (destroying_) return;
  if (refs_++ == 0) impl_->work.emplace(impl_->context.get_executor());
}

void Loop::release_ref() {
  if (destroying_ || refs_ == 0) return;
  if (--refs_ == 0) {
    impl_->work.reset();
    maybe_stop();
  }
}

// Unreferenced handles still have asio operations pending (an idle socket's read), which would
// keep io_context::run() going. Once the callback that dropped the last reference has returned,
// and nothing new was referenced meanwhile, stop the context: that is Node's "nothing left to do".
void Loop::maybe_stop() {
  if (impl_->check_queued) return;
  impl_->check_queued = true;
  asio::post(impl_->context, [this] {
    impl_->check_queued = false;
    if (!alive()) impl_->context.stop();
  });
}

std::shared_ptr<Timer> Loop::set_timeout(std::function<void()> fn, std::chrono::milliseconds delay) {
  std::shared_ptr<Timer> t(new Timer(*this, std::move(fn), delay, false));
  t->arm();
  return t;
}

std::shared_ptr<Timer> Loop::set_interval(std::function<void()> fn, std::chrono::milliseconds interval) {
  std::shared_ptr<Timer> t(new Timer(*this, std::move(fn), interval, true));
  t->arm();
  return t;
}

void Loop::clear_timeout(const std::shared_ptr<Timer>& timer) {
  if (timer) timer->close();
}

// Node clamps delays below 1 ms to 1 ms; so do we, which also keeps intervals from spinning.
Timer::Timer(Loop& loop, std::function<void()> fn, std::chrono::milliseconds delay, bool repeat)
    : loop_(loop),
      fn_(std::move(fn)),
      delay_(delay < std::chrono::milliseconds(1) ? std::chrono::milliseconds(1) : delay),
      repeat_(repeat),
      ref_(loop),
      impl_(std::make_unique<Impl>(loop.impl().context)) {}

Timer::~Timer() = default;

void LoopRef::hold(bool held) {
  if (held == held_) return;
  held_ = held;
  if (held) {
    loop_->add_ref();
  } else {
    loop_->release_ref();
  }
}

void Timer::arm() {
  set_active(true);
  const auto generation = ++impl_->generation;
  impl_->timer.expires_after(delay_);
  // The wait holds the timer alive; a close() makes the completion stale via the generation.
  impl_->timer.async_wait([self = shared_from_this(), generation](const std::error_code& ec) {
    if (ec == asio::error::operation_aborted || generation != self->impl_->generation) return;
    self->fire();
  });
}

void Timer::fire() {
  if (repeat_) {
    arm();
  } else {
    set_active(false);
  }
  // Called in place, not on a copy: like a JS closure, the callback's state lives as long as the
  // timer, so a mutable counter in an interval keeps counting. Closing or refreshing the timer
  // inside the callback never touches fn_, and the completion handler holds `self`.
  if (fn_) fn_();
}

void Timer::close() {
  closed_ = true;
  if (!active_) return;
  ++impl_->generation;
  impl_->timer.cancel();
  set_active(false);
}

void Timer::refresh() {
  if (closed_) return;
  arm();
}

void Timer::unref() {
  refed_ = false;
  set_active(active_);
}

void Timer::ref() {
  refed_ = true;
  set_active(active_);
}

void Timer::set_active(bool active) {
  active_ = active;
  ref_.hold(active_ && refed_);
}

// ---- IdleTimeout: Node's timer lists (lib/internal/timers.js) --------------------------------

void IdleTimeout::start(Loop& loop, std::chrono::milliseconds timeout, Callback fn, void* context) {
  stop();
  if (timeout < std::chrono::milliseconds(1)) timeout = std::chrono::milliseconds(1);
  fn_ = fn;
  context_ = context;
  auto& slot = loop.impl().idle_lists[timeout];
  if (!slot) {
    slot = std::make_unique<IdleTimeoutList>();
    slot->loop = &loop;
    slot->duration = timeout;
  }
  list_ = slot.get();
  link_at_tail();
}

void IdleTimeout::link_at_tail() {
  deadline_ = std::chrono::steady_clock::now() + list_->duration;
  prev_ = list_->tail;
  next_ = nullptr;
  if (list_->tail) {
    list_->tail->next_ = this;
  } else {
    list_->head = this;
  }
  list_->tail = this;
  if (!list_->timer) list_->arm();
}

void IdleTimeout::touch() {
  if (!list_) return;
  if (list_->tail == this) {
    deadline_ = std::chrono::steady_clock::now() + list_->duration;
    return;
  }
  // Unlink and append: the list stays in deadline order because every entry has the same duration.
  IdleTimeoutList* list = list_;
  if (prev_) {
    prev_->next_ = next_;
  } else {
    list->head = next_;
  }
  next_->prev_ = prev_;
  link_at_tail();
}

void IdleTimeout::stop() noexcept {
  if (!list_) return;
  if (prev_) {
    prev_->next_ = next_;
  } else {
    list_->head = next_;
  }
  if (next_) {
    next_->prev_ = prev_;
  } else {
    list_->tail = prev_;
  }
  prev_ = next_ = nullptr;
  list_ = nullptr;
  // An empty list keeps its timer until it fires and finds nothing: stopping and starting
  // connections must not cost a timer each.
}

void IdleTimeoutList::arm() {
  if (!head) return;
  armed_for = head->deadline_;
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(armed_for - std::chrono::steady_clock::now());
  if (delay < std::chrono::milliseconds(1)) delay = std::chrono::milliseconds(1);
  timer = loop->set_timeout([this] { expire(); }, delay);
  timer->unref();
}

// The head's deadline came: fire every entry whose deadline passed, then sleep until the next.
// An entry touched meanwhile was moved to the end, so the head is always the earliest.
void IdleTimeoutList::expire() {
  timer.reset();
  const auto now = std::chrono::steady_clock::now();
  while (head && head->deadline_ <= now) {
    IdleTimeout* t = head;
    t->stop();
    t->fn_(t->context_);  // may start it (or others) again
  }
  if (head && !timer) arm();
}

}  // namespace httpx::core
