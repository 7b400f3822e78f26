// config.json / generation_config.json edge cases: defaults and bad token ids.
#include <gtest/gtest.h>

#include <string>

#include "kvlm/config.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

std::string llama_config(const std::string& extra) {
  return R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100,
             "max_position_embeddings": 256)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string error_of(const auto& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, RmsNormEpsDefaultIsOneValue) {
  const ModelConfig parsed = ModelConfig::parse(llama_config(""), "config.json");
  EXPECT_EQ(parsed.rms_norm_eps, 1e-6);  // transformers' LlamaConfig / Qwen2Config default
  EXPECT_EQ(ModelConfig{}.rms_norm_eps, parsed.rms_norm_eps);
  EXPECT_EQ(ModelConfig::parse(llama_config(R"("rms_norm_eps": 1e-5)"), "c").rms_norm_eps, 1e-5);
}

TEST(Config, BosTokenIdForms) {
  EXPECT_EQ(ModelConfig::parse(llama_config(R"("bos_token_id": 7)"), "c").bos_token_id, 7);
  EXPECT_EQ(ModelConfig::parse(llama_config(R"("bos_token_id": [9, 8])"), "c").bos_token_id, 9);
  EXPECT_EQ(ModelConfig::parse(llama_config(R"("bos_token_id": null)"), "c").bos_token_id, -1);
  const ModelConfig m = ModelConfig::parse(llama_config(R"("bos_token_id": 7)"), "c");
  EXPECT_EQ(GenerationConfig::parse(R"({"bos_token_id": [3]})", "g", m).bos_token_id, 3);
  EXPECT_EQ(GenerationConfig::parse(R"({"bos_token_id": null})", "g", m).bos_token_id, 7);
}

TEST(Config, EmptyBosListIsAnErrorNamingFileAndField) {
  const std::string in_config =
      error_of([] { ModelConfig::parse(llama_config(R"("bos_token_id": [])"), "/m/config.json"); });
  EXPECT_NE(in_config.find("/m/config.json"), std::string::npos) << in_config;
  EXPECT_NE(in_config.find("bos_token_id"), std::string::npos) << in_config;
  const ModelConfig m = ModelConfig::parse(llama_config(""), "c");
  const std::string in_generation =
      error_of([&] { GenerationConfig::parse(R"({"bos_token_id": []})", "/m/generation_config.json", m); });
  EXPECT_NE(in_generation.find("/m/generation_config.json"), std::string::npos) << in_generation;
  EXPECT_NE(in_generation.find("bos_token_id"), std::string::npos) << in_generation;
}

TEST(Config, TokenIdsBeyondInt32AreErrors) {
  EXPECT_THROW(ModelConfig::parse(llama_config(R"("eos_token_id": [2, 4294967298])"), "c"), Error);
  EXPECT_THROW(ModelConfig::parse(llama_config(R"("bos_token_id": 18446744073709551615)"), "c"), Error);
}

}  // namespace
}  // namespace kvlm
