// "loading MODEL..." on stderr when a model takes more than half a second to
// load, so a multi-second start does not look like a hang to a person at a
// terminal. A fast load, --json output or a stderr that is not a terminal
// gets nothing: a log's lines must not depend on how busy the machine was.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include <unistd.h>

namespace kvlm::cli {

class LoadingNotice {
 public:
  // Prints "loading `what`..." unless done within `delay`; `enabled` false: never.
  explicit LoadingNotice(std::string what, bool enabled = true,
                         std::chrono::milliseconds delay = std::chrono::milliseconds(500)) {
    if (!enabled || ::isatty(2) == 0) return;
    thread_ = std::thread([this, what = std::move(what), delay] {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_for(lock, delay, [this] { return done_; })) {
        std::fprintf(stderr, "loading %s...\n", what.c_str());
        std::fflush(stderr);
      }
    });
  }
  ~LoadingNotice() { finish(); }
  LoadingNotice(const LoadingNotice&) = delete;
  LoadingNotice& operator=(const LoadingNotice&) = delete;

  // The load is over (or failed): no notice from now on.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace kvlm::cli
