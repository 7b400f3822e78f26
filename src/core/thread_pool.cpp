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
constexpr std::size_t kSlicesPerThread = 8;
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

void ThreadPool::work(int thread) {
  for (;;) {
    const std::size_t begin = next_slice_.fetch_add(1, std::memory_order_relaxed) * slice_size_;
    if (begin >= n_) return;
    task_(ctx_, thread, begin, std::min(n_, begin + slice_size_));
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
  grain = std::max<std::size_t>(1, grain);
  const std::size_t grains = (n + grain - 1) / grain;
  const std::size_t slices = std::min(grains, std::size_t(size()) * kSlicesPerThread);
  slice_size_ = (grains + slices - 1) / slices * grain;
  next_slice_.store(0, std::memory_order_relaxed);
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
