// Model and generation configuration as read from a Hugging Face model
// directory (config.json, generation_config.json).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kvlm {

enum class Architecture { llama, qwen2 };

// rope_scaling.rope_type == "llama3" (Llama 3.1 / 3.2); absent means plain RoPE.
struct Llama3RopeScaling {
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192;
};

// rms_norm_eps when config.json has none: transformers' LlamaConfig and
// Qwen2Config default.
inline constexpr double kDefaultRmsNormEps = 1e-6;

struct ModelConfig {
  Architecture architecture = Architecture::llama;
  std::string architecture_name;  // e.g. "LlamaForCausalLM"
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  double rms_norm_eps = kDefaultRmsNormEps;
  double rope_theta = 10000.0;
  bool has_llama3_rope_scaling = false;
  Llama3RopeScaling rope_scaling;
  // Per-frequency divisors of inv_freq [head_dim / 2], as a GGUF's
  // rope_freqs tensor carries llama3 scaling; empty when the model has none.
  // config.json key "rope_freq_factors" (kvlm's own, written for GGUF models).
  std::vector<float> rope_freq_factors;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v (and o for Llama) biases; Qwen2 always has q/k/v biases
  bool o_proj_bias = false;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  std::string torch_dtype;

  // Parses config.json text; `source` names the file in error messages.
  static ModelConfig parse(const std::string& json_text, const std::string& source);
  static ModelConfig load(const std::filesystem::path& model_dir);
};

struct GenerationConfig {
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  bool do_sample = false;
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;
  double repetition_penalty = 1.0;

  // Parses generation_config.json text; `source` names it in errors. Missing
  // fields keep defaults, bos/eos defaulting to `model`'s.
  static GenerationConfig parse(const std::string& json_text, const std::string& source, const ModelConfig& model);
  // Missing file -> defaults with bos/eos taken from `model`.
  static GenerationConfig load(const std::filesystem::path& model_dir, const ModelConfig& model);
};

}  // namespace kvlm
