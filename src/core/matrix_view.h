// A non-owning row-major [rows][cols] weight matrix in one of the formats of
// DType. Quantized layouts (see src/quant/quant_formats.h):
//   q8: rows in blocks of 16 (the last padded with rows of bytes 0 and scale
//       0, never stored by the kernels), cols % 4 == 0.
//       data = uint8 [stored_rows / 16][cols / 4][16][4]: 64 bytes hold 4
//       columns of 16 rows (row = 32-bit lane), each weight stored + 128;
//       row_scale = f32 [stored_rows]. stored_rows = rows rounded up to 16.
//   q4: rows in blocks of 16, columns in groups of 32 (rows % 16 == 0,
//       cols % 32 == 0). data = [rows / 16][cols / 32][4][16][4 bytes]: step s
//       of a block's group is 64 bytes, 4 per row (row = lane, so one 512-bit
//       load feeds 16 int32 lanes, one per row); byte j of row l holds column
//       8s + j (low nibble) and 8s + 4 + j (high nibble), each stored + 8.
//       group_scale = f16 bits [rows / 16][cols / 32][16].
//       Decode reads one sequential stream, and each group's 16 scales are
//       one vector.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kvlm/dtype.h"

namespace kvlm {

struct MatrixView {
  DType dtype = DType::f32;
  std::size_t rows = 0;
  std::size_t cols = 0;
  const void* data = nullptr;
  const float* row_scale = nullptr;           // q8
  const std::uint16_t* group_scale = nullptr; // q4 (f16 bits)

  // Bytes a full pass over the matrix reads (weights and scales).
  std::size_t bytes() const {
    switch (dtype) {
      case DType::q8: return (rows + 15) / 16 * 16 * (cols + 4);
      case DType::q4: return rows * cols / 2 + rows * (cols / 32) * 2;
      default: return rows * cols * dtype_size(dtype);
    }
  }
};

}  // namespace kvlm
