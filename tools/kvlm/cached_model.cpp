// ModelOptions::resolve: -m resolved, and a Hugging Face directory or GGUF
// swapped for its package in the cache, packed on first use.
#include <unistd.h>

#include <cstdio>

#include "kvlm/convert.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "kvlm/providers.h"
#include "model_options.h"
#include "loading_notice.h"
#include "progress_bar.h"
#include "timing.h"

namespace kvlm::cli {
namespace {

// The cache needs a directory we can write; without one the model loads
// directly (a read-only home should not stop a run).
bool cache_writable(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return !ec && ::access(dir.c_str(), W_OK) == 0;
}

// The cached package this process loads and the source it stands for.
std::string g_cached_package, g_cached_source;

std::filesystem::path remember(const std::filesystem::path& package, const std::filesystem::path& source) {
  g_cached_package = package.string();
  g_cached_source = source.string();
  return package;
}

}  // namespace

std::string with_source_names(std::string message) {
  if (g_cached_package.empty()) return message;
  for (auto at = message.find(g_cached_package); at != std::string::npos;
       at = message.find(g_cached_package, at + g_cached_source.size()))
    message.replace(at, g_cached_package.size(), g_cached_source);
  return message;
}

std::filesystem::path ModelOptions::resolve() const {
  const auto path = resolve_model(model);
  if (!cache || no_cache || backend == "reference" || is_package_file(path)) return path;
  LoadOptions load = load_options();
  if (!load.dtype) load.dtype = DType::f16;  // the dtype a HF directory or GGUF loads as
  const auto dir = package_cache_dir();
  const auto package = cached_package_path(path, *load.dtype, dir);
  std::error_code ec;
  if (std::filesystem::is_regular_file(package, ec)) return remember(package, path);
  if (!cache_writable(dir)) {
    std::fprintf(stderr, "kvlm: warning: the package cache %s is not writable; loading %s directly\n",
                 dir.c_str(), path.c_str());
    return path;
  }
  if (needs_tokenizer && !ModelFiles::open(path).has("tokenizer.json"))
    throw Error(model + " has no tokenizer.json (use --ids)");
  // The packing line waits for the source to load (convert's first progress
  // with a size), so a source that fails to load gives only its error line.
  const auto t0 = Clock::now();
  LoadingNotice notice(path.string());
  ProgressBar bar("packing");
  bool announced = false;
  cached_package(path, load, dir, [&](std::size_t done, std::size_t total) {
    if (total == 0) return;
    if (!announced) {
      notice.finish();
      std::fprintf(stderr, "packing %s as %s into the cache, once (--no-cache skips this): %s\n", path.c_str(),
                   std::string(dtype_name(*load.dtype)).c_str(), package.c_str());
      announced = true;
    }
    bar.update(done, total);
  });
  bar.finish();
  std::fprintf(stderr, "packed in %.1f s\n", ms_since(t0) / 1e3);
  return remember(package, path);
}

}  // namespace kvlm::cli
