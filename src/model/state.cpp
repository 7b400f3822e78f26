#include "kvlm/state.h"

#include <cstring>
#include <string>

#include "kvlm/error.h"
#include "model/scratch.h"

namespace kvlm {

State::State(StateShape shape, DType cache_dtype)
    : shape_(shape), cache_dtype_(cache_dtype), scratch_(std::make_unique<Scratch>()) {
  if (cache_dtype == DType::bf16) throw Error("bf16 KV cache is not supported (use f16 or f32)");
  layer_bytes_ = std::size_t(shape.num_kv_heads) * std::size_t(shape.max_ctx) * std::size_t(shape.head_dim) *
                 dtype_size(cache_dtype);
  const std::size_t total = layer_bytes_ * std::size_t(shape.num_layers);
  // Zero-filled so the cache is deterministic (and clone() copies defined bytes).
  keys_ = std::make_unique<std::byte[]>(total);
  values_ = std::make_unique<std::byte[]>(total);
}

State::State(State&&) noexcept = default;
State& State::operator=(State&&) noexcept = default;
State::~State() = default;

State State::clone() const {
  State copy(shape_, cache_dtype_);
  const std::size_t total = layer_bytes_ * std::size_t(shape_.num_layers);
  std::memcpy(copy.keys_.get(), keys_.get(), total);
  std::memcpy(copy.values_.get(), values_.get(), total);
  copy.length_ = length_;
  if (scratch_->pool) copy.scratch_->pool = std::make_unique<ThreadPool>(scratch_->pool->size());
  return copy;
}

void State::truncate(int pos) {
  if (pos < 0 || pos > length_)
    throw Error("truncate(" + std::to_string(pos) + ") is outside the state's length " + std::to_string(length_));
  length_ = pos;
}

void* State::keys(int layer) { return keys_.get() + std::size_t(layer) * layer_bytes_; }
void* State::values(int layer) { return values_.get() + std::size_t(layer) * layer_bytes_; }
const void* State::keys(int layer) const { return keys_.get() + std::size_t(layer) * layer_bytes_; }
const void* State::values(int layer) const { return values_.get() + std::size_t(layer) * layer_bytes_; }

}  // namespace kvlm
