/// Typed events: the one event mechanism every libhttp class uses (Node's EventEmitter, per event).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "httpx/core/error.hpp"

namespace httpx::core {

/// Identifies one registration; `off(id)` removes exactly that one.
using ListenerId = std::uint64_t;

/// One event of one emitter, carrying `Args...`.
/// Node: `emitter.on(name, fn)` / `once` / `off` / `listenerCount(name)` / `emit(name, ...)`.
/// Listeners run in registration order on a snapshot taken when `emit` starts, so adding or removing
/// listeners while an emit runs affects only later emits (Node's rule). A `once` listener is removed
/// before it runs and runs at most once, even when the event is emitted again from inside it.
/// Not thread-safe: like its emitter, a signal belongs to one loop.
template <class... Args>
class Signal {
 public:
  using Listener = std::function<void(Args...)>;

  Signal() = default;
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  /// Appends a listener. Node: `emitter.on(name, fn)`.
  ListenerId on(Listener fn) { return add(std::move(fn), false, false); }
  /// Appends a listener that is removed before its first call. Node: `emitter.once(name, fn)`.
  ListenerId once(Listener fn) { return add(std::move(fn), true, false); }
  /// Puts a listener first. Node: `emitter.prependListener(name, fn)`.
  ListenerId prepend_listener(Listener fn) { return add(std::move(fn), false, true); }
  /// Puts a one-time listener first. Node: `emitter.prependOnceListener(name, fn)`.
  ListenerId prepend_once_listener(Listener fn) { return add(std::move(fn), true, true); }

  /// Removes the listener `id`; false when it was not registered. Node: `emitter.off(name, fn)`.
  bool off(ListenerId id) {
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if ((*it)->id == id) {
        slots_.erase(it);
        return true;
      }
    }
    return false;
  }

  /// Node: `emitter.removeAllListeners(name)`.
  void remove_all_listeners() { slots_.clear(); }

  /// Node: `emitter.listenerCount(name)`.
  std::size_t listener_count() const noexcept { return slots_.size(); }

  /// Calls the listeners with `args`; true when there was at least one. Node: `emitter.emit(...)`.
  bool emit(Args... args) {
    if (slots_.empty()) return false;
    if (slots_.size() == 1) {
      // The common case, without copying the list.
      auto slot = slots_.front();
      call(slot, args...);
      return true;
    }
    auto snapshot = slots_;
    for (auto& slot : snapshot) call(slot, args...);
    return true;
  }

  /// Called after each registration, with the signal already holding the new listener.
  /// Used by emitters whose behaviour depends on who listens (a 'data' listener starts a stream
  /// flowing), as Node's 'newListener' event is.
  void set_listener_added_hook(std::function<void()> hook) { hook_ = std::move(hook); }

 private:
  struct Slot {
    ListenerId id;
    Listener fn;
    bool once;
    bool fired = false;
  };

  ListenerId add(Listener fn, bool once, bool front) {
    auto slot = std::make_shared<Slot>(Slot{next_id_++, std::move(fn), once});
    if (front) {
      slots_.insert(slots_.begin(), std::move(slot));
    } else {
      slots_.push_back(std::move(slot));
    }
    const ListenerId id = slots_[front ? 0 : slots_.size() - 1]->id;
    if (hook_) hook_();
    return id;
  }

  void call(const std::shared_ptr<Slot>& slot, Args&... args) {
    if (slot->once) {
      if (slot->fired) return;
      slot->fired = true;
      off(slot->id);
    }
    slot->fn(args...);
  }

  std::vector<std::shared_ptr<Slot>> slots_;
  ListenerId next_id_ = 1;
  std::function<void()> hook_;
};

/// The 'error' event: like `Signal<std::error_code>`, but an error nobody listens for is thrown as
/// `Error`, as Node throws an unhandled 'error'.
class ErrorSignal : public Signal<std::error_code> {
 public:
  /// Emits `ec`; throws `Error(ec)` when there is no listener.
  bool emit(std::error_code ec) {
    if (!Signal::emit(ec)) throw Error(ec);
    return true;
  }
};

}  // namespace httpx::core
