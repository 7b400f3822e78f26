// The package cache: a Hugging Face directory or a GGUF packed once per dtype
// into a .kvlm that later starts load by mmap (as CoreML compiles a
// .mlmodelc once).
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "io/package_format.h"
#include "kvlm/convert.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"

namespace kvlm {
namespace {

namespace fs = std::filesystem;

// FNV-1a: a stable 64-bit key (std::hash may differ between builds).
struct Fnv1a {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void add(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull;  // separator: "ab"+"c" differs from "a"+"bc"
  }
  void add(std::uint64_t v) { add(std::to_string(v)); }
};

// The files whose change makes a cached package stale: the GGUF itself, or
// every regular file directly in the directory (weights, configs, tokenizer).
std::vector<fs::path> source_files(const fs::path& input) {
  if (!fs::is_directory(input)) return {input};
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(input, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path());
  if (ec) throw Error("cannot list " + input.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::string stem_of(const fs::path& input) {
  // A directory's whole name ("Llama-3.2-1B-Instruct" has no extension); a file's stem.
  const fs::path p = input.filename().empty() ? input.parent_path() : input;
  std::string stem = fs::is_directory(input) ? p.filename().string() : p.stem().string();
  if (stem.empty()) stem = "model";
  for (char& c : stem)
    if (c == '/' || c == '\\' || c == ' ') c = '_';
  return stem;
}

// STEM-DTYPE-PATHKEY-: the name prefix of every package of one source path
// and dtype, whatever the source files' state.
std::string name_prefix(const fs::path& input, DType dtype) {
  Fnv1a path_key;
  path_key.add(fs::weakly_canonical(fs::absolute(input)).string());
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08" PRIx32, std::uint32_t(path_key.h ^ (path_key.h >> 32)));
  return stem_of(input) + "-" + std::string(dtype_name(dtype)) + "-" + hex + "-";
}

// A temporary file's PID suffix names a process that no longer runs.
bool abandoned(const std::string& pid_text) {
  if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
    return false;
  const pid_t pid = pid_t(std::stol(pid_text));
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

fs::path package_cache_dir() {
  if (const char* env = std::getenv("KVLM_CACHE_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "kvlm" / "packages";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : ".") / ".cache" / "kvlm" / "packages";
}

fs::path cached_package_path(const fs::path& input, DType dtype, const fs::path& cache_dir) {
  Fnv1a key;
  key.add(fs::weakly_canonical(fs::absolute(input)).string());
  key.add(dtype_name(dtype));
  key.add(std::uint64_t(package::kFormatVersion));
  for (const auto& file : source_files(input)) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    const auto time = fs::last_write_time(file, ec);
    if (ec) throw Error("cannot read " + file.string() + ": " + ec.message());
    key.add(file.filename().string());
    key.add(std::uint64_t(size));
    key.add(std::uint64_t(time.time_since_epoch().count()));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, key.h);
  return cache_dir / (name_prefix(input, dtype) + hex + ".kvlm");
}

fs::path cached_package(const fs::path& input, const LoadOptions& load, const fs::path& cache_dir,
                        const ConvertProgress& progress) {
  if (!load.dtype) throw Error("the package cache needs a dtype");
  const fs::path package = cached_package_path(input, *load.dtype, cache_dir);
  std::error_code ec;
  if (fs::is_regular_file(package, ec)) return package;
  fs::create_directories(cache_dir, ec);
  if (ec) throw Error("cannot create the package cache " + cache_dir.string() + ": " + ec.message());
  convert_model(input, package, load, progress);
  // Older packages of the same source path and dtype are stale now: drop them
  // so the cache holds one package per source and dtype.
  // So do the temporary files of packs that were cut off (Ctrl-C, a kill):
  // PACKAGE.tmpPID whose process is gone.
  const std::string prefix = name_prefix(input, *load.dtype);
  for (const auto& entry : fs::directory_iterator(cache_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path() == package || name.rfind(prefix, 0) != 0) continue;
    if (name.size() == prefix.size() + 16 + 5 && entry.path().extension() == ".kvlm") fs::remove(entry.path(), ec);
    if (const auto tmp = name.find(".kvlm.tmp"); tmp != std::string::npos && abandoned(name.substr(tmp + 9)))
      fs::remove(entry.path(), ec);
  }
  return package;
}

}  // namespace kvlm
