#include "kvlm/config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "io/json_file.h"
#include "kvlm/error.h"

namespace kvlm {

namespace {

using nlohmann::json;

struct Reader {
  const json& j;
  const std::string& source;

  [[noreturn]] void fail(const std::string& field, const std::string& why) const {
    throw Error(source + ": field '" + field + "' " + why);
  }
  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  int positive_int(const char* key) const {
    if (!has(key)) fail(key, "is missing");
    const json& v = j[key];
    if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > (1LL << 30))
      fail(key, "must be a positive integer");
    return int(v.get<long long>());
  }
  int positive_int_or(const char* key, int fallback) const { return has(key) ? positive_int(key) : fallback; }
  double positive_number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j[key];
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
      fail(key, "must be a positive number");
    return v.get<double>();
  }
  bool bool_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_boolean()) fail(key, "must be true or false");
    return j[key].get<bool>();
  }
  // An int or a list of ints (eos_token_id).
  std::vector<int> id_list(const char* key) const {
    std::vector<int> out;
    if (!has(key)) return out;
    const json& v = j[key];
    auto take = [&](const json& x) {
      if (!x.is_number_integer() || x.get<long long>() < 0 || x.get<long long>() > std::numeric_limits<std::int32_t>::max())
        fail(key, "must be a token id or a list of token ids");
      out.push_back(int(x.get<long long>()));
    };
    if (v.is_array()) {
      for (const auto& x : v) take(x);
    } else {
      take(v);
    }
    return out;
  }
  // bos_token_id: an id or a list whose first id is taken; absent: fallback.
  int first_id_or(const char* key, int fallback) const {
    if (!has(key)) return fallback;
    const std::vector<int> ids = id_list(key);
    if (ids.empty()) fail(key, "is an empty list (expected a token id)");
    return ids.front();
  }
};

Architecture parse_architecture(const json& j, const std::string& source, std::string& name) {
  std::string model_type = j.contains("model_type") && j["model_type"].is_string() ? j["model_type"].get<std::string>() : "";
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string()) {
    name = j["architectures"][0].get<std::string>();
    if (name == "LlamaForCausalLM") return Architecture::llama;
    if (name == "Qwen2ForCausalLM") return Architecture::qwen2;
    // Quoted as JSON: the name is the file's text, and a message is one line.
    throw Error(source + ": unsupported architecture " + json(name).dump() +
                " (supported: LlamaForCausalLM, Qwen2ForCausalLM)");
  }
  if (model_type == "llama") return name = "LlamaForCausalLM", Architecture::llama;
  if (model_type == "qwen2") return name = "Qwen2ForCausalLM", Architecture::qwen2;
  throw Error(source + ": no supported 'architectures' or 'model_type' (supported: LlamaForCausalLM, Qwen2ForCausalLM)");
}

}  // namespace

ModelConfig ModelConfig::parse(const std::string& json_text, const std::string& source) {
  const json j = parse_json(json_text, source);
  if (!j.is_object()) throw Error(source + ": config is not a JSON object");
  const Reader r{j, source};
  ModelConfig c;
  c.architecture = parse_architecture(j, source, c.architecture_name);
  c.hidden_size = r.positive_int("hidden_size");
  c.intermediate_size = r.positive_int("intermediate_size");
  c.num_layers = r.positive_int("num_hidden_layers");
  c.num_heads = r.positive_int("num_attention_heads");
  c.num_kv_heads = r.positive_int_or("num_key_value_heads", c.num_heads);
  c.head_dim = r.positive_int_or("head_dim", c.hidden_size / c.num_heads);
  c.vocab_size = r.positive_int("vocab_size");
  c.max_position_embeddings = r.positive_int("max_position_embeddings");
  c.rms_norm_eps = r.positive_number_or("rms_norm_eps", kDefaultRmsNormEps);
  c.rope_theta = r.positive_number_or("rope_theta", 10000.0);
  c.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  c.bos_token_id = r.first_id_or("bos_token_id", -1);
  c.eos_token_ids = r.id_list("eos_token_id");
  if (r.has("torch_dtype") && j["torch_dtype"].is_string()) c.torch_dtype = j["torch_dtype"].get<std::string>();

  if (!r.has("head_dim") && c.hidden_size % c.num_heads != 0)
    r.fail("hidden_size", "is not divisible by num_attention_heads and no head_dim is given");
  if (c.num_heads % c.num_kv_heads != 0) r.fail("num_key_value_heads", "must divide num_attention_heads");
  if (c.head_dim % 2 != 0) r.fail("head_dim", "must be even for RoPE");

  if (r.has("hidden_act")) {
    if (!j["hidden_act"].is_string() || j["hidden_act"].get<std::string>() != "silu")
      r.fail("hidden_act", "value " + j["hidden_act"].dump() + " is not supported (only \"silu\")");
  }
  if (r.bool_or("mlp_bias", false)) r.fail("mlp_bias", "= true is not supported");
  if (c.architecture == Architecture::qwen2) {
    c.attention_bias = true;  // Qwen2 always has q/k/v biases and no o_proj bias
    c.o_proj_bias = false;
    if (r.bool_or("use_sliding_window", false)) r.fail("use_sliding_window", "= true is not supported");
  } else {
    c.attention_bias = r.bool_or("attention_bias", false);
    c.o_proj_bias = c.attention_bias;  // transformers' Llama puts the bias on o_proj too
  }
  if (r.has("rope_scaling")) {
    const json& s = j["rope_scaling"];
    if (!s.is_object()) r.fail("rope_scaling", "must be null or an object");
    std::string type = s.contains("rope_type") && s["rope_type"].is_string() ? s["rope_type"].get<std::string>()
                       : s.contains("type") && s["type"].is_string()     ? s["type"].get<std::string>()
                                                                         : "";
    if (type == "llama3") {
      const Reader sr{s, source};
      c.has_llama3_rope_scaling = true;
      c.rope_scaling.factor = sr.positive_number_or("factor", 1.0);
      c.rope_scaling.low_freq_factor = sr.positive_number_or("low_freq_factor", 1.0);
      c.rope_scaling.high_freq_factor = sr.positive_number_or("high_freq_factor", 4.0);
      c.rope_scaling.original_max_position_embeddings = sr.positive_number_or("original_max_position_embeddings", 8192);
      if (!(c.rope_scaling.high_freq_factor > c.rope_scaling.low_freq_factor))
        r.fail("rope_scaling", "needs high_freq_factor > low_freq_factor");
    } else if (type != "default") {
      r.fail("rope_scaling", "type '" + type + "' is not supported (only llama3)");
    }
  }
  if (r.has("rope_freq_factors")) {
    const json& f = j["rope_freq_factors"];
    if (!f.is_array() || f.size() != std::size_t(c.head_dim / 2))
      r.fail("rope_freq_factors", "must be a list of head_dim / 2 numbers");
    for (const json& x : f) {
      // Stored as float: 1e300 would become inf and 1e-300 zero, dividing inv_freq by them.
      const double d = x.is_number() ? x.get<double>() : 0.0;
      const float v = d > 0 && d <= std::numeric_limits<float>::max() ? float(d) : 0.0f;
      if (!(v > 0))
        r.fail("rope_freq_factors", "must hold positive numbers within float range");
      c.rope_freq_factors.push_back(v);
    }
    if (c.has_llama3_rope_scaling) r.fail("rope_freq_factors", "cannot be combined with rope_scaling");
  }
  return c;
}

ModelConfig ModelConfig::load(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  if (!std::filesystem::exists(path)) {
    if (!std::filesystem::exists(model_dir)) throw Error("model not found: " + model_dir.string());
    throw Error("no config.json in " + model_dir.string());
  }
  return parse(read_text_file(path), path.string());
}

GenerationConfig GenerationConfig::load(const std::filesystem::path& model_dir, const ModelConfig& model) {
  const auto path = model_dir / "generation_config.json";
  if (!std::filesystem::exists(path)) return parse("{}", path.string(), model);
  return parse(read_text_file(path), path.string(), model);
}

GenerationConfig GenerationConfig::parse(const std::string& json_text, const std::string& source,
                                         const ModelConfig& model) {
  GenerationConfig g;
  g.bos_token_id = model.bos_token_id;
  g.eos_token_ids = model.eos_token_ids;
  const json j = parse_json(json_text, source);
  if (!j.is_object()) throw Error(source + ": not a JSON object");
  const Reader r{j, source};
  g.bos_token_id = r.first_id_or("bos_token_id", g.bos_token_id);
  if (r.has("eos_token_id")) g.eos_token_ids = r.id_list("eos_token_id");
  g.do_sample = r.bool_or("do_sample", false);
  g.temperature = r.has("temperature") ? r.positive_number_or("temperature", 1.0) : 1.0;
  g.top_p = r.positive_number_or("top_p", 1.0);
  if (r.has("top_k")) {
    const json& k = j["top_k"];
    if (!k.is_number_integer() || (!k.is_number_unsigned() && k.get<long long>() < 0)) r.fail("top_k", "must be >= 0");
    // Any k past the vocabulary keeps every token: clamp rather than wrap a huge one to a negative int.
    const std::uint64_t v = k.is_number_unsigned() ? k.get<std::uint64_t>() : std::uint64_t(k.get<long long>());
    g.top_k = int(std::min<std::uint64_t>(v, std::uint64_t(std::numeric_limits<int>::max())));
  }
  g.repetition_penalty = r.positive_number_or("repetition_penalty", 1.0);
  return g;
}

}  // namespace kvlm
