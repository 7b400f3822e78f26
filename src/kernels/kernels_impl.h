// Kernel bodies shared by every ISA, written once over a vector-traits type V:
//   V::reg, V::width, V::tile_rows, V::decode_rows, V::tile_tokens,
//   V::zero(), V::broadcast(float), V::load(const float* / const f16_t* /
//   const bf16_t*), V::store(float* / f16_t* / bf16_t*, reg),
//   V::fmadd(a, b, acc), V::add, V::mul, V::div, V::min, V::max (NaN in the
//   second operand is returned, as MAXPS does), V::round (to nearest even),
//   V::pow2n(p, n) = p x 2^n for integral n in [-150, 128],
//   V::sum(reg), V::reduce_max(reg).
// Include only from a kernels_<isa>.cpp compiled with that ISA's flags.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels/kernels.h"

namespace kvlm::KVLM_ISA_NAMESPACE {

// Quantized matmuls (MatmulQuantFn), defined per ISA in quant_kernels_<isa>.cpp.
void matmul_q8(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride);
void matmul_q4(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride);
void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr);

// Calls tile.operator()<RR, CC>(row, token) over [row_begin, row_end) x
// [0, tokens) in R x C tiles, then 1-row and 1-token remainders.
template <int R, int C, class Tile>
void for_each_tile(std::size_t tokens, std::size_t row_begin, std::size_t row_end, Tile&& tile) {
  std::size_t r = row_begin;
  auto rows = [&](auto rows_tag) {
    constexpr int RR = decltype(rows_tag)::value;
    std::size_t t = 0;
    for (; t + C <= tokens; t += C) tile.template operator()<RR, C>(r, t);
    for (; t < tokens; ++t) tile.template operator()<RR, 1>(r, t);
  };
  for (; r + R <= row_end; r += R) rows(std::integral_constant<int, R>{});
  for (; r < row_end; ++r) rows(std::integral_constant<int, 1>{});
}

// Calls tile.operator()<B, C>(block, token) over q8 / q4 row blocks (16
// rows) [block_begin, block_end) x tokens [0, tokens). Decode takes D blocks
// at a time (independent weight streams sharing one set of activation
// broadcasts), then 2, then 1; prefill P blocks by C tokens, then the
// remainders in smaller tiles. A tile of B > 1 blocks starts at a multiple of
// B, so it never straddles the 4-block tiles q4 is stored in.
template <int P, int C, int D = 2, class Tile>
void for_each_block_tile(std::size_t tokens, std::size_t block_begin, std::size_t block_end, Tile&& tile) {
  static_assert((D == 2 || D == 4) && (P == 1 || P == 2));
  auto fits = [&](std::size_t b, std::size_t blocks) { return b % blocks == 0 && b + blocks <= block_end; };
  if (tokens == 1) {
    for (std::size_t b = block_begin; b < block_end;) {
      if (D == 4 && fits(b, 4)) {
        tile.template operator()<D, 1>(b, 0);
        b += D;
      } else if (fits(b, 2)) {
        tile.template operator()<2, 1>(b, 0);
        b += 2;
      } else {
        tile.template operator()<1, 1>(b, 0);
        ++b;
      }
    }
    return;
  }
  auto token_tiles = [&]<int B>(std::size_t b, std::integral_constant<int, B>) {
    std::size_t t = 0;
    for (; t + C <= tokens; t += C) tile.template operator()<B, C>(b, t);
    if constexpr (C > 4)
      for (; t + 4 <= tokens; t += 4) tile.template operator()<B, 4>(b, t);
    for (; t + 2 <= tokens; t += 2) tile.template operator()<B, 2>(b, t);
    for (; t < tokens; ++t) tile.template operator()<B, 1>(b, t);
  };
  for (std::size_t b = block_begin; b < block_end;) {
    if (P == 2 && fits(b, 2)) {
      token_tiles(b, std::integral_constant<int, P>{});
      b += P;
    } else {
      token_tiles(b, std::integral_constant<int, 1>{});
      ++b;
    }
  }
}

inline void store_one(float* p, float v) { *p = v; }
inline void store_one(f16_t* p, float v) { p->bits = f32_to_f16(v); }
inline void store_one(bf16_t* p, float v) { p->bits = f32_to_bf16(v); }

// Decode streams every weight row once: asking for each row's data 1 KiB
// ahead lets the arithmetic overlap the memory latency (measured 5-15% faster
// f16 / bf16 decode on the 1B shape; more distance was no better).
constexpr std::size_t kDecodePrefetchBytes = 1024;

// Asks for the cache line at base + offset, which may lie past the end of the
// weights (a prefetch never faults). The address is formed as an integer:
// pointer arithmetic past the end of an array is undefined.
inline void prefetch_at(const void* base, std::size_t offset) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(base) + offset));
}

// Where the stream that reads `row_bytes`-long rows R at a time wants data
// kDecodePrefetchBytes ahead of byte `at` of its row: past the row's end
// that is the same row of the next tile, R rows on. (A 2048-wide bf16 row is
// one 4 KiB page, so stopping at the row's end left its first 1 KiB, a
// quarter of it, unasked for until the tile started.)
template <int R>
inline std::size_t decode_prefetch_offset(std::size_t at, std::size_t row_bytes) {
  const std::size_t ahead = at + kDecodePrefetchBytes;
  return ahead < row_bytes ? ahead : ahead + std::size_t(R - 1) * row_bytes;
}

// One register tile: R weight rows x C tokens, full width then a scalar tail.
template <class V, int R, int C, class W, class X>
inline void matmul_tile(const X* x, std::size_t x_stride, const W* w, std::size_t in, float* y, std::size_t y_stride) {
  typename V::reg acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = V::zero();
  std::size_t i = 0;
  for (; i + V::width <= in; i += V::width) {
    if constexpr (C == 1) {
      // Decode's tall tile: each weight vector is used once, so load it at
      // its multiply (R accumulators plus R loaded vectors would take 2R
      // registers, and spilled at R = 16). Same operations, same order.
      const std::size_t ahead = decode_prefetch_offset<R>(i * sizeof(W), in * sizeof(W));
      for (int r = 0; r < R; ++r) prefetch_at(w + std::size_t(r) * in, ahead);
      const typename V::reg xv = V::load(x + i);
      for (int r = 0; r < R; ++r) acc[r][0] = V::fmadd(V::load(w + std::size_t(r) * in + i), xv, acc[r][0]);
    } else {
      typename V::reg wv[R];
      for (int r = 0; r < R; ++r) wv[r] = V::load(w + std::size_t(r) * in + i);
      for (int c = 0; c < C; ++c) {
        const typename V::reg xv = V::load(x + std::size_t(c) * x_stride + i);
        for (int r = 0; r < R; ++r) acc[r][c] = V::fmadd(wv[r], xv, acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float tail = 0.0f;
      for (std::size_t k = i; k < in; ++k)
        tail += to_f32(x[std::size_t(c) * x_stride + k]) * to_f32(w[std::size_t(r) * in + k]);
      y[std::size_t(c) * y_stride + std::size_t(r)] = V::sum(acc[r][c]) + tail;
    }
  }
}

template <class V, class W, class X>
void matmul(const X* x, std::size_t x_stride, std::size_t tokens, const W* w, std::size_t in,
            std::size_t row_begin, std::size_t row_end, float* y, std::size_t y_stride) {
  auto tile = [&]<int R, int C>(std::size_t r, std::size_t t) {
    matmul_tile<V, R, C>(x + t * x_stride, x_stride, w + r * in, in, y + t * y_stride + r, y_stride);
  };
  // Decode (one token) is a pure weight stream: more rows in flight keep more
  // memory requests outstanding. Prefill reuses each weight over C tokens.
  if (tokens == 1)
    for_each_tile<V::decode_rows, 1>(tokens, row_begin, row_end, tile);
  else
    for_each_tile<V::tile_rows, V::tile_tokens>(tokens, row_begin, row_end, tile);
}

// Attention kernels take the query heads that share one KV head (a GQA
// group) together, so each cache row is loaded (and converted from f16) once
// for all of them rather than once per head: tiles of 4, 2 or 1 heads (a
// group of 6 is 4 + 2). Register budget: 32 vector registers with AVX-512,
// 16 otherwise.
//
// Scores: a tile is H heads x width / H positions, whose width horizontal
// sums are one V::sum_each where the ISA has it.
template <class V, int H>
constexpr int kAttentionPositions = int(V::width) / H;
// Values: output vectors per head kept in registers across positions.
template <class V, int H>
constexpr int kAttentionValueRegs = V::width >= 16 || H < 4 ? 4 : 2;

template <class V, int H>
concept HasSumEach = H * kAttentionPositions<V, H> == int(V::width) &&
                     requires(const typename V::reg (&r)[V::width]) { V::sum_each(r); };

// H heads x P positions at a time: independent sums in flight instead of one
// horizontal reduction stalling the next position. Each score is reduced the
// same way whatever H and P (sum_each adds in sum's tree), so prefill and
// decode, and a head alone or in a group, agree bit for bit.
template <class V, int H, int P, class E>
inline void attention_scores_tile(const float* q, const E* keys, std::size_t d, float scale, float* scores,
                                  std::size_t scores_stride) {
  typename V::reg acc[H][P];
  for (int h = 0; h < H; ++h)
    for (int p = 0; p < P; ++p) acc[h][p] = V::zero();
  std::size_t i = 0;
  for (; i + V::width <= d; i += V::width) {
    typename V::reg qv[H];
    for (int h = 0; h < H; ++h) qv[h] = V::load(q + std::size_t(h) * d + i);
    for (int p = 0; p < P; ++p) {
      const typename V::reg kv = V::load(keys + std::size_t(p) * d + i);
      for (int h = 0; h < H; ++h) acc[h][p] = V::fmadd(qv[h], kv, acc[h][p]);
    }
  }
  // Head dims that are not a multiple of the vector width end in a scalar
  // tail, computed after the horizontal sums so that the accumulators need
  // not survive it; explicit fmas, so that no tile shape's tail is
  // contracted or vectorised differently from another's. [h * P + p].
  float tails[H * P] = {};
  auto add_tails = [&] {
    if (i == d) return;
    for (int h = 0; h < H; ++h)
      for (int p = 0; p < P; ++p)
        for (std::size_t k = i; k < d; ++k)
          tails[h * P + p] = std::fma(q[std::size_t(h) * d + k], to_f32(keys[std::size_t(p) * d + k]), tails[h * P + p]);
  };
  if constexpr (P == kAttentionPositions<V, H> && HasSumEach<V, H>) {
    // Input m of sum_each lands in lane sum_each_lane(m): ordered so that
    // lane h * P + p is score [h][p].
    const auto sums = [&]<int... M>(std::integer_sequence<int, M...>) {
      const typename V::reg inputs[] = {acc[V::sum_each_lane(M) / P][V::sum_each_lane(M) % P]...};
      return V::sum_each(inputs);
    }(std::make_integer_sequence<int, H * P>());
    add_tails();
    float out[H * P];
    V::store(out, V::mul(V::add(sums, V::load(tails)), V::broadcast(scale)));
    for (int h = 0; h < H; ++h) std::memcpy(scores + std::size_t(h) * scores_stride, out + h * P, sizeof(float) * P);
  } else {
    float sums[H * P];
    for (int h = 0; h < H; ++h)
      for (int p = 0; p < P; ++p) sums[h * P + p] = V::sum(acc[h][p]);
    add_tails();
    for (int h = 0; h < H; ++h)
      for (int p = 0; p < P; ++p)
        scores[std::size_t(h) * scores_stride + std::size_t(p)] = (sums[h * P + p] + tails[h * P + p]) * scale;
  }
}

template <class V, int H, class E>
void attention_scores_heads(const float* q, const E* keys, std::size_t d, std::size_t n, float scale, float* scores,
                            std::size_t scores_stride) {
  constexpr int P = kAttentionPositions<V, H>;
  std::size_t p = 0;
  for (; p + P <= n; p += P) attention_scores_tile<V, H, P>(q, keys + p * d, d, scale, scores + p, scores_stride);
  for (; p < n; ++p) attention_scores_tile<V, H, 1>(q, keys + p * d, d, scale, scores + p, scores_stride);
}

template <class V, class E>
void attention_scores(const float* q, std::size_t heads, const E* keys, std::size_t d, std::size_t n, float scale,
                      float* scores, std::size_t scores_stride) {
  std::size_t h = 0;
  for (; h + 4 <= heads; h += 4)
    attention_scores_heads<V, 4>(q + h * d, keys, d, n, scale, scores + h * scores_stride, scores_stride);
  if (h + 2 <= heads) {
    attention_scores_heads<V, 2>(q + h * d, keys, d, n, scale, scores + h * scores_stride, scores_stride);
    h += 2;
  }
  if (h < heads) attention_scores_heads<V, 1>(q + h * d, keys, d, n, scale, scores + h * scores_stride, scores_stride);
}

// Output vectors [i, i + R * width) of H heads stay in registers across all
// positions instead of a load and store per position (R is a compile-time
// count, so they are registers indeed).
template <class V, int H, int R, class E>
inline void attention_values_chunk(const float* probs, std::size_t probs_stride, const E* values, std::size_t d,
                                   std::size_t n, std::size_t i, float* out) {
  typename V::reg acc[H][R];
  for (int h = 0; h < H; ++h)
    for (int r = 0; r < R; ++r) acc[h][r] = V::zero();
  for (std::size_t p = 0; p < n; ++p) {
    typename V::reg pb[H];
    for (int h = 0; h < H; ++h) pb[h] = V::broadcast(probs[std::size_t(h) * probs_stride + p]);
    for (int r = 0; r < R; ++r) {
      const typename V::reg vv = V::load(values + p * d + i + std::size_t(r) * V::width);
      for (int h = 0; h < H; ++h) acc[h][r] = V::fmadd(pb[h], vv, acc[h][r]);
    }
  }
  for (int h = 0; h < H; ++h)
    for (int r = 0; r < R; ++r) V::store(out + std::size_t(h) * d + i + std::size_t(r) * V::width, acc[h][r]);
}

template <class V, int H, class E>
void attention_values_heads(const float* probs, std::size_t probs_stride, const E* values, std::size_t d,
                            std::size_t n, float* out) {
  constexpr int R = kAttentionValueRegs<V, H>;
  std::size_t i = 0;
  for (; i + R * V::width <= d; i += R * V::width)
    attention_values_chunk<V, H, R>(probs, probs_stride, values, d, n, i, out);
  for (; i + V::width <= d; i += V::width) attention_values_chunk<V, H, 1>(probs, probs_stride, values, d, n, i, out);
  for (; i < d; ++i)
    for (int h = 0; h < H; ++h) {
      float acc = 0.0f;
      for (std::size_t p = 0; p < n; ++p)  // explicit fma: see attention_scores_tile
        acc = std::fma(probs[std::size_t(h) * probs_stride + p], to_f32(values[p * d + i]), acc);
      out[std::size_t(h) * d + i] = acc;
    }
}

template <class V, class E>
void attention_values(const float* probs, std::size_t probs_stride, std::size_t heads, const E* values, std::size_t d,
                      std::size_t n, float* out) {
  std::size_t h = 0;
  for (; h + 4 <= heads; h += 4)
    attention_values_heads<V, 4>(probs + h * probs_stride, probs_stride, values, d, n, out + h * d);
  if (h + 2 <= heads) {
    attention_values_heads<V, 2>(probs + h * probs_stride, probs_stride, values, d, n, out + h * d);
    h += 2;
  }
  if (h < heads) attention_values_heads<V, 1>(probs + h * probs_stride, probs_stride, values, d, n, out + h * d);
}

// Cephes' expf: e^x = 2^n x e^r with n = round(x / ln 2) and r = x - n ln 2
// (ln 2 split in two for exactness), e^r by a degree-7 polynomial. x is
// first clamped to [-104, 89], outside which e^x is 0 or +inf in float
// anyway; NaN passes through.
template <class V>
inline typename V::reg exp_cephes(typename V::reg x) {
  using reg = typename V::reg;
  x = V::min(V::broadcast(89.0f), V::max(V::broadcast(-104.0f), x));
  const reg n = V::round(V::mul(x, V::broadcast(1.44269504088896341f)));
  reg r = V::fmadd(n, V::broadcast(-0.693359375f), x);
  r = V::fmadd(n, V::broadcast(2.12194440e-4f), r);
  reg p = V::broadcast(1.9875691500e-4f);
  for (const float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = V::fmadd(p, r, V::broadcast(c));
  p = V::fmadd(p, V::mul(r, r), V::add(r, V::broadcast(1.0f)));
  return V::pow2n(p, n);
}

// A call's last n % width elements go through the same vector code on a
// padded copy, so an element's result does not depend on where the range
// it was passed in ends (prefill and decode split the same rows differently).
template <class V, class Fn>
inline void vector_tail(float* x, const float* y, std::size_t count, Fn&& fn) {
  float xs[V::width] = {}, ys[V::width] = {};
  std::memcpy(xs, x, count * sizeof(float));
  if (y) std::memcpy(ys, y, count * sizeof(float));
  V::store(xs, fn(V::load(xs), V::load(ys)));
  std::memcpy(x, xs, count * sizeof(float));
}

template <class V>
void silu_mul(float* gate, const float* up, std::size_t n) {
  using reg = typename V::reg;
  auto silu_times = [](reg g, reg u) {
    return V::mul(V::div(g, V::add(exp_cephes<V>(V::mul(g, V::broadcast(-1.0f))), V::broadcast(1.0f))), u);
  };
  std::size_t i = 0;
  for (; i + V::width <= n; i += V::width) V::store(gate + i, silu_times(V::load(gate + i), V::load(up + i)));
  if (i < n) vector_tail<V>(gate + i, up + i, n - i, silu_times);
}

template <class V>
void softmax(float* scores, std::size_t n) {
  using reg = typename V::reg;
  std::size_t i = 0;
  float max_score = -INFINITY;
  if (n >= V::width) {
    reg m = V::load(scores);
    for (i = V::width; i + V::width <= n; i += V::width) m = V::max(m, V::load(scores + i));
    max_score = V::reduce_max(m);
  }
  for (; i < n; ++i) max_score = std::max(max_score, scores[i]);
  const reg shift = V::broadcast(-max_score);
  auto exp_shifted = [&](reg s, reg) { return exp_cephes<V>(V::add(s, shift)); };
  reg sum = V::zero();
  for (i = 0; i + V::width <= n; i += V::width) {
    const reg e = exp_shifted(V::load(scores + i), reg{});
    V::store(scores + i, e);
    sum = V::add(sum, e);
  }
  float total = V::sum(sum);
  if (i < n) {
    vector_tail<V>(scores + i, nullptr, n - i, exp_shifted);
    for (std::size_t k = i; k < n; ++k) total += scores[k];
  }
  const float inv_total = 1.0f / total;
  const reg inv = V::broadcast(inv_total);
  for (i = 0; i + V::width <= n; i += V::width) V::store(scores + i, V::mul(V::load(scores + i), inv));
  for (; i < n; ++i) scores[i] *= inv_total;
}

template <class V, class S, class D>
void convert(const void* src, void* dst, std::size_t n) {
  const S* s = static_cast<const S*>(src);
  D* d = static_cast<D*>(dst);
  std::size_t i = 0;
  for (; i + V::width <= n; i += V::width) V::store(d + i, V::load(s + i));
  for (; i < n; ++i) store_one(d + i, to_f32(s[i]));
}

template <class V, class S>
void fill_convert_row(ConvertFn* row) {
  row[0] = &convert<V, S, float>;  // index order follows DType: f32, f16, bf16
  row[1] = &convert<V, S, f16_t>;
  row[2] = &convert<V, S, bf16_t>;
}

template <class V>
KernelTable make_table(Isa isa) {
  KernelTable t{isa,
                &matmul<V, float, float>,
                &matmul<V, f16_t, float>,
                &matmul<V, bf16_t, bf16_t>,
                &attention_scores<V, float>,
                &attention_scores<V, f16_t>,
                &attention_values<V, float>,
                &attention_values<V, f16_t>,
                {},
                &matmul_q8,
                &matmul_q4,
                &quantize_activations,
                &silu_mul<V>,
                &softmax<V>};
  fill_convert_row<V, float>(t.convert[0]);
  fill_convert_row<V, f16_t>(t.convert[1]);
  fill_convert_row<V, bf16_t>(t.convert[2]);
  return t;
}

}  // namespace kvlm::KVLM_ISA_NAMESPACE
