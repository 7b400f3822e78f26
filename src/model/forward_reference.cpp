// The reference forward pass: one token at a time, scalar loops, no threads,
// no SIMD, sums in double. Slow on purpose; it is the oracle the cpu path is
// tested against, so it shares nothing with it but the weights, the rope
// frequencies and the cache layout.
#include <algorithm>
#include <cmath>

#include "core/half.h"
#include "model/model_impl.h"
#include "model/state_access.h"
#include "model/rope.h"
#include "quant/quant_formats.h"

namespace kvlm {

namespace {

// The dequantized value of one weight.
float weight_at(const WeightMatrix& m, std::size_t r, std::size_t c) {
  const std::size_t i = r * m.cols + c;
  switch (m.dtype) {
    case DType::f32: return static_cast<const float*>(m.data)[i];
    case DType::f16: return to_f32(static_cast<const f16_t*>(m.data)[i]);
    case DType::bf16: return to_f32(static_cast<const bf16_t*>(m.data)[i]);
    case DType::q8: return quant::dequantize_q8(m, r, c);
    case DType::q4: return quant::dequantize_q4(m, r, c);
  }
  return 0.0f;
}

// y = W x (+ b). Quantized weights multiply int8-quantized activations (one
// scale per group of 32) and bf16 weights bf16-rounded ones, as the kernels
// do by design.
std::vector<float> linear(const WeightMatrix& w, const std::vector<float>& x, const std::vector<float>& b) {
  std::vector<float> input = x;
  if (w.dtype == DType::bf16)  // bf16 weights multiply bf16-rounded activations (kernels_impl.h)
    for (float& v : input) v = bf16_to_f32(f32_to_bf16(v));
  if (is_quantized(w.dtype)) {
    std::vector<std::int8_t> q(x.size());
    std::vector<float> scales(quant::activation_groups(x.size()));
    std::vector<std::int32_t> corr(scales.size());
    quant::quantize_activations_grouped(x.data(), x.size(), q.data(), scales.data(), corr.data());
    for (std::size_t i = 0; i < x.size(); ++i) input[i] = float(q[i]) * scales[i / quant::kQ4Group];
  }
  std::vector<float> y(w.rows);
  for (std::size_t r = 0; r < w.rows; ++r) {
    double acc = 0.0;
    for (std::size_t c = 0; c < w.cols; ++c) acc += double(weight_at(w, r, c)) * double(input[c]);
    y[r] = float(acc) + (b.empty() ? 0.0f : b[r]);
  }
  return y;
}

std::vector<float> rms_norm(const std::vector<float>& x, const std::vector<float>& weight, double eps) {
  double ss = 0.0;
  for (float v : x) ss += double(v) * double(v);
  const double inv = 1.0 / std::sqrt(ss / double(x.size()) + eps);
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = weight[i] * float(double(x[i]) * inv);
  return y;
}

// Rotates each head of x (heads x head_dim) by the angles of one position.
void apply_rope(std::vector<float>& x, std::size_t heads, std::size_t head_dim, const float* cos, const float* sin) {
  const std::size_t half = head_dim / 2;
  for (std::size_t h = 0; h < heads; ++h) {
    float* v = x.data() + h * head_dim;
    for (std::size_t i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * cos[i] - b * sin[i];
      v[i + half] = b * cos[i] + a * sin[i];
    }
  }
}

float cache_load(const void* base, DType dtype, std::size_t i) {
  return dtype == DType::f32 ? static_cast<const float*>(base)[i] : to_f32(static_cast<const f16_t*>(base)[i]);
}

void cache_store(void* base, DType dtype, std::size_t i, float v) {
  if (dtype == DType::f32)
    static_cast<float*>(base)[i] = v;
  else
    static_cast<f16_t*>(base)[i].bits = f32_to_f16(v);
}

}  // namespace

void forward_reference(const Model::Impl& m, std::span<const std::int32_t> ids, State& state, LogitsMode mode,
                       std::vector<float>& logits) {
  const ModelConfig& c = m.config;
  const Weights& w = m.weights;
  const std::size_t H = std::size_t(c.hidden_size), D = std::size_t(c.head_dim);
  const std::size_t Hq = std::size_t(c.num_heads), Hkv = std::size_t(c.num_kv_heads);
  const std::size_t max_ctx = std::size_t(state.max_ctx());
  const std::size_t group = Hq / Hkv;
  const DType cache_dtype = state.cache_dtype();
  logits.clear();

  for (std::size_t t = 0; t < ids.size(); ++t) {
    const std::size_t pos = std::size_t(state.length()) + t;
    std::vector<float> cos(D / 2), sin(D / 2);
    rope_tables(m.inv_freq, int(pos), 1, cos.data(), sin.data());

    std::vector<float> x(H);
    for (std::size_t i = 0; i < H; ++i) x[i] = weight_at(w.embed, std::size_t(ids[t]), i);

    for (int l = 0; l < c.num_layers; ++l) {
      const LayerWeights& lw = w.layers[std::size_t(l)];
      const std::vector<float> xn = rms_norm(x, lw.attn_norm, c.rms_norm_eps);
      std::vector<float> q = linear(lw.q, xn, lw.q_bias);
      std::vector<float> k = linear(lw.k, xn, lw.k_bias);
      const std::vector<float> v = linear(lw.v, xn, lw.v_bias);
      apply_rope(q, Hq, D, cos.data(), sin.data());
      apply_rope(k, Hkv, D, cos.data(), sin.data());
      void* keys = detail::StateAccess::keys(state, l);
      void* values = detail::StateAccess::values(state, l);
      for (std::size_t g = 0; g < Hkv; ++g)
        for (std::size_t i = 0; i < D; ++i) {
          cache_store(keys, cache_dtype, (g * max_ctx + pos) * D + i, k[g * D + i]);
          cache_store(values, cache_dtype, (g * max_ctx + pos) * D + i, v[g * D + i]);
        }

      std::vector<float> attn(Hq * D, 0.0f);
      for (std::size_t h = 0; h < Hq; ++h) {
        const std::size_t g = h / group;
        std::vector<double> scores(pos + 1);
        double max_score = -INFINITY;
        for (std::size_t p = 0; p <= pos; ++p) {
          double dot = 0.0;
          for (std::size_t i = 0; i < D; ++i)
            dot += double(q[h * D + i]) * double(cache_load(keys, cache_dtype, (g * max_ctx + p) * D + i));
          scores[p] = dot / std::sqrt(double(D));
          max_score = std::max(max_score, scores[p]);
        }
        double total = 0.0;
        for (double& s : scores) total += (s = std::exp(s - max_score));
        for (std::size_t i = 0; i < D; ++i) {
          double acc = 0.0;
          for (std::size_t p = 0; p <= pos; ++p)
            acc += scores[p] / total * double(cache_load(values, cache_dtype, (g * max_ctx + p) * D + i));
          attn[h * D + i] = float(acc);
        }
      }
      const std::vector<float> o = linear(lw.o, attn, lw.o_bias);
      for (std::size_t i = 0; i < H; ++i) x[i] += o[i];

      const std::vector<float> xm = rms_norm(x, lw.mlp_norm, c.rms_norm_eps);
      std::vector<float> gate = linear(lw.gate, xm, {});
      const std::vector<float> up = linear(lw.up, xm, {});
      for (std::size_t i = 0; i < gate.size(); ++i)
        gate[i] = float(double(gate[i]) / (1.0 + std::exp(-double(gate[i]))) * double(up[i]));
      const std::vector<float> down = linear(lw.down, gate, {});
      for (std::size_t i = 0; i < H; ++i) x[i] += down[i];
    }

    if (mode == LogitsMode::all || t + 1 == ids.size()) {
      const std::vector<float> xf = rms_norm(x, w.final_norm, c.rms_norm_eps);
      const std::vector<float> row = linear(w.lm_head, xf, {});
      logits.insert(logits.end(), row.begin(), row.end());
    }
  }
}

}  // namespace kvlm
