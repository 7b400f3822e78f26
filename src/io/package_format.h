// The .kvlm package: one mmap-able file holding a converted model.
//
//   [0, 8)    magic "KVLMPKG1"
//   [8, 16)   u64 little-endian: header length H
//   [16, 16+H) header JSON: {"format_version": 5, "dtype": "q8", "data_offset": D, "config": {...},
//             "generation_config": {...} | null,
//             "files": {"tokenizer.json": [offset, bytes], ...},
//             "tensors": {"model.layers.0.self_attn.q_proj": {"format": "q8",
//                 "shape": [rows, cols], "data": [offset, bytes]}, ...}}
//   [D, end)  blobs (tensor data, scales, carried files); every [offset, bytes]
//             is relative to D, and D and every offset are multiples of kAlignment.
//
// Tensors are stored in the layout the kernels read (core/matrix_view.h), so
// loading is an mmap plus pointer set-up. Norms and biases are f32 vectors
// with shape [n].
#pragma once

#include <cstddef>
#include <string_view>

namespace kvlm::package {

constexpr std::string_view kMagic = "KVLMPKG1";
// 3: q8 and q4 in 16-row interleaved blocks; 4: q4 in 4-block tiles, scales inside;
// 5: q8 with a scale per row and group of 32, inside its data.
constexpr int kFormatVersion = 5;
constexpr std::size_t kAlignment = 256;

// Text files of a model directory carried inside the package.
constexpr std::string_view kCarriedFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                              "chat_template.jinja"};

}  // namespace kvlm::package
