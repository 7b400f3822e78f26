// Text <-> token ids, exactly as the Hugging Face tokenizer of a model dir does
// it (tokenizer.json + tokenizer_config.json): byte-level BPE (Llama 3, Qwen 2)
// and SentencePiece-style BPE with byte fallback (Llama 2, Gemma).
//
// A loaded Tokenizer is immutable and safe to share between threads: every
// method is const and may be called concurrently (the internal BPE cache is
// locked). A StreamingDetokenizer is per stream and not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm {

class ModelFiles;

struct EncodeOptions {
  // Adds the post-processor's tokens (the BOS of Llama 3 / Llama 2 / Gemma).
  bool add_special = true;
  // Matches special added tokens ("<|eot_id|>") written in the text. Off by
  // default: text from users is never parsed for special tokens. Non-special
  // added tokens (Qwen's "<think>") are always matched, as in Hugging Face.
  bool parse_special = false;
};

class Tokenizer {
 public:
  // Loads `path`/tokenizer.json and, when present, `path`/tokenizer_config.json
  // (bos/eos names). `path` may also name a tokenizer.json file directly.
  // Throws kvlm::Error naming the file and field at fault.
  static std::shared_ptr<const Tokenizer> load(const std::filesystem::path& path);
  // Loads tokenizer.json (+ tokenizer_config.json) of a HF directory or a
  // .kvlm package. Throws kvlm::Error when the model carries no tokenizer.json.
  static std::shared_ptr<const Tokenizer> load(const ModelFiles& files);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Throws kvlm::Error when `text` is not valid UTF-8.
  std::vector<std::int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;

  // Ids to text. Incomplete or invalid UTF-8 (a byte-fallback run cut short)
  // becomes U+FFFD, as in Hugging Face. No clean-up of spaces is applied, so
  // decode(encode(s, {.add_special = false})) == s. Throws kvlm::Error for an
  // id outside the vocabulary.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special = false) const;

  // One past the largest id (model vocabulary and added tokens).
  int vocab_size() const;
  // Looks up a token as tokenizer.json spells it ("Ġthe", "▁the", "<|eot_id|>").
  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  // The token as tokenizer.json spells it; throws for an id outside the vocabulary.
  std::string id_to_token(std::int32_t id) const;
  // True for added tokens flagged special (skipped by decode(..., true)).
  bool is_special(std::int32_t id) const;
  // bos_token / eos_token of tokenizer_config.json (else the post-processor's
  // leading special token for bos).
  std::optional<std::int32_t> bos_id() const;
  std::optional<std::int32_t> eos_id() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class StreamingDetokenizer;
};

// Turns generated ids into text as they arrive, emitting only complete UTF-8
// characters: a character split over several tokens (or byte-fallback pieces)
// comes out whole once its last byte arrives. The concatenation of every
// push() and the final flush() equals Tokenizer::decode of all the ids.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special = false);

  // Returns the text that became complete with this token (often empty).
  std::string push(std::int32_t id);
  // Returns what is still pending, invalid leftovers as U+FFFD, and resets.
  std::string flush();
  void reset();

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  bool skip_special_;
  std::string pending_;
  int strip_budget_ = 0;
};

}  // namespace kvlm
