// TensorSource over a Hugging Face directory's safetensors, used in place.
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
    return {to_dtype(t.dtype), t.data, t.nbytes, true};
  }
  void release(const std::string& name) override {
    const StTensor& t = ckpt_.get(name);
    t.file->release(t.data, t.nbytes);
  }

 private:
  SafetensorsCheckpoint ckpt_;
};

}  // namespace

std::shared_ptr<TensorSource> safetensors_source(const std::filesystem::path& model_dir) {
  return std::make_shared<SafetensorsSource>(model_dir);
}

}  // namespace kvlm
