// Where the loader finds a model's tensors by their Hugging Face names and
// shapes: a safetensors checkpoint, or a GGUF (whose quantized tensors are
// dequantized, and llama q/k rows put back in rotate-half order, on demand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kvlm/dtype.h"

namespace kvlm {

struct SourceTensorInfo {
  std::vector<std::int64_t> shape;  // Hugging Face order: [rows, cols]
  bool readable = true;             // false: a dtype kvlm cannot convert
  std::string dtype_name;           // as the file names it, for errors
};

// A tensor's elements in Hugging Face layout, f32, f16 or bf16.
struct SourceTensorData {
  DType dtype = DType::f32;
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;
  bool in_file = true;  // points into the mapped file (else a temporary buffer)
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // Throws Error naming the tensor and the file when it is missing.
  virtual SourceTensorInfo info(const std::string& name) const = 0;
  // Valid until release(name).
  virtual SourceTensorData data(const std::string& name) = 0;
  // The data is not needed any more: its pages or buffer can go.
  virtual void release(const std::string& name) = 0;
};

std::shared_ptr<TensorSource> safetensors_source(const std::filesystem::path& model_dir);
// For general.architecture llama the attn_q / attn_k rows are put back from
// llama.cpp's interleaved RoPE order (pairs 2i, 2i+1 of each head) into
// rotate-half order (pairs i, i + head_dim/2), for `num_heads` / `num_kv_heads` heads.
std::shared_ptr<TensorSource> gguf_source(const std::filesystem::path& path, int num_heads, int num_kv_heads);

}  // namespace kvlm
