// Writes a single-file safetensors checkpoint, atomically (temp file + rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kvlm {

struct TensorToWrite {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16"
  std::vector<std::int64_t> shape;
  // Fills `bytes` bytes at `out`, starting at byte `offset` of the tensor.
  std::function<void(std::byte* out, std::size_t offset, std::size_t bytes)> fill;
};

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors);

}  // namespace kvlm
