// Open-addressing hash tables for the two hot lookups of BPE: token bytes -> id
// and (left id, right id) -> merge. Built once at load, read-only afterwards
// (so safe to read from many threads); linear probing, power-of-two capacity.
#pragma once

#include <cstdint>
#include <cstring>
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/large_buffer.h"

namespace kvlm::tok {

inline std::size_t table_capacity_for(std::size_t n) {
  std::size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  return cap;
}

// Maps byte strings stored in one blob (offset, length) to ids. Slots live in
// zeroed LargeBuffer pages (a zero slot is empty; ids are stored plus one).
class StringIdMap {
 public:
  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    buffer_ = std::make_unique<LargeBuffer>(cap * sizeof(Slot));
    slots_ = reinterpret_cast<Slot*>(buffer_->data());
    capacity_ = cap;
    mask_ = cap - 1;
    size_ = 0;
  }
  // Keys are read from `blob`, which must outlive the map and not move.
  void set_blob(const char* blob) { blob_ = blob; }

  // Inserts key -> id unless the key is present; returns false if it was.
  bool insert(std::uint32_t offset, std::uint32_t length, std::int32_t id) {
    if ((size_ + 1) * 2 > capacity_) grow();
    const std::string_view key(blob_ + offset, length);
    std::size_t i = hash(key) & mask_;
    while (slots_[i].id_plus_one != 0) {
      if (view(slots_[i]) == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{offset, length, id + 1};
    ++size_;
    return true;
  }

  // Returns the id of `key`, or -1.
  std::int32_t find(std::string_view key) const { return find(key, hash(key)); }
  // The same with hash(key) computed by the caller (see prefetch).
  std::int32_t find(std::string_view key, std::size_t h) const {
    if (!slots_) return -1;
    std::size_t i = h & mask_;
    while (slots_[i].id_plus_one != 0) {
      const Slot& s = slots_[i];
      if (s.length == key.size() && std::memcmp(blob_ + s.offset, key.data(), key.size()) == 0)
        return s.id_plus_one - 1;
      i = (i + 1) & mask_;
    }
    return -1;
  }

  std::size_t size() const { return size_; }

  static std::size_t hash(std::string_view key) { return std::hash<std::string_view>{}(key); }
  // Starts loading the slot of a key hashing to h: bulk lookups issue this a
  // few keys ahead so that cache misses overlap.
  void prefetch(std::size_t h) const {
    if (slots_) __builtin_prefetch(&slots_[h & mask_]);
  }

 private:
  struct Slot {
    std::uint32_t offset;
    std::uint32_t length;
    std::int32_t id_plus_one;
  };
  std::string_view view(const Slot& s) const { return {blob_ + s.offset, s.length}; }
  void grow() {
    std::unique_ptr<LargeBuffer> old = std::move(buffer_);
    const Slot* old_slots = slots_;
    const std::size_t old_capacity = capacity_;
    reserve(std::max<std::size_t>(16, old_capacity));
    for (std::size_t i = 0; i < old_capacity; ++i)
      if (old_slots[i].id_plus_one != 0) insert(old_slots[i].offset, old_slots[i].length, old_slots[i].id_plus_one - 1);
  }

  const char* blob_ = nullptr;
  std::unique_ptr<LargeBuffer> buffer_;
  Slot* slots_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

struct Merge {
  std::int32_t rank = -1;    // position in the merges list: lower merges first
  std::int32_t new_id = -1;  // the token the pair merges into
};

// Maps a pair of token ids to its merge. Key and value share a 16-byte slot
// so that a lookup touches one cache line. The table lives in a LargeBuffer:
// zeroed pages from the kernel (a zero slot is empty, keys are stored
// inverted) backed by huge pages where possible, because first-touch page
// faults are most of the cost of building it.
class MergeMap {
 public:
  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap * 3 < n * 4) cap <<= 1;  // load factor at most 3/4
    buffer_ = std::make_unique<LargeBuffer>(cap * sizeof(Slot));
    slots_ = reinterpret_cast<Slot*>(buffer_->data());
    capacity_ = cap;
    mask_ = cap - 1;
    size_ = 0;
  }

  // Keeps the first (lowest-rank) merge of a pair, as Hugging Face does.
  void insert(std::int32_t left, std::int32_t right, Merge m) {
    if ((size_ + 1) * 4 > capacity_ * 3) grow();
    const std::uint64_t key = pack(left, right);
    std::size_t i = hash(key) & mask_;
    while (slots_[i].key != 0) {
      if (slots_[i].key == key) return;
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{key, m};
    ++size_;
  }

  // Starts loading the slot of (left, right), for bulk inserts.
  void prefetch(std::int32_t left, std::int32_t right) const {
    if (slots_) __builtin_prefetch(&slots_[hash(pack(left, right)) & mask_]);
  }

  // Returns the merge of (left, right); rank -1 when there is none.
  Merge find(std::int32_t left, std::int32_t right) const {
    if (!slots_) return Merge{};
    const std::uint64_t key = pack(left, right);
    std::size_t i = hash(key) & mask_;
    while (slots_[i].key != 0) {
      if (slots_[i].key == key) return slots_[i].merge;
      i = (i + 1) & mask_;
    }
    return Merge{};
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t key;  // ~(left << 32 | right): never 0 for ids >= 0
    Merge merge;
  };
  static std::uint64_t pack(std::int32_t a, std::int32_t b) {
    return ~((std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b));
  }
  static std::size_t hash(std::uint64_t k) {
    k ^= k >> 29;
    k *= 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(k ^ (k >> 32));
  }
  void grow() {
    std::unique_ptr<LargeBuffer> old = std::move(buffer_);
    const Slot* old_slots = slots_;
    const std::size_t old_capacity = capacity_;
    reserve(std::max<std::size_t>(16, old_capacity * 2));
    for (std::size_t i = 0; i < old_capacity; ++i)
      if (old_slots[i].key != 0) {
        const std::uint64_t k = ~old_slots[i].key;
        insert(std::int32_t(k >> 32), std::int32_t(k & 0xFFFFFFFFu), old_slots[i].merge);
      }
  }

  std::unique_ptr<LargeBuffer> buffer_;
  Slot* slots_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace kvlm::tok
