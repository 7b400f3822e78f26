// SentencePiece-style BPE (Llama 2 / Gemma): a hand-written tokenizer.json
// whose ids follow from the BPE definition, added-token flags, Metaspace,
// byte fallback in the streaming detokenizer, load errors; and the real
// Llama 2 / Qwen tokenizers from the JavaScript reference's packages.
#include <gtest/gtest.h>

#include "kvlm/error.h"
#include "tokenizer_test_util.h"

namespace kvlm {
namespace {

using testing::mixed_corpus;
using testing::valid_utf8;
using testing::write_tokenizer_dir;
using Ids = std::vector<std::int32_t>;

// ids: <unk> 0, <s> 1, </s> 2, <0x00>..<0xFF> 3..258, ▁ 259, a 260, b 261,
// ▁a 262, ab 263, ▁ab 264, c 265; added <sep> 266 (lstrip), <r> 267 (rstrip),
// <w> 268 (single_word), <x> 269 (not special).
std::string tiny_spm_json(const std::string& normalizer, const std::string& pre_tokenizer, const std::string& decoder,
                          bool byte_fallback = true) {
  std::string vocab = R"("<unk>": 0, "<s>": 1, "</s>": 2)";
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) vocab += std::string(", \"<0x") + hex[b >> 4] + hex[b & 15] + ">\": " + std::to_string(3 + b);
  vocab += R"(, "▁": 259, "a": 260, "b": 261, "▁a": 262, "ab": 263, "▁ab": 264, "c": 265)";
  auto added = [](int id, const std::string& content, bool special, const std::string& flags) {
    return "{\"id\": " + std::to_string(id) + ", \"content\": \"" + content + "\", \"special\": " +
           (special ? "true" : "false") + ", \"normalized\": false" + flags + "}";
  };
  return R"({"version": "1.0", "added_tokens": [)" + added(0, "<unk>", true, "") + ", " + added(1, "<s>", true, "") +
         ", " + added(2, "</s>", true, "") + ", " + added(266, "<sep>", true, ", \"lstrip\": true") + ", " +
         added(267, "<r>", true, ", \"rstrip\": true") + ", " + added(268, "<w>", true, ", \"single_word\": true") + ", " +
         added(269, "<x>", false, "") + R"(],
  "normalizer": )" + normalizer + R"(, "pre_tokenizer": )" + pre_tokenizer + R"(,
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
  "decoder": )" + decoder + R"(,
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null,
    "fuse_unk": true, "byte_fallback": )" + (byte_fallback ? "true" : "false") + R"(, "vocab": {)" + vocab + R"(},
    "merges": ["▁ a", ["a", "b"], "▁a b"]}})";
}

const std::string kLlama2Normalizer =
    R"({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})";
const std::string kLlama2Decoder =
    R"({"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})";

std::shared_ptr<const Tokenizer> llama2_style(bool byte_fallback = true) {
  return Tokenizer::load(write_tokenizer_dir(byte_fallback ? "llama2" : "llama2_unk",
                                             tiny_spm_json(kLlama2Normalizer, "null", kLlama2Decoder, byte_fallback)));
}

TEST(TokenizerSpm, MergesByRankLeftmostFirst) {
  const auto tok = llama2_style();
  // "▁ab▁ab": ▁+a (rank 0) twice, then ▁a+b (rank 2); a+b (rank 1) never gets its turn.
  EXPECT_EQ(tok->encode("ab ab"), (Ids{1, 264, 264}));
  EXPECT_EQ(tok->encode("b", {.add_special = false}), (Ids{259, 261}));
  EXPECT_EQ(tok->encode("", {.add_special = true}), (Ids{1}));
  EXPECT_EQ(tok->bos_id(), 1);
}

TEST(TokenizerSpm, ByteFallbackAndUnknown) {
  const auto tok = llama2_style();
  // é is not in the vocabulary: its UTF-8 bytes C3 A9 become <0xC3> <0xA9>.
  EXPECT_EQ(tok->encode("ac é"), (Ids{1, 262, 265, 259, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok->decode(Ids{1, 262, 265, 259, 3 + 0xC3, 3 + 0xA9}), "<s> ac é");
  EXPECT_EQ(tok->decode(Ids{1, 262, 265, 259, 3 + 0xC3, 3 + 0xA9}, true), "ac é");  // Strip removes one space
  EXPECT_EQ(tok->decode(Ids{3 + 0xC3}), "\xEF\xBF\xBD");
  // Without byte fallback unknown characters become <unk>, consecutive ones fused.
  const auto unk = llama2_style(false);
  EXPECT_EQ(unk->encode("aéé", {.add_special = false}), (Ids{262, 0}));
}

TEST(TokenizerSpm, StreamingByteFallback) {
  const auto tok = llama2_style();
  StreamingDetokenizer stream(tok, /*skip_special=*/true);
  EXPECT_EQ(stream.push(1), "");
  EXPECT_EQ(stream.push(262), "a");  // the leading space is stripped
  EXPECT_EQ(stream.push(3 + 0xE2), "");
  EXPECT_EQ(stream.push(3 + 0x82), "");
  EXPECT_EQ(stream.push(3 + 0xAC), "\xE2\x82\xAC");  // €
  // A byte run that cannot complete is replaced as soon as that is certain.
  EXPECT_EQ(stream.push(3 + 0xC3), "");
  EXPECT_EQ(stream.push(262), "\xEF\xBF\xBD a");
  EXPECT_EQ(stream.push(3 + 0xF0), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  // After flush the stream starts over, leading-space strip included.
  EXPECT_EQ(stream.push(262), "a");
}

TEST(TokenizerSpm, AddedTokenFlags) {
  const auto tok = llama2_style();
  const EncodeOptions special{.add_special = false, .parse_special = true};
  // lstrip swallows the whitespace on the left, rstrip on the right.
  EXPECT_EQ(tok->encode("a <sep>b", special), tok->encode("a<sep>b", special));
  EXPECT_EQ(tok->encode("a<r>   b", special), tok->encode("a<r>b", special));
  EXPECT_EQ(tok->encode("a<sep>b", special), (Ids{262, 266, 259, 261}));
  // single_word: only where no word character touches it.
  const Ids glued = tok->encode("a<w>b", special);
  EXPECT_EQ(std::count(glued.begin(), glued.end(), 268), 0);
  const Ids alone = tok->encode("a <w> b", special);
  EXPECT_EQ(std::count(alone.begin(), alone.end(), 268), 1);
  // Specials only with parse_special; non-special added tokens always.
  const Ids plain = tok->encode("<sep><x>", {.add_special = false});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 266), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 269), 1);
}

TEST(TokenizerSpm, MetaspacePreTokenizer) {
  const std::string pre = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true})";
  const std::string dec = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true})";
  const auto tok = Tokenizer::load(write_tokenizer_dir("metaspace", tiny_spm_json("null", pre, dec)));
  EXPECT_EQ(tok->encode("ab ab", {.add_special = false}), (Ids{264, 264}));
  // "first": no ▁ is prepended after an added token.
  EXPECT_EQ(tok->encode("<x>ab", {.add_special = false}), (Ids{269, 263}));
  EXPECT_EQ(tok->decode(Ids{264, 264}), "ab ab");
}

TEST(TokenizerSpm, LoadErrorsAreOneLine) {
  const auto expect_error = [](const std::string& name, const std::string& json, const std::string& needle) {
    try {
      Tokenizer::load(write_tokenizer_dir(name, json));
      ADD_FAILURE() << "no error for " << name;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(needle), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  expect_error("unigram", R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "unsupported model type");
  expect_error("truncated", R"({"model": {"type": "BPE", "vocab": {"a": 0)", "malformed JSON");
  expect_error("bad_regex",
               tiny_spm_json("null", R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})",
                             "null"),
               "cannot compile regex");
  expect_error("bad_normalizer", tiny_spm_json(R"({"type": "Precompiled"})", "null", "null"), "unsupported normalizer");
  EXPECT_THROW(Tokenizer::load("/nonexistent/model/dir"), Error);
}

TEST(TokenizerLlama2, RoundTripAndStreaming) {
  KVLM_REQUIRE_REFERENCE(tok, "tokenizer-llama2");
  EXPECT_EQ(tok->bos_id(), 1);
  for (const std::string& s : mixed_corpus(300)) {
    const Ids ids = tok->encode(s);
    ASSERT_EQ(ids.front(), 1);
    ASSERT_EQ(tok->decode(ids, true), s);
    StreamingDetokenizer stream(tok, true);
    std::string joined;
    for (const std::int32_t id : ids) {
      const std::string piece = stream.push(id);
      ASSERT_TRUE(valid_utf8(piece));
      joined += piece;
    }
    ASSERT_EQ(joined + stream.flush(), s);
  }
  // 𝔘 is not in the Llama 2 vocabulary: four byte tokens, one character out.
  const Ids ids = tok->encode("\xF0\x9D\x94\x98", {.add_special = false});
  ASSERT_EQ(ids.size(), 5u);  // ▁ then <0xF0> <0x9D> <0x94> <0x98>
  StreamingDetokenizer stream(tok);
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string piece = stream.push(ids[i]);
    if (i + 1 < ids.size()) {
      EXPECT_EQ(piece, "");
    }
    out += piece;
  }
  EXPECT_EQ(out, "\xF0\x9D\x94\x98");
}

TEST(TokenizerQwen, NfcAndRoundTrip) {
  KVLM_REQUIRE_REFERENCE(tok, "tokenizer-qwen3");
  EXPECT_FALSE(tok->bos_id().has_value() && tok->encode("x").front() == *tok->bos_id());
  EXPECT_EQ(tok->encode("cafe\xCC\x81"), tok->encode("caf\xC3\xA9"));            // NFC
  EXPECT_EQ(tok->decode(tok->encode("cafe\xCC\x81")), "caf\xC3\xA9");
  EXPECT_EQ(tok->encode("<think>", {}), Ids{*tok->token_to_id("<think>")});      // not special: always matched
  EXPECT_EQ(tok->encode("12345").size(), 5u);                                    // one digit per token
  for (const std::string& s : mixed_corpus(300)) {
    std::string nfc_checked = tok->decode(tok->encode(s));
    ASSERT_EQ(tok->encode(nfc_checked), tok->encode(s));  // NFC is idempotent
  }
}

}  // namespace
}  // namespace kvlm
