// libFuzzer target: config.json and generation_config.json text through
// ModelConfig::parse and GenerationConfig::parse. The input is the config,
// optionally followed by "\n#####\n" and the generation config (parsed with
// the config's ids, or a fixed Llama config's when the first part is
// refused). A kvlm::Error is the expected answer to bad text; a parsed config
// must keep the promises the model code relies on.
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "kvlm/config.h"

namespace {

constexpr const char* kTarget = "config_fuzz";
using kvlm::fuzz::check;

void check_model(const kvlm::ModelConfig& c) {
  check(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_layers > 0 && c.num_heads > 0 && c.num_kv_heads > 0 &&
            c.head_dim > 0 && c.vocab_size > 0 && c.max_position_embeddings > 0,
        kTarget, "a size that is not positive");
  check(c.num_heads % c.num_kv_heads == 0, kTarget, "num_kv_heads does not divide num_heads");
  check(c.head_dim % 2 == 0, kTarget, "odd head_dim");
  check(c.rms_norm_eps > 0 && std::isfinite(c.rms_norm_eps), kTarget, "bad rms_norm_eps");
  check(c.rope_theta > 0 && std::isfinite(c.rope_theta), kTarget, "bad rope_theta");
  check(!c.architecture_name.empty(), kTarget, "no architecture name");
  if (c.has_llama3_rope_scaling) {
    const auto& s = c.rope_scaling;
    check(s.factor > 0 && s.low_freq_factor > 0 && s.high_freq_factor > s.low_freq_factor &&
              s.original_max_position_embeddings > 0 && std::isfinite(s.factor) &&
              std::isfinite(s.high_freq_factor) && std::isfinite(s.original_max_position_embeddings),
          kTarget, "bad llama3 rope_scaling");
  }
  if (!c.rope_freq_factors.empty()) {
    check(c.rope_freq_factors.size() == std::size_t(c.head_dim / 2), kTarget, "rope_freq_factors size");
    for (const float f : c.rope_freq_factors) check(f > 0 && std::isfinite(f), kTarget, "bad rope_freq_factor");
  }
  check(c.bos_token_id >= -1, kTarget, "negative bos id");
  for (const int id : c.eos_token_ids) check(id >= 0, kTarget, "negative eos id");
}

void check_generation(const kvlm::GenerationConfig& g) {
  check(g.bos_token_id >= -1, kTarget, "negative bos id");
  for (const int id : g.eos_token_ids) check(id >= 0, kTarget, "negative eos id");
  check(g.temperature > 0 && std::isfinite(g.temperature), kTarget, "bad temperature");
  check(g.top_p > 0 && std::isfinite(g.top_p), kTarget, "bad top_p");
  check(g.top_k >= 0, kTarget, "negative top_k");
  check(g.repetition_penalty > 0 && std::isfinite(g.repetition_penalty), kTarget, "bad repetition_penalty");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [config_text, generation_text] = kvlm::fuzz::split_input(data, size);
  kvlm::ModelConfig model;
  model.bos_token_id = 128000;
  model.eos_token_ids = {128001, 128008, 128009};
  try {
    model = kvlm::ModelConfig::parse(std::string(config_text), "config.json");
    check_model(model);
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
  }
  try {
    const kvlm::GenerationConfig g = kvlm::GenerationConfig::parse(
        generation_text.empty() ? std::string(config_text) : std::string(generation_text), "generation_config.json",
        model);
    check_generation(g);
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
  }
  return 0;
}
