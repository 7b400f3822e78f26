// Google Benchmark: ops::attention for one layer of the Llama-3.2-1B shape
// (32 query heads over 8 KV heads, head_dim 64, f16 cache) at 1 and 2
// threads: a decode step (one token) at context 64, 256 and 511, and a
// 128-token prefill from position 0. bytes_per_second counts the KV cache
// rows read once per KV head and token; GFLOP/s counts q.k and p.v.
//
//   build/bench/kvlm_bench_kernels --benchmark_filter='attention'
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench_pool.h"
#include "core/cpu_features.h"
#include "core/half.h"
#include "kernels/kernels.h"
#include "ops/ops.h"

namespace kvlm {
namespace {

constexpr std::size_t kHeads = 32, kKvHeads = 8, kHeadDim = 64, kMaxCtx = 512;

void bench_attention(benchmark::State& state, int threads, std::size_t tokens, std::size_t first_pos) {
  const ops::Context ctx{kernels_for(selected_isa()), bench_pool(threads)};
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<f16_t> keys(kKvHeads * kMaxCtx * kHeadDim), values(keys.size());
  for (auto& k : keys) k = f16_t{f32_to_f16(normal(rng))};
  for (auto& v : values) v = f16_t{f32_to_f16(normal(rng))};
  std::vector<float> q(tokens * kHeads * kHeadDim), out(q.size());
  for (float& e : q) e = normal(rng);
  const ops::AttentionShape shape{tokens, first_pos, kHeads, kKvHeads, kHeadDim, kMaxCtx};
  std::vector<float> scratch(ops::attention_scratch_floats(shape, ctx.pool));
  for (auto _ : state) {
    ops::attention(ctx, shape, q.data(), keys.data(), values.data(), DType::f16, out.data(), scratch.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  double positions = 0;  // visible positions summed over the new tokens
  for (std::size_t t = 0; t < tokens; ++t) positions += double(first_pos + t + 1);
  const double iters = double(state.iterations());
  state.SetBytesProcessed(std::int64_t(iters * positions * double(kKvHeads * kHeadDim * 2 * sizeof(f16_t))));
  state.counters["GFLOP/s"] = benchmark::Counter(iters * positions * double(kHeads * kHeadDim) * 4.0 / 1e9,
                                                 benchmark::Counter::kIsRate);
}

const bool registered = [] {
  struct Case {
    const char* name;
    std::size_t tokens, first_pos;
  };
  for (const Case c : {Case{"decode_ctx64", 1, 63}, Case{"decode_ctx256", 1, 255}, Case{"decode_ctx511", 1, 510},
                       Case{"prefill128", 128, 0}})
    for (const int threads : {1, 2})
      benchmark::RegisterBenchmark(("attention/t" + std::to_string(threads) + "/" + c.name).c_str(), bench_attention,
                                   threads, c.tokens, c.first_pos)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
  return true;
}();

}  // namespace
}  // namespace kvlm
