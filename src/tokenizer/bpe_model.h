// The BPE model of tokenizer.json: vocabulary, ranked merges, byte fallback
// and unknown token. Words come from the pre-tokenizer; for byte-level models
// they are raw bytes (each byte starts as its "Ġ"-alphabet token), otherwise
// UTF-8 text whose characters start as vocab tokens or <0xXX> byte tokens.
//
// Immutable after construction except for the word cache, which is locked:
// encode_word() may run on many threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_map.h"
#include "tokenizer/huge_array.h"

namespace kvlm::tok {

// Token ids are below this: per-id tables are sized by the largest id, so a
// hostile id must not size them (or overflow int32).
inline constexpr std::int32_t kTokenIdLimit = 1 << 24;

// Vocab strings and merges as tokenizer.json spells them, gathered by the loader.
struct BpeSource {
  HugeArray<char> vocab_blob;  // every vocab string, back to back
  struct Entry {
    std::uint32_t offset, length;
    std::int32_t id;
  };
  HugeArray<Entry> vocab;
  HugeArray<char> merge_blob;  // each merge as left then right, back to back
  struct MergeItem {
    std::uint32_t offset, left_length, right_length;
  };
  HugeArray<MergeItem> merges;
  std::string unk_token;
  bool has_unk = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;
};

class BpeCache;

class BpeModel {
 public:
  BpeModel(BpeSource source, bool byte_level, const std::string& context);
  ~BpeModel();

  // One past the largest vocab id.
  std::int32_t size() const { return static_cast<std::int32_t>(offsets_.size()); }
  bool has(std::int32_t id) const { return id >= 0 && id < size() && lengths_[std::size_t(id)] != kMissing; }
  // The vocab string of `id` as tokenizer.json spells it (has(id) must hold).
  std::string_view spelling(std::int32_t id) const {
    return {blob_.data() + offsets_[std::size_t(id)], lengths_[std::size_t(id)]};
  }
  // Id of a vocab string, or -1.
  std::int32_t find(std::string_view spelling) const { return map_.find(spelling); }
  bool byte_level() const { return byte_level_; }
  std::int32_t unk_id() const { return unk_id_; }

  // Appends the ids of one pre-tokenized word.
  void encode_word(std::string_view word, std::vector<std::int32_t>& out) const;

 private:
  static constexpr std::uint32_t kMissing = ~std::uint32_t{0};
  void initial_symbols(std::string_view word, std::vector<std::int32_t>& symbols) const;
  void merge_small(std::vector<std::int32_t>& symbols) const;
  void merge_large(std::vector<std::int32_t>& symbols) const;

  HugeArray<char> blob_;  // the vocab strings
  std::vector<std::uint32_t> offsets_, lengths_;
  StringIdMap map_;
  MergeMap merges_;
  std::array<std::int32_t, 256> byte_ids_{};  // byte-level: the byte's token; else <0xXX> (-1: absent)
  bool byte_level_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::int32_t unk_id_ = -1;
  std::unique_ptr<BpeCache> cache_;
};

}  // namespace kvlm::tok
