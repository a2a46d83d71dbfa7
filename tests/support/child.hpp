// A background child process for tests: start it, wait for a line it prints, signal it, reap it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace httpx::test {

/// A process running beside the test (a server under test, a Node oracle), with its stdout and
/// stderr captured through pipes and its stdin at /dev/null. The child is addressed only by its
/// PID. Every wait takes a deadline. The destructor kills (SIGKILL, by PID) and reaps a child that
/// is still running, so a failing test never leaves a process behind.
///
/// Not thread-safe: use one ChildProcess from one thread.
class ChildProcess {
 public:
  /// Starts `argv` (argv[0] is looked up in PATH). A child that cannot be executed exits 127 and
  /// says why on its stderr, so start failures show up through `wait_for_stderr_line` and
  /// `wait_for_exit` like any other early exit; only a failing fork() or pipe() throws
  /// (std::system_error).
  explicit ChildProcess(const std::vector<std::string>& argv);
  /// Kills (SIGKILL) and reaps the child if it has not been reaped yet.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The child's PID.
  pid_t pid() const noexcept { return pid_; }

  /// The command line, joined with spaces (for messages).
  const std::string& command() const noexcept { return command_; }

  /// Reads stderr until a complete line containing `needle` arrives and returns that line (without
  /// its newline). Returns nullopt when `timeout` passes or stderr reaches end-of-file (the child
  /// exited) first. Lines read on the way stay in `err()`; stdout is drained meanwhile.
  std::optional<std::string> wait_for_stderr_line(std::string_view needle, std::chrono::milliseconds timeout);

  /// Sends `sig` to the child by PID. Returns false once the child has been reaped (nothing is
  /// sent then) or when kill() fails.
  bool send_signal(int sig);

  /// Waits for the child to exit, collecting its output; after `timeout` sends SIGKILL by PID and
  /// reaps it. Returns the exit status (0-255), 128 + signal number when a signal ended it, or 124
  /// when the deadline forced the kill (as run_process and timeout(1) do). Returns the same value
  /// again when called after the child was reaped.
  int wait_for_exit(std::chrono::milliseconds timeout);

  /// Reads whatever output is available now without blocking, so a chatty child never stalls on a
  /// full pipe between waits.
  void drain();

  /// Everything read from the child's stdout so far.
  const std::string& out() const noexcept { return out_; }
  /// Everything read from the child's stderr so far.
  const std::string& err() const noexcept { return err_; }

  /// True once the child has been reaped.
  bool exited() const noexcept { return exit_code_.has_value(); }

 private:
  /// Polls the open pipes for at most `timeout_ms` and appends what arrives; returns after the
  /// first batch of input or the timeout. Closes a pipe at end-of-file.
  void pump(int timeout_ms);
  /// Reaps the child if it has exited (never blocks); returns true once reaped.
  bool try_reap();
  /// Records a wait status as an exit code.
  void record_status(int status);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string command_;
  std::string out_;
  std::string err_;
  /// How much of `err_` wait_for_stderr_line has already searched, line by line.
  std::size_t err_scanned_ = 0;
  std::optional<int> exit_code_;
};

}  // namespace httpx::test
