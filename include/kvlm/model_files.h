// A model location: a Hugging Face directory, a .kvlm package or a GGUF file.
// Gives uniform access to the small text files (tokenizer.json,
// tokenizer_config.json, chat_template.jinja, config.json...) wherever they
// live; a GGUF's are built from its metadata.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace kvlm {

class ModelFiles {
 public:
  // Throws Error if `path` does not exist, is a file that is neither a .kvlm
  // package nor a GGUF, or is a GGUF whose metadata kvlm cannot read.
  static ModelFiles open(const std::filesystem::path& path);

  bool is_directory() const { return package_ == nullptr && gguf_ == nullptr; }
  bool is_package() const { return package_ != nullptr; }
  bool is_gguf() const { return gguf_ != nullptr; }
  const std::filesystem::path& path() const { return path_; }
  // The text of a carried file, or nullopt when the model has none.
  std::optional<std::string> read(const std::string& name) const;
  bool has(const std::string& name) const;

  struct Package;
  struct Gguf;

 private:
  std::filesystem::path path_;
  std::shared_ptr<const Package> package_;
  std::shared_ptr<const Gguf> gguf_;
};

// True when `path` is a regular file starting with the package magic.
bool is_package_file(const std::filesystem::path& path);

}  // namespace kvlm
