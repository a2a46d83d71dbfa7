// Helpers shared by the tests: Node as an oracle, MustCall, running the built binary.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

namespace httpx::test {

/// The repository root (for tests/oracle scripts, completions/, man/).
std::string source_dir();
/// The built httpx binary.
std::string httpx_binary();

/// What a child process did.
struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `argv` with `input` on its stdin, waits at most `timeout_ms`, and returns its exit code and
/// output. A child still running at the deadline is killed (by its PID) and reported as exit 124.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {},
                          int timeout_ms = 30000);

/// A private temporary directory (for Unix socket paths and files), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The path of `name` inside the directory.
  std::string file(const std::string& name) const;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// Runs `node tests/oracle/<script>` with `input` on stdin and returns its stdout; fails the
/// current test (and returns "") when node exits non-zero.
std::string run_node_oracle(const std::string& script, const std::string& input = {});

/// Node's `common.mustCall`: wraps `fn`; on destruction of the last copy, fails the test unless the
/// wrapper ran exactly `expected` times.
template <class... Args>
std::function<void(Args...)> must_call(std::type_identity_t<std::function<void(Args...)>> fn, int expected = 1,
                                       const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  struct Counter {
    int calls = 0;
    int expected = 0;
    const char* file = "";
    int line = 0;
    ~Counter() {
      if (calls != expected) {
        ADD_FAILURE_AT(file, line) << "callback ran " << calls << " times, expected " << expected;
      }
    }
  };
  // Built in place: a temporary Counter would run its check when destroyed.
  auto counter = std::make_shared<Counter>();
  counter->expected = expected;
  counter->file = file;
  counter->line = line;
  return [counter, fn = std::move(fn)](Args... args) {
    ++counter->calls;
    if (fn) fn(std::forward<Args>(args)...);
  };
}

/// `must_call` for a callback taking no arguments.
inline std::function<void()> must_call(std::function<void()> fn = {}, int expected = 1,
                                       const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return must_call<>(std::move(fn), expected, file, line);
}

/// Fails the test if the wrapper is ever called. Node: `common.mustNotCall`.
template <class... Args>
std::function<void(Args...)> must_not_call(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return [file, line](Args...) { ADD_FAILURE_AT(file, line) << "callback must not be called"; };
}

}  // namespace httpx::test
