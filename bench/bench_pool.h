// The thread pools the Google Benchmark benches share: one of 1 and one of 2
// threads, made once (a pool's workers spin between regions, so benches must
// not leave extra pools behind).
#pragma once

#include "core/thread_pool.h"

namespace kvlm {

inline ThreadPool& bench_pool(int threads) {
  static ThreadPool one(1), two(2);
  return threads == 1 ? one : two;
}

}  // namespace kvlm
