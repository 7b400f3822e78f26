// Model: immutable weights + config, shared by any number of threads.
// State: one conversation's KV cache. Model::forward appends to a State.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kvlm/config.h"
#include "kvlm/dtype.h"
#include "kvlm/state.h"

namespace kvlm {

namespace detail {
struct ModelAccess;  // the package writer's view of the weights (src/model/model_impl.h)
}

enum class Backend {
  reference,  // plain scalar f32 loops written to be obviously correct: the test oracle
  cpu,        // multi-threaded, SIMD kernels chosen at runtime (generic / AVX2 / AVX-512)
};

// Where weights stored in the compute dtype live.
enum class WeightMemory {
  // A package is mapped, unless the page cache holds over a fifth of it in
  // pages the kernel maps 4 KiB at a time (as a copy, a download, or faults
  // after an eviction leave a file; a sequential read such as `kvlm
  // convert`'s leaves large folios) and anonymous memory can get huge pages
  // and the copy fits in half the available memory: then it is copied,
  // because every 4 KiB page of a mapping costs a page walk at its first
  // touch and TLB misses in every token after that, which make such a
  // package start and decode slower mapped than copied (docs/PERF.md).
  // A Hugging Face directory or a GGUF is mapped.
  automatic,
  // Used straight from the mapped file: loading takes milliseconds, and
  // processes share the page cache's copy.
  mapped,
  // Copied into anonymous huge-page memory, like llama.cpp's --no-mmap:
  // loading reads the whole file; decode takes no 4 KiB-page TLB misses
  // where the memory gets huge pages.
  copied,
};

struct LoadOptions {
  // Weight dtype used for math: f16 (the default for a Hugging Face
  // directory or a GGUF), bf16, f32 (which also switches the KV cache to f32: the
  // exactness mode), q8 or q4 (quantized at load). A .kvlm package holds one
  // dtype; unset means that one, and any other is an error.
  std::optional<DType> dtype;
  Backend backend = Backend::cpu;
  int threads = 0;  // 0: one per hardware core; negative is an Error
  WeightMemory weight_memory = WeightMemory::automatic;
  // A .kvlm package's header is checked against its checksum at every load;
  // verify also hashes every blob (weights, tokenizer and template files) and
  // throws Error naming the first that differs from its checksum. Off by
  // default because it reads every page of the file. Other formats carry no
  // checksums: ignored for them.
  bool verify = false;
};

enum class LogitsMode { last, all };

struct ModelInfo {
  std::uint64_t parameter_count = 0;
  std::uint64_t weight_bytes = 0;  // bytes of weights as used for math
  std::size_t tensor_count = 0;
};

// What a model says about itself, read from its headers alone: no weight is
// read or converted, so it takes milliseconds whatever the model's size.
struct ModelSummary {
  std::string format;  // "huggingface" (a directory), "kvlm" (a package) or "gguf"
  ModelConfig config;
  GenerationConfig generation;
  // The weight matrices' dtypes as the files name them, distinct, in order of
  // first use: "BF16" (safetensors), "q8" (a package), "Q4_0, Q6_K" (a GGUF).
  std::string stored_dtypes;
  DType dtype = DType::f16;  // what Model::load with the same options computes in
  ModelInfo info;            // what Model::info() would say after that load
  std::uint64_t file_bytes = 0;  // the file, or a directory's *.safetensors
};

// Reads the config, the generation config and every tensor's name, shape
// and dtype, checking them as Model::load does (same errors), without
// reading any weight. options.dtype as for Model::load (a package allows
// only its own); the other options are not used.
ModelSummary inspect_model(const std::filesystem::path& path, const LoadOptions& options = {});

class Model {
 public:
  // Loads a Hugging Face model directory (config.json + *.safetensors), a
  // .kvlm package (kvlm convert) or a GGUF file (architectures llama and
  // qwen2; quantized tensors are dequantized, then converted to the dtype).
  static std::shared_ptr<const Model> load(const std::filesystem::path& path, const LoadOptions& options = {});
  virtual ~Model();

  const ModelConfig& config() const;
  const GenerationConfig& generation_config() const;
  // The options as resolved at load (dtype always set; weight_memory is
  // what `automatic` chose).
  const LoadOptions& options() const;
  DType dtype() const { return *options().dtype; }
  ModelInfo info() const;

  // Creates an empty State sized for max_ctx tokens (0: 512, capped at
  // max_position_embeddings; above it is an error). threads = 0: its
  // forward calls take turns on the model's threads; N > 0: the State gets
  // N threads of its own (kept by clone()), so its forward calls run beside
  // those of other States (same results: kernels reduce in a fixed order).
  State new_state(int max_ctx = 0, int threads = 0) const;

  // Runs `ids` at positions state.length() ... and appends their K/V to the
  // state. Returns f32 logits, [ids.size()][vocab] for LogitsMode::all or
  // [vocab] for LogitsMode::last. Throws ContextOverflowError (state
  // unchanged) if the state cannot hold them, Error for an id out of range.
  std::vector<float> forward(std::span<const std::int32_t> ids, State& state,
                             LogitsMode mode = LogitsMode::last) const;
  // One decode step of several conversations as one pass over the weights
  // (decode is bound by reading them, so a batch costs little more than one
  // step): appends ids[i] to *states[i] (distinct States of this model) and
  // returns logits [n][vocab], row i exactly what forward({ids[i]},
  // *states[i]) returns. Checks everything before changing any State.
  std::vector<float> forward_batch(std::span<const std::int32_t> ids, std::span<State* const> states) const;

  struct Impl;

 private:
  friend struct detail::ModelAccess;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvlm
