#include "kvlm/model_files.h"

#include <map>

#include "gguf/gguf_file.h"
#include "gguf/gguf_hf_files.h"
#include "io/json_file.h"
#include "io/package_file.h"
#include "kvlm/error.h"

namespace kvlm {

struct ModelFiles::Package {
  PackageFile file;
};

// The files a GGUF's metadata stands for, built once at open.
struct ModelFiles::Gguf {
  std::map<std::string, std::string> files;
};

namespace {

std::shared_ptr<const ModelFiles::Gguf> gguf_files(const std::filesystem::path& path) {
  const GgufFile gguf(path);
  auto g = std::make_shared<ModelFiles::Gguf>();
  try {
    g->files["config.json"] = gguf_config_json(gguf).dump(2);
    g->files["generation_config.json"] = gguf_generation_config_json(gguf).dump(2);
    if (gguf.find("tokenizer.ggml.model")) g->files["tokenizer.json"] = gguf_tokenizer_json(gguf).dump();
    g->files["tokenizer_config.json"] = gguf_tokenizer_config_json(gguf).dump(2);
  } catch (const nlohmann::json::type_error&) {
    throw Error(path.string() + ": a metadata string is not valid UTF-8");
  }
  return g;
}

}  // namespace

ModelFiles ModelFiles::open(const std::filesystem::path& path) {
  ModelFiles m;
  m.path_ = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return m;
  if (!std::filesystem::exists(path, ec)) throw Error("model not found: " + path.string());
  if (is_package_file(path)) {
    m.package_ = std::make_shared<const Package>(Package{PackageFile(path)});
  } else if (is_gguf_file(path)) {
    m.gguf_ = gguf_files(path);
  } else {
    throw Error(path.string() + " is neither a model directory, a .kvlm package nor a GGUF file");
  }
  return m;
}

std::optional<std::string> ModelFiles::read(const std::string& name) const {
  if (gguf_) {
    const auto it = gguf_->files.find(name);
    return it == gguf_->files.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  if (package_) {
    if (name == "config.json") return package_->file.header()["config"].dump(2);
    if (name == "generation_config.json") {
      const auto& g = package_->file.header().value("generation_config", nlohmann::json());
      return g.is_null() ? std::nullopt : std::optional<std::string>(g.dump(2));
    }
    const auto text = package_->file.file(name);
    return text ? std::optional<std::string>(std::string(*text)) : std::nullopt;
  }
  const auto p = path_ / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  return read_text_file(p);
}

bool ModelFiles::has(const std::string& name) const {
  if (gguf_) return gguf_->files.count(name) != 0;
  if (package_) {
    const auto& h = package_->file.header();
    if (name == "config.json") return true;
    if (name == "generation_config.json") return h.contains("generation_config") && !h["generation_config"].is_null();
    return h.contains("files") && h["files"].contains(name);
  }
  std::error_code ec;
  return std::filesystem::is_regular_file(path_ / name, ec);
}


}  // namespace kvlm
