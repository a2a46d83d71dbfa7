/// Cancelling an operation from outside it. Node: `AbortController` / `AbortSignal`.
#pragma once

#include <memory>
#include <system_error>

#include "httpx/core/error.hpp"
#include "httpx/core/event.hpp"

namespace httpx::core {

/// Tells an operation to stop. Operations that take one (an HTTP request's `signal` option) listen
/// on 'abort'; one signal may serve several operations. Node: `AbortSignal`.
class AbortSignal {
 public:
  /// Node: `signal.aborted`.
  bool aborted() const noexcept { return aborted_; }
  /// Why: ABORT_ERR unless abort() was given a reason. Node: `signal.reason`.
  std::error_code reason() const noexcept { return reason_; }
  /// Node: 'abort' — emitted once, by AbortController::abort().
  Signal<> abort;

 private:
  friend class AbortController;
  bool aborted_ = false;
  std::error_code reason_;
};

/// Owns a signal and fires it. Node: `new AbortController()`.
class AbortController {
 public:
  /// Node: `controller.signal`.
  const std::shared_ptr<AbortSignal>& signal() const noexcept { return signal_; }
  /// Marks the signal aborted and emits 'abort' (only the first time). Node: `controller.abort([reason])`.
  void abort(std::error_code reason = make_error_code(errc::abort_err)) {
    if (signal_->aborted_) return;
    signal_->aborted_ = true;
    signal_->reason_ = reason;
    signal_->abort.emit();
  }

 private:
  std::shared_ptr<AbortSignal> signal_ = std::make_shared<AbortSignal>();
};

}  // namespace httpx::core
