#include "kvlm/synth.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/half.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "io/safetensors_writer.h"
#include "kvlm/config.h"
#include "kvlm/error.h"
#include "model/embedded_data.h"

namespace kvlm {

namespace {

using nlohmann::ordered_json;

// Tiny Llama: llama3 rope scaling whose bands all fall inside a short
// context (original_max 64), GQA 4:1, an explicit head_dim that differs from
// hidden / heads, tied embeddings.
constexpr const char* kTinyLlamaConfig = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 3,
  "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 16,
  "vocab_size": 512, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
  "rope_theta": 500000.0,
  "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
  "hidden_act": "silu", "attention_bias": false, "mlp_bias": false,
  "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": [2, 3], "torch_dtype": "float32"
})";

// Tiny Qwen2: q/k/v biases, and GQA 6:1 (12 heads over 2 KV heads of 16) as
// Qwen 2.5 1.5B has, so attention's 4 + 2 head tiles run end to end.
constexpr const char* kTinyQwen2Config = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 192, "intermediate_size": 160, "num_hidden_layers": 3,
  "num_attention_heads": 12, "num_key_value_heads": 2,
  "vocab_size": 512, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
  "rope_theta": 1000000.0, "hidden_act": "silu", "tie_word_embeddings": true,
  "use_sliding_window": false, "sliding_window": 4096, "max_window_layers": 3,
  "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"
})";

// The shapes of Qwen/Qwen2.5-1.5B-Instruct's config.json.
constexpr const char* kQwen25Config = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu",
  "hidden_size": 1536, "initializer_range": 0.02, "intermediate_size": 8960,
  "max_position_embeddings": 32768, "max_window_layers": 21, "num_attention_heads": 12,
  "num_hidden_layers": 28, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936
})";

constexpr const char* kQwen25GenerationConfig = R"({
  "bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true,
  "eos_token_id": [151645, 151643], "repetition_penalty": 1.1,
  "temperature": 0.7, "top_p": 0.8, "top_k": 20
})";

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t name_hash(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), std::streamsize(text.size()));
  if (!out) throw Error("cannot write " + path.string());
}

// The id of a special token named in tokenizer_config.json (string or {"content": ...}).
int added_token_id(const nlohmann::json& tokenizer, const nlohmann::json& value) {
  const std::string content = value.is_object() ? value.value("content", "") : value.is_string() ? value.get<std::string>() : "";
  if (content.empty() || !tokenizer.contains("added_tokens")) return -1;
  for (const auto& t : tokenizer["added_tokens"])
    if (t.value("content", "") == content) return t.value("id", -1);
  return -1;
}

// Copies tokenizer files in; for the tiny shapes, sizes the vocabulary to the
// tokenizer and takes bos/eos from it so generation stops where it should.
void add_tokenizer(const std::filesystem::path& from, const std::filesystem::path& to, bool keep_configs,
                   ordered_json& config, ordered_json& generation) {
  namespace fs = std::filesystem;
  if (!fs::exists(from / "tokenizer.json")) throw Error("no tokenizer.json in " + from.string());
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"}) {
    if (!fs::exists(from / name)) continue;
    if (keep_configs && std::string(name) != "tokenizer.json") continue;
    fs::copy_file(from / name, to / name, fs::copy_options::overwrite_existing);
  }
  if (keep_configs) return;
  const nlohmann::json tok = read_json_file(from / "tokenizer.json");
  int max_id = -1;
  if (tok.contains("model") && tok["model"].contains("vocab") && tok["model"]["vocab"].is_object())
    for (const auto& [piece, id] : tok["model"]["vocab"].items()) max_id = std::max(max_id, id.get<int>());
  if (tok.contains("added_tokens"))
    for (const auto& t : tok["added_tokens"]) max_id = std::max(max_id, t.value("id", -1));
  if (max_id < 0) throw Error(from.string() + "/tokenizer.json: no vocabulary found");
  config["vocab_size"] = max_id + 1;
  if (fs::exists(from / "tokenizer_config.json")) {
    const nlohmann::json tc = read_json_file(from / "tokenizer_config.json");
    const int bos = tc.contains("bos_token") ? added_token_id(tok, tc["bos_token"]) : -1;
    const int eos = tc.contains("eos_token") ? added_token_id(tok, tc["eos_token"]) : -1;
    config["bos_token_id"] = bos >= 0 ? ordered_json(bos) : ordered_json(nullptr);
    generation["bos_token_id"] = config["bos_token_id"];
    if (eos >= 0) config["eos_token_id"] = generation["eos_token_id"] = eos;
  }
}

}  // namespace

std::vector<std::string> synth_shapes() { return {"llama-3.2-1b", "qwen2.5-1.5b", "tiny-llama", "tiny-qwen2"}; }

void synth_model(const SynthOptions& o) {
  namespace fs = std::filesystem;
  // Checked before anything is written: the byte writer below knows only plain floats.
  if (o.dtype != DType::f32 && o.dtype != DType::f16 && o.dtype != DType::bf16)
    throw Error("synth: dtype " + std::string(dtype_name(o.dtype)) + " is not supported (expected f32, f16 or bf16)");
  if (o.out_dir.empty()) throw Error("synth needs an output directory");
  std::error_code ec;
  if (fs::exists(o.out_dir, ec) && !fs::is_directory(o.out_dir, ec))
    throw Error("synth: output " + o.out_dir.string() + " exists and is not a directory");
  if (!o.tokenizer_dir.empty() && !fs::exists(o.tokenizer_dir / "tokenizer.json", ec))
    throw Error("synth: no tokenizer.json in " + o.tokenizer_dir.string());
  ordered_json config, generation;
  const bool real_shape = o.shape == "llama-3.2-1b" || o.shape == "qwen2.5-1.5b";
  if (o.shape == "llama-3.2-1b") {
    config = ordered_json::parse(embedded::llama32_config_json());
    generation = ordered_json::parse(embedded::llama32_generation_config_json());
  } else if (o.shape == "qwen2.5-1.5b") {
    config = ordered_json::parse(kQwen25Config);
    generation = ordered_json::parse(kQwen25GenerationConfig);
  } else if (o.shape == "tiny-llama" || o.shape == "tiny-qwen2") {
    config = ordered_json::parse(o.shape == "tiny-llama" ? kTinyLlamaConfig : kTinyQwen2Config);
    generation = {{"bos_token_id", config["bos_token_id"]}, {"eos_token_id", config["eos_token_id"]}};
  } else {
    throw Error("unknown synth shape '" + o.shape + "' (expected llama-3.2-1b, qwen2.5-1.5b, tiny-llama or tiny-qwen2)");
  }
  if (!fs::create_directories(o.out_dir, ec) && ec)
    throw Error("synth: cannot create " + o.out_dir.string() + ": " + ec.message());
  if (o.shape == "llama-3.2-1b") {
    write_text(o.out_dir / "tokenizer_config.json", embedded::llama32_tokenizer_config_json());
    write_text(o.out_dir / "chat_template.jinja", embedded::llama32_chat_template_jinja());
  }
  if (!o.tokenizer_dir.empty()) {
    try {
      add_tokenizer(o.tokenizer_dir, o.out_dir, real_shape, config, generation);
    } catch (const nlohmann::json::exception& e) {  // a field of the wrong type
      throw Error("synth: unexpected tokenizer files in " + o.tokenizer_dir.string() + ": " + e.what());
    } catch (const std::filesystem::filesystem_error& e) {
      throw Error(std::string("synth: ") + e.what());
    }
  }
  const std::string dtype_name = o.dtype == DType::f32 ? "float32" : o.dtype == DType::f16 ? "float16" : "bfloat16";
  if (!real_shape) config["torch_dtype"] = dtype_name;

  // The real Llama 3.2 files are written byte for byte; the others are generated.
  const bool verbatim = o.shape == "llama-3.2-1b";
  const std::string config_text = verbatim ? std::string(embedded::llama32_config_json()) : config.dump(2) + "\n";
  const std::string generation_text =
      verbatim ? std::string(embedded::llama32_generation_config_json()) : generation.dump(2) + "\n";
  const ModelConfig c = ModelConfig::parse(config_text, "synth config");
  const std::string st_dtype = o.dtype == DType::f32 ? "F32" : o.dtype == DType::f16 ? "F16" : "BF16";
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const std::int64_t q_dim = std::int64_t(c.num_heads) * c.head_dim, kv_dim = std::int64_t(c.num_kv_heads) * c.head_dim;

  ThreadPool pool(o.threads);
  std::vector<TensorToWrite> tensors;
  // Values are a counter-based hash of (seed, tensor, index): any chunking, any
  // thread count gives the same bytes. `center` +- `spread`, uniform.
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float center, float spread) {
    const std::uint64_t key = splitmix64(o.seed ^ name_hash(name));
    const DType dt = o.dtype;
    const std::size_t esize = dtype_size(dt);
    tensors.push_back({name, st_dtype, std::move(shape), [&pool, key, dt, esize, center, spread](std::byte* out, std::size_t offset, std::size_t bytes) {
      const std::size_t first = offset / esize, count = bytes / esize;
      pool.parallel_for(count, 4096, [&](int, std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
          const std::uint64_t r = splitmix64(key + first + i);
          const float u = float(r >> 40) * 0x1p-24f * 2.0f - 1.0f;  // [-1, 1)
          const float v = center + spread * u;
          if (dt == DType::f32) {
            std::memcpy(out + i * 4, &v, 4);
          } else {
            const std::uint16_t h = dt == DType::f16 ? f32_to_f16(v) : f32_to_bf16(v);
            std::memcpy(out + i * 2, &h, 2);
          }
        }
      });
    }});
  };
  // Uniform with std 1/sqrt(fan_in) keeps activations and logits O(1) at every width.
  auto matrix = [&](const std::string& name, std::int64_t rows, std::int64_t cols) {
    add(name, {rows, cols}, 0.0f, std::sqrt(3.0f / float(cols)));
  };
  auto norm = [&](const std::string& name) { add(name, {H}, 1.0f, 0.2f); };
  auto bias = [&](const std::string& name, std::int64_t n) { add(name, {n}, 0.0f, 0.2f); };

  matrix("model.embed_tokens.weight", V, H);
  if (!c.tie_word_embeddings) matrix("lm_head.weight", V, H);
  norm("model.norm.weight");
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    norm(p + "input_layernorm.weight");
    norm(p + "post_attention_layernorm.weight");
    matrix(p + "self_attn.q_proj.weight", q_dim, H);
    matrix(p + "self_attn.k_proj.weight", kv_dim, H);
    matrix(p + "self_attn.v_proj.weight", kv_dim, H);
    matrix(p + "self_attn.o_proj.weight", H, q_dim);
    if (c.attention_bias) {
      bias(p + "self_attn.q_proj.bias", q_dim);
      bias(p + "self_attn.k_proj.bias", kv_dim);
      bias(p + "self_attn.v_proj.bias", kv_dim);
    }
    if (c.o_proj_bias) bias(p + "self_attn.o_proj.bias", H);
    matrix(p + "mlp.gate_proj.weight", I, H);
    matrix(p + "mlp.up_proj.weight", I, H);
    matrix(p + "mlp.down_proj.weight", H, I);
  }
  write_safetensors(o.out_dir / "model.safetensors", tensors);
  write_text(o.out_dir / "config.json", config_text);
  write_text(o.out_dir / "generation_config.json", generation_text);
}

}  // namespace kvlm
