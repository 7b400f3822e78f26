// Ctrl-C as a request, not a kill: while an InterruptFlag lives, SIGINT only
// sets a flag that a generation polls (GenerateOptions::cancel) and wakes a
// pipe that a terminal read waits on beside stdin (whichever thread the
// signal lands on).
#pragma once

#include <atomic>
#include <csignal>

namespace kvlm::cli {

class InterruptFlag {
 public:
  InterruptFlag();   // installs the SIGINT handler (one InterruptFlag at a time)
  ~InterruptFlag();  // restores the previous one
  InterruptFlag(const InterruptFlag&) = delete;
  InterruptFlag& operator=(const InterruptFlag&) = delete;

  const std::atomic<bool>& flag() const;
  bool raised() const { return flag().load(); }
  // Readable once a Ctrl-C came (until clear()): poll it beside the input.
  int wake_fd() const { return pipe_[0]; }
  void clear();

 private:
  struct sigaction previous_ {};
  int pipe_[2] = {-1, -1};
};

}  // namespace kvlm::cli
