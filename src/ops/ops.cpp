#include "ops/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "quant/quant_formats.h"

namespace kvlm::ops {

namespace {

// Token chunk for prefill matmuls: keeps the activations being multiplied
// (chunk x cols f32) in L2 while the weight rows stream past.
constexpr std::size_t kTokenChunk = 64;
// Rows per thread slice granule: a multiple of every kernel tile height.
constexpr std::size_t kRowGrain = 16;

// Calls slice(t0, n, r0, r1) for tokens [t0, t0 + n) in chunks of
// kTokenChunk, each chunk split across threads by weight rows [r0, r1).
template <class Slice>
void for_each_chunk_and_row_slice(const Context& ctx, std::size_t tokens, const MatrixView& w, Slice&& slice) {
  for (std::size_t t0 = 0; t0 < tokens; t0 += kTokenChunk) {
    const std::size_t n = std::min(kTokenChunk, tokens - t0);
    ctx.pool.parallel_for(
        w.rows, kRowGrain, [&](int, std::size_t r0, std::size_t r1) { slice(t0, n, r0, r1); },
        n * w.rows * w.cols);
  }
}

template <class W, class X>
void matmul_typed(const Context& ctx, const X* x, std::size_t tokens, const MatrixView& w, float* y) {
  const auto fn = ctx.kernels.matmul(static_cast<const W*>(nullptr));
  const W* data = static_cast<const W*>(w.data);
  for_each_chunk_and_row_slice(ctx, tokens, w, [&](std::size_t t0, std::size_t n, std::size_t r0, std::size_t r1) {
    fn(x + t0 * w.cols, w.cols, n, data, w.cols, r0, r1, y + t0 * w.rows, w.rows);
  });
}

// bf16 weights multiply bf16 activations (kernels/kernels.h): each token is
// rounded once here rather than in every tile.
void matmul_bf16(const Context& ctx, const float* x, std::size_t tokens, const MatrixView& w, float* y) {
  thread_local std::vector<bf16_t> xb;  // per thread, as in matmul_quantized
  if (xb.size() < tokens * w.cols) xb.resize(tokens * w.cols);
  ctx.kernels.convert[int(DType::f32)][int(DType::bf16)](x, xb.data(), tokens * w.cols);
  matmul_typed<bf16_t>(ctx, static_cast<const bf16_t*>(xb.data()), tokens, w, y);
}

// Quantizes each token's activations to int8 (one scale per token), then
// runs the q8 / q4 kernel over row slices.
void matmul_quantized(const Context& ctx, const float* x, std::size_t tokens, const MatrixView& w, float* y) {
  // Per thread: the ops are called from one thread at a time per model, but
  // several models may run on different threads.
  thread_local std::vector<std::int8_t> xq;
  thread_local std::vector<float> x_scale;
  thread_local std::vector<std::int32_t> x_corr;
  const std::size_t in = w.cols, groups = in / quant::kQ4Group;
  const bool q4 = w.dtype == DType::q4;
  if (xq.size() < tokens * in) xq.resize(tokens * in);
  if (x_scale.size() < tokens) x_scale.resize(tokens);
  if (q4 && x_corr.size() < tokens * groups) x_corr.resize(tokens * groups);
  for (std::size_t t = 0; t < tokens; ++t)
    quant::quantize_activations(x + t * in, in, xq.data() + t * in, &x_scale[t], q4 ? x_corr.data() + t * groups : nullptr);
  const MatmulQuantFn fn = q4 ? ctx.kernels.matmul_q4 : ctx.kernels.matmul_q8;
  // Plain pointers: a lambda running on a worker would see that worker's own thread_locals.
  const std::int8_t* q = xq.data();
  const float* scale = x_scale.data();
  const std::int32_t* corr = q4 ? x_corr.data() : nullptr;
  for_each_chunk_and_row_slice(ctx, tokens, w, [&](std::size_t t0, std::size_t n, std::size_t r0, std::size_t r1) {
    fn(q + t0 * in, in, scale + t0, corr ? corr + t0 * groups : nullptr, n, w, r0, r1, y + t0 * w.rows, w.rows);
  });
}

}  // namespace

void matmul(const Context& ctx, const float* x, std::size_t tokens, const MatrixView& w, float* y,
            const float* bias) {
  switch (w.dtype) {
    case DType::f32: matmul_typed<float>(ctx, x, tokens, w, y); break;
    case DType::f16: matmul_typed<f16_t>(ctx, x, tokens, w, y); break;
    case DType::bf16: matmul_bf16(ctx, x, tokens, w, y); break;
    case DType::q8:
    case DType::q4: matmul_quantized(ctx, x, tokens, w, y); break;
  }
  if (bias)
    for (std::size_t t = 0; t < tokens; ++t) add(y + t * w.rows, bias, w.rows);
}

void rmsnorm(const float* x, const float* weight, float* out, std::size_t tokens, std::size_t n, float eps) {
  for (std::size_t t = 0; t < tokens; ++t) {
    const float* row = x + t * n;
    float ss = 0.0f;
    for (std::size_t i = 0; i < n; ++i) ss += row[i] * row[i];
    const float scale = 1.0f / std::sqrt(ss / float(n) + eps);
    for (std::size_t i = 0; i < n; ++i) out[t * n + i] = weight[i] * (row[i] * scale);
  }
}

void rope(float* x, std::size_t tokens, std::size_t heads, std::size_t head_dim, const float* cos, const float* sin) {
  const std::size_t half = head_dim / 2;
  for (std::size_t t = 0; t < tokens; ++t) {
    const float* c = cos + t * half;
    const float* s = sin + t * half;
    for (std::size_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim;
      for (std::size_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  }
}

void silu_mul(float* gate, const float* up, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add(float* y, const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}

void store_rows(const float* src, void* dst, DType dtype, std::size_t n) {
  if (dtype == DType::f32) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  auto* out = static_cast<f16_t*>(dst);
  for (std::size_t i = 0; i < n; ++i) out[i].bits = f32_to_f16(src[i]);
}

void embed(const MatrixView& table, const int* ids, std::size_t tokens, float* out) {
  for (std::size_t t = 0; t < tokens; ++t) {
    const std::size_t row = std::size_t(ids[t]) * table.cols;
    float* dst = out + t * table.cols;
    switch (table.dtype) {
      case DType::f32: std::memcpy(dst, static_cast<const float*>(table.data) + row, table.cols * 4); break;
      case DType::f16:
        for (std::size_t i = 0; i < table.cols; ++i) dst[i] = to_f32(static_cast<const f16_t*>(table.data)[row + i]);
        break;
      case DType::bf16:
        for (std::size_t i = 0; i < table.cols; ++i) dst[i] = to_f32(static_cast<const bf16_t*>(table.data)[row + i]);
        break;
      case DType::q8: {
        const float scale = table.row_scale[ids[t]];
        for (std::size_t i = 0; i < table.cols; ++i) dst[i] = float(static_cast<const std::int8_t*>(table.data)[row + i]) * scale;
        break;
      }
      case DType::q4:
        for (std::size_t i = 0; i < table.cols; ++i) dst[i] = quant::dequantize_q4(table, std::size_t(ids[t]), i);
        break;
    }
  }
}

namespace {

template <class E>
void attention_typed(const Context& ctx, const AttentionShape& s, const float* q, const E* keys, const E* values,
                     float* out, float* scratch) {
  const auto dot = ctx.kernels.dot(static_cast<const E*>(nullptr));
  const auto axpy = ctx.kernels.axpy(static_cast<const E*>(nullptr));
  const std::size_t group = s.heads / s.kv_heads;
  const float scale = 1.0f / std::sqrt(float(s.head_dim));
  // Work: q.k and p.v over every visible position of every (token, head).
  const std::size_t work = s.tokens * s.heads * (s.first_pos + s.tokens) * s.head_dim * 2;
  ctx.pool.parallel_for(s.tokens * s.heads, 1, [&](int thread, std::size_t begin, std::size_t end) {
    float* scores = scratch + std::size_t(thread) * s.max_ctx;
    for (std::size_t job = begin; job < end; ++job) {
      const std::size_t t = job / s.heads, h = job % s.heads;
      const std::size_t visible = s.first_pos + t + 1;  // causal: positions [0, first_pos + t]
      const float* qv = q + job * s.head_dim;
      const E* k = keys + (h / group) * s.max_ctx * s.head_dim;
      const E* v = values + (h / group) * s.max_ctx * s.head_dim;
      float max_score = -INFINITY;
      for (std::size_t p = 0; p < visible; ++p) {
        scores[p] = dot(qv, k + p * s.head_dim, s.head_dim) * scale;
        max_score = std::max(max_score, scores[p]);
      }
      float total = 0.0f;
      for (std::size_t p = 0; p < visible; ++p) total += (scores[p] = std::exp(scores[p] - max_score));
      const float inv_total = 1.0f / total;
      float* o = out + job * s.head_dim;
      std::fill(o, o + s.head_dim, 0.0f);
      for (std::size_t p = 0; p < visible; ++p) axpy(scores[p] * inv_total, v + p * s.head_dim, o, s.head_dim);
    }
  }, work);
}

}  // namespace

void attention(const Context& ctx, const AttentionShape& s, const float* q, const void* keys, const void* values,
               DType cache_dtype, float* out, float* scratch) {
  if (cache_dtype == DType::f32)
    attention_typed(ctx, s, q, static_cast<const float*>(keys), static_cast<const float*>(values), out, scratch);
  else
    attention_typed(ctx, s, q, static_cast<const f16_t*>(keys), static_cast<const f16_t*>(values), out, scratch);
}

}  // namespace kvlm::ops
