// Safetensors checkpoints, single file or sharded (model.safetensors.index.json),
// memory-mapped. Every tensor's dtype, shape and byte range are validated when
// the header is read, so a pointer handed out is always inside its file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace kvlm {

enum class StDType { f32, f16, bf16, other };

struct StTensor {
  std::string name;
  StDType dtype = StDType::other;
  std::string dtype_name;  // as written in the header, e.g. "BF16"
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;
  const MappedFile* file = nullptr;

  std::int64_t numel() const;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);
  const std::map<std::string, StTensor>& tensors() const { return tensors_; }
  const MappedFile& file() const { return *file_; }

 private:
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, StTensor> tensors_;
};

// All the safetensors files of one model directory.
class SafetensorsCheckpoint {
 public:
  // Opens model.safetensors.index.json if present (every shard it names), else
  // model.safetensors, else the directory's only *.safetensors file.
  explicit SafetensorsCheckpoint(const std::filesystem::path& model_dir);

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws Error "missing tensor NAME in DIR".
  const StTensor& get(const std::string& name) const;
  std::size_t size() const { return index_.size(); }
  const std::map<std::string, const StTensor*>& all() const { return index_; }

 private:
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const StTensor*> index_;
};

}  // namespace kvlm
