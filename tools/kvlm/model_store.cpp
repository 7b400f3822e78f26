// model_store: a directory listing that knows kvlm's model entries.
#include "model_store.h"

#include <algorithm>

namespace kvlm::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPullSuffix = ".pull";

std::uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_directory(p, ec)) {
    const auto n = fs::file_size(p, ec);
    return ec ? 0 : n;
  }
  std::uint64_t total = 0;
  for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
    if (std::error_code e2; it->is_regular_file(e2)) {
      const auto n = it->file_size(e2);
      if (!e2) total += n;
    }
  return total;
}

bool has_safetensors(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".safetensors") return true;
  return false;
}

}  // namespace

bool valid_model_name(const std::string& name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

fs::path staging_dir(const fs::path& dir, const std::string& entry) {
  return dir / ("." + entry + std::string(kPullSuffix));
}

std::vector<fs::path> model_candidates(const fs::path& dir, const std::string& name) {
  return {dir / name, dir / (name + ".kvlm"), dir / (name + ".gguf")};
}

std::vector<StoredModel> list_models(const fs::path& dir) {
  std::vector<StoredModel> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string file = p.filename().string();
    StoredModel m;
    m.path = p;
    std::error_code e2;
    if (file.front() == '.') {
      if (!file.ends_with(kPullSuffix) || file.size() <= kPullSuffix.size() + 1) continue;
      m.name = file.substr(1, file.size() - 1 - kPullSuffix.size());
      if (m.name.ends_with(".gguf")) m.name.resize(m.name.size() - 5);
      m.format = "partial";
    } else if (fs::is_directory(p, e2)) {
      m.name = file;
      m.format = has_safetensors(p) ? "safetensors" : "dir";
    } else if (p.extension() == ".kvlm" || p.extension() == ".gguf") {
      m.name = p.stem().string();
      m.format = p.extension().string().substr(1);
    } else {
      continue;  // .part files, notes, anything else
    }
    m.bytes = size_of(p);
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const StoredModel& a, const StoredModel& b) {
    return a.name != b.name ? a.name < b.name : a.path < b.path;
  });
  return out;
}

}  // namespace kvlm::cli
