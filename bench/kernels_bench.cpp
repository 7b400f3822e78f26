// Google Benchmark kernel benches: the matmul kernels of every ISA this CPU
// runs, per weight format, at Llama-3.2-1B decode and prefill shapes, and the
// threaded ops::matmul. Each reports weight GB/s (bytes_per_second) and
// GFLOP/s. Decode shapes are memory bound: compare their GB/s with
// `kvlm bench`'s bandwidth_gbs. Weights rotate over copies totalling
// kColdBytes so each run streams from DRAM, not the last-level cache.
//
// Adding a weight format (q8, q4, ...) is one entry in formats(): a maker
// that packs f32 source rows into an OwnedMatrix and a kernel call.
//
//   build/bench/kvlm_bench_kernels --benchmark_filter='decode'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_pool.h"
#include "core/cpu_features.h"
#include "core/half.h"
#include "core/large_buffer.h"
#include "kernels/kernels.h"
#include "ops/ops.h"
#include "quant/quant_formats.h"

namespace kvlm {
namespace {

constexpr std::size_t kColdBytes = std::size_t(512) << 20;

// A weight matrix and the buffers behind its view (scales included, for
// quantized formats).
struct OwnedMatrix {
  std::vector<LargeBuffer> buffers;
  MatrixView view;
};

struct Format {
  std::string name;
  // Packs `src` ([rows][cols] f32, row-major) into this format.
  OwnedMatrix (*make)(const std::vector<float>& src, std::size_t rows, std::size_t cols);
  // Runs `table`'s single-threaded kernel: y[tokens][w.rows] = x[tokens][w.cols] . w^T.
  void (*kernel)(const KernelTable& table, const float* x, std::size_t tokens, const MatrixView& w, float* y);
};

template <class W>
W from_f32(float v) {
  if constexpr (std::is_same_v<W, f16_t>) return W{f32_to_f16(v)};
  else if constexpr (std::is_same_v<W, bf16_t>) return W{f32_to_bf16(v)};
  else return v;
}

template <class W>
OwnedMatrix make_plain(const std::vector<float>& src, std::size_t rows, std::size_t cols) {
  OwnedMatrix m;
  m.buffers.emplace_back(rows * cols * sizeof(W));
  W* dst = reinterpret_cast<W*>(m.buffers.back().data());
  for (std::size_t i = 0; i < rows * cols; ++i) dst[i] = from_f32<W>(src[i]);
  constexpr DType dtype = std::is_same_v<W, f16_t> ? DType::f16 : std::is_same_v<W, bf16_t> ? DType::bf16 : DType::f32;
  m.view.dtype = dtype;
  m.view.rows = rows;
  m.view.cols = cols;
  m.view.data = dst;
  return m;
}

// bf16 includes rounding the activations to bf16, as ops::matmul does it.
template <class W>
void kernel_plain(const KernelTable& table, const float* x, std::size_t tokens, const MatrixView& w, float* y) {
  const auto fn = table.matmul(static_cast<const W*>(nullptr));
  if constexpr (std::is_same_v<W, bf16_t>) {
    thread_local std::vector<bf16_t> xb;
    xb.resize(tokens * w.cols);
    table.convert[int(DType::f32)][int(DType::bf16)](x, xb.data(), xb.size());
    fn(xb.data(), w.cols, tokens, static_cast<const W*>(w.data), w.cols, 0, w.rows, y, w.rows);
  } else {
    fn(x, w.cols, tokens, static_cast<const W*>(w.data), w.cols, 0, w.rows, y, w.rows);
  }
}

// q8 / q4 in the loader's layout, scales inside the data.
template <DType Q>
OwnedMatrix make_quantized(const std::vector<float>& src, std::size_t rows, std::size_t cols) {
  OwnedMatrix m;
  m.view = MatrixView{Q, rows, cols, nullptr};
  m.buffers.emplace_back(m.view.bytes());
  std::byte* base = m.buffers.back().data();
  m.view.data = base;
  for (std::size_t r = 0; r < rows; ++r) {
    if constexpr (Q == DType::q8)
      quant::quantize_row_q8(src.data() + r * cols, cols, r, reinterpret_cast<std::uint8_t*>(base));
    else
      quant::quantize_row_q4(src.data() + r * cols, rows, cols, r, reinterpret_cast<std::uint8_t*>(base));
  }
  return m;
}

// Includes the per-token activation quantization, as ops::matmul does it.
template <DType Q>
void kernel_quantized(const KernelTable& table, const float* x, std::size_t tokens, const MatrixView& w, float* y) {
  thread_local std::vector<std::int8_t> xq;
  thread_local std::vector<float> scale;
  thread_local std::vector<std::int32_t> corr;
  const std::size_t per_token = quant::activation_groups(w.cols);  // a scale and a correction per group of 32
  xq.resize(tokens * w.cols);
  scale.resize(tokens * per_token);
  corr.resize(tokens * per_token);
  for (std::size_t t = 0; t < tokens; ++t)
    quant::quantize_activations_grouped(x + t * w.cols, w.cols, xq.data() + t * w.cols, &scale[t * per_token],
                                        &corr[t * per_token]);
  const MatmulQuantFn fn = Q == DType::q8 ? table.matmul_q8 : table.matmul_q4;
  fn(xq.data(), w.cols, scale.data(), corr.data(), tokens, w, 0, w.rows, y, w.rows);
}

const std::vector<Format>& formats() {
  static const std::vector<Format> list = {
      {"f32", make_plain<float>, kernel_plain<float>},
      {"f16", make_plain<f16_t>, kernel_plain<f16_t>},
      {"bf16", make_plain<bf16_t>, kernel_plain<bf16_t>},
      {"q8", make_quantized<DType::q8>, kernel_quantized<DType::q8>},
      {"q4", make_quantized<DType::q4>, kernel_quantized<DType::q4>},
  };
  return list;
}

struct Shape {
  std::string name;
  std::size_t tokens, in, rows;
};

// Llama-3.2-1B: hidden 2048, intermediate 8192 (gate/up: 2048 -> 8192; down: 8192 -> 2048).
const std::vector<Shape>& shapes() {
  static const std::vector<Shape> list = {
      {"decode/2048x8192", 1, 2048, 8192},
      {"decode/8192x2048", 1, 8192, 2048},
      {"prefill64/2048x8192", 64, 2048, 8192},
      {"prefill64/8192x2048", 64, 8192, 2048},
  };
  return list;
}

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// The copies of the matrix under test. Benchmarks are registered so that
// consecutive ones share a format and shape; only the latest set is kept.
const std::vector<OwnedMatrix>& weights_for(const Format& f, std::size_t rows, std::size_t cols) {
  static std::string key;
  static std::vector<OwnedMatrix> copies;
  const std::string want = f.name + "/" + std::to_string(rows) + "x" + std::to_string(cols);
  if (key != want) {
    copies.clear();
    const std::vector<float> src = random_floats(rows * cols, 7);
    copies.push_back(f.make(src, rows, cols));
    const std::size_t count = std::max<std::size_t>(2, (kColdBytes + copies[0].view.bytes() - 1) / copies[0].view.bytes());
    while (copies.size() < count) copies.push_back(f.make(src, rows, cols));
    key = want;
  }
  return copies;
}

void report(benchmark::State& state, const Shape& s, const MatrixView& w) {
  const double iters = double(state.iterations());
  state.SetBytesProcessed(std::int64_t(iters * double(w.bytes())));
  state.counters["GFLOP/s"] =
      benchmark::Counter(iters * 2.0 * double(s.tokens) * double(s.in) * double(s.rows) / 1e9,
                         benchmark::Counter::kIsRate);
}

void bench_kernel(benchmark::State& state, Isa isa, const Format* f, const Shape* s) {
  const KernelTable& table = kernels_for(isa);
  const auto& w = weights_for(*f, s->rows, s->in);
  const std::vector<float> x = random_floats(s->tokens * s->in, 11);
  std::vector<float> y(s->tokens * s->rows);
  std::size_t i = 0;
  for (auto _ : state) {
    f->kernel(table, x.data(), s->tokens, w[i++ % w.size()].view, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, *s, w[0].view);
}

void bench_ops(benchmark::State& state, int threads, const Format* f, const Shape* s) {
  const ops::Context ctx{kernels_for(selected_isa()), bench_pool(threads)};
  const auto& w = weights_for(*f, s->rows, s->in);
  const std::vector<float> x = random_floats(s->tokens * s->in, 11);
  std::vector<float> y(s->tokens * s->rows);
  std::size_t i = 0;
  for (auto _ : state) {
    ops::matmul(ctx, x.data(), s->tokens, w[i++ % w.size()].view, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, *s, w[0].view);
}

// Registers matmul/<isa>/<format>/<shape> for every supported ISA, then
// ops_matmul/t<threads>/<format>/<shape> at 1 and 2 threads on the selected ISA.
const bool registered = [] {
  for (const Format& f : formats())
    for (const Shape& s : shapes())
      for (const Isa isa : supported_isas())
        benchmark::RegisterBenchmark(("matmul/" + std::string(isa_name(isa)) + "/" + f.name + "/" + s.name).c_str(),
                                     bench_kernel, isa, &f, &s)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
  for (const Format& f : formats())
    for (const Shape& s : shapes())
      for (const int threads : {1, 2})
        benchmark::RegisterBenchmark(("ops_matmul/t" + std::to_string(threads) + "/" + f.name + "/" + s.name).c_str(),
                                     bench_ops, threads, &f, &s)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
  return true;
}();

}  // namespace
}  // namespace kvlm
