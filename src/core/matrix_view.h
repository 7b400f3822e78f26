// A non-owning row-major [rows][cols] matrix of one element type.
#pragma once

#include <cstddef>

#include "kvlm/dtype.h"

namespace kvlm {

struct MatrixView {
  DType dtype = DType::f32;
  std::size_t rows = 0;
  std::size_t cols = 0;
  const void* data = nullptr;

  std::size_t bytes() const { return rows * cols * dtype_size(dtype); }
};

}  // namespace kvlm
