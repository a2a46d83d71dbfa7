// The asio side of core::Loop, shared by the sources that do I/O (sockets, listeners, timers).
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "httpx/core/loop.hpp"

namespace httpx::core {

/// The IdleTimeouts of one duration, in deadline order, and the one timer for the first.
struct IdleTimeoutList {
  Loop* loop = nullptr;
  std::chrono::milliseconds duration{0};
  IdleTimeout* head = nullptr;
  IdleTimeout* tail = nullptr;
  std::shared_ptr<Timer> timer;                         // armed for `armed_for`, or null
  std::chrono::steady_clock::time_point armed_for{};
  void arm();
  void expire();
};

struct Loop::Impl {
  // One thread per loop: nothing reaches a socket from another thread, so asio may drop its
  // per-descriptor locks (a hint of 1 would still take them on every operation). The scheduler
  // keeps its lock: asio's resolver completes host lookups from a thread of its own.
  asio::io_context context{ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  // Held while referenced handles exist, so a paused socket keeps run() going as in Node.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  // A maybe_stop() check is queued (at most one at a time).
  bool check_queued = false;
  // Shared by every socket of the loop: readiness-based reads land here first, so an idle
  // connection holds no read buffer of its own (libuv's slab allocation does the same).
  std::vector<char> read_buffer = std::vector<char>(64 * 1024);
  // Loop::post's callbacks wait here, and one asio handler runs all that were queued before it
  // started (Node's nextTick queue). Both vectors keep their capacity, so a steady stream of
  // deferred steps allocates nothing, where one asio handler per callback would.
  struct Tick {
    std::shared_ptr<void> keep;
    std::function<void()> fn;
  };
  std::vector<Tick> ticks;
  std::vector<Tick> running_ticks;
  bool ticks_scheduled = false;
  // stop() was called since run() began: io_context::stopped() would take the scheduler's lock
  // for every callback that asks.
  bool stop_requested = false;
  // Loop::local's slots.
  std::map<const void*, std::shared_ptr<void>> locals;
  // Node's timer lists: one per idle-timeout duration in use.
  std::map<std::chrono::milliseconds, std::unique_ptr<IdleTimeoutList>> idle_lists;
};

namespace detail {
inline asio::io_context& io_context(Loop& loop) { return loop.impl().context; }
}  // namespace detail

}  // namespace httpx::core
