#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include "core/cpu_features.h"
#include "core/page_cache.h"
#include "gguf/gguf_file.h"
#include "io/package_file.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "model/model_impl.h"
#include "model/state_access.h"
#include "model/package_weights.h"
#include "model/rope.h"
#include "model/tensor_source.h"

namespace kvlm {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

namespace {

// WeightMemory::automatic copies a package of which under kMinHugeShare
// would map with 2 MiB entries, when anonymous memory can be huge pages and
// the copy fits in half of the memory available (the page cache's copy
// stays, reclaimable). The copy, read by two threads, starts an f16 1B
// package in 0.35-0.42 s here; mapped, 4 KiB pages cost about 0.3 ms per MB
// at first touch and 2 MiB-mapped ones 0.1, so starts break even near 70%
// in 2 MiB entries (measured: 53% mapped 0.48-0.56 s, 95% 0.24-0.38 s), and
// decode still takes the small pages' TLB misses: 0.8.
constexpr double kMinHugeShare = 0.8;

WeightMemory package_weight_memory(WeightMemory asked, const std::filesystem::path& path) {
  if (asked != WeightMemory::automatic) return asked;
  if (!anonymous_huge_pages_available()) return WeightMemory::mapped;
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  const std::optional<std::size_t> available = available_memory();
  if (ec || !available || size > *available / 2) return WeightMemory::mapped;
  const std::optional<double> share = huge_mapped_share(path);
  return share && *share < kMinHugeShare ? WeightMemory::copied : WeightMemory::mapped;
}

// Config, generation config and weights from a .kvlm package; the dtype is
// the stored one (asking for another is an error).
void load_package(Model::Impl& impl, const std::filesystem::path& path, const LoadOptions& options) {
  impl.options.weight_memory = package_weight_memory(options.weight_memory, path);
  const bool copy = impl.options.weight_memory == WeightMemory::copied;
  // Mapped weights are all read by the first token: map them in one pass. A
  // copy is read only once the header has passed the checks below.
  const auto package = std::make_shared<PackageFile>(path, /*populate=*/!copy);
  const auto& header = package->header();
  const std::string where = path.string();
  impl.config = ModelConfig::parse(header["config"].dump(), where + " (config)");
  const auto& generation = header.value("generation_config", nlohmann::json());
  impl.generation = GenerationConfig::parse(generation.is_null() ? "{}" : generation.dump(),
                                            where + " (generation_config)", impl.config);
  if (!header["dtype"].is_string()) throw Error(where + ": package dtype is not a string");
  const DType stored = parse_dtype(header["dtype"].get<std::string>());
  if (options.dtype && *options.dtype != stored)
    throw Error(where + " holds " + std::string(dtype_name(stored)) + " weights; --dtype " +
                std::string(dtype_name(*options.dtype)) + " needs another kvlm convert");
  impl.options.dtype = stored;
  if (copy) package->copy_into_memory(*impl.pool);
  if (options.verify) package->verify_blobs(*impl.pool);  // the bytes the weights will use
  impl.weights = load_package_weights(package, impl.config, stored);
}

// The same from a Hugging Face directory, converting to the asked dtype (f16 by default).
void load_directory(Model::Impl& impl, const std::filesystem::path& path, const LoadOptions& options) {
  impl.config = ModelConfig::load(path);
  impl.generation = GenerationConfig::load(path, impl.config);
  impl.options.dtype = options.dtype.value_or(DType::f16);
  if (options.weight_memory == WeightMemory::automatic) impl.options.weight_memory = WeightMemory::mapped;
  impl.weights = load_weights(safetensors_source(path), impl.config, *impl.options.dtype,
                              impl.options.weight_memory == WeightMemory::mapped, *impl.kernels, *impl.pool);
}

// The same from a GGUF file: config and generation config from its metadata
// (as ModelFiles shows them), quantized tensors dequantized, f16 by default.
void load_gguf(Model::Impl& impl, const std::filesystem::path& path, const LoadOptions& options) {
  const ModelFiles files = ModelFiles::open(path);
  const std::string where = path.string();
  impl.config = ModelConfig::parse(files.read("config.json").value(), where + " (config)");
  impl.generation = GenerationConfig::parse(files.read("generation_config.json").value(),
                                            where + " (generation_config)", impl.config);
  impl.options.dtype = options.dtype.value_or(DType::f16);
  if (options.weight_memory == WeightMemory::automatic) impl.options.weight_memory = WeightMemory::mapped;
  impl.weights = load_weights(gguf_source(path, impl.config.num_heads, impl.config.num_kv_heads), impl.config,
                              *impl.options.dtype, impl.options.weight_memory == WeightMemory::mapped,
                              *impl.kernels, *impl.pool);
}

}  // namespace

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path, const LoadOptions& options) {
  if (options.threads < 0)
    throw Error("a model's thread count must be 0 (one per core) or more, got " + std::to_string(options.threads));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->kernels = &kernels_for(selected_isa());
  impl->pool = std::make_unique<ThreadPool>(options.backend == Backend::reference ? 1 : options.threads);
  std::error_code ec;
  if (is_package_file(path))
    load_package(*impl, path, options);
  else if (is_gguf_file(path))
    load_gguf(*impl, path, options);
  else if (std::filesystem::is_regular_file(path, ec))
    throw Error(path.string() + " is neither a model directory, a .kvlm package nor a GGUF file");
  else
    load_directory(*impl, path, options);
  impl->inv_freq = rope_inverse_frequencies(impl->config);
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

const ModelConfig& Model::config() const { return impl_->config; }
const GenerationConfig& Model::generation_config() const { return impl_->generation; }
const LoadOptions& Model::options() const { return impl_->options; }

ModelInfo Model::info() const {
  return {impl_->weights.parameter_count, impl_->weights.matrix_bytes, impl_->weights.tensor_count};
}

State Model::new_state(int max_ctx, int threads) const {
  const ModelConfig& c = impl_->config;
  if (max_ctx < 0) throw Error("context size must be positive, got " + std::to_string(max_ctx));
  if (max_ctx == 0) max_ctx = std::min(512, c.max_position_embeddings);
  if (max_ctx > c.max_position_embeddings)
    throw Error("context size " + std::to_string(max_ctx) + " exceeds the model's max_position_embeddings " +
                std::to_string(c.max_position_embeddings));
  if (threads < 0) throw Error("a state's thread count must be 0 (the model's pool) or more, got " + std::to_string(threads));
  const DType cache = dtype() == DType::f32 ? DType::f32 : DType::f16;
  State state(StateShape{c.num_layers, c.num_kv_heads, max_ctx, c.head_dim}, cache);
  if (threads > 0) detail::StateAccess::scratch(state).pool = std::make_unique<ThreadPool>(threads);
  return state;
}

namespace {

void check_state(const ModelConfig& c, DType dtype, const State& state) {
  const StateShape& shape = state.shape();
  if (shape.num_layers != c.num_layers || shape.num_kv_heads != c.num_kv_heads || shape.head_dim != c.head_dim ||
      state.cache_dtype() != (dtype == DType::f32 ? DType::f32 : DType::f16))
    throw Error("state was not created by this model");
}

void check_ids(const ModelConfig& c, std::span<const std::int32_t> ids) {
  for (const std::int32_t id : ids)
    if (id < 0 || id >= c.vocab_size)
      throw Error("token id " + std::to_string(id) + " is out of range [0, " + std::to_string(c.vocab_size) + ")");
}

void check_room(const State& state, std::size_t tokens) {
  if (std::size_t(state.length()) + tokens > std::size_t(state.max_ctx()))
    throw ContextOverflowError("context overflow: " + std::to_string(state.length()) + " cached + " +
                               std::to_string(tokens) + " new tokens exceed the context size " +
                               std::to_string(state.max_ctx()));
}

}  // namespace

std::vector<float> Model::forward(std::span<const std::int32_t> ids, State& state, LogitsMode mode) const {
  const ModelConfig& c = impl_->config;
  check_state(c, dtype(), state);
  if (ids.empty()) throw Error("forward needs at least one token");
  check_ids(c, ids);
  check_room(state, ids.size());
  std::vector<float> logits;
  State* const one[] = {&state};
  if (ThreadPool* own = detail::StateAccess::scratch(state).pool.get(); own && impl_->options.backend == Backend::cpu) {
    forward_cpu(*impl_, *own, ids, one, mode, logits);  // its own threads: no turn to wait for
  } else {
    const std::lock_guard lock(impl_->pool_mutex);
    if (impl_->options.backend == Backend::reference)
      forward_reference(*impl_, ids, state, mode, logits);
    else
      forward_cpu(*impl_, *impl_->pool, ids, one, mode, logits);
  }
  detail::StateAccess::set_length(state, state.length() + int(ids.size()));
  return logits;
}

std::vector<float> Model::forward_batch(std::span<const std::int32_t> ids, std::span<State* const> states) const {
  const ModelConfig& c = impl_->config;
  if (ids.empty()) throw Error("forward_batch needs at least one token");
  if (ids.size() != states.size())
    throw Error("forward_batch got " + std::to_string(ids.size()) + " ids for " + std::to_string(states.size()) +
                " states");
  check_ids(c, ids);
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (!states[i]) throw Error("forward_batch got a null state");
    check_state(c, dtype(), *states[i]);
    check_room(*states[i], 1);
    for (std::size_t j = 0; j < i; ++j)
      if (states[j] == states[i]) throw Error("forward_batch got the same state twice");
  }
  std::vector<float> logits;
  {
    const std::lock_guard lock(impl_->pool_mutex);
    if (impl_->options.backend == Backend::reference) {
      std::vector<float> one;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        forward_reference(*impl_, ids.subspan(i, 1), *states[i], LogitsMode::last, one);
        logits.insert(logits.end(), one.begin(), one.end());
      }
    } else {
      forward_cpu(*impl_, *impl_->pool, ids, states, LogitsMode::all, logits);
    }
  }
  for (State* st : states) detail::StateAccess::set_length(*st, st->length() + 1);
  return logits;
}

}  // namespace kvlm
