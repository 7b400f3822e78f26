// Public functions check their arguments and parsed data instead of trusting
// them: each case here was a crash, UB or a silent misreading before.
#include <gtest/gtest.h>

#include <string>

#include "kvlm/convert.h"
#include "kvlm/error.h"
#include "kvlm/sampler.h"
#include "kvlm/session.h"
#include "kvlm/tokenizer.h"
#include "test_models.h"
#include "tokenizer_test_util.h"

namespace kvlm {
namespace {

std::string load_error(const std::string& name, const std::string& tokenizer_json) {
  try {
    Tokenizer::load(testing::write_tokenizer_dir(name, tokenizer_json));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string tiny_bpe(const std::string& vocab, const std::string& added) {
  return R"({"added_tokens": [)" + added + R"(], "model": {"type": "BPE", "vocab": {)" + vocab +
         R"(}, "merges": []}})";
}

TEST(ArgumentChecks, TokenizerIdsThatWouldSizeTablesAreErrors) {
  EXPECT_EQ(load_error("ok_ids", tiny_bpe(R"("a": 0, "b": 1)", R"({"id": 2, "content": "<x>"})")), "");
  EXPECT_NE(load_error("big_vocab_id", tiny_bpe(R"("a": 0, "b": 2147483647)", "")).find("out of range"),
            std::string::npos);
  EXPECT_NE(load_error("big_added_id", tiny_bpe(R"("a": 0)", R"({"id": 2147483647, "content": "<x>"})"))
                .find("out of range"),
            std::string::npos);
}

TEST(ArgumentChecks, TokenizerAddedTokenFlagsMustBeBooleans) {
  const std::string msg =
      load_error("flag_type", tiny_bpe(R"("a": 0)", R"({"id": 1, "content": "<x>", "special": "yes"})"));
  EXPECT_NE(msg.find("special"), std::string::npos) << msg;
}

TEST(ArgumentChecks, SamplerRejectsEmptyLogits) {
  for (const bool greedy : {true, false}) {
    SamplingOptions o;
    o.greedy = greedy;
    o.min_p = 0.1;
    Sampler s(o);
    EXPECT_THROW(s.probabilities({}, {}), Error);
    EXPECT_THROW(s.processed_logits({}, {}), Error);
    EXPECT_THROW(s.sample({}, {}), Error);
  }
}

TEST(ArgumentChecks, SessionNeedsAModel) { EXPECT_THROW(Session(nullptr, nullptr, nullptr), Error); }

TEST(ArgumentChecks, NegativeThreadCountIsAnError) {
  LoadOptions o;
  o.threads = -1;
  EXPECT_THROW(Model::load(testing::synth_model_dir("tiny-llama", DType::f32), o), Error);
}

// Onto its own input: tests/scripts/test_gguf_bad_inputs.py (a GGUF).
TEST(ArgumentChecks, ConvertRefusesAnEmptyOutput) {
  LoadOptions o;
  o.dtype = DType::f16;
  EXPECT_THROW(convert_model(testing::synth_model_dir("tiny-llama", DType::f32), "", o), Error);
}

}  // namespace
}  // namespace kvlm
