// Model: immutable weights + config, shared by any number of threads.
// State: one conversation's KV cache. Model::forward appends to a State.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "kvlm/config.h"
#include "kvlm/dtype.h"
#include "kvlm/state.h"

namespace kvlm {

enum class Backend {
  reference,  // plain scalar f32 loops written to be obviously correct: the test oracle
  cpu,        // multi-threaded, SIMD kernels chosen at runtime (generic / AVX2 / AVX-512)
};

struct LoadOptions {
  // Weight dtype used for math. f32 also switches the KV cache to f32 (the
  // exactness mode); f16 and bf16 keep the f16 cache.
  DType dtype = DType::f16;
  Backend backend = Backend::cpu;
  int threads = 0;  // 0: one per hardware core
};

enum class LogitsMode { last, all };

struct ModelInfo {
  std::uint64_t parameter_count = 0;
  std::uint64_t weight_bytes = 0;  // bytes of weights as used for math
  std::size_t tensor_count = 0;
};

class Model {
 public:
  // Loads a Hugging Face model directory (config.json + *.safetensors).
  static std::shared_ptr<const Model> load(const std::filesystem::path& dir, const LoadOptions& options = {});
  virtual ~Model();

  const ModelConfig& config() const;
  const GenerationConfig& generation_config() const;
  const LoadOptions& options() const;
  ModelInfo info() const;

  // Creates an empty State sized for max_ctx tokens (0: 512, capped at
  // max_position_embeddings; above it is an error).
  State new_state(int max_ctx = 0) const;

  // Runs `ids` at positions state.length() ... and appends their K/V to the
  // state. Returns f32 logits, [ids.size()][vocab] for LogitsMode::all or
  // [vocab] for LogitsMode::last. Throws ContextOverflowError (state
  // unchanged) if the state cannot hold them, Error for an id out of range.
  std::vector<float> forward(std::span<const std::int32_t> ids, State& state,
                             LogitsMode mode = LogitsMode::last) const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvlm
