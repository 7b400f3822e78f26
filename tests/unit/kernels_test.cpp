// Every SIMD kernel table this CPU supports against plain scalar loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "kernels/kernels.h"
#include "quant/quant_formats.h"
#include "owned_weights.h"
#include "random_floats.h"

namespace kvlm {
namespace {

class KernelTest : public ::testing::TestWithParam<Isa> {
 protected:
  const KernelTable& table() const { return kernels_for(GetParam()); }
};

template <class W>
std::vector<W> convert(const std::vector<float>& v);
template <>
std::vector<float> convert<float>(const std::vector<float>& v) { return v; }
template <>
std::vector<f16_t> convert<f16_t>(const std::vector<float>& v) {
  std::vector<f16_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i].bits = f32_to_f16(v[i]);
  return out;
}
template <>
std::vector<bf16_t> convert<bf16_t>(const std::vector<float>& v) {
  std::vector<bf16_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i].bits = f32_to_bf16(v[i]);
  return out;
}

template <class W>
void check_matmul(const KernelTable& k) {
  // Odd sizes exercise every tile remainder and the scalar tail.
  for (const std::size_t in : {1u, 7u, 16u, 33u, 172u, 256u}) {
    for (const std::size_t tokens : {1u, 3u, 4u, 9u}) {
      const std::size_t rows = 41;  // covers 16-row decode tiles and remainders
      // bf16 weights multiply bf16 activations (kernels.h).
      const auto x = convert<std::conditional_t<std::is_same_v<W, bf16_t>, bf16_t, float>>(random_floats(tokens * in, 1));
      const auto w = convert<W>(random_floats(rows * in, 2));
      std::vector<float> y(tokens * rows, NAN);
      // Rows [2, 39) only: the others must stay untouched.
      k.matmul(static_cast<const W*>(nullptr))(x.data(), in, tokens, w.data(), in, 2, 39, y.data(), rows);
      for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t r = 0; r < rows; ++r) {
          if (r < 2 || r >= 39) {
            EXPECT_TRUE(std::isnan(y[t * rows + r]));
            continue;
          }
          double ref = 0;
          for (std::size_t i = 0; i < in; ++i) ref += double(to_f32(x[t * in + i])) * double(to_f32(w[r * in + i]));
          EXPECT_NEAR(y[t * rows + r], ref, 1e-5 * (1 + std::sqrt(double(in)))) << "in=" << in << " t=" << t << " r=" << r;
        }
    }
  }
}

TEST_P(KernelTest, MatmulF32) { check_matmul<float>(table()); }
TEST_P(KernelTest, MatmulF16) { check_matmul<f16_t>(table()); }
TEST_P(KernelTest, MatmulBF16) { check_matmul<bf16_t>(table()); }

TEST_P(KernelTest, MatmulIsIndependentOfBatchAndRowRange) {
  // Determinism across batching and threading: a token's outputs are bit
  // identical whether computed alone or in a batch, over any row range.
  const std::size_t in = 100, rows = 9, tokens = 6;
  const auto x = random_floats(tokens * in, 3);
  const auto w = convert<f16_t>(random_floats(rows * in, 4));
  std::vector<float> batch(tokens * rows), single(rows);
  table().matmul_f16(x.data(), in, tokens, w.data(), in, 0, rows, batch.data(), rows);
  for (std::size_t t = 0; t < tokens; ++t) {
    for (std::size_t r = 0; r < rows; ++r) table().matmul_f16(x.data() + t * in, in, 1, w.data(), in, r, r + 1, single.data(), rows);
    for (std::size_t r = 0; r < rows; ++r) EXPECT_EQ(batch[t * rows + r], single[r]);
  }
}

// Scores and the weighted value sum of attention, over f32 and f16 cache rows,
// against double sums; head dims cover full vectors, partial register groups
// and scalar tails, positions cover the position tiles (16, 8, 4 or 2
// positions) and remainders, and groups of 1-6 query heads cover the 4-, 2-
// and 1-head tiles (Llama 3.2 1B has 4 per KV head, Qwen 2.5 1.5B 6). Each
// head of a group must give the bits it gives alone (decode cuts a group in
// slices on many threads), and nothing is written past the outputs.
template <class E>
void check_attention_kernels(const KernelTable& k) {
  const auto scores_fn = k.attention_scores(static_cast<const E*>(nullptr));
  const auto values_fn = k.attention_values(static_cast<const E*>(nullptr));
  for (const std::size_t d : {1u, 8u, 15u, 16u, 64u, 67u, 128u}) {
    for (const std::size_t n : {1u, 3u, 4u, 9u, 17u, 33u}) {
      for (const std::size_t heads : {1u, 2u, 3u, 4u, 5u, 6u}) {
        const std::size_t stride = n + 3;  // score rows are max_ctx apart, not n
        const auto q = random_floats(heads * d, 5);
        const auto keys = convert<E>(random_floats(n * d, 6)), values = convert<E>(random_floats(n * d, 7));
        const auto probs = random_floats(heads * stride, 8);
        constexpr float kUnwritten = -1.0f;
        std::vector<float> scores(heads * stride, kUnwritten), out(heads * d + 16, kUnwritten);
        scores_fn(q.data(), heads, keys.data(), d, n, 0.25f, scores.data(), stride);
        values_fn(probs.data(), stride, heads, values.data(), d, n, out.data());
        const std::string where = "d=" + std::to_string(d) + " n=" + std::to_string(n) + " heads=" +
                                  std::to_string(heads);
        for (std::size_t h = 0; h < heads; ++h) {
          for (std::size_t p = 0; p < n; ++p) {
            double ref = 0;
            for (std::size_t i = 0; i < d; ++i) ref += double(q[h * d + i]) * to_f32(keys[p * d + i]);
            EXPECT_NEAR(scores[h * stride + p], 0.25 * ref, 1e-5) << where << " h=" << h << " p=" << p;
          }
          for (std::size_t p = n; p < stride; ++p) EXPECT_EQ(scores[h * stride + p], kUnwritten) << where << " past n";
          for (std::size_t i = 0; i < d; ++i) {
            double ref = 0;
            for (std::size_t p = 0; p < n; ++p) ref += double(probs[h * stride + p]) * to_f32(values[p * d + i]);
            EXPECT_NEAR(out[h * d + i], ref, 1e-5) << where << " h=" << h << " i=" << i;
          }
          std::vector<float> alone_scores(n), alone_out(d);
          scores_fn(q.data() + h * d, 1, keys.data(), d, n, 0.25f, alone_scores.data(), n);
          values_fn(probs.data() + h * stride, stride, 1, values.data(), d, n, alone_out.data());
          for (std::size_t p = 0; p < n; ++p) EXPECT_EQ(scores[h * stride + p], alone_scores[p]) << where << " h=" << h;
          for (std::size_t i = 0; i < d; ++i) EXPECT_EQ(out[h * d + i], alone_out[i]) << where << " h=" << h;
        }
        for (std::size_t i = heads * d; i < out.size(); ++i) EXPECT_EQ(out[i], kUnwritten) << where << " past the heads";
      }
    }
  }
}

TEST_P(KernelTest, AttentionScoresAndValuesF32) { check_attention_kernels<float>(table()); }
TEST_P(KernelTest, AttentionScoresAndValuesF16) { check_attention_kernels<f16_t>(table()); }

INSTANTIATE_TEST_SUITE_P(EveryIsa, KernelTest, ::testing::ValuesIn(supported_isas()),
                         [](const auto& p) { return std::string(isa_name(p.param)); });

TEST(HalfTest, F16RoundTripsEveryValue) {
  // Every finite f16 converts to f32 and back unchanged; f32 rounding is to nearest even.
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN payloads
    EXPECT_EQ(f32_to_f16(f16_to_f32(std::uint16_t(h))), h) << std::hex << h;
  }
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);           // tie -> even (down)
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);       // tie -> even (up)
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                  // overflow -> inf
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);                  // half the smallest subnormal: tie to 0
  EXPECT_EQ(f32_to_f16(0x1.8p-25f), 0x0001);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);            // tie -> even
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

}  // namespace
}  // namespace kvlm

namespace kvlm {
namespace {

TEST_P(KernelTest, ConvertMatchesScalarRounding) {
  // Values around every rounding boundary: random bits over a wide exponent range.
  std::mt19937 rng(12);
  std::vector<float> src(1003);
  for (float& v : src) {
    const std::uint32_t bits = (rng() & 0x807fffffu) | ((100u + rng() % 50u) << 23);  // |v| in [2^-27, 2^22)
    std::memcpy(&v, &bits, 4);
  }
  std::vector<f16_t> h(src.size());
  std::vector<bf16_t> b(src.size());
  std::vector<float> back(src.size());
  const auto& cv = table().convert;
  cv[int(DType::f32)][int(DType::f16)](src.data(), h.data(), src.size());
  cv[int(DType::f32)][int(DType::bf16)](src.data(), b.data(), src.size());
  for (std::size_t i = 0; i < src.size(); ++i) {
    ASSERT_EQ(h[i].bits, f32_to_f16(src[i])) << src[i];
    ASSERT_EQ(b[i].bits, f32_to_bf16(src[i])) << src[i];
  }
  cv[int(DType::bf16)][int(DType::f16)](b.data(), h.data(), src.size());
  for (std::size_t i = 0; i < src.size(); ++i) ASSERT_EQ(h[i].bits, f32_to_f16(bf16_to_f32(b[i].bits)));
  cv[int(DType::f16)][int(DType::f32)](h.data(), back.data(), src.size());
  for (std::size_t i = 0; i < src.size(); ++i) ASSERT_EQ(back[i], f16_to_f32(h[i].bits));
}

}  // namespace
}  // namespace kvlm

namespace kvlm {
namespace {

// Plain double sums over dequantized weights and activations (x_scale: one
// per group of 32); abs_sum gets the sum of the terms' magnitudes (what float
// rounding error scales with).
double dequantized_dot(const MatrixView& w, std::size_t r, const std::int8_t* xq, const float* x_scale,
                       double& abs_sum) {
  double acc = 0;
  abs_sum = 0;
  for (std::size_t i = 0; i < w.cols; ++i) {
    const bool q8 = w.dtype == DType::q8;
    const double wv = q8 ? double(quant::dequantize_q8(w, r, i)) : double(quant::dequantize_q4(w, r, i));
    const double xs = x_scale[i / quant::kQ4Group];
    acc += wv * double(xq[i]) * xs;
    abs_sum += std::fabs(wv * double(xq[i]) * xs);
  }
  return acc;
}

void check_quantized(const KernelTable& k, DType format) {
  // q8 also takes activation groups cut short: 1 quad (100 columns), 6 and 7 (56, 60).
  for (const std::size_t in : {32u, 64u, 128u, 192u, 2048u, 100u, 56u, 60u}) {
    if (format == DType::q4 && in % 32 != 0) continue;
    // Every tile shape: decode 4, 2 and 1 16-row blocks (7 blocks from row
    // 16), prefill 8 / 4 / 2 / 1 tokens by one block (AVX2 q8 by up to 4
    // blocks, in halves); q4 also last stored tiles of 3 and 1 blocks (112
    // and 80 rows); q8 also a last block of 9 rows, padded in storage, inside
    // a 4-block decode tile (121 = 7 x 16 + 9), and alone (105 and 73: a
    // 4-block tile must start on a multiple of 4 blocks).
    const std::vector<std::size_t> row_counts =
        format == DType::q4 ? std::vector<std::size_t>{128, 112, 80} : std::vector<std::size_t>{121, 105, 73};
    for (const std::size_t tokens : {1u, 3u, 4u, 9u, 15u})
    for (const std::size_t rows : row_counts)
    // Kernels take ranges starting on a row block (the thread split's grain
    // is 16 rows): to the matrix's end, and also one that starts and ends
    // inside 4-block tiles (blocks 3 to the last whole block but one).
    for (const auto& [row_begin, row_end] : {std::pair<std::size_t, std::size_t>{16, rows}, {48, rows / 16 * 16 - 16}}) {
      if (row_end <= row_begin) continue;
      const OwnedWeights m(format, rows, in, 21);
      const MatrixView& w = m.view;
      const auto x = random_floats(tokens * in, 22);
      std::vector<std::int8_t> xq(tokens * in);
      // A scale and a correction per group of 32 (in = 100: the last has 4 columns).
      const std::size_t per_token = quant::activation_groups(in);
      std::vector<float> xs(tokens * per_token);
      std::vector<std::int32_t> corr(tokens * per_token);
      for (std::size_t t = 0; t < tokens; ++t)
        quant::quantize_activations_grouped(x.data() + t * in, in, xq.data() + t * in, xs.data() + t * per_token,
                                            corr.data() + t * per_token);
      std::vector<float> y(tokens * rows, NAN);
      const MatmulQuantFn fn = format == DType::q8 ? k.matmul_q8 : k.matmul_q4;
      fn(xq.data(), in, xs.data(), corr.data(), tokens, w, row_begin, row_end, y.data(), rows);
      for (std::size_t t = 0; t < tokens; ++t) {
        // Each token alone (the decode tile) gives the same bits as in the batch.
        std::vector<float> alone(rows, NAN);
        fn(xq.data() + t * in, in, xs.data() + t * per_token, corr.data() + t * per_token, 1, w, row_begin, row_end,
           alone.data(), rows);
        for (std::size_t r = 0; r < rows; ++r) {
          if (r < row_begin || r >= row_end) {
            EXPECT_TRUE(std::isnan(y[t * rows + r]));
            EXPECT_TRUE(std::isnan(alone[r]));
            continue;
          }
          double abs_sum = 0;
          const double ref = dequantized_dot(w, r, xq.data() + t * in, xs.data() + t * per_token, abs_sum);
          EXPECT_NEAR(y[t * rows + r], ref, 1e-6 + 1e-5 * abs_sum) << "in=" << in << " t=" << t << " r=" << r;
          ASSERT_EQ(alone[r], y[t * rows + r]) << "in=" << in << " t=" << t << " r=" << r;
        }
      }
    }
  }
}

// Each ISA's activation quantizer is bit-exact with the scalar specification,
// non-finite inputs included.
TEST_P(KernelTest, QuantizeActivationsMatchesTheScalarSpecification) {
  for (const std::size_t n : {1u, 16u, 31u, 32u, 100u, 2048u, 8192u}) {
    for (const float amplitude : {0.0f, 1e-3f, 1.0f, 300.0f, NAN, INFINITY}) {
      auto x = random_floats(n, 40);
      for (float& v : x) v *= std::isfinite(amplitude) ? amplitude : 1.0f;
      if (!std::isfinite(amplitude)) x[n / 2] = amplitude;
      std::vector<std::int8_t> q(n), want_q(n);
      std::vector<std::int32_t> corr(n / 32 + 1, 7), want_corr(n / 32 + 1, 7);
      float scale = -1, want_scale = -2;
      table().quantize_activations(x.data(), n, q.data(), &scale, corr.data());
      quant::quantize_activations(x.data(), n, want_q.data(), &want_scale, want_corr.data());
      EXPECT_EQ(scale, want_scale) << n;
      EXPECT_EQ(q, want_q) << n;
      EXPECT_EQ(corr, want_corr) << n;
    }
  }
}

// silu(g) * u against double precision, over the range activations take and
// out to the exp's clamps (e^-g then is a tiny normal, a subnormal, 0 or
// inf); n = 37 leaves a tail on every ISA.
TEST_P(KernelTest, SiluMulMatchesDoublePrecision) {
  std::vector<float> gate = random_floats(37, 50), up = random_floats(37, 51);
  for (float& g : gate) g *= 12.0f;
  const float special[] = {0.0f, -0.0f, 1e-20f, -1e-20f, 20.0f,   -20.0f, 86.9f,
                           -86.9f, -87.5f, -88.5f, 100.0f, -100.0f, 110.0f, 3e38f};
  for (std::size_t i = 0; i < std::size(special); ++i) gate[i * 2 + 1] = special[i];
  std::vector<float> out = gate;
  table().silu_mul(out.data(), up.data(), out.size());
  for (std::size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i], want = g / (1.0 + std::exp(-g)) * up[i];
    // Relative wherever the answer is a normal float. Below that g / (1 + e^-g)
    // is 0 in float arithmetic too, once e^-g overflows (g < -88.7).
    const double tolerance = std::fabs(want) >= FLT_MIN ? 1e-6 * std::fabs(want) : FLT_MIN;
    EXPECT_NEAR(out[i], want, tolerance) << "g=" << g << " u=" << up[i];
  }
  std::vector<float> nan_gate = {NAN, 1.0f}, one = {1.0f, 1.0f};
  table().silu_mul(nan_gate.data(), one.data(), 2);
  EXPECT_TRUE(std::isnan(nan_gate[0]));
}

// An element's result does not depend on where the call's range ends: a
// vector lane and a tail element go through the same code.
TEST_P(KernelTest, SiluMulIsIndependentOfTheRangeSplit) {
  std::vector<float> gate = random_floats(37, 52), up = random_floats(37, 53);
  for (float& g : gate) g *= 8.0f;
  std::vector<float> whole = gate, split = gate;
  table().silu_mul(whole.data(), up.data(), whole.size());
  table().silu_mul(split.data(), up.data(), 5);
  table().silu_mul(split.data() + 5, up.data() + 5, split.size() - 5);
  for (std::size_t i = 0; i < gate.size(); ++i) ASSERT_EQ(whole[i], split[i]) << "i=" << i;
}

// Against double precision, for lengths with and without a scalar tail and
// scores spread far enough that some probabilities underflow.
TEST_P(KernelTest, SoftmaxMatchesDoublePrecision) {
  for (const std::size_t n : {1u, 7u, 16u, 37u, 512u}) {
    for (const float spread : {1.0f, 30.0f}) {
      std::vector<float> scores = random_floats(n, 60);
      for (float& x : scores) x *= spread;
      std::vector<float> out = scores;
      table().softmax(out.data(), n);
      double max_score = scores[0], total = 0.0;
      for (const float x : scores) max_score = std::max(max_score, double(x));
      for (const float x : scores) total += std::exp(double(x) - max_score);
      for (std::size_t i = 0; i < n; ++i) {
        // The float subtraction x - max rounds by up to 2^-24 |x - max|, which
        // the exp turns into a relative error of that size.
        const double shifted = double(scores[i]) - max_score, want = std::exp(shifted) / total;
        EXPECT_NEAR(out[i], want, (2e-6 + 1.2e-7 * std::fabs(shifted)) * want + 1e-30) << "n=" << n << " i=" << i;
      }
    }
  }
}

// Probabilities down to the exp's lower clamp, and a NaN score makes every
// probability NaN (a broken forward pass stays visible).
TEST_P(KernelTest, SoftmaxKeepsTinyProbabilitiesAndNaN) {
  std::vector<float> scores = {0.0f, -86.5f, -90.0f, -103.0f, -200.0f};
  table().softmax(scores.data(), scores.size());
  const double total = 1.0 + std::exp(-86.5) + std::exp(-90.0) + std::exp(-103.0);
  EXPECT_NEAR(scores[0], 1.0 / total, 1e-7);
  EXPECT_NEAR(scores[1], std::exp(-86.5) / total, 1e-5 * std::exp(-86.5));
  EXPECT_NEAR(scores[2], std::exp(-90.0) / total, 1e-44);  // subnormal
  EXPECT_NEAR(scores[3], 0.0, 1e-44);
  EXPECT_EQ(scores[4], 0.0f);
  for (const std::size_t n : {3u, 20u}) {
    std::vector<float> with_nan(n, 1.0f);
    with_nan[1] = NAN;
    table().softmax(with_nan.data(), n);
    for (const float p : with_nan) EXPECT_TRUE(std::isnan(p)) << "n=" << n;
  }
}

TEST_P(KernelTest, MatmulQ8) { check_quantized(table(), DType::q8); }
TEST_P(KernelTest, MatmulQ4) { check_quantized(table(), DType::q4); }

TEST(QuantFormatsTest, Q8AndQ4RoundTripWithinHalfAStep) {
  // q8: a 20 x 100 matrix (a whole block and a padded one; groups of 32, 32,
  // 32 and 4 columns). Each group's scale is its f16-rounded absmax / 127.
  {
    const std::size_t rows = 20, cols = 100;
    const auto w = random_floats(rows * cols, 30);
    const MatrixView shape{DType::q8, rows, cols};
    std::vector<std::uint8_t> data(shape.bytes(), 0);
    for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q8(w.data() + r * cols, cols, r, data.data());
    const MatrixView view{DType::q8, rows, cols, data.data()};
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t g = 0; g * 32 < cols; ++g) {
        float m = 0.0f;
        for (std::size_t i = g * 32; i < std::min(cols, g * 32 + 32); ++i) m = std::max(m, std::fabs(w[r * cols + i]));
        const float d = quant::q8_scale(view, r, g);
        ASSERT_EQ(d, f16_to_f32(f32_to_f16(m / 127.0f))) << r << "," << g;
        for (std::size_t i = g * 32; i < std::min(cols, g * 32 + 32); ++i)
          EXPECT_LE(std::fabs(quant::dequantize_q8(view, r, i) - w[r * cols + i]), d / 2 + 1e-3 * d) << r << "," << i;
      }
  }
  // q4: a 48 x 64 matrix (one tile of 3 row blocks, two groups), every row quantized.
  const std::size_t rows = 48, cols = 64;
  const auto m = random_floats(rows * cols, 31);
  std::vector<std::uint8_t> data(MatrixView{DType::q4, rows, cols}.bytes(), 0);
  for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q4(m.data() + r * cols, rows, cols, r, data.data());
  const MatrixView view{DType::q4, rows, cols, data.data()};
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < cols; ++i) {
      // As in Q4_0 the largest magnitude maps to -8 exactly; values of the
      // opposite sign clamp at +7, one step short of +8, so they may be off by a step.
      const float d = std::fabs(quant::q4_scale(view, r, i / 32));
      const float bound = quant::q4_value(view, r, i) == 7 ? d : d / 2;
      EXPECT_LE(std::fabs(quant::dequantize_q4(view, r, i) - m[r * cols + i]), bound + 1e-3 * d) << r << "," << i;
    }
}

// The documented q8 byte layout (core/matrix_view.h), read by hand: 24 rows
// (a block and a padded one) by 44 columns (a group of 8 quads and a short
// one of 3). Each row holds 127 x 2^g at column 32g, so group g's scale is
// exactly 2^g, and integer values elsewhere.
TEST(QuantFormatsTest, Q8LayoutMatchesTheDocumentedInterleave) {
  const std::size_t rows = 24, cols = 44, quads = cols / 4;
  auto value = [](std::size_t r, std::size_t c) { return c % 32 == 0 ? 127 : int((r * 5 + c * 7) % 255) - 127; };
  std::vector<float> m(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) m[r * cols + c] = float(value(r, c)) * float(1 << (c / 32));
  const std::size_t block_bytes = quads * 64 + 2 * 32;
  ASSERT_EQ(quant::q8_block_bytes(cols), block_bytes);
  std::vector<std::uint8_t> data(MatrixView{DType::q8, rows, cols}.bytes(), 0);
  ASSERT_EQ(data.size(), 2 * block_bytes);
  for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q8(m.data() + r * cols, cols, r, data.data());
  for (std::size_t r = 0; r < 32; ++r) {
    const std::uint8_t* block = data.data() + (r / 16) * block_bytes;
    for (std::size_t g = 0; g < 2; ++g) {
      // Group 0: 8 quads (512 bytes), then scales; group 1 starts at 544: 3 quads, then scales.
      const std::uint8_t* group = block + g * 544;
      const std::size_t group_quads = g == 0 ? 8 : 3;
      std::uint16_t scale_bits;
      std::memcpy(&scale_bits, group + group_quads * 64 + (r % 16) * 2, 2);
      // Padding rows (24-31) keep scale 0 and bytes 0.
      ASSERT_EQ(f16_to_f32(scale_bits), r < rows ? float(1 << g) : 0.0f) << r << "," << g;
      for (std::size_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c) {
        const std::uint8_t byte = group[(c % 32) / 4 * 64 + (r % 16) * 4 + c % 4];
        ASSERT_EQ(int(byte), r < rows ? value(r, c) + 128 : 0) << r << "," << c;
      }
    }
  }
}

// The documented q4 byte layout (core/matrix_view.h), checked on hand-placed
// values: weight (r, c) = ((r + 3 * c) % 16) - 8 with unit scales. 80 rows
// are 5 blocks: a tile of 4 and a last tile of 1; 112 rows a tile of 4 and
// one of 3.
void check_q4_layout(std::size_t rows) {
  const std::size_t cols = 64, groups = 2, blocks = rows / 16;
  std::vector<float> m(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) m[r * cols + c] = float(int((r + 3 * c) % 16) - 8);
  // Put a -8 in every group so each scale is exactly 1.
  std::vector<std::uint8_t> data(rows * cols / 2 + rows * groups * 2, 0);
  ASSERT_EQ(data.size(), (MatrixView{DType::q4, rows, cols}.bytes()));
  for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q4(m.data() + r * cols, rows, cols, r, data.data());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const std::size_t tile = r / 64, in_tile = (r % 64) / 16, tile_blocks = std::min<std::size_t>(4, blocks - 4 * tile);
      const std::size_t group = tile * 4 * groups * 288 + (c / 32) * tile_blocks * 288, step = (c % 32) / 8;
      const std::uint8_t byte = data[group + in_tile * 256 + step * 64 + (r % 16) * 4 + c % 4];
      const int stored = c % 8 >= 4 ? byte >> 4 : byte & 0x0f;
      ASSERT_EQ(stored - 8, int((r + 3 * c) % 16) - 8) << rows << ": " << r << "," << c;
      std::uint16_t scale;
      std::memcpy(&scale, &data[group + tile_blocks * 256 + in_tile * 32 + (r % 16) * 2], 2);
      ASSERT_EQ(f16_to_f32(scale), 1.0f) << rows << ": " << r << "," << c;
    }
}

TEST(QuantFormatsTest, Q4LayoutMatchesTheDocumentedInterleave) {
  for (const std::size_t rows : {80u, 112u}) check_q4_layout(rows);
}

}  // namespace
}  // namespace kvlm
