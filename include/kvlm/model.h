// Model: immutable weights + config, shared by any number of threads.
// State: one conversation's KV cache. Model::forward appends to a State.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
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
  // Weight dtype used for math: f16 (the default for a Hugging Face
  // directory), bf16, f32 (which also switches the KV cache to f32: the
  // exactness mode), q8 or q4 (quantized at load). A .kvlm package holds one
  // dtype; unset means that one, and any other is an error.
  std::optional<DType> dtype;
  Backend backend = Backend::cpu;
  int threads = 0;  // 0: one per hardware core
  // Weights stored in the compute dtype are used straight from the mmapped
  // file: loading takes milliseconds. false copies them into anonymous
  // huge-page memory instead: loading reads the whole file, but decode avoids
  // the 4 KiB-page TLB misses a file mapping can cost (2-7x slower streaming
  // measured in this project's VM), like llama.cpp's --no-mmap.
  bool use_mmap = true;
};

enum class LogitsMode { last, all };

struct ModelInfo {
  std::uint64_t parameter_count = 0;
  std::uint64_t weight_bytes = 0;  // bytes of weights as used for math
  std::size_t tensor_count = 0;
};

class Model {
 public:
  // Loads a Hugging Face model directory (config.json + *.safetensors) or a
  // .kvlm package (kvlm convert).
  static std::shared_ptr<const Model> load(const std::filesystem::path& path, const LoadOptions& options = {});
  virtual ~Model();

  const ModelConfig& config() const;
  const GenerationConfig& generation_config() const;
  // The options as resolved at load (dtype always set).
  const LoadOptions& options() const;
  DType dtype() const { return *options().dtype; }
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
  // Internals for kvlm's own tools (package writer); not a stable API.
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvlm
