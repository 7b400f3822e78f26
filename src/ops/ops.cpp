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
// (chunk x cols) in L2 while the weight rows stream past.
constexpr std::size_t kTokenChunk = 64;
// Rows per thread slice granule: the q8 / q4 row block (their kernels take
// ranges starting on a block; the float kernels take any range).
constexpr std::size_t kRowGrain = 16;
// Decode's granule: the q8 / q4 decode tiles' 4 blocks, so the pool's last,
// smallest slices do not fall back to slower 1-block tiles (where a fused
// matrix's span, rounded to 16 rows, is a multiple of 64, as in every Llama /
// Qwen shape).
constexpr std::size_t kDecodeRowGrain = 64;

// The activations in the form the weights' kernel multiplies: f32 as given,
// bf16-rounded for bf16 weights, int8 with a scale and a correction per group
// of 32 for quantized weights. Made once per call, shared by every
// fused matrix. Buffers are per thread: ops run on one thread at a time per
// model, but several models may run on different threads.
struct PreparedInput {
  const float* f32 = nullptr;
  const bf16_t* bf16 = nullptr;
  const std::int8_t* q = nullptr;
  const float* q_scale = nullptr;        // [tokens][q_corr_stride]: one per group of 32
  const std::int32_t* q_corr = nullptr;  // [tokens][q_corr_stride] (kernels/kernels.h)
  std::size_t q_corr_stride = 0;         // quant::activation_groups(cols)
};

PreparedInput prepare_input(const Context& ctx, const float* x, std::size_t tokens, std::size_t cols, DType dtype) {
  PreparedInput in;
  if (dtype == DType::f32 || dtype == DType::f16) {
    in.f32 = x;
  } else if (dtype == DType::bf16) {
    thread_local std::vector<bf16_t> xb;
    if (xb.size() < tokens * cols) xb.resize(tokens * cols);
    ctx.kernels.convert[int(DType::f32)][int(DType::bf16)](x, xb.data(), tokens * cols);
    in.bf16 = xb.data();
  } else {
    thread_local std::vector<std::int8_t> xq;
    thread_local std::vector<float> x_scale;
    thread_local std::vector<std::int32_t> x_corr;
    // A scale and a correction per group of 32, each group through the ISA's quantizer.
    const std::size_t groups = quant::activation_groups(cols);
    in.q_corr_stride = groups;
    if (xq.size() < tokens * cols) xq.resize(tokens * cols);
    if (x_scale.size() < tokens * groups) x_scale.resize(tokens * groups);
    if (x_corr.size() < tokens * groups) x_corr.resize(tokens * groups);
    for (std::size_t t = 0; t < tokens; ++t)
      quant::quantize_activations_grouped(x + t * cols, cols, &xq[t * cols], &x_scale[t * groups], &x_corr[t * groups],
                                          ctx.kernels.quantize_activations);
    in.q = xq.data();
    in.q_scale = x_scale.data();
    in.q_corr = x_corr.data();
  }
  return in;
}

// Rows [r0, r1) of o.w times tokens [t0, t0 + n) of the prepared input.
void matmul_rows(const Context& ctx, const PreparedInput& in, const MatmulOut& o, std::size_t t0, std::size_t n,
                 std::size_t r0, std::size_t r1) {
  const MatrixView& w = *o.w;
  const std::size_t cols = w.cols;
  float* y = o.y + t0 * w.rows;
  switch (w.dtype) {
    case DType::f32:
      ctx.kernels.matmul_f32(in.f32 + t0 * cols, cols, n, static_cast<const float*>(w.data), cols, r0, r1, y, w.rows);
      break;
    case DType::f16:
      ctx.kernels.matmul_f16(in.f32 + t0 * cols, cols, n, static_cast<const f16_t*>(w.data), cols, r0, r1, y, w.rows);
      break;
    case DType::bf16:
      ctx.kernels.matmul_bf16(in.bf16 + t0 * cols, cols, n, static_cast<const bf16_t*>(w.data), cols, r0, r1, y,
                              w.rows);
      break;
    case DType::q8:
    case DType::q4: {
      const MatmulQuantFn fn = w.dtype == DType::q4 ? ctx.kernels.matmul_q4 : ctx.kernels.matmul_q8;
      fn(in.q + t0 * cols, cols, in.q_scale + t0 * in.q_corr_stride, in.q_corr + t0 * in.q_corr_stride, n, w, r0, r1, y,
         w.rows);
      break;
    }
  }
}

}  // namespace

void matmul(const Context& ctx, const float* x, std::size_t tokens, const MatrixView& w, float* y,
            const float* bias) {
  const MatmulOut out{&w, y, bias};
  matmul_fused(ctx, x, tokens, {&out, 1});
}

void matmul_fused(const Context& ctx, const float* x, std::size_t tokens, std::span<const MatmulOut> outs) {
  if (outs.empty() || tokens == 0) return;
  const DType dtype = outs[0].w->dtype;
  const std::size_t cols = outs[0].w->cols;
  // Each matrix's rows are laid end to end, each span rounded up to the row
  // grain so every slice starts on a row block inside each matrix (q8 / q4
  // kernels take block-aligned ranges; q8's last block may be partial).
  auto span_of = [](const MatmulOut& o) { return (o.w->rows + kRowGrain - 1) / kRowGrain * kRowGrain; };
  std::size_t total_rows = 0;
  for (const MatmulOut& o : outs) {
    if (o.w->dtype != dtype || o.w->cols != cols) {  // mixed formats (a q4 model's q8 fallbacks): one at a time
      for (const MatmulOut& one : outs) matmul_fused(ctx, x, tokens, {&one, 1});
      return;
    }
    total_rows += span_of(o);
  }
  const PreparedInput in = prepare_input(ctx, x, tokens, cols, dtype);
  // Token chunks, each split across threads over the matrices' row spans.
  for (std::size_t t0 = 0; t0 < tokens; t0 += kTokenChunk) {
    const std::size_t n = std::min(kTokenChunk, tokens - t0);
    ctx.pool.parallel_for(
        total_rows, n == 1 ? kDecodeRowGrain : kRowGrain,
        [&](int, std::size_t r0, std::size_t r1) {
          std::size_t base = 0;
          for (const MatmulOut& o : outs) {
            const std::size_t lo = std::max(r0, base), hi = std::min(r1, base + o.w->rows);
            if (lo < hi) matmul_rows(ctx, in, o, t0, n, lo - base, hi - base);
            base += span_of(o);
          }
        },
        n * total_rows * cols);
  }
  for (const MatmulOut& o : outs)
    if (o.bias)
      for (std::size_t t = 0; t < tokens; ++t) add(o.y + t * o.w->rows, o.bias, o.w->rows);
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

void silu_mul(const Context& ctx, float* gate, const float* up, std::size_t n) {
  // Work: a vector exp costs about ten multiply-adds per element.
  ctx.pool.parallel_for(n, 1024, [&](int, std::size_t begin, std::size_t end) {
    ctx.kernels.silu_mul(gate + begin, up + begin, end - begin);
  }, n * 10);
}

void add(float* y, const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}

void store_rows(const Context& ctx, const float* src, void* dst, DType dtype, std::size_t n) {
  // The ISA's conversion rounds as f32_to_f16 does (kernels_test), in a
  // fraction of the scalar loop's time (0.7% of a q4 decode step).
  ctx.kernels.convert[int(DType::f32)][int(dtype)](src, dst, n);
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
      case DType::q8:
        for (std::size_t i = 0; i < table.cols; ++i) dst[i] = quant::dequantize_q8(table, std::size_t(ids[t]), i);
        break;
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
  const auto scores_fn = ctx.kernels.attention_scores(static_cast<const E*>(nullptr));
  const auto values_fn = ctx.kernels.attention_values(static_cast<const E*>(nullptr));
  const std::size_t group = s.heads / s.kv_heads;
  const float scale = 1.0f / std::sqrt(float(s.head_dim));
  // Work: q.k and p.v over every visible position of every (token, head).
  const std::size_t work = s.tokens * s.heads * (s.first_pos + s.tokens) * s.head_dim * 2;
  // One job per (token, KV head): its group of query heads, adjacent in q
  // and out, reads the KV head's cache rows once. With fewer (token, KV
  // head) pairs than threads (decoding a model with few KV heads on many
  // cores) each group is cut into slices of heads so that every thread has
  // work; a head's result does not depend on its slice.
  const std::size_t pairs = s.tokens * s.kv_heads, threads = std::size_t(ctx.pool.size());
  const std::size_t slice_heads = pairs >= threads ? group : (group + threads / pairs - 1) / (threads / pairs);
  const std::size_t slices = (group + slice_heads - 1) / slice_heads;
  ctx.pool.parallel_for(pairs * slices, 1, [&](int thread, std::size_t begin, std::size_t end) {
    float* scores = scratch + std::size_t(thread) * group * s.max_ctx;  // this thread's [slice_heads][max_ctx]
    for (std::size_t job = begin; job < end; ++job) {
      const std::size_t pair = job / slices, first = job % slices * slice_heads;
      const std::size_t t = pair / s.kv_heads, g = pair % s.kv_heads, heads = std::min(slice_heads, group - first);
      const std::size_t visible = s.first_pos + t + 1;  // causal: positions [0, first_pos + t]
      const std::size_t first_head = (t * s.heads + g * group + first) * s.head_dim;
      const E* k = keys + g * s.max_ctx * s.head_dim;
      const E* v = values + g * s.max_ctx * s.head_dim;
      scores_fn(q + first_head, heads, k, s.head_dim, visible, scale, scores, s.max_ctx);
      for (std::size_t h = 0; h < heads; ++h) ctx.kernels.softmax(scores + h * s.max_ctx, visible);
      values_fn(scores, s.max_ctx, heads, v, s.head_dim, visible, out + first_head);
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
