// A non-owning row-major [rows][cols] weight matrix in one of the formats of
// DType. Quantized layouts (see src/quant/quant_formats.h):
//   q8: rows in blocks of 16 (the last padded with rows of bytes 0 and scale
//       0, never stored by the kernels), cols % 4 == 0, columns in groups of
//       32 (the last may be shorter). data = the blocks in row order; a block
//       is its groups in column order, and a group is its column quads (8 but
//       in a short last group), 64 bytes each holding 4 columns of 16 rows
//       (row = 32-bit lane, each weight stored + 128), then 32 bytes of
//       scales, f16 bits, one per row. So a block is one sequential stream
//       for decode, and a group's scales follow the weights they scale
//       (quant::q8_block_bytes). stored_rows = rows rounded up to 16.
//   q4: rows in blocks of 16, columns in groups of 32 (rows % 16 == 0,
//       cols % 32 == 0). One block's group is 256 bytes of weights, as 4
//       steps of 64 bytes, 4 per row (row = lane, so one 512-bit load feeds
//       16 int32 lanes, one per row): byte j of row l in step s holds column
//       8s + j (low nibble) and 8s + 4 + j (high nibble), each stored + 8;
//       and 32 bytes of scales, f16 bits, one per row.
//       Blocks are stored 4 to a tile (64 rows; a matrix's last tile may
//       hold 1-3), and a tile group by group: for each group, its n blocks'
//       weights, then their scales, n x 288 bytes. data = the tiles in row
//       order (quant::q4_block_place); there is no separate scale array.
//       Decode's 4-block tile then reads one sequential stream (8% faster
//       on the 1B shape than a stream per block and per scale array; q8's
//       4 block streams made one were 10% slower, so q8 keeps a stream per
//       block).
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

  // Bytes a full pass over the matrix reads (weights and scales).
  std::size_t bytes() const {
    switch (dtype) {
      case DType::q8: return (rows + 15) / 16 * (cols / 4 * 64 + (cols + 31) / 32 * 32);
      case DType::q4: return rows * cols / 2 + rows * (cols / 32) * 2;
      default: return rows * cols * dtype_size(dtype);
    }
  }
};

}  // namespace kvlm
