// A progress bar on stderr, drawn only when stderr is a terminal: in a log
// file it would be dozens of \r updates, so there only the caller's start
// and end lines appear.
#pragma once

#include <cstddef>
#include <cstdio>
#include <unistd.h>

namespace kvlm::cli {

class ProgressBar {
 public:
  explicit ProgressBar(const char* phase, bool enabled = true)
      : phase_(phase), enabled_(enabled && ::isatty(2) != 0) {}
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::size_t done, std::size_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = int(double(done) * 100.0 / double(total));
    if (percent == last_percent_) return;
    last_percent_ = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\r%-10s [%.*s%*s] %3d%%", phase_, filled, "########################################",
                 kWidth - filled, "", percent);
    std::fflush(stderr);
  }
  // Ends the bar's line (once), so what follows starts on a new line.
  void finish() {
    if (last_percent_ >= 0) std::fputc('\n', stderr);
    last_percent_ = -1;
  }

 private:
  const char* phase_;
  bool enabled_;
  int last_percent_ = -1;
};

}  // namespace kvlm::cli
