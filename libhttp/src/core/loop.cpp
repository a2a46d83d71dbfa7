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
  impl_.reset();
}

void Loop::run() {
  if (!alive()) return;
  impl_->context.restart();
  impl_->context.run();
}

bool Loop::run_for(std::chrono::milliseconds limit) {
  if (!alive()) return true;
  impl_->context.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (alive() && !impl_->context.stopped()) {
    if (impl_->context.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  return !alive() || impl_->context.stopped();
}

void Loop::stop() { impl_->context.stop(); }

void Loop::post(std::function<void()> fn) {
  if (destroying_) return;
  ++posted_;
  asio::post(impl_->context, [this, fn = std::move(fn)] {
    --posted_;
    fn();
    if (!alive()) maybe_stop();
  });
}

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

}  // namespace httpx::core
