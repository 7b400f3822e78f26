// Scalar quantizers and dequantizers of the q8 and q4 weight formats (layouts
// in core/matrix_view.h), and of the grouped int8 activations the quantized
// matmuls multiply them with. Used by the converter, the loader, the
// generic kernels and the tests; the SIMD kernels must agree with these.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/matrix_view.h"

namespace kvlm::quant {

constexpr std::size_t kQ4Group = 32;      // columns per q8 / q4 weight scale and per activation scale
constexpr std::size_t kBlockRows = 16;    // rows interleaved in one q8 / q4 block (one per 32-bit lane of a zmm)
constexpr std::size_t kQ4BlockRows = kBlockRows;
constexpr std::size_t kQ8BlockBytes = kBlockRows * 4;  // one block x 4 columns: 64 bytes
constexpr std::size_t kQ8GroupQuads = kQ4Group / 4;      // column quads per q8 group
constexpr std::size_t kQ8ScaleBytes = kBlockRows * 2;    // one block x one group: 16 f16 scales
constexpr std::size_t kQ8GroupBytes = kQ8GroupQuads * kQ8BlockBytes + kQ8ScaleBytes;  // a whole group: 544
constexpr std::size_t kQ4BlockBytes = kQ4BlockRows * kQ4Group / 2;  // one block x one group: 256 bytes
constexpr std::size_t kQ4ScaleBytes = kQ4BlockRows * 2;                // one block x one group: 16 f16 scales
constexpr std::size_t kQ4GroupBytes = kQ4BlockBytes + kQ4ScaleBytes;    // 288
// Row blocks stored together, group by group, so that decode's 4-block tile
// reads one sequential stream (core/matrix_view.h).
constexpr std::size_t kTileBlocks = 4;

// Whether a [rows][cols] matrix can be stored as q4; others fall back to q8.
constexpr bool q4_fits(std::size_t rows, std::size_t cols) {
  return rows % kQ4BlockRows == 0 && cols % kQ4Group == 0 && cols > 0;
}

// q8: per row and group of 32 columns (the last may be shorter), w ~= q *
// scale with scale = the group's absmax / 127 as f16 (as llama.cpp's Q8_0),
// q = round(w / scale) in [-127, 127], stored as the unsigned byte q + 128
// (so vpdpbusd can take the weights as its unsigned operand). Rows are
// stored in whole 16-row blocks; the last block's padding rows have bytes 0
// (value -128) and scale 0, and kernels never store their lanes. cols must be
// a multiple of 4.
constexpr std::size_t q8_stored_rows(std::size_t rows) { return (rows + kBlockRows - 1) / kBlockRows * kBlockRows; }
constexpr bool q8_fits(std::size_t cols) { return cols % 4 == 0 && cols > 0; }
// Bytes of one q8 row block: every group's weights, then its 16 scales.
constexpr std::size_t q8_block_bytes(std::size_t cols) {
  return cols / 4 * kQ8BlockBytes + (cols + kQ4Group - 1) / kQ4Group * kQ8ScaleBytes;
}
// Column quads in group g of a row with `quads` quads (8 but in a short last group).
constexpr std::size_t q8_group_quads(std::size_t quads, std::size_t g) {
  return std::min(kQ8GroupQuads, quads - g * kQ8GroupQuads);
}
// Writes row r of a q8 matrix with `cols` columns (layout in
// core/matrix_view.h) into its data. Rows touch disjoint bytes, so threads
// may quantize different rows at once.
void quantize_row_q8(const float* row, std::size_t cols, std::size_t r, std::uint8_t* data);
// The integer value (in [-127, 127]) of weight (r, c) of a q8 matrix.
int q8_value(const MatrixView& w, std::size_t r, std::size_t c);
// The scale of row r's group g.
float q8_scale(const MatrixView& w, std::size_t r, std::size_t g);
float dequantize_q8(const MatrixView& w, std::size_t r, std::size_t c);

// q4: per group of 32, scale = the signed value of largest magnitude / -8
// (f16, as stored), q = clamp(round(w / scale), -8, 7), as llama.cpp's Q4_0.
// Where row block `block` of a q4 matrix with `blocks` row blocks and
// `groups` column groups keeps group 0's weights and scales, as byte offsets
// into the matrix's data; group g lies g x group_stride bytes further on.
// Blocks of one tile are adjacent: block + 1's weights are kQ4BlockBytes on,
// its scales kQ4ScaleBytes on.
struct Q4BlockPlace {
  std::size_t data, scales, group_stride;
};
constexpr Q4BlockPlace q4_block_place(std::size_t blocks, std::size_t groups, std::size_t block) {
  const std::size_t tile = block / kTileBlocks, in_tile = block % kTileBlocks;
  const std::size_t tile_blocks = std::min(kTileBlocks, blocks - tile * kTileBlocks);
  const std::size_t base = tile * kTileBlocks * groups * kQ4GroupBytes;
  return {base + in_tile * kQ4BlockBytes, base + tile_blocks * kQ4BlockBytes + in_tile * kQ4ScaleBytes,
          tile_blocks * kQ4GroupBytes};
}
// Writes row r of a [rows][cols] q4 matrix (layout in core/matrix_view.h)
// into its data. Rows touch disjoint bytes, so threads may quantize different
// rows at once.
void quantize_row_q4(const float* row, std::size_t rows, std::size_t cols, std::size_t r, std::uint8_t* data);
// The integer value (in [-8, 7]) of weight (r, c) of a q4 matrix.
int q4_value(const MatrixView& w, std::size_t r, std::size_t c);
// The scale of row r's group g.
float q4_scale(const MatrixView& w, std::size_t r, std::size_t g);
float dequantize_q4(const MatrixView& w, std::size_t r, std::size_t c);

// n values to int8 with one symmetric scale (absmax / 127). q: n int8;
// group_corr (if non-null): for each whole group of 32, -8 * sum of its q.
void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr);
// quantize_activations or an ISA's bit-exact version of it (kernels.h).
using QuantizeFn = void (*)(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr);
// The activations of q8 and q4 matmuls: one scale per group of 32 (as
// llama.cpp's Q8_0 activations; the last group may be shorter), so an
// outlier channel costs only its own group precision. scales and group_corr
// hold activation_groups(n) values; group_corr = -8 * the group's sum of q,
// the correction that lets the kernels multiply stored unsigned weights (q4
// nibbles + 8; q8 bytes + 128 start from 16 x it). Each group goes through
// `quantize` (the kernels pass their ISA's).
constexpr std::size_t activation_groups(std::size_t n) { return (n + kQ4Group - 1) / kQ4Group; }
void quantize_activations_grouped(const float* x, std::size_t n, std::int8_t* q, float* scales,
                                  std::int32_t* group_corr, QuantizeFn quantize = quantize_activations);

}  // namespace kvlm::quant
