// A weight matrix of any format made from random values (random_floats.h),
// owning its storage, for kernel and op tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "core/matrix_view.h"
#include "quant/quant_formats.h"
#include "random_floats.h"

namespace kvlm {

// A weight matrix of `dtype` made from random values, owning its storage.
struct OwnedWeights {
  std::vector<std::uint8_t> data;
  MatrixView view;

  OwnedWeights(DType dtype, std::size_t rows, std::size_t cols, std::uint32_t seed) {
    const auto w = random_floats(rows * cols, seed);
    view = MatrixView{dtype, rows, cols, nullptr};
    switch (dtype) {
      case DType::f32:
        data.resize(rows * cols * 4);
        std::memcpy(data.data(), w.data(), data.size());
        break;
      case DType::f16:
      case DType::bf16: {
        data.resize(rows * cols * 2);
        auto* out = reinterpret_cast<std::uint16_t*>(data.data());
        for (std::size_t i = 0; i < w.size(); ++i) out[i] = dtype == DType::f16 ? f32_to_f16(w[i]) : f32_to_bf16(w[i]);
        break;
      }
      case DType::q8:
        data.assign(view.bytes(), 0);
        for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q8(w.data() + r * cols, cols, r, data.data());
        break;
      case DType::q4:
        data.assign(view.bytes(), 0);
        for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q4(w.data() + r * cols, rows, cols, r, data.data());
        break;
    }
    view.data = data.data();
  }
};
}  // namespace kvlm
