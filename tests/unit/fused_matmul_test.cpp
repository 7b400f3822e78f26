// ops::matmul_fused against one-matrix ops::matmul calls: bit-identical
// outputs for every weight format, with row counts that are not multiples of
// the 16-row block (q8 pads its last block), threaded (2 threads) against
// single-threaded, for decode and a prefill chunk.
#include <gtest/gtest.h>

#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "ops/ops.h"
#include "quant/quant_formats.h"
#include "owned_weights.h"
#include "random_floats.h"

namespace kvlm {
namespace {

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
