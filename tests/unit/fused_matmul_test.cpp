// ops::matmul_fused against one-matrix ops::matmul calls: bit-identical
// outputs for every weight format, with row counts that are not multiples of
// the 16-row block (q8 pads its last block), threaded (2 threads) against
// single-threaded, for decode and a prefill chunk.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "ops/ops.h"
#include "quant/quant_formats.h"
#include "random_floats.h"

namespace kvlm {
namespace {

// A weight matrix of `dtype` made from random values, owning its storage.
struct OwnedWeights {
  std::vector<std::uint8_t> data;
  std::vector<float> row_scale;
  std::vector<std::uint16_t> group_scale;
  MatrixView view;

  OwnedWeights(DType dtype, std::size_t rows, std::size_t cols, unsigned seed) {
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
        data.assign(quant::q8_stored_rows(rows) * cols, 0);
        row_scale.assign(quant::q8_stored_rows(rows), 0.0f);
        for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q8(w.data() + r * cols, cols, r, data.data(), row_scale.data());
        view.row_scale = row_scale.data();
        break;
      case DType::q4:
        data.assign(rows * cols / 2, 0);
        group_scale.assign(rows * cols / 32, 0);
        for (std::size_t r = 0; r < rows; ++r) quant::quantize_row_q4(w.data() + r * cols, cols, r, data.data(), group_scale.data());
        view.group_scale = group_scale.data();
        break;
    }
    view.data = data.data();
  }
};

void check_fused(DType dtype, std::vector<std::size_t> rows) {
  const std::size_t cols = 1024;
  ThreadPool one(1), two(2);
  const ops::Context serial{kernels_for(selected_isa()), one};
  const ops::Context threaded{kernels_for(selected_isa()), two};
  std::vector<OwnedWeights> weights;
  for (std::size_t i = 0; i < rows.size(); ++i) weights.emplace_back(dtype, rows[i], cols, unsigned(10 + i));
  for (const std::size_t tokens : {1u, 5u}) {
    const auto x = random_floats(tokens * cols, 3);
    std::vector<std::vector<float>> fused(rows.size()), single(rows.size());
    std::vector<ops::MatmulOut> outs;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      fused[i].assign(tokens * rows[i], NAN);
      single[i].assign(tokens * rows[i], NAN);
      outs.push_back({&weights[i].view, fused[i].data()});
      ops::matmul(serial, x.data(), tokens, weights[i].view, single[i].data());
    }
    ops::matmul_fused(threaded, x.data(), tokens, outs);
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (std::size_t k = 0; k < fused[i].size(); ++k)
        ASSERT_EQ(fused[i][k], single[i][k]) << dtype_name(dtype) << " matrix " << i << " at " << k << " tokens " << tokens;
  }
}

TEST(FusedMatmulTest, EqualsSeparateCallsForEveryFormat) {
  // q8 and the float formats take any row count; q4 whole 16-row blocks.
  for (const DType dtype : {DType::f32, DType::f16, DType::bf16, DType::q8}) check_fused(dtype, {40, 24, 72});
  check_fused(DType::q4, {64, 32, 48});
}

}  // namespace
}  // namespace kvlm
