// Inputs tokenizer_json_fuzz (tests/fuzz) found: load errors that quoted the
// file's own strings kept their line breaks, while every kvlm::Error is one
// line (docs/ERRORS.md).
#include <gtest/gtest.h>

#include "kvlm/error.h"
#include "tokenizer_test_util.h"

namespace kvlm {
namespace {

std::string load_error(const std::string& name, const std::string& json) {
  try {
    (void)Tokenizer::load(testing::write_tokenizer_dir(name, json));
  } catch (const Error& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(TokenizerFuzzRegression, LoadErrorsAreOneLine) {
  const std::string vocab = R"("vocab": {"a": 0, "b": 1, "ab": 2})";
  const std::pair<const char*, std::string> cases[] = {
      // A merge without a space, spelled with an escaped CR LF (the fuzzer's find).
      {"merge", R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": ["a\r\nb"]}})"},
      {"model_type", R"({"model": {"type": "B\nPE", )" + vocab + R"(, "merges": []}})"},
      {"decoder", R"({"decoder": {"type": "By\nteLevel"}, "model": {"type": "BPE", )" + vocab + R"(, "merges": []}})"},
      {"pre_tokenizer", R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "x\ny"},
                           "model": {"type": "BPE", )" + vocab + R"(, "merges": []}})"},
  };
  for (const auto& [name, json] : cases) {
    const std::string message = load_error(std::string("fuzz_") + name, json);
    EXPECT_NE(message, "(loaded)") << name;
    EXPECT_EQ(message.find_first_of("\r\n"), std::string::npos) << name << ": " << message;
  }
}

}  // namespace
}  // namespace kvlm
