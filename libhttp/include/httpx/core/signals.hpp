/// Process signals delivered on a loop. Node: `process.on('SIGINT', listener)`.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "httpx/core/loop.hpp"

namespace httpx::core {

/// Runs a callback on its loop, between other callbacks, each time the process receives one of
/// the watched signals (so a handler may close servers and sockets like any other code).
/// Like an unref'd Node handle it does not keep the loop running by itself.
/// While a watch exists the signals' default action (termination for SIGINT/SIGTERM) is replaced.
class SignalWatch : public std::enable_shared_from_this<SignalWatch> {
 public:
  /// Starts watching `signals` (e.g. SIGINT, SIGTERM). Throws std::system_error when the
  /// operating system refuses one. Node: `process.on(signal, listener)`.
  static std::shared_ptr<SignalWatch> create(Loop& loop, const std::vector<int>& signals,
                                             std::function<void(int)> on_signal);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  /// Stops watching; the signals' default actions return. Node: `process.off(signal, listener)`.
  void close();

 private:
  struct Impl;
  SignalWatch(Loop& loop, std::function<void(int)> on_signal);
  void wait();

  std::function<void(int)> on_signal_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace httpx::core
