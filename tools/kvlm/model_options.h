// Options every model-loading subcommand shares: -m, --dtype, -t, --backend, --verify.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "command.h"
#include "kvlm/model.h"
#include "numeric_checks.h"

namespace kvlm::cli {

struct ModelOptions {
  std::string model;
  std::string dtype;  // empty: f16 for a HF directory, the stored dtype for a .kvlm package
  std::string backend = "cpu";
  int threads = 0;
  bool no_mmap = false;
  bool mmap = false;
  bool verify = false;
  bool cache = false;  // pack a HF directory or GGUF into the package cache (run, chat, translate, serve)
  bool no_cache = false;
  // run with a text prompt: a source without tokenizer.json is refused before
  // it is packed into the cache (a loaded model is checked by the command).
  bool needs_tokenizer = false;

  // -m and --dtype: what a command that reads only headers (info) needs.
  // required = false: -m defaults to kv:llama-3.2-1b-instruct (see providers.h).
  void add_source_to(CLI::App& sub, bool required = true) {
    auto* opt = sub.add_option("-m,--model", model,
                               "model: a Hugging Face directory, a .kvlm package, a .gguf file or kv:NAME (under $KVLM_MODELS)");
    if (required)
      opt->required();
    else
      model = "kv:llama-3.2-1b-instruct";
    sub.add_option("--dtype", dtype,
                   "weights: f16 (default for a HF directory), bf16, f32 (with an f32 KV cache: the "
                   "exactness mode), q8 (int8 groups of 32) or q4 (int4 groups of 32); a .kvlm package "
                   "runs as stored")
        ->check(CLI::IsMember({"f32", "f16", "bf16", "q8", "q4"}));
  }

  // Everything a command that loads the model takes.
  void add_to(CLI::App& sub, bool required = true) {
    add_source_to(sub, required);
    add_threads_option(sub, threads);
    auto* copy = sub.add_flag("--no-mmap", no_mmap,
                              "copy weights into huge-page memory instead of using the file mapping: slower load, "
                              "no 4 KiB-page TLB misses in decode");
    sub.add_flag("--mmap", mmap,
                 "use a package from its file mapping even when the page cache holds it in 4 KiB pages (by "
                 "default such a package is copied, as with --no-mmap)")
        ->excludes(copy);
    sub.add_option("--backend", backend, "cpu (default) or reference (slow scalar oracle)")
        ->check(CLI::IsMember({"cpu", "reference"}));
    sub.add_flag("--verify", verify,
                 "check every blob of a .kvlm package against its checksum while loading (reads the whole file; "
                 "the header is always checked)");
  }

  // --no-cache, for the commands that use the package cache.
  void add_cache_flag(CLI::App& sub) {
    cache = true;
    sub.add_flag("--no-cache", no_cache,
                 "load a Hugging Face directory or GGUF directly instead of from its package in the cache "
                 "(packed once per dtype, then started by mmap; $KVLM_CACHE_DIR, default ~/.cache/kvlm/packages)");
  }

  // The model's path: -m resolved (kv:NAME), and with the cache on, a HF
  // directory or GGUF replaced by its cached package (packed now if absent).
  std::filesystem::path resolve() const;

  LoadOptions load_options() const {
    LoadOptions o;
    if (!dtype.empty()) o.dtype = parse_dtype(dtype);
    o.backend = backend == "reference" ? Backend::reference : Backend::cpu;
    o.threads = threads;
    o.weight_memory = no_mmap ? WeightMemory::copied : mmap ? WeightMemory::mapped : WeightMemory::automatic;
    o.verify = verify;
    return o;
  }
};

// An error that names a cached package (say, "PKG has no tokenizer.json") is
// shown naming the source the user gave (main passes every error through it).
std::string with_source_names(std::string message);

}  // namespace kvlm::cli
