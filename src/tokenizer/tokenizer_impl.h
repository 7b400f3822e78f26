// The parts of a loaded Tokenizer and the encode / decode pipeline over them:
//   text -> added tokens split -> normalizer -> pre-tokenizer -> BPE -> post-processor
//   ids  -> per-token decoded bytes -> start strip -> UTF-8 repair
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kvlm/tokenizer.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"

namespace kvlm {

struct Tokenizer::Impl {
  std::string source;  // the tokenizer.json path, for messages
  std::unique_ptr<tok::BpeModel> model;
  tok::Normalizer normalizer;
  tok::PreTokenizer pre_tokenizer;
  tok::PostProcessor post_processor;
  tok::Decoder decoder;
  std::vector<tok::AddedToken> added;
  tok::AddedTokenMatcher raw_added;         // added tokens with normalized = false
  tok::AddedTokenMatcher normalized_added;  // found in the normalized text
  std::unordered_map<std::string, std::int32_t> added_ids;  // content -> id

  std::int32_t vocab_size = 0;
  enum Flag : unsigned char { kPresent = 1, kAdded = 2, kSpecial = 4 };
  std::vector<unsigned char> flags;  // per id
  std::vector<std::int32_t> added_index;  // per id: index into `added`, or -1
  // What each id decodes to (before the start strip), back to back.
  std::string decoded_blob;
  std::vector<std::uint32_t> decoded_offset;

  std::optional<std::int32_t> bos, eos;

  void encode(std::string_view text, const EncodeOptions& options, std::vector<std::int32_t>& ids) const;
  void encode_section(std::string_view text, bool at_input_start, bool parse_special,
                      std::vector<std::int32_t>& ids) const;
  void encode_words(std::string_view text, bool at_input_start, std::vector<std::int32_t>& ids) const;

  void check_id(std::int32_t id) const;
  std::string_view decoded(std::int32_t id) const {
    return std::string_view(decoded_blob)
        .substr(decoded_offset[std::size_t(id)], decoded_offset[std::size_t(id) + 1] - decoded_offset[std::size_t(id)]);
  }
  // Appends the bytes of `id` to `out`, dropping leading strip characters
  // while `strip_budget` lasts (it is zeroed once other text comes out).
  void append_decoded(std::int32_t id, bool skip_special, int& strip_budget, std::string& out) const;
};

// Builds the Impl from tokenizer.json text and, when non-null, tokenizer_config.json text.
std::unique_ptr<Tokenizer::Impl> parse_tokenizer(std::string_view tokenizer_json, const std::string& source,
                                                  const std::string* config_json, const std::string& config_source);

}  // namespace kvlm
