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

void ThreadPool::slice(int thread, std::size_t& begin, std::size_t& end) const {
  const std::size_t chunks = (n_ + grain_ - 1) / grain_;
  const std::size_t threads = std::size_t(size());
  const std::size_t per = chunks / threads, extra = chunks % threads;
  const std::size_t t = std::size_t(thread);
  const std::size_t first = t * per + std::min(t, extra);
  const std::size_t count = per + (t < extra ? 1 : 0);
  begin = std::min(n_, first * grain_);
  end = std::min(n_, (first + count) * grain_);
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
  pending_.store(int(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  std::size_t b, e;
  slice(0, b, e);
  if (b < e) task(ctx, 0, b, e);
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
    std::size_t b, e;
    slice(index, b, e);
    if (b < e) task_(ctx_, index, b, e);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace kvlm
