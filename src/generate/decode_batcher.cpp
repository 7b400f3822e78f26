#include "kvlm/decode_batcher.h"

#include <algorithm>
#include <exception>
#include <span>

#include "kvlm/error.h"

namespace kvlm {

struct DecodeBatcher::Step {
  std::int32_t id;
  State* state;
  std::vector<float> logits;
  std::exception_ptr error;
  bool done = false;
};

DecodeBatcher::DecodeBatcher(std::shared_ptr<const Model> model, int max_batch, std::chrono::microseconds gather_wait)
    : model_(std::move(model)), max_batch_(std::size_t(std::max(1, max_batch))), gather_wait_(gather_wait) {
  if (!model_) throw Error("DecodeBatcher needs a model");
}

void DecodeBatcher::join() {
  const std::lock_guard lock(mutex_);
  ++joined_;
}

void DecodeBatcher::leave() {
  {
    const std::lock_guard lock(mutex_);
    --joined_;
  }
  changed_.notify_all();  // a leader may be waiting for this session's step
}

std::uint64_t DecodeBatcher::steps() const {
  const std::lock_guard lock(mutex_);
  return steps_;
}

std::uint64_t DecodeBatcher::passes() const {
  const std::lock_guard lock(mutex_);
  return passes_;
}

// Runs a batch; a batch whose pass fails (one bad step: an id out of range, a
// full State) runs its steps one by one, so each gets its own result or error.
void DecodeBatcher::run(std::vector<Step*>& batch) {
  std::vector<std::int32_t> ids;
  std::vector<State*> states;
  for (const Step* s : batch) {
    ids.push_back(s->id);
    states.push_back(s->state);
  }
  try {
    const std::vector<float> logits = model_->forward_batch(ids, states);
    const std::size_t vocab = logits.size() / batch.size();
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i]->logits.assign(logits.begin() + std::ptrdiff_t(i * vocab), logits.begin() + std::ptrdiff_t((i + 1) * vocab));
  } catch (const std::exception&) {
    for (Step* s : batch) {
      try {
        const std::int32_t one[1] = {s->id};
        s->logits = model_->forward(one, *s->state, LogitsMode::last);
      } catch (...) {
        s->error = std::current_exception();
      }
    }
  }
}

std::vector<float> DecodeBatcher::decode(std::int32_t id, State& state) {
  Step step{id, &state, {}, nullptr};
  std::unique_lock lock(mutex_);
  waiting_.push_back(&step);
  changed_.notify_all();
  const auto first_wait = std::chrono::steady_clock::now();
  while (!step.done) {
    if (running_) {
      changed_.wait(lock);
      continue;
    }
    // Lead the next pass once every joined session has a step waiting (or the
    // batch is full, or the gather time is up: a session may be busy streaming).
    const bool all_here = waiting_.size() >= std::size_t(std::max(joined_, 1)) || waiting_.size() >= max_batch_;
    if (!all_here && changed_.wait_until(lock, first_wait + gather_wait_) != std::cv_status::timeout) continue;
    if (running_ || step.done) continue;
    running_ = true;
    const std::size_t n = std::min(waiting_.size(), max_batch_);
    std::vector<Step*> batch(waiting_.begin(), waiting_.begin() + std::ptrdiff_t(n));
    waiting_.erase(waiting_.begin(), waiting_.begin() + std::ptrdiff_t(n));
    lock.unlock();
    run(batch);
    lock.lock();
    for (Step* s : batch) s->done = true;
    steps_ += batch.size();
    ++passes_;
    running_ = false;
    changed_.notify_all();
  }
  if (step.error) std::rethrow_exception(step.error);
  return std::move(step.logits);
}

}  // namespace kvlm
