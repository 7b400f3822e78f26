// The SIMD kernels, one table per ISA (generic, AVX2, AVX-512). Kernels know
// nothing of models: they see flat row-major arrays. Each table is compiled
// in its own translation unit with that ISA's flags.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/matrix_view.h"
#include "kvlm/dtype.h"
#include "quant/quant_formats.h"

namespace kvlm {

// y[t * y_stride + r] = sum_i x[t * x_stride + i] * w[r * in + i]
// for tokens t in [0, tokens) and weight rows r in [row_begin, row_end).
// w is a [rows][in] row-major matrix. Each output is reduced in the same order
// whatever the token count or row range, so results do not depend on batching
// or threading. Activations X are f32, except that bf16 weights multiply bf16
// activations (rounded once by the caller), as transformers' bf16 inference
// does: the AVX-512 kernel feeds both to vdpbf16ps.
template <class W, class X = float>
using MatmulFn = void (*)(const X* x, std::size_t x_stride, std::size_t tokens, const W* w, std::size_t in,
                          std::size_t row_begin, std::size_t row_end, float* y, std::size_t y_stride);

// Attention for the `heads` query heads that share one KV head (a GQA group;
// q: [heads][d]) over that KV head's cache rows (keys / values: [n][d] of E,
// f16 or f32): scores[h * scores_stride + p] = scale * (q[h] . keys[p]) for
// h in [0, heads), p in [0, n).
template <class E>
using AttentionScoresFn = void (*)(const float* q, std::size_t heads, const E* keys, std::size_t d, std::size_t n,
                                   float scale, float* scores, std::size_t scores_stride);

// out[h][i] = sum over p in [0, n), in order, of probs[h * probs_stride + p] *
// values[p][i], for h in [0, heads) (out: [heads][d]).
template <class E>
using AttentionValuesFn = void (*)(const float* probs, std::size_t probs_stride, std::size_t heads, const E* values,
                                   std::size_t d, std::size_t n, float* out);

// dst[i] = src[i] converted between element types (round to nearest even).
using ConvertFn = void (*)(const void* src, void* dst, std::size_t n);

// Quantized weights times int8 activations with one scale per group of 32
// (quant::quantize_activations_grouped):
// y[t * y_stride + r] = sum_g (w_scale[r][g] * x_scale[t * G + g]) * sum_{i in g} xq[t * x_stride + i] * w_q[r][i]
// with G = quant::activation_groups(x_stride) and w_q, w_scale the weights'
// integer values and group scales, for rows r in [row_begin, row_end);
// row_begin is a multiple of 16 (the row block) and row_end too unless it is
// w.rows. Each group's exact integer sum is scaled by that product and added
// in group order (one fma where the ISA has it). The VNNI
// kernels feed the stored unsigned weights to vpdpbusd and start each group
// from the activations' correction x_corr[t * G + g] (-8 x the group's sum;
// q8, whose bias is 128, starts from 16 x it); the AVX2 and generic q8
// kernels multiply signed values and ignore it. Integer sums are exact, so
// results do not depend on batching or threading.
using MatmulQuantFn = void (*)(const std::int8_t* xq, std::size_t x_stride, const float* x_scale,
                               const std::int32_t* x_corr, std::size_t tokens, const MatrixView& w,
                               std::size_t row_begin, std::size_t row_end, float* y, std::size_t y_stride);

// int8 activations with one scale, exactly quant::quantize_activations (its
// specification) but vectorised where the ISA allows; quantized matmuls take
// it per group of 32 (quant::quantize_activations_grouped).
using QuantizeActivationsFn = quant::QuantizeFn;

// gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + e^-gate[i]) * up[i]: the
// SwiGLU MLP's activation. The exp is Cephes' expf polynomial on every ISA
// (silu within 1e-6 relative of double precision, tested), the same for
// every element wherever it falls in the range.
using SiluMulFn = void (*)(float* gate, const float* up, std::size_t n);

// scores[p] = e^(scores[p] - max) / sum over [0, n) of the same, with the
// exp of SiluMulFn; n >= 1.
using SoftmaxFn = void (*)(float* scores, std::size_t n);

struct KernelTable {
  Isa isa;
  MatmulFn<float> matmul_f32;
  MatmulFn<f16_t> matmul_f16;
  MatmulFn<bf16_t, bf16_t> matmul_bf16;
  AttentionScoresFn<float> attention_scores_f32;
  AttentionScoresFn<f16_t> attention_scores_f16;
  AttentionValuesFn<float> attention_values_f32;
  AttentionValuesFn<f16_t> attention_values_f16;
  ConvertFn convert[3][3];  // [int(from DType)][int(to DType)], f32 / f16 / bf16
  MatmulQuantFn matmul_q8;
  MatmulQuantFn matmul_q4;
  QuantizeActivationsFn quantize_activations;
  SiluMulFn silu_mul;
  SoftmaxFn softmax;

  MatmulFn<float> matmul(const float*) const { return matmul_f32; }
  MatmulFn<f16_t> matmul(const f16_t*) const { return matmul_f16; }
  MatmulFn<bf16_t, bf16_t> matmul(const bf16_t*) const { return matmul_bf16; }
  AttentionScoresFn<float> attention_scores(const float*) const { return attention_scores_f32; }
  AttentionScoresFn<f16_t> attention_scores(const f16_t*) const { return attention_scores_f16; }
  AttentionValuesFn<float> attention_values(const float*) const { return attention_values_f32; }
  AttentionValuesFn<f16_t> attention_values(const f16_t*) const { return attention_values_f16; }
};

const KernelTable& kernel_table_generic();
const KernelTable& kernel_table_avx2();
const KernelTable& kernel_table_avx512();

// The table for `isa` (which the CPU must support).
const KernelTable& kernels_for(Isa isa);

}  // namespace kvlm
