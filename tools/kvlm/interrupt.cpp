#include "interrupt.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace kvlm::cli {
namespace {

// A signal handler may only touch lock-free atomics and async-signal-safe calls.
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_wake_fd{-1};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void on_sigint(int) {
  const int saved = errno;
  g_interrupted.store(true);
  const int fd = g_wake_fd.load();
  if (fd >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);  // a full pipe is already awake
  }
  errno = saved;
}

}  // namespace

InterruptFlag::InterruptFlag() {
  if (::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) pipe_[0] = pipe_[1] = -1;  // the flag alone still works
  g_interrupted.store(false);
  g_wake_fd.store(pipe_[1]);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a Ctrl-C must not fail a write to the terminal
  sigaction(SIGINT, &sa, &previous_);
}

InterruptFlag::~InterruptFlag() {
  sigaction(SIGINT, &previous_, nullptr);
  g_wake_fd.store(-1);
  for (const int fd : pipe_)
    if (fd >= 0) ::close(fd);
}

const std::atomic<bool>& InterruptFlag::flag() const { return g_interrupted; }

void InterruptFlag::clear() {
  g_interrupted.store(false);
  char buf[64];
  if (pipe_[0] >= 0)
    while (::read(pipe_[0], buf, sizeof buf) > 0) {
    }
}

}  // namespace kvlm::cli
