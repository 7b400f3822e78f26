// Weights in and out of a .kvlm package (io/package_format.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>

#include "kvlm/config.h"
#include "kvlm/model_files.h"
#include "model/weights.h"

namespace kvlm {

class PackageFile;
class Model;

// Points every tensor of the config at the package's mapping after checking
// its name, format, shape and blob sizes. `stored` is the package dtype (q4
// packages may hold q8 matrices whose width is not a multiple of 64).
Weights load_package_weights(const std::shared_ptr<const PackageFile>& package, const ModelConfig& config,
                             DType stored);

// Writes `model`'s weights (already in the target dtype) with the config,
// generation config and tokenizer files of `source` to `out`, atomically.
// progress(done_bytes, total_bytes) is called as blobs are written.
void write_package(const Model& model, const ModelFiles& source, const std::filesystem::path& out,
                   const std::function<void(std::size_t, std::size_t)>& progress);

}  // namespace kvlm
