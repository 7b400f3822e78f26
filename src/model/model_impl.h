// Model internals shared by the loader and the two forward paths.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kvlm/model.h"
#include "model/weights.h"

namespace kvlm {

struct Model::Impl {
  ModelConfig config;
  GenerationConfig generation;
  LoadOptions options;
  Weights weights;
  std::vector<float> inv_freq;  // [head_dim / 2]
  const KernelTable* kernels = nullptr;
  // The pool is used by const forward calls; forward() on one Model from
  // several threads at once is serialised by pool_mutex.
  std::unique_ptr<ThreadPool> pool;
  mutable std::mutex pool_mutex;
};

namespace detail {
struct ModelAccess {
  static const Model::Impl& impl(const Model& m) { return *m.impl_; }
};
}  // namespace detail

// Both write logits for the new positions (all, or only the last) into `logits`
// and append K/V to the state; neither checks arguments (Model::forward does).
// forward_cpu runs `ids` in states[0], or with several states (a batch of
// decode steps, Model::forward_batch) ids[t] in states[t], on `pool`; it does
// not advance the states' lengths.
void forward_cpu(const Model::Impl& m, ThreadPool& pool, std::span<const std::int32_t> ids,
                 std::span<State* const> states, LogitsMode mode, std::vector<float>& logits);
void forward_reference(const Model::Impl& m, std::span<const std::int32_t> ids, State& state, LogitsMode mode,
                       std::vector<float>& logits);

}  // namespace kvlm
