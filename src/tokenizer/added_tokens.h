// Added tokens of tokenizer.json ("<|eot_id|>", Qwen's "<think>"): found in
// the text before normalization and BPE, leftmost-longest like Hugging Face's
// AddedVocabulary, with the single_word / lstrip / rstrip flags. Special ones
// are only looked for when the caller asks for it (EncodeOptions::parse_special).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm::tok {

struct AddedToken {
  std::string content;
  std::int32_t id = -1;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// A piece of text between added tokens, or one added token (id >= 0).
struct Section {
  std::string_view text;
  std::int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `patterns[i]` is what to look for to emit `tokens[i]` (the content, or
  // its normalized form for normalized tokens).
  AddedTokenMatcher(std::vector<AddedToken> tokens, const std::vector<std::string>& patterns);

  bool empty() const { return tokens_.empty(); }
  // Appends the sections of `text`; text sections are never empty.
  void split(std::string_view text, bool parse_special, std::vector<Section>& out) const;

 private:
  struct Node {
    std::int32_t token = -1;  // index into tokens_ of the token ending here
    std::vector<std::pair<unsigned char, std::int32_t>> children;  // sorted by byte
  };
  std::int32_t child(std::int32_t node, unsigned char b) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;
  std::array<bool, 256> first_byte_{};
};

}  // namespace kvlm::tok
