// Sampling with the logits processors of transformers' generate(), in its
// order: RepetitionPenalty, Temperature, TopK, TopP, MinP.
#include "kvlm/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kvlm/error.h"

namespace kvlm {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Softmax over the finite entries of `x` (in double).
std::vector<double> softmax(const std::vector<double>& x) {
  double mx = kNegInf;
  for (double v : x) mx = std::max(mx, v);
  std::vector<double> p(x.size(), 0.0);
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] != kNegInf) sum += (p[i] = std::exp(x[i] - mx));
  for (double& v : p) v /= sum;
  return p;
}

std::int32_t first_argmax(const std::vector<double>& x) {
  return std::int32_t(std::max_element(x.begin(), x.end()) - x.begin());
}

}  // namespace

SamplingOptions SamplingOptions::from(const GenerationConfig& config) {
  SamplingOptions o;
  o.greedy = !config.do_sample;
  o.temperature = config.temperature;
  o.top_k = config.top_k;
  o.top_p = config.top_p;
  o.repetition_penalty = config.repetition_penalty;
  return o;
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  if (options.top_k < 0) throw Error("top-k must be >= 0");
  if (!(options.top_p > 0.0 && options.top_p <= 1.0)) throw Error("top-p must be in (0, 1]");
  if (!(options.min_p >= 0.0 && options.min_p <= 1.0)) throw Error("min-p must be in [0, 1]");
  if (!(options.repetition_penalty > 0.0)) throw Error("repetition penalty must be > 0");
  if (!(options.temperature >= 0.0)) throw Error("temperature must be >= 0");
}

std::vector<double> Sampler::processed_logits(std::span<const float> logits,
                                              std::span<const std::int32_t> history) const {
  if (logits.empty()) throw Error("sample: empty logits");
  const std::size_t n = logits.size();
  std::vector<double> x(logits.begin(), logits.end());
  // Repetition penalty: each distinct seen id once (HF gathers then scatters).
  if (options_.repetition_penalty != 1.0) {
    std::vector<bool> seen(n, false);
    for (std::int32_t id : history)
      if (id >= 0 && std::size_t(id) < n && !seen[std::size_t(id)]) {
        seen[std::size_t(id)] = true;
        double& v = x[std::size_t(id)];
        v = v < 0 ? v * options_.repetition_penalty : v / options_.repetition_penalty;
      }
  }
  if (options_.is_greedy()) return x;
  for (double& v : x) v /= options_.temperature;
  // Top-k: drop everything below the k-th largest value (ties with it stay).
  if (options_.top_k > 0 && std::size_t(options_.top_k) < n) {
    std::vector<double> sorted = x;
    std::nth_element(sorted.begin(), sorted.begin() + (options_.top_k - 1), sorted.end(), std::greater<double>());
    const double kth = sorted[std::size_t(options_.top_k - 1)];
    for (double& v : x)
      if (v < kth) v = kNegInf;
  }
  // Top-p: sort ascending, drop the ids whose cumulative probability is
  // <= 1 - top_p (always keeping the most likely one).
  if (options_.top_p < 1.0) {
    const std::vector<double> p = softmax(x);
    std::vector<std::int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return x[a] < x[b]; });
    double cum = 0.0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      cum += p[std::size_t(order[i])];
      if (cum <= 1.0 - options_.top_p) x[std::size_t(order[i])] = kNegInf;
    }
  }
  // Min-p: drop ids whose probability is below min_p times the best one's.
  if (options_.min_p > 0.0) {
    const std::vector<double> p = softmax(x);
    const double threshold = options_.min_p * *std::max_element(p.begin(), p.end());
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] < threshold) x[i] = kNegInf;
  }
  return x;
}

std::vector<double> Sampler::probabilities(std::span<const float> logits,
                                           std::span<const std::int32_t> history) const {
  const std::vector<double> x = processed_logits(logits, history);
  if (options_.is_greedy()) {
    std::vector<double> p(x.size(), 0.0);
    p[std::size_t(first_argmax(x))] = 1.0;
    return p;
  }
  return softmax(x);
}

std::int32_t Sampler::sample(std::span<const float> logits, std::span<const std::int32_t> history) {
  if (logits.empty()) throw Error("sample: empty logits");
  // Plain greedy, the common case: the first maximum of the floats is that
  // of their (exact) double copies, without copying a 128K vocabulary per token.
  if (options_.is_greedy() && options_.repetition_penalty == 1.0)
    return std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const std::vector<double> x = processed_logits(logits, history);
  if (options_.is_greedy()) return first_argmax(x);
  const std::vector<double> p = softmax(x);
  // 53 random bits -> u in [0, 1); walk the cumulative distribution.
  const double u = double(rng_() >> 11) * 0x1.0p-53;
  double cum = 0.0;
  std::int32_t last = -1;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0.0) continue;
    last = std::int32_t(i);
    cum += p[i];
    if (u < cum) return last;
  }
  return last;  // rounding left u above the total: the last kept id
}

}  // namespace kvlm
