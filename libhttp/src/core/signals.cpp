#include "httpx/core/signals.hpp"

#include <asio/signal_set.hpp>

#include "detail/loop_impl.hpp"

namespace httpx::core {

struct SignalWatch::Impl {
  explicit Impl(asio::io_context& ctx) : set(ctx) {}
  asio::signal_set set;
  bool closed = false;
};

SignalWatch::SignalWatch(Loop& loop, std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)), impl_(std::make_unique<Impl>(detail::io_context(loop))) {}

std::shared_ptr<SignalWatch> SignalWatch::create(Loop& loop, const std::vector<int>& signals,
                                                 std::function<void(int)> on_signal) {
  auto watch = std::shared_ptr<SignalWatch>(new SignalWatch(loop, std::move(on_signal)));
  for (int sig : signals) {
    std::error_code ec;
    watch->impl_->set.add(sig, ec);
    if (ec) throw std::system_error(ec, "cannot watch signal " + std::to_string(sig));
  }
  watch->wait();
  return watch;
}

SignalWatch::~SignalWatch() { close(); }

void SignalWatch::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  std::error_code ec;
  impl_->set.cancel(ec);
  impl_->set.clear(ec);
}

void SignalWatch::wait() {
  // A weak reference: a pending wait must not keep the watch (and the signals taken) alive.
  std::weak_ptr<SignalWatch> weak = shared_from_this();
  impl_->set.async_wait([weak](std::error_code ec, int sig) {
    auto self = weak.lock();
    if (!self || ec || self->impl_->closed) return;
    self->wait();
    if (self->on_signal_) self->on_signal_(sig);
  });
}

}  // namespace httpx::core
