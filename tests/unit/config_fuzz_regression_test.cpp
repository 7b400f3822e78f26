// Inputs config_fuzz (tests/fuzz) found that ModelConfig / GenerationConfig
// accepted and turned into values the model cannot use.
#include <gtest/gtest.h>

#include <climits>
#include <cmath>

#include "kvlm/config.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

const char* kBase = R"({"model_type": "llama", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
  "num_attention_heads": 1, "head_dim": 4, "vocab_size": 4, "max_position_embeddings": 8, )";

// rope_freq_factors are stored as float: 1e300 became inf (and 1e-300 zero),
// which then divided every RoPE frequency.
TEST(ConfigFuzzRegression, RopeFreqFactorsOutsideFloatRangeAreRefused) {
  for (const char* factors : {"[1e300, 1.0]", "[1.0, 1e-300]", "[3.5e38, 1.0]"}) {
    const std::string text = std::string(kBase) + "\"rope_freq_factors\": " + factors + "}";
    try {
      const ModelConfig c = ModelConfig::parse(text, "config.json");
      for (const float f : c.rope_freq_factors) EXPECT_TRUE(f > 0 && std::isfinite(f)) << factors << " gave " << f;
      ADD_FAILURE() << factors << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("rope_freq_factors"), std::string::npos) << e.what();
    }
  }
  const ModelConfig ok = ModelConfig::parse(std::string(kBase) + "\"rope_freq_factors\": [1e-30, 3e38]}", "c");
  EXPECT_EQ(ok.rope_freq_factors, (std::vector<float>{1e-30f, 3e38f}));
}

// top_k past INT_MAX wrapped to a negative int.
TEST(ConfigFuzzRegression, HugeTopKIsClampedNotWrapped) {
  const ModelConfig m = ModelConfig::parse(std::string(kBase) + "\"bos_token_id\": 1}", "c");
  EXPECT_EQ(GenerationConfig::parse(R"({"top_k": 2147483648})", "g", m).top_k, INT_MAX);
  EXPECT_EQ(GenerationConfig::parse(R"({"top_k": 18446744073709551615})", "g", m).top_k, INT_MAX);
  EXPECT_EQ(GenerationConfig::parse(R"({"top_k": 40})", "g", m).top_k, 40);
  EXPECT_THROW(GenerationConfig::parse(R"({"top_k": -1})", "g", m), Error);
}

// An unknown architecture name was quoted as it was, so a name holding an
// escaped CR or LF made an error message of several lines (docs/ERRORS.md).
TEST(ConfigFuzzRegression, UnsupportedArchitectureErrorIsOneLine) {
  // config_fuzz's input, up to its separator.
  const std::string text = "{\n  \"architectures\": [\"LlamaFo\\rCausalLM\"],\n  \"atte\": true,\n"
                           "  \"vocab_size\": 128256\n}\n";
  for (const std::string& config : {text, std::string(R"({"architectures": ["Gpt\nNeo"]})")}) {
    try {
      (void)ModelConfig::parse(config, "config.json");
      ADD_FAILURE() << config << " was accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find_first_of("\r\n"), std::string::npos) << message;
      EXPECT_NE(message.find("unsupported architecture"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace kvlm
