#include "tokenizer/bpe_model.h"

#include <climits>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "kvlm/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace kvlm::tok {

// Word -> ids for short words, split into independently locked shards so that
// threads encoding at once rarely wait on each other. A full shard is cleared.
class BpeCache {
 public:
  static constexpr std::size_t kMaxWordBytes = 256;

  bool get(std::string_view word, std::vector<std::int32_t>& out) const {
    Shard& s = shard(word);
    std::lock_guard lock(s.mutex);
    const auto it = s.map.find(word);
    if (it == s.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }

  void put(std::string_view word, const std::int32_t* ids, std::size_t n) const {
    Shard& s = shard(word);
    std::lock_guard lock(s.mutex);
    if (s.map.size() >= kShardCapacity) s.map.clear();
    s.map.emplace(std::string(word), std::vector<std::int32_t>(ids, ids + n));
  }

 private:
  static constexpr std::size_t kShards = 32;
  static constexpr std::size_t kShardCapacity = 8192;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::int32_t>, Hash, std::equal_to<>> map;
  };
  Shard& shard(std::string_view word) const {
    return shards_[(std::hash<std::string_view>{}(word) >> 7) % kShards];
  }
  mutable std::array<Shard, kShards> shards_;
};

BpeModel::~BpeModel() = default;

BpeModel::BpeModel(BpeSource source, bool byte_level, const std::string& context)
    : blob_(std::move(source.vocab_blob)),
      byte_level_(byte_level),
      byte_fallback_(source.byte_fallback),
      fuse_unk_(source.fuse_unk),
      ignore_merges_(source.ignore_merges),
      cache_(std::make_unique<BpeCache>()) {
  std::int32_t max_id = -1;
  for (const auto& e : source.vocab) {
    if (e.id < 0) throw Error(context + ": negative id in model.vocab");
    max_id = std::max(max_id, e.id);
  }
  offsets_.assign(std::size_t(max_id + 1), 0);
  lengths_.assign(std::size_t(max_id + 1), kMissing);
  map_.set_blob(blob_.data());
  map_.reserve(source.vocab.size());
  for (const auto& e : source.vocab) {
    if (lengths_[std::size_t(e.id)] != kMissing) throw Error(context + ": id " + std::to_string(e.id) + " appears twice in model.vocab");
    offsets_[std::size_t(e.id)] = e.offset;
    lengths_[std::size_t(e.id)] = e.length;
    map_.insert(e.offset, e.length, e.id);
  }

  if (source.has_unk) unk_id_ = map_.find(source.unk_token);

  // The token each lone byte starts as.
  byte_ids_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    std::string key;
    if (byte_level_) {
      utf8::append_code_point(byte_to_code_point(std::uint8_t(b)), key);
    } else {
      static const char* hex = "0123456789ABCDEF";
      key = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
    }
    byte_ids_[std::size_t(b)] = map_.find(key);
  }

  // Merges keep their list position as rank; a merge naming a string that is
  // not in the vocabulary can never apply and is skipped. The lookups and
  // inserts run a few merges ahead with prefetches: they are random accesses
  // into tables far larger than the caches, and this is most of load time.
  const auto& items = source.merges;
  const char* mb = source.merge_blob.data();
  auto left_of = [&](std::size_t k) { return std::string_view(mb + items[k].offset, items[k].left_length); };
  auto right_of = [&](std::size_t k) {
    return std::string_view(mb + items[k].offset + items[k].left_length, items[k].right_length);
  };
  auto both_of = [&](std::size_t k) {
    return std::string_view(mb + items[k].offset, items[k].left_length + items[k].right_length);
  };
  // A three-stage pipeline, kAhead merges apart: hash and prefetch the
  // strings' slots, look the ids up and prefetch the merge slot, insert.
  constexpr std::size_t kAhead = 16, kRing = 64;
  struct Pending {
    std::size_t hash[3];
    std::int32_t left, right, merged;
  };
  Pending ring[kRing];
  const std::size_t n = items.size();
  merges_.reserve(n);
  for (std::size_t k = 0; k < n + 2 * kAhead; ++k) {
    if (k < n) {
      Pending& p = ring[k % kRing];
      p.hash[0] = StringIdMap::hash(left_of(k));
      p.hash[1] = StringIdMap::hash(right_of(k));
      p.hash[2] = StringIdMap::hash(both_of(k));
      for (const std::size_t h : p.hash) map_.prefetch(h);
    }
    if (k >= kAhead && k - kAhead < n) {
      const std::size_t j = k - kAhead;
      Pending& p = ring[j % kRing];
      p.left = map_.find(left_of(j), p.hash[0]);
      p.right = map_.find(right_of(j), p.hash[1]);
      p.merged = map_.find(both_of(j), p.hash[2]);
      if (p.left >= 0 && p.right >= 0) merges_.prefetch(p.left, p.right);
    }
    if (k >= 2 * kAhead) {
      const std::size_t i = k - 2 * kAhead;
      const Pending& p = ring[i % kRing];
      if (p.left >= 0 && p.right >= 0 && p.merged >= 0)
        merges_.insert(p.left, p.right, Merge{static_cast<std::int32_t>(i), p.merged});
    }
  }
}

void BpeModel::initial_symbols(std::string_view word, std::vector<std::int32_t>& symbols) const {
  symbols.clear();
  if (byte_level_) {
    for (const char c : word) {
      const std::int32_t id = byte_ids_[static_cast<unsigned char>(c)];
      if (id >= 0) symbols.push_back(id);
      else if (unk_id_ >= 0) symbols.push_back(unk_id_);
    }
    return;
  }
  bool previous_unk = false;
  std::size_t i = 0;
  while (i < word.size()) {
    const std::size_t start = i;
    utf8::next_code_point(word, i);
    const std::string_view ch = word.substr(start, i - start);
    const std::int32_t id = map_.find(ch);
    if (id >= 0) {
      symbols.push_back(id);
      previous_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (const char c : ch) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (const char c : ch) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
        previous_unk = false;
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (!(fuse_unk_ && previous_unk)) symbols.push_back(unk_id_);
      previous_unk = true;
    }
    // Without an unknown token the character is dropped, as in Hugging Face.
  }
}

// Repeatedly applies the lowest-rank merge (leftmost on ties), keeping the
// rank of each adjacent pair so that a merge only re-ranks its neighbours.
void BpeModel::merge_small(std::vector<std::int32_t>& w) const {
  constexpr std::int32_t kNone = INT32_MAX;
  std::int32_t ranks[64], next_ids[64];
  std::size_t n = w.size();
  auto rank_at = [&](std::size_t i) {
    const Merge m = merges_.find(w[i], w[i + 1]);
    ranks[i] = m.rank >= 0 ? m.rank : kNone;
    next_ids[i] = m.new_id;
  };
  for (std::size_t i = 0; i + 1 < n; ++i) rank_at(i);
  while (n > 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < n; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == kNone) break;
    w[best] = next_ids[best];
    for (std::size_t i = best + 1; i + 1 < n; ++i) w[i] = w[i + 1];
    for (std::size_t i = best + 1; i + 2 < n; ++i) {
      ranks[i] = ranks[i + 1];
      next_ids[i] = next_ids[i + 1];
    }
    --n;
    if (best > 0) rank_at(best - 1);
    if (best + 1 < n) rank_at(best);
  }
  w.resize(n);
}

// The same merge order for long words with a priority queue over a linked
// list, as Hugging Face's word.merge_all does: O(n log n).
void BpeModel::merge_large(std::vector<std::int32_t>& w) const {
  struct Symbol {
    std::int32_t id;
    std::int32_t prev, next;
    bool alive;
  };
  struct Candidate {
    std::int32_t rank, pos, new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<std::int32_t>(w.size());
  std::vector<Symbol> sym(w.size());
  for (std::int32_t i = 0; i < n; ++i) sym[std::size_t(i)] = {w[std::size_t(i)], i - 1, i + 1 < n ? i + 1 : -1, true};
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push = [&](std::int32_t pos) {
    const std::int32_t next = sym[std::size_t(pos)].next;
    if (next < 0) return;
    const Merge m = merges_.find(sym[std::size_t(pos)].id, sym[std::size_t(next)].id);
    if (m.rank >= 0) queue.push({m.rank, pos, m.new_id});
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = sym[std::size_t(c.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[std::size_t(left.next)];
    // Skip stale entries: the pair changed since this candidate was queued.
    const Merge now = merges_.find(left.id, right.id);
    if (now.rank != c.rank || now.new_id != c.new_id) continue;
    left.id = c.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[std::size_t(right.next)].prev = c.pos;
    if (left.prev >= 0) push(left.prev);
    push(c.pos);
  }
  w.clear();
  for (std::int32_t i = 0; i >= 0 && i < n; i = sym[std::size_t(i)].next) w.push_back(sym[std::size_t(i)].id);
}

void BpeModel::encode_word(std::string_view word, std::vector<std::int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    // Whole words that are vocab tokens skip the merges (Llama 3).
    std::int32_t id;
    if (byte_level_) {
      thread_local std::string spelled;
      spelled.clear();
      for (const char c : word) utf8::append_code_point(byte_to_code_point(static_cast<std::uint8_t>(c)), spelled);
      id = map_.find(spelled);
    } else {
      id = map_.find(word);
    }
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() <= BpeCache::kMaxWordBytes;
  if (cacheable && cache_->get(word, out)) return;
  thread_local std::vector<std::int32_t> symbols;
  initial_symbols(word, symbols);
  if (symbols.size() <= 64)
    merge_small(symbols);
  else
    merge_large(symbols);
  if (cacheable) cache_->put(word, symbols.data(), symbols.size());
  out.insert(out.end(), symbols.begin(), symbols.end());
}

}  // namespace kvlm::tok
