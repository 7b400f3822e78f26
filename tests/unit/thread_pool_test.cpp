#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

namespace kvlm {
namespace {

struct Slice {
  int thread;
  std::size_t begin, end;
};

std::vector<Slice> record_slices(ThreadPool& pool, std::size_t n, std::size_t grain) {
  std::mutex mutex;
  std::vector<Slice> slices;
  pool.parallel_for(n, grain, [&](int t, std::size_t b, std::size_t e) {
    const std::lock_guard lock(mutex);
    slices.push_back({t, b, e});
  });
  return slices;
}

// Every index is covered exactly once, by slices that start on a grain and
// are whole grains long except the one that ends at n.
TEST(ThreadPoolTest, SlicesCoverTheRangeOnceOnGrainBoundaries) {
  for (const int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const std::size_t grain : {1u, 16u, 7u}) {
      for (const std::size_t n : {1u, 5u, 16u, 17u, 100u, 1000u, 128256u}) {
        const auto slices = record_slices(pool, n, grain);
        std::vector<int> hits(n, 0);
        for (const Slice& s : slices) {
          ASSERT_LT(s.begin, s.end);
          ASSERT_LE(s.end, n);
          ASSERT_GE(s.thread, 0);
          ASSERT_LT(s.thread, threads);
          EXPECT_EQ(s.begin % grain, 0u) << "n=" << n << " grain=" << grain;
          if (s.end != n) {
            EXPECT_EQ((s.end - s.begin) % grain, 0u) << "n=" << n << " grain=" << grain;
          }
          for (std::size_t i = s.begin; i < s.end; ++i) ++hits[i];
        }
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << "n=" << n << " grain=" << grain << " i=" << i;
      }
    }
  }
}

// The last slices shrink to one grain, so threads finish close together.
TEST(ThreadPoolTest, SlicesShrinkToOneGrainAtTheEnd) {
  ThreadPool pool(2);
  const std::size_t n = 16 * 1024, grain = 16;
  auto slices = record_slices(pool, n, grain);
  std::size_t last_size = 0;
  for (const Slice& s : slices)
    if (s.end == n) last_size = s.end - s.begin;
  EXPECT_EQ(last_size, grain);
  std::size_t largest = 0;
  for (const Slice& s : slices) largest = std::max(largest, s.end - s.begin);
  EXPECT_LE(largest, n / 4);  // no thread claims more than a quarter up front
  EXPECT_GT(slices.size(), 8u);
}

TEST(ThreadPoolTest, RunsManyRegionsBackToBack) {
  ThreadPool pool(2);
  std::atomic<std::size_t> total{0};
  for (int region = 0; region < 2000; ++region)
    pool.parallel_for(64, 1, [&](int, std::size_t b, std::size_t e) { total.fetch_add(e - b); });
  EXPECT_EQ(total.load(), 2000u * 64u);
}

}  // namespace
}  // namespace kvlm
