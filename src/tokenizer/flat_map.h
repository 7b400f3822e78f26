// Open-addressing hash tables for the two hot lookups of BPE: token bytes -> id
// and (left id, right id) -> merge. Built once at load, read-only afterwards
// (so safe to read from many threads); linear probing, power-of-two capacity.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm::tok {

inline std::size_t table_capacity_for(std::size_t n) {
  std::size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  return cap;
}

// Maps byte strings stored in one blob (offset, length) to ids.
class StringIdMap {
 public:
  void reserve(std::size_t n) {
    slots_.assign(table_capacity_for(n), Slot{});
    mask_ = slots_.size() - 1;
  }
  // Keys are read from `blob`, which must outlive the map and not move.
  void set_blob(const std::string* blob) { blob_ = blob; }

  // Inserts key -> id unless the key is present; returns false if it was.
  bool insert(std::uint32_t offset, std::uint32_t length, std::int32_t id) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::string_view key(blob_->data() + offset, length);
    std::size_t i = hash(key) & mask_;
    while (slots_[i].id >= 0) {
      if (view(slots_[i]) == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{offset, length, id};
    ++size_;
    return true;
  }

  // Returns the id of `key`, or -1.
  std::int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    std::size_t i = hash(key) & mask_;
    while (slots_[i].id >= 0) {
      const Slot& s = slots_[i];
      if (s.length == key.size() && std::memcmp(blob_->data() + s.offset, key.data(), key.size()) == 0) return s.id;
      i = (i + 1) & mask_;
    }
    return -1;
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::int32_t id = -1;
  };
  static std::size_t hash(std::string_view key) { return std::hash<std::string_view>{}(key); }
  std::string_view view(const Slot& s) const { return {blob_->data() + s.offset, s.length}; }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.id >= 0) insert(s.offset, s.length, s.id);
  }

  const std::string* blob_ = nullptr;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

struct Merge {
  std::int32_t rank = -1;    // position in the merges list: lower merges first
  std::int32_t new_id = -1;  // the token the pair merges into
};

// Maps a pair of token ids to its merge.
class MergeMap {
 public:
  void reserve(std::size_t n) {
    keys_.assign(table_capacity_for(n), kEmpty);
    values_.assign(keys_.size(), Merge{});
    mask_ = keys_.size() - 1;
  }

  // Keeps the first (lowest-rank) merge of a pair, as Hugging Face does.
  void insert(std::int32_t left, std::int32_t right, Merge m) {
    if ((size_ + 1) * 2 > keys_.size()) grow();
    const std::uint64_t key = pack(left, right);
    std::size_t i = hash(key) & mask_;
    while (keys_[i] != kEmpty) {
      if (keys_[i] == key) return;
      i = (i + 1) & mask_;
    }
    keys_[i] = key;
    values_[i] = m;
    ++size_;
  }

  // Returns the merge of (left, right); rank -1 when there is none.
  Merge find(std::int32_t left, std::int32_t right) const {
    const std::uint64_t key = pack(left, right);
    std::size_t i = hash(key) & mask_;
    while (keys_[i] != kEmpty) {
      if (keys_[i] == key) return values_[i];
      i = (i + 1) & mask_;
    }
    return Merge{};
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  static std::uint64_t pack(std::int32_t a, std::int32_t b) {
    return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
  }
  static std::size_t hash(std::uint64_t k) {
    k ^= k >> 29;
    k *= 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(k ^ (k >> 32));
  }
  void grow() {
    std::vector<std::uint64_t> old_keys = std::move(keys_);
    std::vector<Merge> old_values = std::move(values_);
    reserve(old_keys.empty() ? 8 : old_keys.size());
    size_ = 0;
    for (std::size_t i = 0; i < old_keys.size(); ++i)
      if (old_keys[i] != kEmpty)
        insert(std::int32_t(old_keys[i] >> 32), std::int32_t(old_keys[i] & 0xFFFFFFFFu), old_values[i]);
  }

  std::vector<std::uint64_t> keys_ = std::vector<std::uint64_t>(16, kEmpty);
  std::vector<Merge> values_ = std::vector<Merge>(16);
  std::size_t mask_ = 15;
  std::size_t size_ = 0;
};

}  // namespace kvlm::tok
