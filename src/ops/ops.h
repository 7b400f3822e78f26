// Multi-threaded building blocks of a transformer forward pass. They know
// nothing of model configs: only flat arrays, shapes and a kernel table.
// Activations are f32, row-major, one row per token.
#pragma once

#include <cstddef>
#include <span>

#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kvlm/dtype.h"
#include "core/matrix_view.h"

namespace kvlm::ops {

struct Context {
  const KernelTable& kernels;
  ThreadPool& pool;
};

// y[tokens][w.rows] = x[tokens][w.cols] . w^T (+ bias[w.rows] when non-null).
void matmul(const Context& ctx, const float* x, std::size_t tokens, const MatrixView& w, float* y,
            const float* bias = nullptr);

// One matrix of a fused matmul: y[tokens][w->rows] = x . w^T (+ bias).
struct MatmulOut {
  const MatrixView* w;
  float* y;
  const float* bias = nullptr;
};

// Several matrices over the same input (q/k/v, gate/up) as one parallel
// region: the activations are prepared (rounded or quantized) once and the
// threads split the matrices' rows laid end to end. Results are exactly
// those of separate matmul calls.
void matmul_fused(const Context& ctx, const float* x, std::size_t tokens, std::span<const MatmulOut> outs);

// out[t] = x[t] / rms(x[t]) * weight, rows of n.
void rmsnorm(const float* x, const float* weight, float* out, std::size_t tokens, std::size_t n, float eps);

// Rotates x [tokens][heads][head_dim] in place (HF rotate_half pairs i, i+head_dim/2)
// with cos/sin [tokens][head_dim/2].
void rope(float* x, std::size_t tokens, std::size_t heads, std::size_t head_dim, const float* cos, const float* sin);

// gate[i] = silu(gate[i]) * up[i], split across the pool's threads (one exp
// per element: the largest element-wise op of a decode step).
void silu_mul(const Context& ctx, float* gate, const float* up, std::size_t n);

// y[i] += x[i]
void add(float* y, const float* x, std::size_t n);

// Copies f32 rows into a cache of `dtype` (f16 or f32), rows of n.
void store_rows(const Context& ctx, const float* src, void* dst, DType dtype, std::size_t n);

// Gathers embedding rows as f32: out[t] = table[ids[t]].
void embed(const MatrixView& table, const int* ids, std::size_t tokens, float* out);

struct AttentionShape {
  std::size_t tokens;        // new tokens in this call
  std::size_t first_pos;     // position of the first new token
  std::size_t heads;         // query heads
  std::size_t kv_heads;      // heads / kv_heads query heads share one KV head
  std::size_t head_dim;
  std::size_t max_ctx;       // cache row stride per KV head
};

// Causal attention over a KV cache: token t (at position first_pos + t) sees
// cache positions [0, first_pos + t]. q and out are [tokens][heads][head_dim];
// keys/values are [kv_heads][max_ctx][head_dim] of cache_dtype. Scores,
// softmax and the weighted sum are f32. scratch holds
// attention_scratch_floats(s, ctx.pool) floats.
void attention(const Context& ctx, const AttentionShape& s, const float* q, const void* keys, const void* values,
               DType cache_dtype, float* out, float* scratch);

// attention's scratch: a score row of max_ctx per query head of a GQA group,
// per pool thread.
inline std::size_t attention_scratch_floats(const AttentionShape& s, const ThreadPool& pool) {
  return std::size_t(pool.size()) * (s.heads / s.kv_heads) * s.max_ctx;
}

}  // namespace kvlm::ops
