// The .kvlm package: one mmap-able file holding a converted model.
//
//   [0, 8)       magic "KVLMPKG1"
//   [8, 16)      u64 little-endian: header length H
//   [16, 16+H)   header JSON (padded with spaces): {"format_version": 6, "dtype": "q8", "data_offset": D,
//                "config": {...}, "generation_config": {...} | null,
//                "files": {"tokenizer.json": [offset, bytes, checksum], ...},
//                "tensors": {"model.layers.0.self_attn.q_proj.weight": {"format": "q8",
//                    "shape": [rows, cols], "data": [offset, bytes, checksum]}, ...}}
//   [16+H, 24+H) u64 little-endian: the checksum of bytes [0, 16+H), checked at every load
//   [D, end)     blobs (tensor data, carried files); every [offset, bytes, checksum]
//                is relative to D, and D and every offset are multiples of kAlignment.
//
// Checksums are XXH3-64 (io/package_checksum.h); a blob's is written as 16
// lowercase hex digits and checked only when asked (LoadOptions::verify,
// `kvlm verify`), since that reads every page.
// Tensors are stored in the layout the kernels read (core/matrix_view.h), so
// loading is an mmap plus pointer set-up. Norms and biases are f32 vectors
// with shape [n].
#pragma once

#include <cstddef>
#include <string_view>

namespace kvlm::package {

constexpr std::string_view kMagic = "KVLMPKG1";
// 3: q8 and q4 in 16-row interleaved blocks; 4: q4 in 4-block tiles, scales inside;
// 5: q8 with a scale per row and group of 32, inside its data; 6: checksums of
// the header and of every blob.
constexpr int kFormatVersion = 6;
constexpr std::size_t kAlignment = 256;
constexpr std::size_t kPrefixBytes = 16;         // magic and header length
constexpr std::size_t kHeaderChecksumBytes = 8;  // after the header JSON

// Text files of a model directory carried inside the package.
constexpr std::string_view kCarriedFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                              "chat_template.jinja"};

}  // namespace kvlm::package
