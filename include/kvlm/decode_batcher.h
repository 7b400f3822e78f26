// DecodeBatcher: lets sessions that generate on different threads share
// forward passes. Decode reads every weight once per step, so N steps run as
// one Model::forward_batch cost little more than one. A session generating
// with GenerateOptions::batcher set joins it for its decode loop; each of its
// steps waits until every joined session has a step waiting (or
// `gather_wait` has passed since the first one did), and one of the waiting
// threads runs them all. Results are exactly those of unbatched decoding.
// Thread-safe: that is its purpose.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "kvlm/model.h"

namespace kvlm {

class DecodeBatcher {
 public:
  // max_batch: the most steps one pass runs (>= 1).
  explicit DecodeBatcher(std::shared_ptr<const Model> model, int max_batch = 8,
                         std::chrono::microseconds gather_wait = std::chrono::microseconds(2000));
  DecodeBatcher(const DecodeBatcher&) = delete;
  DecodeBatcher& operator=(const DecodeBatcher&) = delete;

  const Model& model() const { return *model_; }

  // A session starts / stops decoding through this batcher (Session does both).
  void join();
  void leave();

  // Appends `id` to `state` as part of a batch; returns its logits [vocab].
  // Throws what Model::forward would (only this step's error).
  std::vector<float> decode(std::int32_t id, State& state);

  // Steps run and passes made so far (steps / passes is the mean batch size).
  std::uint64_t steps() const;
  std::uint64_t passes() const;

 private:
  struct Step;
  void run(std::vector<Step*>& batch);

  std::shared_ptr<const Model> model_;
  std::size_t max_batch_;
  std::chrono::microseconds gather_wait_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Step*> waiting_;
  int joined_ = 0;
  bool running_ = false;
  std::uint64_t steps_ = 0, passes_ = 0;
};

}  // namespace kvlm
