// Converting a model into a .kvlm package (what `kvlm convert` does): the
// weights in kernel layout and the configs, tokenizer and template files in
// one file that loads by mmap.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>

#include "kvlm/model.h"

namespace kvlm {

// Called once with (0, 0) when the (slow) load starts, then as the package is
// written: bytes written so far, bytes in all.
using ConvertProgress = std::function<void(std::size_t done_bytes, std::size_t total_bytes)>;

// Loads `input` (a Hugging Face directory or a GGUF file) with `load`, whose
// dtype is required (it is the package's), and writes the package to
// `output` atomically (a temporary file renamed into place). Checks that the
// output can be written before the load. Returns the loaded model. Throws
// Error for a package as input, a missing dtype, an empty output, an output
// that is the input, an output directory that does not exist or cannot be
// written, and everything Model::load throws.
std::shared_ptr<const Model> convert_model(const std::filesystem::path& input, const std::filesystem::path& output,
                                           const LoadOptions& load, const ConvertProgress& progress = {});

// The package cache: a Hugging Face directory or a GGUF packed once per dtype
// into a .kvlm, so later starts load by mmap. The directory:
// $KVLM_CACHE_DIR, else $XDG_CACHE_HOME/kvlm/packages, else
// ~/.cache/kvlm/packages.
std::filesystem::path package_cache_dir();
// Where the package of `input` at `dtype` lives in `cache_dir`. Its name is
// keyed by the source's absolute path, the dtype, the package format and the
// name, size and modification time of every file of the source, so a changed
// source gets a new package.
std::filesystem::path cached_package_path(const std::filesystem::path& input, DType dtype,
                                          const std::filesystem::path& cache_dir);
// Returns cached_package_path(input, *load.dtype, cache_dir), converting
// `input` into it first (convert_model, with `progress`) when it is not there
// and then removing that source's stale packages of the same dtype. Throws
// Error when load.dtype is unset, the cache cannot be written, and for
// everything convert_model throws.
std::filesystem::path cached_package(const std::filesystem::path& input, const LoadOptions& load,
                                     const std::filesystem::path& cache_dir, const ConvertProgress& progress = {});

}  // namespace kvlm
