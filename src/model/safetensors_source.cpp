// TensorSource over a Hugging Face directory's safetensors, used in place
// when the data is aligned for its element type (safetensors promises no
// alignment; kernels load whole elements), else copied.
#include <cstdint>
#include <cstring>
#include <map>

#include "core/large_buffer.h"
#include "io/safetensors.h"
#include "model/tensor_source.h"

namespace kvlm {
namespace {

DType to_dtype(StDType t) {
  switch (t) {
    case StDType::f16: return DType::f16;
    case StDType::bf16: return DType::bf16;
    default: return DType::f32;
  }
}

class SafetensorsSource final : public TensorSource {
 public:
  explicit SafetensorsSource(const std::filesystem::path& dir) : ckpt_(dir) {}

  SourceTensorInfo info(const std::string& name) const override {
    const StTensor& t = ckpt_.get(name);
    return {t.shape, t.dtype != StDType::other, t.dtype_name};
  }
  SourceTensorData data(const std::string& name) override {
    const StTensor& t = ckpt_.get(name);
    const DType d = to_dtype(t.dtype);
    if (reinterpret_cast<std::uintptr_t>(t.data) % dtype_size(d) == 0) return {d, t.data, t.nbytes, true};
    auto [it, fresh] = buffers_.try_emplace(name, t.nbytes);
    if (fresh && t.nbytes) std::memcpy(it->second.data(), t.data, t.nbytes);
    return {d, it->second.data(), t.nbytes, false};
  }
  void release(const std::string& name) override {
    buffers_.erase(name);
    const StTensor& t = ckpt_.get(name);
    t.file->release(t.data, t.nbytes);
  }

 private:
  SafetensorsCheckpoint ckpt_;
  std::map<std::string, LargeBuffer> buffers_;  // copies of unaligned tensors
};

}  // namespace

std::shared_ptr<TensorSource> safetensors_source(const std::filesystem::path& model_dir) {
  return std::make_shared<SafetensorsSource>(model_dir);
}

}  // namespace kvlm
