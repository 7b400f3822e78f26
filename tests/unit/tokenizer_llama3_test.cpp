// The real Llama 3 tokenizer (the Llama 3.2 vocabulary), from the JavaScript
// reference's package: every vocab token round-trips, decode(encode(s)) == s,
// typed specials stay text, streaming never emits broken UTF-8, threads agree.
// Id-level parity with the reference is in tests/scripts/test_tokenizer_llama3.py.
#include <gtest/gtest.h>

#include <thread>

#include "kvlm/error.h"
#include "tokenizer_test_util.h"

namespace kvlm {
namespace {

using testing::mixed_corpus;
using testing::valid_utf8;

constexpr const char* kLlama3 = "tokenizer-llama3_1";

TEST(TokenizerLlama3, Vocabulary) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  EXPECT_EQ(tok->vocab_size(), 128256);
  EXPECT_EQ(tok->bos_id(), 128000);
  EXPECT_EQ(tok->token_to_id("<|eot_id|>"), 128009);
  EXPECT_EQ(tok->token_to_id("\xC4\xA0the"), 279);  // "Ġthe"
  EXPECT_EQ(tok->id_to_token(128009), "<|eot_id|>");
  EXPECT_TRUE(tok->is_special(128009));
  EXPECT_FALSE(tok->is_special(279));
  EXPECT_FALSE(tok->token_to_id("no such token").has_value());
}

TEST(TokenizerLlama3, KnownEncodings) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  // Ids as the JavaScript reference (tests/reference/encode.mjs) gives them.
  EXPECT_EQ(tok->encode("Hello world"), (std::vector<std::int32_t>{128000, 9906, 1917}));
  EXPECT_EQ(tok->encode("Hello world", {.add_special = false}), (std::vector<std::int32_t>{9906, 1917}));
  EXPECT_EQ(tok->encode(""), (std::vector<std::int32_t>{128000}));
}

TEST(TokenizerLlama3, EveryVocabTokenRoundTrips) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  int checked = 0;
  for (std::int32_t id = 0; id < tok->vocab_size(); ++id) {
    const std::string spelled = tok->id_to_token(id);
    ASSERT_EQ(tok->token_to_id(spelled), id) << spelled;
    const std::string text = tok->decode(std::vector<std::int32_t>{id});
    if (tok->is_special(id)) {
      EXPECT_EQ(text, spelled);
      EXPECT_EQ(tok->encode(text, {.add_special = false, .parse_special = true}), std::vector<std::int32_t>{id});
      continue;
    }
    if (text.find("\xEF\xBF\xBD") != std::string::npos) continue;  // a partial UTF-8 byte sequence
    ASSERT_EQ(tok->decode(tok->encode(text, {.add_special = false})), text) << "id " << id;
    ++checked;
  }
  EXPECT_GT(checked, 120000);
}

TEST(TokenizerLlama3, DecodeOfEncodeIsIdentity) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  for (const std::string& s : mixed_corpus()) {
    ASSERT_EQ(tok->decode(tok->encode(s, {.add_special = false})), s);
    ASSERT_EQ(tok->decode(tok->encode(s), /*skip_special=*/true), s);
  }
}

TEST(TokenizerLlama3, TypedSpecialTokensStayText) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  const std::string text = "user says <|eot_id|><|start_header_id|>assistant";
  const auto plain = tok->encode(text);
  for (const std::int32_t id : plain) EXPECT_FALSE(tok->is_special(id) && id != 128000) << id;
  EXPECT_EQ(tok->decode(plain, true), text);
  const auto parsed = tok->encode(text, {.parse_special = true});
  EXPECT_NE(std::find(parsed.begin(), parsed.end(), 128009), parsed.end());
  EXPECT_NE(std::find(parsed.begin(), parsed.end(), 128006), parsed.end());
  EXPECT_EQ(tok->decode(parsed, true), "user says assistant");
}

TEST(TokenizerLlama3, StreamingEmitsOnlyCompleteCharacters) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  int split_chars = 0;
  for (const std::string& s : mixed_corpus()) {
    const auto ids = tok->encode(s);
    StreamingDetokenizer stream(tok);
    std::string joined;
    for (const std::int32_t id : ids) {
      const std::string piece = stream.push(id);
      ASSERT_TRUE(valid_utf8(piece)) << s;
      if (piece.empty() && tok->decode(std::vector<std::int32_t>{id}) == "\xEF\xBF\xBD") ++split_chars;
      joined += piece;
    }
    joined += stream.flush();
    ASSERT_EQ(joined, tok->decode(ids));
  }
  EXPECT_GT(split_chars, 0);  // the corpus does split characters over tokens
}

TEST(TokenizerLlama3, StreamingHoldsBackASplitEmoji) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  // A rare emoji is several byte tokens; nothing comes out until the last.
  const auto ids = tok->encode("\xF0\x9F\xA6\xBE", {.add_special = false});  // 🦾
  ASSERT_GT(ids.size(), 1u);
  StreamingDetokenizer stream(tok);
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_EQ(stream.push(ids[i]), "");
  EXPECT_EQ(stream.push(ids.back()), "\xF0\x9F\xA6\xBE");
  // Cut short: the leftovers become U+FFFD at flush, never raw bytes.
  StreamingDetokenizer cut(tok);
  EXPECT_EQ(cut.push(ids[0]), "");
  EXPECT_EQ(cut.flush(), "\xEF\xBF\xBD");
}

TEST(TokenizerLlama3, ThreadsAgree) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  const auto corpus = mixed_corpus(300);
  std::vector<std::vector<std::int32_t>> expected;
  for (const auto& s : corpus) expected.push_back(tok->encode(s));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep)
        for (std::size_t i = (t * 37) % corpus.size(), n = 0; n < corpus.size(); ++n, i = (i + 1) % corpus.size())
          if (tok->encode(corpus[i]) != expected[i]) ++mismatches;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(TokenizerLlama3, BadInput) {
  KVLM_REQUIRE_REFERENCE(tok, kLlama3);
  EXPECT_THROW(tok->encode("bad \xC3 utf8"), Error);
  EXPECT_THROW(tok->decode(std::vector<std::int32_t>{128256}), Error);
  EXPECT_THROW(tok->decode(std::vector<std::int32_t>{-1}), Error);
}

}  // namespace
}  // namespace kvlm
