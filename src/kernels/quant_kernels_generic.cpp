// Portable quantized matmuls: plain integer loops over the q8 / q4 layouts.
#include <cstdint>

#define KVLM_ISA_NAMESPACE generic_isa
#include "kernels/kernels_impl.h"
#include "quant/quant_formats.h"

namespace kvlm::generic_isa {

void matmul_q8(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t*,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const std::size_t groups = quant::activation_groups(w.cols), scale_stride = quant::activation_groups(x_stride);
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t r = row_begin; r < row_end; ++r) {
      float acc = 0.0f;
      for (std::size_t g = 0; g < groups; ++g) {
        std::int32_t dot = 0;
        for (std::size_t i = g * quant::kQ4Group; i < std::min(w.cols, (g + 1) * quant::kQ4Group); ++i)
          dot += std::int32_t(xq[t * x_stride + i]) * quant::q8_value(w, r, i);
        acc += float(dot) * (quant::q8_scale(w, r, g) * x_scale[t * scale_stride + g]);
      }
      y[t * y_stride + r] = acc;
    }
}

void matmul_q4(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t*,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const std::size_t groups = w.cols / quant::kQ4Group, scale_stride = quant::activation_groups(x_stride);
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t r = row_begin; r < row_end; ++r) {
      float acc = 0.0f;
      for (std::size_t g = 0; g < groups; ++g) {
        std::int32_t dot = 0;
        for (std::size_t i = g * quant::kQ4Group; i < (g + 1) * quant::kQ4Group; ++i)
          dot += std::int32_t(xq[t * x_stride + i]) * quant::q4_value(w, r, i);
        acc += float(dot) * (quant::q4_scale(w, r, g) * x_scale[t * scale_stride + g]);
      }
      y[t * y_stride + r] = acc;
    }
}

void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr) {
  quant::quantize_activations(x, n, q, scale, group_corr);  // the scalar specification
}

}  // namespace kvlm::generic_isa
