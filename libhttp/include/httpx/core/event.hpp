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
/// Storage: one pointer while nobody listens and one allocation per listener, because an emitter
/// has many events and most are never listened to (an idle connection's memory is mostly this).
// GCC 12 cannot tell the hook slot (checked by its flag) from a listener slot allocated in the same
// function and warns that the downcast may read past it: a false positive, silenced for this class.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
template <class... Args>
class Signal {
 public:
  using Listener = std::function<void(Args...)>;

  Signal() = default;
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;
  ~Signal() {
    for (Slot* s = head_; s != nullptr;) {
      Slot* next = s->next;
      s->next = nullptr;
      release(s);
      s = next;
    }
  }

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
    for (Slot** link = &head_; *link != nullptr; link = &(*link)->next) {
      Slot* s = *link;
      if (s->id == id && !s->hook) {
        *link = s->next;
        s->next = nullptr;
        release(s);
        return true;
      }
    }
    return false;
  }

  /// Node: `emitter.removeAllListeners(name)`.
  void remove_all_listeners() {
    for (Slot** link = &head_; *link != nullptr;) {
      Slot* s = *link;
      if (s->hook) {
        link = &s->next;
        continue;
      }
      *link = s->next;
      s->next = nullptr;
      release(s);
    }
  }

  /// Node: `emitter.listenerCount(name)`.
  std::size_t listener_count() const noexcept {
    std::size_t n = 0;
    for (const Slot* s = head_; s != nullptr; s = s->next) n += s->hook ? 0 : 1;
    return n;
  }

  /// Calls the listeners with `args`; true when there was at least one. Node: `emitter.emit(...)`.
  bool emit(Args... args) {
    // The snapshot holds a reference to each slot, so a listener removed (even destroyed by its
    // owner) meanwhile stays callable until this emit is done.
    Slot* inline_snapshot[4];
    std::vector<Slot*> heap_snapshot;
    Slot** snapshot = inline_snapshot;
    std::size_t n = 0;
    for (Slot* s = head_; s != nullptr; s = s->next) n += s->hook ? 0 : 1;
    if (n == 0) return false;
    if (n > 4) {
      heap_snapshot.resize(n);
      snapshot = heap_snapshot.data();
    }
    std::size_t i = 0;
    for (Slot* s = head_; s != nullptr; s = s->next) {
      if (s->hook) continue;
      ++s->refs;
      snapshot[i++] = s;
    }
    struct Release {
      Slot** slots;
      std::size_t count;
      ~Release() {
        for (std::size_t k = 0; k < count; ++k) Signal::release(slots[k]);
      }
    } guard{snapshot, n};
    for (std::size_t k = 0; k < n; ++k) call(snapshot[k], args...);
    return true;
  }

  /// Called after each registration, with the signal already holding the new listener.
  /// Used by emitters whose behaviour depends on who listens (a 'data' listener starts a stream
  /// flowing), as Node's 'newListener' event is. Replaces an earlier hook.
  void set_listener_added_hook(std::function<void()> hook) {
    for (Slot* s = head_; s != nullptr; s = s->next) {
      if (s->hook) {
        static_cast<HookSlot*>(s)->hook_fn = std::move(hook);
        return;
      }
    }
    auto* s = new HookSlot{};
    s->hook = true;
    s->hook_fn = std::move(hook);
    s->next = head_;
    head_ = s;
  }

 private:
  // A listener, or the hook (kept in the same list so a signal without one costs nothing).
  struct Slot {
    Slot* next = nullptr;
    std::uint32_t refs = 1;  // the list's reference plus one per running emit
    bool once = false;
    bool fired = false;
    bool hook = false;
    ListenerId id = 0;
    Listener fn{};
  };
  struct HookSlot : Slot {
    std::function<void()> hook_fn{};
  };

  static ListenerId next_id() noexcept {
    // Ids only need to be unique per signal; one counter per thread serves every signal.
    static thread_local ListenerId counter = 0;
    return ++counter;
  }

  static void release(Slot* s) noexcept {
    if (--s->refs != 0) return;
    if (s->hook) {
      delete static_cast<HookSlot*>(s);
    } else {
      delete s;
    }
  }

  ListenerId add(Listener fn, bool once, bool front) {
    Slot* slot = new Slot{};
    slot->once = once;
    slot->id = next_id();
    slot->fn = std::move(fn);
    const ListenerId id = slot->id;
    Slot* hook = nullptr;
    Slot** link = &head_;
    if (head_ != nullptr && head_->hook) {
      hook = head_;
      link = &head_->next;  // the hook stays first; listeners follow it
    }
    if (!front) {
      while (*link != nullptr) link = &(*link)->next;
    }
    slot->next = *link;
    *link = slot;
    if (hook && static_cast<HookSlot*>(hook)->hook_fn) {
      ++hook->refs;
      struct Release {
        Slot* s;
        ~Release() { Signal::release(s); }
      } guard{hook};
      // A copy: the hook may replace itself.
      auto fn_copy = static_cast<HookSlot*>(hook)->hook_fn;
      fn_copy();
    }
    return id;
  }

  void call(Slot* slot, Args&... args) {
    if (slot->once) {
      if (slot->fired) return;
      slot->fired = true;
      off(slot->id);
    }
    slot->fn(args...);
  }

  Slot* head_ = nullptr;
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

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
