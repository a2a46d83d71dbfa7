#include "support/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace httpx::test {
namespace {

using Clock = std::chrono::steady_clock;

/// Milliseconds left until `deadline`, never negative.
int millis_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

/// A pipe whose both ends are close-on-exec, so no other child inherits them; dup2() in the child
/// clears the flag on the copies it installs as stdout/stderr.
void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  for (const auto& a : argv) command_ += (command_.empty() ? "" : " ") + a;
  // Everything the child needs is prepared before fork(): between fork and exec only
  // async-signal-safe calls are allowed (the test process may have other threads).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string exec_failed = "cannot execute " + (argv.empty() ? std::string("(empty argv)") : argv[0]) + "\n";

  int out[2], err[2];
  make_pipe(out);
  try {
    make_pipe(err);
  } catch (...) {
    ::close(out[0]);
    ::close(out[1]);
    throw;
  }
  pid_ = ::fork();
  if (pid_ < 0) {
    const int e = errno;
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    throw std::system_error(e, std::generic_category(), "fork");
  }
  if (pid_ == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    // The test ignores SIGPIPE (run_process does); an ignored disposition survives exec.
    ::signal(SIGPIPE, SIG_DFL);
    if (args.size() > 1) ::execvp(args[0], args.data());
    const ssize_t ignored = ::write(2, exec_failed.data(), exec_failed.size());
    (void)ignored;
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  // Non-blocking reads let drain() take what is there without waiting.
  ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void ChildProcess::pump(int timeout_ms) {
  pollfd fds[2];
  nfds_t n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  // With no pipe left open this is a plain bounded wait, which the reaping loop relies on.
  if (::poll(n > 0 ? fds : nullptr, n, timeout_ms) <= 0) return;
  drain();
}

void ChildProcess::drain() {
  char buf[65536];
  for (int* fd : {&out_fd_, &err_fd_}) {
    std::string& sink = fd == &out_fd_ ? out_ : err_;
    while (*fd >= 0) {
      const ssize_t r = ::read(*fd, buf, sizeof buf);
      if (r > 0) {
        sink.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // End-of-file (or a read error, which means the same here: nothing more will come).
      ::close(*fd);
      *fd = -1;
    }
  }
}

std::optional<std::string> ChildProcess::wait_for_stderr_line(std::string_view needle,
                                                              std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // Search the complete lines not searched yet; a partial last line waits for its newline.
    for (std::size_t nl; (nl = err_.find('\n', err_scanned_)) != std::string::npos;) {
      std::string line = err_.substr(err_scanned_, nl - err_scanned_);
      err_scanned_ = nl + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    if (err_fd_ < 0) return std::nullopt;
    const int left = millis_left(deadline);
    if (left == 0) return std::nullopt;
    pump(left);
  }
}

bool ChildProcess::send_signal(int sig) {
  if (exit_code_) return false;
  return ::kill(pid_, sig) == 0;
}

bool ChildProcess::try_reap() {
  if (exit_code_) return true;
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r == pid_) {
    record_status(status);
    return true;
  }
  if (r < 0) {
    // Not our child any more (reaped elsewhere): nothing left to wait for.
    exit_code_ = -1;
    return true;
  }
  return false;
}

void ChildProcess::record_status(int status) {
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  } else {
    exit_code_ = -1;
  }
}

int ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!try_reap()) {
    const int left = millis_left(deadline);
    if (left == 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      exit_code_ = 124;
      break;
    }
    // Short slices: a child may close its pipes long before it exits, and there is no portable
    // descriptor to poll for "child exited" besides a pidfd.
    pump(std::min(left, 10));
  }
  // Whatever the child wrote before exiting is still in the pipes; a grandchild holding them
  // open must not block us, so take only what is there.
  drain();
  return *exit_code_;
}

}  // namespace httpx::test
