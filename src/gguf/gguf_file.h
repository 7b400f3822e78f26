// GGUF files (llama.cpp's format), versions 2 and 3, memory-mapped. Every
// count, string length, shape, type, offset and size is checked against the
// file when it is opened, so a tensor handed out always lies inside the file,
// aligned, and overlaps no other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "io/ggml_types.h"

namespace kvlm {

struct GgufTensor {
  std::string name;
  // ggml order: dims[0] is the contiguous one (a [rows][cols] matrix is {cols, rows}).
  std::vector<std::uint64_t> dims;
  GgmlType type = GgmlType::f32;
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;

  std::uint64_t elements() const;
};

class GgufFile {
 public:
  // Maps and validates the whole file. Throws Error "<path>: <what>".
  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const MappedFile& file() const { return file_; }
  std::uint32_t version() const { return version_; }
  std::size_t alignment() const { return alignment_; }

  // Metadata values as JSON: integers, floats, bools, strings, arrays.
  const std::map<std::string, nlohmann::json>& metadata() const { return metadata_; }
  const nlohmann::json* find(const std::string& key) const;
  // Typed reads; the optional ones return nullopt when the key is absent and
  // all throw Error naming the key when it holds another type.
  std::string string(const std::string& key) const;
  std::optional<std::string> optional_string(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  std::optional<std::int64_t> optional_integer(const std::string& key) const;
  std::optional<double> optional_real(const std::string& key) const;
  std::optional<bool> optional_bool(const std::string& key) const;

  // Throws Error "<path>: <what>".
  [[noreturn]] void fail(const std::string& what) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  // nullptr when the file has no such tensor.
  const GgufTensor* tensor(const std::string& name) const;

 private:
  MappedFile file_;
  std::uint32_t version_ = 0;
  std::size_t alignment_ = 32;
  std::map<std::string, nlohmann::json> metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, std::size_t> tensor_index_;
};

// True when `path` is a regular file that starts with the GGUF magic.
bool is_gguf_file(const std::filesystem::path& path);

// A name or value from the file as an error message may show it: control
// characters and bytes that are not valid UTF-8 written as \xNN, so that the
// message stays one line of text.
std::string printable(std::string_view text);

}  // namespace kvlm
