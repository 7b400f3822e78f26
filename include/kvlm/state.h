// State: one conversation's KV cache and scratch space. Not thread-safe;
// use one State per thread. Created by Model::new_state().
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>

#include "kvlm/dtype.h"

namespace kvlm {

namespace detail {
struct StateAccess;  // the forward passes' view of the cache (src/model/state_access.h)
}

struct StateShape {
  int num_layers = 0;
  int num_kv_heads = 0;
  int max_ctx = 0;
  int head_dim = 0;
};

class State {
 public:
  State(StateShape shape, DType cache_dtype);
  State(State&&) noexcept;
  State& operator=(State&&) noexcept;
  ~State();

  // Copies the cache explicitly (its cost is visible at the call site).
  State clone() const;

  int length() const { return length_; }
  int max_ctx() const { return shape_.max_ctx; }
  const StateShape& shape() const { return shape_; }
  DType cache_dtype() const { return cache_dtype_; }
  void reset() { length_ = 0; }
  // Forgets every position >= pos (rewind); pos must be <= length().
  void truncate(int pos);

  // Saves the shape, cache dtype, length and the used cache rows (a small
  // header: magic "KVLMSTAT", version, shape, dtype, length; then per layer and
  // KV head the first length() rows of keys, then of values). Defined in
  // src/generate/state_io.cpp.
  void save(std::ostream& out) const;
  void save(const std::filesystem::path& file) const;
  // Reads a saved State; throws Error on a wrong magic or version, an invalid
  // shape or dtype, a length above max_ctx, or truncated data.
  static State load(std::istream& in);
  static State load(const std::filesystem::path& file);

  struct Scratch;  // the forward pass's activation buffers

 private:
  friend struct detail::StateAccess;
  // Cache layout (num_layers, 1, num_kv_heads, max_ctx, head_dim), elements
  // of cache_dtype(); the start of one layer.
  void* keys(int layer);
  void* values(int layer);
  const void* keys(int layer) const;
  const void* values(int layer) const;
  void set_length(int n) { length_ = n; }

  StateShape shape_;
  DType cache_dtype_;
  int length_ = 0;
  std::size_t layer_bytes_ = 0;
  std::unique_ptr<std::byte[]> keys_;
  std::unique_ptr<std::byte[]> values_;
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace kvlm
