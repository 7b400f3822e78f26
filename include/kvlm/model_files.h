// A model location: a Hugging Face directory or a .kvlm package file. Gives
// uniform access to the small text files (tokenizer.json, tokenizer_config.json,
// chat_template.jinja, config.json...) wherever they live.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace kvlm {

class ModelFiles {
 public:
  // Throws Error if `path` does not exist or is a file that is not a .kvlm package.
  static ModelFiles open(const std::filesystem::path& path);

  bool is_package() const { return package_ != nullptr; }
  const std::filesystem::path& path() const { return path_; }
  // The text of a carried file, or nullopt when the model has none.
  std::optional<std::string> read(const std::string& name) const;
  bool has(const std::string& name) const;

  struct Package;

 private:
  std::filesystem::path path_;
  std::shared_ptr<const Package> package_;
};

// True when `path` is a regular file starting with the package magic.
bool is_package_file(const std::filesystem::path& path);

}  // namespace kvlm
