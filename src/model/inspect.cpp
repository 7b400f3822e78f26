// inspect_model: a model's config and tensor table from its headers, checked
// as Model::load checks them, with no weight read (kvlm info).
#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "core/matrix_view.h"
#include "gguf/gguf_file.h"
#include "io/package_file.h"
#include "kvlm/error.h"
#include "kvlm/model.h"
#include "kvlm/model_files.h"
#include "model/package_weights.h"
#include "model/rope.h"
#include "model/tensor_source.h"
#include "model/weights.h"
#include "quant/quant_formats.h"

namespace kvlm {
namespace {

void add_distinct(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A package: its header (the tensor table checked by load_package_weights,
// which maps the file but reads only the small f32 vectors).
void inspect_package(ModelSummary& s, const std::filesystem::path& path, const LoadOptions& options) {
  const auto package = std::make_shared<PackageFile>(path, /*populate=*/false);
  const auto& header = package->header();
  const std::string where = path.string();
  s.config = ModelConfig::parse(header["config"].dump(), where + " (config)");
  const auto& generation = header.value("generation_config", nlohmann::json());
  s.generation = GenerationConfig::parse(generation.is_null() ? "{}" : generation.dump(), where + " (generation_config)",
                                         s.config);
  if (!header["dtype"].is_string()) throw Error(where + ": package dtype is not a string");
  const DType stored = parse_dtype(header["dtype"].get<std::string>());
  if (options.dtype && *options.dtype != stored)
    throw Error(where + " holds " + std::string(dtype_name(stored)) + " weights; --dtype " +
                std::string(dtype_name(*options.dtype)) + " needs another kvlm convert");
  s.dtype = stored;
  const Weights w = load_package_weights(package, s.config, stored);
  s.info = {w.parameter_count, w.matrix_bytes, w.tensor_count};
  std::vector<std::string> formats;
  if (const auto tensors = header.find("tensors"); tensors != header.end() && tensors->is_object())
    for (const auto& [name, t] : tensors->items()) {
      if (!t.is_object()) continue;
      const auto format = t.value("format", nlohmann::json());
      if (format.is_string() && t.value("shape", nlohmann::json()).size() == 2)
        add_distinct(formats, format.get<std::string>());
    }
  s.stored_dtypes = joined(formats);
}

// A directory or a GGUF: every tensor the config implies, checked for
// presence, dtype and shape as load_weights checks them, and the bytes the
// matrices would take in the compute dtype (the q8 / q4 choice of
// weights.cpp's Loader::quantized: q4 keeps the output matrix and matrices
// without whole q4 blocks in q8).
void inspect_source(ModelSummary& s, TensorSource& source, const LoadOptions& options) {
  s.dtype = options.dtype.value_or(DType::f16);
  Weights w;
  std::vector<std::string> dtypes;
  for (const WeightSlot& slot : weight_slots(w, s.config)) {
    const SourceTensorInfo t = source.info(slot.name);
    if (!t.readable) throw Error("tensor " + slot.name + " has dtype " + t.dtype_name + " (expected F32, F16 or BF16)");
    if (t.shape != slot.shape) {
      auto shape = [](const std::vector<std::int64_t>& v) {
        std::string out = "[";
        for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
        return out + "]";
      };
      throw Error("tensor " + slot.name + " has shape " + shape(t.shape) + ", expected " + shape(slot.shape));
    }
    ++s.info.tensor_count;
    std::uint64_t n = 1;
    for (const std::int64_t d : slot.shape) n *= std::uint64_t(d);
    s.info.parameter_count += n;
    if (!slot.matrix) continue;
    add_distinct(dtypes, t.dtype_name);
    const std::size_t rows = std::size_t(slot.shape[0]), cols = std::size_t(slot.shape[1]);
    DType format = s.dtype;
    if (is_quantized(s.dtype)) {
      const bool output = slot.matrix == &w.lm_head || (s.config.tie_word_embeddings && slot.matrix == &w.embed);
      format = s.dtype == DType::q4 && quant::q4_fits(rows, cols) && !output ? DType::q4 : DType::q8;
    }
    s.info.weight_bytes += MatrixView{format, rows, cols}.bytes();
  }
  s.stored_dtypes = joined(dtypes);
}

}  // namespace

ModelSummary inspect_model(const std::filesystem::path& path, const LoadOptions& options) {
  ModelSummary s;
  std::error_code ec;
  if (is_package_file(path)) {
    s.format = "kvlm";
    s.file_bytes = std::filesystem::file_size(path, ec);
    inspect_package(s, path, options);
  } else if (is_gguf_file(path)) {
    s.format = "gguf";
    s.file_bytes = std::filesystem::file_size(path, ec);
    const ModelFiles files = ModelFiles::open(path);
    const std::string where = path.string();
    s.config = ModelConfig::parse(files.read("config.json").value(), where + " (config)");
    s.generation =
        GenerationConfig::parse(files.read("generation_config.json").value(), where + " (generation_config)", s.config);
    inspect_source(s, *gguf_source(path, s.config.num_heads, s.config.num_kv_heads), options);
  } else if (std::filesystem::is_regular_file(path, ec)) {
    throw Error(path.string() + " is neither a model directory, a .kvlm package nor a GGUF file");
  } else {
    s.format = "huggingface";
    s.config = ModelConfig::load(path);
    s.generation = GenerationConfig::load(path, s.config);
    for (const auto& entry : std::filesystem::directory_iterator(path, ec))
      if (entry.path().extension() == ".safetensors") s.file_bytes += entry.file_size(ec);
    inspect_source(s, *safetensors_source(path), options);
  }
  rope_inverse_frequencies(s.config);  // rejects what Model::load's RoPE set-up rejects
  return s;
}

}  // namespace kvlm
