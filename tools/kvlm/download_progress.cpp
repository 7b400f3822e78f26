// DownloadProgress: one line per file, redrawn with "\r" on a terminal.
#include "download_progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace kvlm::cli {

namespace {
// Files under this size finish without a line when stderr is not a terminal.
constexpr std::uint64_t kQuietBelow = std::uint64_t{1} << 20;
}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double v = double(bytes) / 1000;
  int u = 0;
  while (v >= 1000 && u < 3) {
    v /= 1000;
    ++u;
  }
  const int decimals = v < 10 ? 2 : v < 100 ? 1 : 0;
  return fmt::format("{:.{}f} {}", v, decimals, units[u]);
}

DownloadProgress::DownloadProgress() : tty_(isatty(STDERR_FILENO) == 1) {}

void DownloadProgress::begin(const std::string& name, std::uint64_t total, std::uint64_t done) {
  name_ = name;
  total_ = total;
  done_ = start_done_ = done;
  start_ = Clock::now();
  last_draw_ = {};
  if (tty_) draw(true);
}

void DownloadProgress::advance(std::uint64_t done) {
  done_ = done;
  if (tty_) draw(false);
}

void DownloadProgress::draw(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0.2 ? double(done_ - start_done_) / seconds : 0.0;
  std::string name = name_.size() > 28 ? name_.substr(0, 25) + "..." : name_;
  std::string line;
  if (total_ > 0) {
    const double share = std::min(1.0, double(done_) / double(total_));
    constexpr int kWidth = 20;
    const int filled = int(share * kWidth);
    std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
    line = fmt::format("{:<28} [{}] {:3.0f}% {} / {}", name, bar, share * 100, human_bytes(done_), human_bytes(total_));
    if (rate > 0 && done_ < total_) {
      const auto eta = std::uint64_t(double(total_ - done_) / rate);
      line += fmt::format("  {}/s  {}:{:02}", human_bytes(std::uint64_t(rate)), eta / 60, eta % 60);
    }
  } else {
    line = fmt::format("{:<28} {}", name, human_bytes(done_));
  }
  std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void DownloadProgress::finish(const std::string& what) {
  if (tty_) {
    std::fprintf(stderr, "\r\x1b[K%-28s %s\n", name_.c_str(), what.c_str());
    drawn_ = false;
  } else if (total_ >= kQuietBelow || done_ >= kQuietBelow) {
    std::fprintf(stderr, "%s: %s\n", name_.c_str(), what.c_str());
  }
}

void DownloadProgress::note(const std::string& line) {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace kvlm::cli
