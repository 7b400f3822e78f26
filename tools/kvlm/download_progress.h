// Download progress on stderr: a bar redrawn in place when stderr is a
// terminal, else only a line per finished large file (logs stay short).
// Unlike progress_bar.h's percent-only ProgressBar (one phase of known
// length), a download shows bytes, rate and time left, resumes part-way,
// and interleaves retry notices, so it has its own line drawing.
#pragma once

#include <cstdint>
#include <string>

#include "timing.h"

namespace kvlm::cli {

// "512 B", "1.5 kB", "45.6 MB", "2.47 GB" (decimal units, as the hub shows sizes).
std::string human_bytes(std::uint64_t bytes);

class DownloadProgress {
 public:
  DownloadProgress();  // a bar when stderr is a terminal

  // A file starts (or resumes at `done`); `total` 0 when unknown.
  void begin(const std::string& name, std::uint64_t total, std::uint64_t done);
  // `done` bytes of the file are on disk; redraws at most ten times a second.
  void advance(std::uint64_t done);
  // The file is complete and verified.
  void finish(const std::string& what);
  // A plain line (a retry notice); the bar, if any, is ended first.
  void note(const std::string& line);

 private:
  void draw(bool force);
  bool tty_;
  bool drawn_ = false;
  std::string name_;
  std::uint64_t total_ = 0, done_ = 0, start_done_ = 0;
  Clock::time_point start_{}, last_draw_{};
};

}  // namespace kvlm::cli
