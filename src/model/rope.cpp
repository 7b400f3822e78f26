#include "model/rope.h"

#include <cmath>
#include <numbers>

namespace kvlm {

std::vector<float> rope_inverse_frequencies(const ModelConfig& c) {
  const int half = c.head_dim / 2;
  std::vector<float> inv(static_cast<std::size_t>(half));
  for (int i = 0; i < half; ++i) {
    const float exponent = float(2 * i) / float(c.head_dim);
    inv[std::size_t(i)] = float(1.0 / std::pow(c.rope_theta, double(exponent)));
  }
  // ggml divides each angle by its factor: theta = position * inv_freq / factor.
  for (std::size_t i = 0; i < c.rope_freq_factors.size() && i < inv.size(); ++i) inv[i] /= c.rope_freq_factors[i];
  if (!c.has_llama3_rope_scaling) return inv;
  const auto& s = c.rope_scaling;
  const double low_freq_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const double high_freq_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
  for (float& f : inv) {
    const double wavelen = 2.0 * std::numbers::pi / double(f);
    if (wavelen < high_freq_wavelen) continue;  // high frequencies: unchanged
    if (wavelen > low_freq_wavelen) {
      f = float(double(f) / s.factor);  // low frequencies: scaled
      continue;
    }
    // Medium band: interpolate between scaled and unscaled.
    const double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                          (s.high_freq_factor - s.low_freq_factor);
    f = float((1.0 - smooth) * double(f) / s.factor + smooth * double(f));
  }
  return inv;
}

void rope_tables(const std::vector<float>& inv_freq, int first, int count, float* cos_out, float* sin_out) {
  const std::size_t half = inv_freq.size();
  for (int t = 0; t < count; ++t) {
    const float pos = float(first + t);
    for (std::size_t i = 0; i < half; ++i) {
      const float angle = inv_freq[i] * pos;
      cos_out[std::size_t(t) * half + i] = float(std::cos(double(angle)));
      sin_out[std::size_t(t) * half + i] = float(std::sin(double(angle)));
    }
  }
}

}  // namespace kvlm
