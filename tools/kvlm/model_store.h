// The models directory that kv:NAME ids resolve in (kvlm::models_dir():
// $KVLM_MODELS or ~/.cache/kvlm/models): what is installed there, and where a
// pull in progress keeps its files. An entry is NAME/ (a Hugging Face
// directory), NAME.kvlm or NAME.gguf; a pull writes into .ENTRY.pull/ and
// renames it (or its file) to ENTRY when every file is verified.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kvlm::cli {

struct StoredModel {
  std::string name;    // kv:NAME
  std::string format;  // "safetensors", "kvlm", "gguf", "dir" (no weights), "partial" (a pull in progress or cut off)
  std::uint64_t bytes = 0;
  std::filesystem::path path;
};

// Everything in `dir`, sorted by name then path; empty when `dir` does not exist.
std::vector<StoredModel> list_models(const std::filesystem::path& dir);

// The staging directory of a pull that installs `entry` ("NAME" or "NAME.gguf").
std::filesystem::path staging_dir(const std::filesystem::path& dir, const std::string& entry);

// A NAME usable as kv:NAME: non-empty, no '/', not starting with '.'.
bool valid_model_name(const std::string& name);

// The paths kv:NAME may resolve to, in resolve_model's order.
std::vector<std::filesystem::path> model_candidates(const std::filesystem::path& dir, const std::string& name);

}  // namespace kvlm::cli
