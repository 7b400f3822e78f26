// config.json and generation_config.json from a GGUF's metadata.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "gguf/gguf_hf_files.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

using nlohmann::json;

// Token texts llama.cpp treats as end of generation besides the eos/eot/eom ids.
constexpr std::array<std::string_view, 8> kEndOfGenerationTexts{
    "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
};

std::int64_t positive(const GgufFile& g, const std::string& key) {
  const std::int64_t v = g.integer(key);
  if (v <= 0 || v > (std::int64_t(1) << 30)) g.fail("metadata " + key + " = " + std::to_string(v) + " is out of range");
  return v;
}

std::int64_t vocab_size(const GgufFile& g, const std::string& arch) {
  if (const auto n = g.optional_integer(arch + ".vocab_size")) return *n;
  if (const json* tokens = g.find("tokenizer.ggml.tokens"); tokens && tokens->is_array()) return std::int64_t(tokens->size());
  if (const GgufTensor* t = g.tensor("token_embd.weight"); t && t->dims.size() == 2) return std::int64_t(t->dims[1]);
  g.fail("cannot tell the vocabulary size (no " + arch + ".vocab_size, tokenizer.ggml.tokens or token_embd.weight)");
}

std::vector<std::int64_t> end_of_generation_ids(const GgufFile& g) {
  std::vector<std::int64_t> ids;
  auto add = [&](std::int64_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (const auto id = g.optional_integer(key)) add(*id);
  const json* tokens = g.find("tokenizer.ggml.tokens");
  const json* types = g.find("tokenizer.ggml.token_type");
  if (tokens && types && tokens->is_array() && types->is_array() && types->size() == tokens->size()) {
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      const json& type = (*types)[i];
      if (!type.is_number_integer() || !(*tokens)[i].is_string()) continue;
      if (type.get<std::int64_t>() != gguf_token_type::control && type.get<std::int64_t>() != gguf_token_type::user_defined)
        continue;
      const std::string& text = (*tokens)[i].get_ref<const std::string&>();
      if (std::find(kEndOfGenerationTexts.begin(), kEndOfGenerationTexts.end(), text) != kEndOfGenerationTexts.end())
        add(std::int64_t(i));
    }
  }
  return ids;
}

}  // namespace

json gguf_config_json(const GgufFile& g) {
  const std::string arch = g.string("general.architecture");
  json c;
  if (arch == "llama") {
    c["architectures"] = {"LlamaForCausalLM"};
    c["model_type"] = "llama";
  } else if (arch == "qwen2") {
    c["architectures"] = {"Qwen2ForCausalLM"};
    c["model_type"] = "qwen2";
  } else {
    g.fail("general.architecture '" + printable(arch) + "' is not supported (kvlm runs llama and qwen2)");
  }
  if (const auto experts = g.optional_integer(arch + ".expert_count"); experts && *experts > 0)
    g.fail("mixture-of-experts models (" + arch + ".expert_count = " + std::to_string(*experts) + ") are not supported");
  const std::int64_t hidden = positive(g, arch + ".embedding_length");
  const std::int64_t heads = positive(g, arch + ".attention.head_count");
  c["hidden_size"] = hidden;
  c["intermediate_size"] = positive(g, arch + ".feed_forward_length");
  c["num_hidden_layers"] = positive(g, arch + ".block_count");
  c["num_attention_heads"] = heads;
  c["num_key_value_heads"] = g.optional_integer(arch + ".attention.head_count_kv").value_or(heads);
  const std::string key_length = arch + ".attention.key_length";
  const std::int64_t head_dim = g.find(key_length) ? positive(g, key_length) : hidden / heads;
  c["head_dim"] = head_dim;
  if (const auto v = g.optional_integer(arch + ".attention.value_length"); v && *v != head_dim)
    g.fail("value_length " + std::to_string(*v) + " differs from key_length " + std::to_string(head_dim));
  if (const auto rot = g.optional_integer(arch + ".rope.dimension_count"); rot && *rot != head_dim)
    g.fail("partial rotary embeddings (" + arch + ".rope.dimension_count = " + std::to_string(*rot) +
                ", head dim " + std::to_string(head_dim) + ") are not supported");
  c["vocab_size"] = vocab_size(g, arch);
  c["max_position_embeddings"] = positive(g, arch + ".context_length");
  if (const auto eps = g.optional_real(arch + ".attention.layer_norm_rms_epsilon")) c["rms_norm_eps"] = *eps;
  if (const auto theta = g.optional_real(arch + ".rope.freq_base")) c["rope_theta"] = *theta;
  if (const auto scaling = g.optional_string(arch + ".rope.scaling.type"); scaling && *scaling != "none")
    g.fail(arch + ".rope.scaling.type '" + printable(*scaling) + "' is not supported");
  c["tie_word_embeddings"] = g.tensor("output.weight") == nullptr;
  c["hidden_act"] = "silu";
  if (arch == "llama") c["attention_bias"] = g.tensor("blk.0.attn_q.bias") != nullptr;
  if (const GgufTensor* f = g.tensor("rope_freqs.weight")) {
    if (f->type != GgmlType::f32 || f->elements() != std::uint64_t(head_dim / 2))
      g.fail("rope_freqs.weight must be " + std::to_string(head_dim / 2) + " F32 values");
    std::vector<float> factors(std::size_t(head_dim / 2));  // (copied: the file's alignment may be under 4)
    std::memcpy(factors.data(), f->data, factors.size() * sizeof(float));
    c["rope_freq_factors"] = factors;
  }
  if (const auto bos = g.optional_integer("tokenizer.ggml.bos_token_id")) c["bos_token_id"] = *bos;
  const std::vector<std::int64_t> eos = end_of_generation_ids(g);
  if (!eos.empty()) c["eos_token_id"] = eos;
  return c;
}

json gguf_generation_config_json(const GgufFile& g) {
  json gen = json::object();
  if (const auto bos = g.optional_integer("tokenizer.ggml.bos_token_id")) gen["bos_token_id"] = *bos;
  const std::vector<std::int64_t> eos = end_of_generation_ids(g);
  if (!eos.empty()) gen["eos_token_id"] = eos;
  // Recent GGUFs carry the model's recommended sampling.
  const auto temp = g.optional_real("general.sampling.temp");
  const auto top_p = g.optional_real("general.sampling.top_p");
  const auto top_k = g.optional_integer("general.sampling.top_k");
  if (temp || top_p || top_k) gen["do_sample"] = true;
  if (temp) gen["temperature"] = *temp;
  if (top_p) gen["top_p"] = *top_p;
  if (top_k) gen["top_k"] = *top_k;
  return gen;
}

}  // namespace kvlm
