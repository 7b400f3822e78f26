// A fork-join pool tuned for many short parallel regions (a decode step has
// ~100 of them): workers spin briefly on a generation counter before
// sleeping, so waking them costs well under a microsecond at 2 threads.
// One caller at a time: run() is not reentrant and not thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace kvlm {

class ThreadPool {
 public:
  // threads <= 0 picks std::thread::hardware_concurrency().
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  static constexpr std::size_t kMinParallelWork = std::size_t(1) << 16;

  // Calls fn(thread_index, begin, end) on contiguous slices covering [0, n);
  // slice sizes are multiples of `grain` except the last. Threads claim
  // slices, shrinking from large to one grain, from a shared counter, so a
  // thread slowed by the OS or a noisy neighbour does not hold the others up
  // at the join.
  // `work` estimates the total cost (e.g. multiply-adds): below a few tens of
  // microseconds' worth, waking other threads costs more than it saves, so
  // the caller's thread does it all.
  template <class Fn>
  void parallel_for(std::size_t n, std::size_t grain, Fn&& fn, std::size_t work = SIZE_MAX) {
    if (n == 0) return;
    if (work < kMinParallelWork) {
      fn(0, std::size_t(0), n);
      return;
    }
    auto trampoline = [](void* ctx, int t, std::size_t b, std::size_t e) { (*static_cast<Fn*>(ctx))(t, b, e); };
    run(n, grain, trampoline, &fn);
  }

 private:
  using Task = void (*)(void* ctx, int thread, std::size_t begin, std::size_t end);
  void run(std::size_t n, std::size_t grain, Task task, void* ctx);
  void worker_loop(int index);
  // Runs slices claimed from next_ until none are left.
  void work(int thread);

  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  std::size_t n_ = 0;
  std::size_t grain_ = 1;
  std::atomic<std::size_t> next_{0};  // start of the first unclaimed slice
};

}  // namespace kvlm
