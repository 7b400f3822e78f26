// TensorSource over a GGUF: llama.cpp's tensor names mapped to Hugging Face
// ones, quantized tensors dequantized to f32 when asked for.
#include <cstdint>
#include <map>
#include <optional>
#include <regex>

#include "core/large_buffer.h"
#include "gguf/gguf_file.h"
#include "kvlm/error.h"
#include "model/tensor_source.h"

namespace kvlm {
namespace {

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight".
std::optional<std::string> gguf_name(const std::string& hf) {
  static const std::map<std::string, std::string> kTop = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"lm_head.weight", "output.weight"},
      {"model.norm.weight", "output_norm.weight"},
  };
  static const std::map<std::string, std::string> kLayer = {
      {"input_layernorm", "attn_norm"},       {"post_attention_layernorm", "ffn_norm"},
      {"self_attn.q_proj", "attn_q"},         {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},         {"self_attn.o_proj", "attn_output"},
      {"mlp.gate_proj", "ffn_gate"},          {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  if (const auto it = kTop.find(hf); it != kTop.end()) return it->second;
  static const std::regex kLayerName(R"(model\.layers\.(\d+)\.(.+)\.(weight|bias))");
  std::smatch m;
  if (!std::regex_match(hf, m, kLayerName)) return std::nullopt;
  const auto it = kLayer.find(m[2].str());
  if (it == kLayer.end()) return std::nullopt;
  return "blk." + m[1].str() + "." + it->second + "." + m[3].str();
}

class GgufSource final : public TensorSource {
 public:
  GgufSource(const std::filesystem::path& path, int num_heads, int num_kv_heads)
      : gguf_(path), llama_(gguf_.optional_string("general.architecture") == "llama"),
        num_heads_(num_heads), num_kv_heads_(num_kv_heads) {}

  SourceTensorInfo info(const std::string& name) const override {
    const GgufTensor& t = get(name);
    SourceTensorInfo info;
    for (auto d = t.dims.rbegin(); d != t.dims.rend(); ++d) info.shape.push_back(std::int64_t(*d));
    info.dtype_name = ggml_type_info(t.type).name;
    return info;
  }

  SourceTensorData data(const std::string& name) override {
    const GgufTensor& t = get(name);
    const int heads = permuted_heads(name);
    // Used in place when the file's alignment lets kernels read it as elements (general.alignment may be 1).
    const bool aligned = reinterpret_cast<std::uintptr_t>(t.data) % alignof(float) == 0;
    if (heads == 0 && aligned && (t.type == GgmlType::f32 || t.type == GgmlType::f16 || t.type == GgmlType::bf16)) {
      const DType d = t.type == GgmlType::f32 ? DType::f32 : t.type == GgmlType::f16 ? DType::f16 : DType::bf16;
      return {d, t.data, t.nbytes, true};
    }
    // Row by row (a row is whole blocks), each to its Hugging Face position.
    // A permuted bias is a column of rows of one element each.
    const std::size_t cols = heads > 0 && t.dims.size() == 1 ? 1 : std::size_t(t.dims[0]);
    const std::size_t rows = std::size_t(t.elements() / cols);
    const std::size_t row_bytes = t.nbytes / rows;
    if (heads > 0 && rows % std::size_t(2 * heads) != 0)
      throw Error(gguf_.path().string() + ": tensor " + *gguf_name(name) + " has " + std::to_string(rows) +
                  " rows, not a whole number of rotary pairs for " + std::to_string(heads) + " heads");
    const std::size_t head_rows = heads > 0 ? rows / std::size_t(heads) : 1, half = head_rows / 2;
    auto [it, fresh] = buffers_.try_emplace(name, rows * cols * sizeof(float));
    float* out = reinterpret_cast<float*>(it->second.data());
    for (std::size_t r = 0; r < rows; ++r) {
      std::size_t to = r;
      if (heads > 0) {  // llama.cpp row h*hd + 2i + j holds Hugging Face row h*hd + j*hd/2 + i
        const std::size_t h = r / head_rows, within = r % head_rows;
        to = h * head_rows + (within % 2) * half + within / 2;
      }
      ggml_dequantize(t.type, t.data + r * row_bytes, out + to * cols, cols);
    }
    return {DType::f32, it->second.data(), rows * cols * sizeof(float), false};
  }

  void release(const std::string& name) override {
    buffers_.erase(name);
    const GgufTensor& t = get(name);
    gguf_.file().release(t.data, t.nbytes);
  }

 private:
  const GgufTensor& get(const std::string& name) const {
    const auto mapped = gguf_name(name);
    const GgufTensor* t = mapped ? gguf_.tensor(*mapped) : nullptr;
    if (!t) throw Error("missing tensor " + (mapped ? *mapped : name) + " in " + gguf_.path().string());
    return *t;
  }
  // Heads whose rows llama.cpp interleaved: q and k (weights and biases) of a llama model.
  int permuted_heads(const std::string& name) const {
    if (!llama_) return 0;
    if (name.find("self_attn.q_proj.") != std::string::npos) return num_heads_;
    if (name.find("self_attn.k_proj.") != std::string::npos) return num_kv_heads_;
    return 0;
  }

  GgufFile gguf_;
  bool llama_;
  int num_heads_, num_kv_heads_;
  std::map<std::string, LargeBuffer> buffers_;
};

}  // namespace

std::shared_ptr<TensorSource> gguf_source(const std::filesystem::path& path, int num_heads, int num_kv_heads) {
  return std::make_shared<GgufSource>(path, num_heads, num_kv_heads);
}

}  // namespace kvlm
