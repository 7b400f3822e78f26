#include "core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KVLM_PAUSE() _mm_pause()
#else
#define KVLM_PAUSE() ((void)0)
#endif

namespace kvlm {

namespace {
constexpr int kSpinIterations = 20000;  // ~tens of microseconds before sleeping
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

// Guided self-scheduling: each claim takes 1 / (2 x threads) of what is left
// (rounded up to the grain), so slices start large and shrink to one grain.
// The threads then finish within about one grain of each other; with fixed
// slices (8 per thread) the first to finish waited up to a sixteenth of the
// region at the join, 85 times per decoded token.
void ThreadPool::work(int thread) {
  const std::size_t divisor = 2 * std::size_t(size());
  std::size_t begin = next_.load(std::memory_order_relaxed);
  for (;;) {
    if (begin >= n_) return;
    const std::size_t share = (n_ - begin) / divisor;
    const std::size_t end = std::min(n_, begin + std::max(grain_, (share + grain_ - 1) / grain_ * grain_));
    if (next_.compare_exchange_weak(begin, end, std::memory_order_relaxed)) {
      task_(ctx_, thread, begin, end);
      begin = next_.load(std::memory_order_relaxed);
    }
  }
}

void ThreadPool::run(std::size_t n, std::size_t grain, Task task, void* ctx) {
  if (workers_.empty() || n <= grain) {
    task(ctx, 0, 0, n);
    return;
  }
  task_ = task;
  ctx_ = ctx;
  n_ = n;
  grain_ = std::max<std::size_t>(1, grain);
  next_.store(0, std::memory_order_relaxed);
  pending_.store(int(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);  // publishes the fields above
  generation_.notify_all();
  work(0);
  // Spin, then yield: when the machine is oversubscribed (parallel test
  // runs, other processes) a pure spin would starve the very worker it waits for.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations)
      KVLM_PAUSE();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::worker_loop(int index) {
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
      KVLM_PAUSE();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      continue;
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    work(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace kvlm
