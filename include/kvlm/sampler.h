// Token sampling with Hugging Face semantics: repetition penalty, temperature,
// top-k, top-p, min-p, applied in that order, then a seeded draw. A Sampler is
// per generation (it owns its RNG) and not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "kvlm/config.h"

namespace kvlm {

struct SamplingOptions {
  bool greedy = true;               // argmax (also when temperature <= 0)
  double temperature = 1.0;
  int top_k = 0;                    // 0: off
  double top_p = 1.0;               // 1: off
  double min_p = 0.0;               // 0: off
  double repetition_penalty = 1.0;  // 1: off; >1 discourages ids already in the history
  std::uint64_t seed = 0;

  // The model's defaults (Llama 3.2: sample, temperature 0.6, top_p 0.9).
  static SamplingOptions from(const GenerationConfig& config);
  bool is_greedy() const { return greedy || temperature <= 0.0; }
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);

  // Chooses the next id from `logits` [vocab] given the ids seen so far
  // (prompt + generated: the repetition penalty's history). Greedy picks the
  // first maximum (after the repetition penalty).
  std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history);

  // The distribution sample() draws from: probabilities [vocab] after every
  // filter (0 for removed ids), in double. For greedy, one-hot on the argmax.
  std::vector<double> probabilities(std::span<const float> logits, std::span<const std::int32_t> history) const;

  // The processed logits in HF order (removed ids are -inf), in double.
  std::vector<double> processed_logits(std::span<const float> logits, std::span<const std::int32_t> history) const;

  const SamplingOptions& options() const { return options_; }

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace kvlm
